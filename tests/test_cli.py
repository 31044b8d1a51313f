"""The `labkit` command end to end, in temporary folders (no network)."""

import json
import subprocess
import sys

import pytest

from labkit.cli import main
from labkit.data.standin import write_standin


@pytest.fixture(scope="module")
def small_root(tmp_path_factory):
    """A data root holding a small stand-in (an instructor-sized subset loads too)."""
    root = tmp_path_factory.mktemp("data")
    write_standin(root, num_train=3000, num_test=600, seed=0)
    return root


@pytest.mark.parametrize("impl", ["scratch", "nn"])
def test_train_logistic_writes_history_and_plots(impl, tmp_path, capsys):
    out = tmp_path / impl
    code = main(["train", "logistic", "--impl", impl, "--epochs", "15", "--out", str(out),
                 "--no-progress"])
    printed = capsys.readouterr().out
    assert code == 0
    assert "train loss" in printed and "test acc" in printed  # the per-epoch table
    assert "learned w" in printed and "true    w = [1.9, -3.1], b = -0.6" in printed
    record = json.loads((out / "history.json").read_text())
    assert record["model"] == "logistic" and record["impl"] == impl
    assert len(record["history"]) == 15
    assert record["history"][-1]["test_acc"] > 0.93
    losses = [r["train_loss"] for r in record["history"]]
    assert losses[-1] < losses[0]
    for name in ("curves.png", "decision_boundary.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_scratch_and_nn_cli_runs_agree(tmp_path, capsys):
    runs = {}
    for impl in ("scratch", "nn"):
        main(["train", "logistic", "--impl", impl, "--epochs", "3", "--out",
              str(tmp_path / impl), "--no-progress"])
        runs[impl] = json.loads((tmp_path / impl / "history.json").read_text())
    capsys.readouterr()
    for a, b in zip(runs["scratch"]["history"], runs["nn"]["history"]):
        assert a["train_loss"] == pytest.approx(b["train_loss"], abs=1e-5)
        assert a["test_acc"] == pytest.approx(b["test_acc"], abs=1e-9)


def test_train_logistic_on_the_gaussian_clusters(tmp_path, capsys):
    code = main(["train", "logistic", "--dataset", "clusters", "--epochs", "5",
                 "--out", str(tmp_path), "--no-progress"])
    assert code == 0
    record = json.loads((tmp_path / "history.json").read_text())
    assert record["history"][-1]["test_acc"] > 0.95
    assert "true_w" not in record


@pytest.mark.parametrize("impl", ["scratch", "nn"])
def test_train_softmax_offline_on_the_standin(impl, small_root, tmp_path, capsys):
    code = main(["train", "softmax", "--impl", impl, "--epochs", "3", "--source", "synthetic",
                 "--root", str(small_root), "--out", str(tmp_path), "--no-progress"])
    printed = capsys.readouterr().out
    assert code == 0
    assert "Fashion-MNIST source: synthetic" in printed
    assert "most confused" in printed
    record = json.loads((tmp_path / "history.json").read_text())
    assert record["source"] == "synthetic"
    assert record["history"][-1]["test_acc"] > 0.5
    assert len(record["confusion_matrix"]) == 10
    assert sum(map(sum, record["confusion_matrix"])) == 600
    assert (tmp_path / "confusion_matrix.png").is_file()


def test_data_info_prepare_check(small_root, capsys):
    assert main(["data", "--root", str(small_root)]) == 0
    info = capsys.readouterr().out
    assert f"data root: {small_root}" in info
    assert "source='auto' would use: synthetic" in info
    assert main(["data", "prepare", "--source", "synthetic", "--root", str(small_root)]) == 0
    assert "synthetic Fashion-MNIST ready" in capsys.readouterr().out
    assert main(["data", "check", "--root", str(small_root)]) == 0
    checked = capsys.readouterr().out
    assert "all files are well formed" in checked and "(3000, 28, 28)" in checked


def test_data_check_reports_a_corrupt_file(tmp_path, capsys):
    raw = write_standin(tmp_path, num_train=200, num_test=50)
    labels = raw / "train-labels-idx1-ubyte"
    labels.write_bytes(labels.read_bytes()[:-10])  # truncate: the header now lies
    assert main(["data", "check", "--source", "synthetic", "--root", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "train-labels-idx1-ubyte" in err


def test_data_check_with_nothing_on_disk(tmp_path, capsys):
    assert main(["data", "check", "--root", str(tmp_path)]) == 1
    assert "labkit data prepare" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["train", "logistic", "--lr", "-0.1"], "expected a positive number, got -0.1"),
    (["train", "logistic", "--epochs", "0"], "expected a positive integer, got 0"),
    (["train", "logistic", "--batch-size", "abc"], "expected a positive integer, got 'abc'"),
    (["train", "logistic", "--impl", "keras"], "invalid choice: 'keras'"),
    (["train", "mlp"], "invalid choice: 'mlp'"),
])
def test_bad_arguments_exit_with_a_clear_message(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_unavailable_device_is_refused(tmp_path):
    with pytest.raises(SystemExit, match="--device"):
        main(["train", "logistic", "--device", "nonsense", "--out", str(tmp_path)])


def test_python_dash_m_labkit_is_the_same_program():
    result = subprocess.run([sys.executable, "-m", "labkit", "--help"], capture_output=True,
                            text=True, check=True)
    assert "train" in result.stdout and "data" in result.stdout
