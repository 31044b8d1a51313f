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
FIGURES = ("a_seeds_epoch_s", "b_labkit_scratch_epoch_s", "c_labkit_nn_epoch_s", "d_floor_s",
           "train10_scratch_s", "train10_nn_s", "load_s", "peak_rss_mb")
TARGET_KEYS = ("a_over_b", "b_over_d", "train10_scratch_s", "train10_nn_s", "load_s",
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
    assert r["a_over_b"] == pytest.approx(f["a_seeds_epoch_s"] / f["b_labkit_scratch_epoch_s"])
    assert r["b_over_d"] == pytest.approx(f["b_labkit_scratch_epoch_s"] / f["d_floor_s"])
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
    assert {t["limit"] for t in targets.values()} == {30.0, 5.0, 3.0, 0.5, 1500.0}
    for label in ("(a)", "(b)", "(c)", "(d)", "(a)/(b)", "(b)/(d)", "10 epochs", "peak RSS",
                  "load"):
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


@pytest.mark.parametrize("argv", [["--device", "tpu"], ["--repeats", "0"], ["--threads", "0"]])
def test_bad_arguments_are_refused(bench, argv, capsys):
    with pytest.raises(SystemExit) as exc:
        bench.parse_args(argv)
    assert exc.value.code == 2
    assert "must be" in capsys.readouterr().err
