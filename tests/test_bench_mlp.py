"""The MLP benchmark (benchmarks/bench_mlp.py) in its tiny mode: every figure is written, the
ratio is computed from the side-by-side rounds, the target is judged, and both models did
the same work (same batches, same initial weights: the same training loss).

No test here asserts a time: the machine is shared and times vary tenfold.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import math
import statistics
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_mlp.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_mlp", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tiny_run(bench, tmp_path_factory):
    path = tmp_path_factory.mktemp("bench_mlp") / "out" / "bench_mlp.json"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = bench.main(["--tiny", "--json", str(path)])
    assert code == 0
    return json.loads(path.read_text()), printed.getvalue()


def test_tiny_run_writes_every_figure(tiny_run):
    result, _ = tiny_run
    assert result["tiny"] is True and result["data"]["num_train"] == 2048
    assert result["config"]["layers"] == [784, 256, 10]
    for key in ("scratch_epoch_s", "nn_epoch_s", "ratio", "ratio_min", "ratio_max"):
        value = result["figures"][key]
        assert isinstance(value, float) and math.isfinite(value) and value > 0, key
    assert len(result["samples"]["scratch"]) == len(result["samples"]["nn"]) == 2


def test_ratio_is_the_median_of_side_by_side_rounds(tiny_run):
    result, _ = tiny_run
    s = result["samples"]
    ratios = [a / b for a, b in zip(s["scratch"], s["nn"])]
    assert s["ratio"] == pytest.approx(ratios)
    assert result["figures"]["ratio"] == pytest.approx(statistics.median(ratios))
    assert result["figures"]["ratio_min"] == pytest.approx(min(ratios))
    assert result["figures"]["ratio_q1"] >= min(ratios) - 1e-12


def test_target_is_judged_and_printed(tiny_run):
    result, printed = tiny_run
    (target,) = result["targets"]
    assert target["limit"] == 1.2 and target["op"] == "<="
    assert target["pass"] is (target["value"] <= 1.2)
    assert ("PASS" in printed) or ("FAIL" in printed)
    for label in ("(s) scratch", "(n) torch.nn", "ratio (s)/(n) per round", "target <= 1.2"):
        assert label in printed
    assert result["report"] in printed


def test_both_models_did_the_same_work(tiny_run):
    result, _ = tiny_run
    losses = result["final_train_loss"]
    assert losses["scratch"] == pytest.approx(losses["nn"], rel=1e-5)


@pytest.mark.parametrize("argv", [["--repeats", "1"], ["--device", "tpu"]])
def test_bad_arguments_are_refused(bench, argv, capsys):
    with pytest.raises(SystemExit) as exc:
        bench.parse_args(argv)
    assert exc.value.code == 2
    assert "must be" in capsys.readouterr().err
