"""The speed benchmark (benchmarks/bench_epoch.py) in its tiny mode. The two speed fixes it
measures are tested with their modules: the scratch model's column-major ``W``
(test_models.py) and the training loop's thread count (test_train.py).

No test here asserts a time: the machine is shared and times vary tenfold.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import math
import sys
from pathlib import Path

import pytest
import torch

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_epoch.py"
FIGURES = ("a_seeds_epoch_s", "a_seeds_4_workers_epoch_s", "b_labkit_scratch_epoch_s",
           "c_labkit_nn_epoch_s", "d_floor_s", "e_plain_loop_epoch_s",
           "student_loop_torch_threads_s", "student_loop_one_thread_s", "bare_pass_s",
           "bare_pass_unprotected_s", "busy_b_s", "busy_s_torch_s", "busy_s_one_s",
           "busy_pass_s", "busy_pass_unprotected_s", "train10_scratch_s", "train10_nn_s",
           "load_s", "peak_rss_mb", "b_cpu_s", "e_cpu_s")
TARGET_KEYS = ("b_over_e", "b_over_d", "train10_scratch_s", "train10_nn_s", "load_s",
               "peak_rss_mb")


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_epoch", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tiny_run(bench, tmp_path_factory):
    """One ``--tiny`` run (a few seconds): its JSON and what it printed."""
    path = tmp_path_factory.mktemp("bench") / "out" / "bench.json"
    threads = torch.get_num_threads()
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = bench.main(["--tiny", "--json", str(path)])
    assert code == 0
    assert torch.get_num_threads() == threads  # the benchmark leaves the setting alone
    return json.loads(path.read_text()), printed.getvalue()


def test_tiny_run_writes_every_figure(tiny_run):
    result, _ = tiny_run
    assert result["tiny"] is True
    for key in FIGURES:
        value = result["figures"][key]
        assert isinstance(value, float) and math.isfinite(value) and value > 0, key
    assert result["data"]["num_train"] == 2048 and result["data"]["source"] == "synthetic"
    for key in ("cpu", "cores", "torch", "threads", "device"):
        assert key in result["machine"]


def test_ratios_are_computed_from_the_figures(tiny_run):
    result, _ = tiny_run
    f, r = result["figures"], result["ratios"]
    b = f["b_labkit_scratch_epoch_s"]
    assert r["a_over_b"] == pytest.approx(f["a_seeds_epoch_s"] / b)
    assert r["a4_over_b"] == pytest.approx(f["a_seeds_4_workers_epoch_s"] / b)
    assert r["b_over_d"] == pytest.approx(b / f["d_floor_s"])
    assert r["b_over_e_wall"] == pytest.approx(b / f["e_plain_loop_epoch_s"])
    assert r["b_over_e"] == pytest.approx(f["b_cpu_s"] / f["e_cpu_s"])  # the target's figure
    samples, cpu = result["samples"], result["cpu_samples"]
    assert f["b_cpu_s"] == pytest.approx(sorted(cpu["b"])[len(cpu["b"]) // 2])
    assert r["b_over_e_wall_rounds"] == pytest.approx(
        [x / y for x, y in zip(samples["b"], samples["e"])])
    assert r["b_over_e_rounds"] == pytest.approx([x / y for x, y in zip(cpu["b"], cpu["e"])])
    # each figure is the median of its samples
    assert f["b_labkit_scratch_epoch_s"] == pytest.approx(
        sorted(result["samples"]["b"])[len(result["samples"]["b"]) // 2])


def test_every_target_is_judged(tiny_run):
    result, printed = tiny_run
    targets = {t["key"]: t for t in result["targets"]}
    assert set(targets) == set(TARGET_KEYS)
    values = {**result["figures"], **result["ratios"]}
    for key, t in targets.items():
        assert t["value"] == values[key]
        ok = {">=": t["value"] >= t["limit"], "<=": t["value"] <= t["limit"],
              "<": t["value"] < t["limit"]}[t["op"]]
        assert t["pass"] is ok
    assert {t["limit"] for t in targets.values()} == {1.15, 5.0, 3.0, 0.5, 1500.0}
    assert "a_over_b" not in targets  # reported, no longer a target (machine-dependent)
    for label in ("(a)", "(b)", "(c)", "(d)", "(e)", "(a)/(b), num_workers=0",
                  "(a)/(b), num_workers=4", "(b)/(e)", "(b)/(d)", "10 epochs", "peak RSS",
                  "load", "torch.set_num_threads(1)", "bare pass", "busy process",
                  "CPU time"):
        assert label in printed
    assert "PASS" in printed or "FAIL" in printed
    assert result["report"] in printed


def test_child_peak_rss_excludes_the_parent(bench):
    """The go-between keeps this (torch-sized) process's RSS out of the child's figure."""
    code, _, small = bench.child_peak_rss([sys.executable, "-c", "pass"])
    assert code == 0 and small < 100
    code, _, big = bench.child_peak_rss(
        [sys.executable, "-c", "b = bytearray(200_000_000); b[::4096] = b'x' * len(b[::4096])"])
    assert code == 0 and big > 200


@pytest.mark.parametrize("argv, message", [
    (["--device", "tpu"], "--device must name a device"),
    (["--device", "meta"], "--device='meta' holds no data"),
    (["--repeats", "0"], "--repeats must be >= 1"),
    (["--threads", "0"], "--threads must be >= 1"),
])
def test_bad_arguments_are_refused(bench, argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        bench.parse_args(argv)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_the_benchmark_uses_labkits_one_device_check(bench):
    from labkit._checks import check_device

    assert bench.check_device("cpu") == check_device("cpu")
    with pytest.raises(ValueError) as ours:
        bench.check_device("hpu")
    with pytest.raises(ValueError) as theirs:
        check_device("hpu", "--device")
    assert str(ours.value) == str(theirs.value)


def test_the_plain_loop_trains(bench):
    """(e) is a real training loop: it lowers the loss of a small learnable problem."""
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 10, (512,), generator=g)
    X = torch.zeros(512, 784, dtype=torch.uint8)
    for k in range(10):  # class k lights up pixels 78k .. 78k + 9
        X[y == k, 78 * k:78 * k + 10] = 255
    run = bench.plain_runner(X, y, torch.device("cpu"))
    W, b = run.params
    assert W.shape == (10, 784) and W.is_contiguous()  # (C, D), like nn.Linear's weight

    def loss_now():
        with torch.no_grad():
            return torch.nn.functional.cross_entropy(X.float() / 255 @ W.T + b, y).item()

    before = loss_now()
    for _ in range(5):
        run()
    assert loss_now() < before - 0.1
