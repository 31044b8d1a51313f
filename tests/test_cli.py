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


def test_unavailable_device_is_refused(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["train", "logistic", "--device", "nonsense", "--out", str(tmp_path)])
    assert exc.value.code == 2 and "--device" in capsys.readouterr().err


def test_python_dash_m_labkit_is_the_same_program():
    result = subprocess.run([sys.executable, "-m", "labkit", "--help"], capture_output=True,
                            text=True, check=True)
    assert "train" in result.stdout and "data" in result.stdout


# ---------------------------------------------------------------- Ctrl-C and --out

def _interrupt_training_at_epoch(monkeypatch, epoch, batches_per_epoch=32):
    """Make the logistic run's loss raise KeyboardInterrupt (as Ctrl-C does) in ``epoch``."""
    import torch

    import labkit as lk

    real = lk.binary_cross_entropy_with_logits
    calls = {"n": 0}

    def loss(*args, **kwargs):
        if torch.is_grad_enabled():
            calls["n"] += 1
            if calls["n"] > (epoch - 1) * batches_per_epoch:
                raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(lk, "binary_cross_entropy_with_logits", loss)


def test_ctrl_c_saves_the_finished_epochs(monkeypatch, tmp_path, capsys):
    """Before: Ctrl-C during `labkit train` left nothing in --out."""
    _interrupt_training_at_epoch(monkeypatch, 3)
    out = tmp_path / "run"
    code = main(["train", "logistic", "--epochs", "10", "--out", str(out), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 130  # the shell's code for Ctrl-C
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "interrupted in epoch 3" in lines[0]
    assert str(out / "history.json") in lines[0] and "Traceback" not in err
    record = json.loads((out / "history.json").read_text())
    assert record["interrupted"] is True and record["epochs"] == 10
    assert [r["epoch"] for r in record["history"]] == [1, 2]
    assert (out / "curves.png").read_bytes()[:4] == b"\x89PNG"


def test_ctrl_c_before_the_first_epoch_finished(monkeypatch, tmp_path, capsys):
    _interrupt_training_at_epoch(monkeypatch, 1)
    out = tmp_path / "run"
    assert main(["train", "logistic", "--epochs", "3", "--out", str(out), "--no-progress"]) == 130
    err = capsys.readouterr().err.strip()
    assert "interrupted in epoch 1" in err and "no epoch finished" in err
    assert not (out / "history.json").exists()


def test_ctrl_c_in_a_real_process_saves_history(tmp_path):
    """SIGINT to `python -m labkit train` once two epochs are done."""
    import os
    import signal

    out = tmp_path / "run"
    proc = subprocess.Popen(
        [sys.executable, "-m", "labkit", "train", "logistic", "--epochs", "100000",
         "--no-progress", "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1", MPLBACKEND="Agg"))
    try:
        for line in proc.stdout:
            if line.split()[:1] == ["2"]:  # the table row of epoch 2
                break
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted in epoch" in err
    record = json.loads((out / "history.json").read_text())
    assert len(record["history"]) >= 2 and record["interrupted"] is True


@pytest.mark.parametrize("where", ["file", "below-file"])
def test_out_that_is_a_file_is_refused_before_training(where, tmp_path, capsys):
    """Before: discovered only after the whole run, with a traceback."""
    blocker = tmp_path / "results"
    blocker.write_text("not a folder")
    out = blocker if where == "file" else blocker / "run"
    code = main(["train", "logistic", "--epochs", "2", "--out", str(out), "--no-progress"])
    captured = capsys.readouterr()
    assert code == 1
    assert "epoch" not in captured.out  # refused before training
    assert captured.err.count("\n") == 1
    assert f"--out {out}" in captured.err and f"{blocker} is a file" in captured.err


# ---------------------------------------------------------------- one clear message

def test_a_diverging_run_is_one_message(tmp_path, capsys):
    code = main(["train", "logistic", "--lr", "1e38", "--epochs", "3", "--out", str(tmp_path),
                 "--no-progress"])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1
    assert err.startswith("labkit train: error: non-finite loss") and "smaller lr" in err


def test_missing_data_is_one_message(tmp_path, capsys):
    code = main(["train", "softmax", "--source", "real", "--root", str(tmp_path), "--out",
                 str(tmp_path / "out"), "--no-progress"])
    err = capsys.readouterr().err
    # one message (the data module's includes its list of fixes, on several lines)
    assert code == 1 and err.startswith("labkit train: error: Fashion-MNIST is not in")
    assert err.count("error:") == 1 and "To fix it" in err and "Traceback" not in err


@pytest.mark.parametrize("command", [["train", "softmax", "--source", "synthetic"],
                                     ["data", "check"], ["data", "info"], ["data", "prepare"]])
def test_a_root_that_is_a_file_is_one_message(command, tmp_path, capsys):
    root = tmp_path / "data.txt"
    root.write_text("not a folder")
    code = main([*command, "--root", str(root)]
                + (["--out", str(tmp_path / "out"), "--no-progress"] if command[0] == "train"
                   else []))
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1, err
    assert err.startswith(f"labkit {command[0]}") and str(root) in err


def test_labkit_debug_shows_the_traceback(tmp_path, monkeypatch):
    blocker = tmp_path / "results"
    blocker.write_text("a file")
    monkeypatch.setenv("LABKIT_DEBUG", "1")
    with pytest.raises(ValueError, match="is a file, not a folder"):
        main(["train", "logistic", "--out", str(blocker)])


def test_errors_print_no_traceback_in_a_real_process(tmp_path):
    blocker = tmp_path / "results"
    blocker.write_text("a file")
    result = subprocess.run(
        [sys.executable, "-m", "labkit", "train", "logistic", "--out", str(blocker / "run")],
        capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr == (f"labkit train: error: --out {blocker / 'run'}: {blocker} is a "
                             f"file, not a folder (the folder would be inside it); choose "
                             f"another --out\n")


@pytest.mark.parametrize("argv, message", [
    (["train", "logistic", "--seed", "-1"], "expected an integer from 0 to 2**32 - 1, got -1"),
    (["train", "logistic", "--seed", "1e30"], "expected an integer from 0 to 2**32 - 1, got "
                                              "'1e30'"),
    (["train", "logistic", "--seed", "4294967296"], "got 4294967296"),
    (["train", "logistic", "--epochs", "0"], "expected a positive integer, got 0"),
    (["train", "logistic", "--lr", "nan"], "expected a positive number, got nan"),
    (["train", "logistic", "--device", "tpu"], "--device: device must name a device"),
    (["train", "logistic", "--device", "meta"], "--device: device='meta' holds no data"),
])
def test_argparse_rejects_what_it_can(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err
