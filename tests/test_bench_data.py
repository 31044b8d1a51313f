"""The data benchmark (benchmarks/bench_data.py) in its tiny mode: every figure is produced
and judged against its target. No test here asserts a time: the machine is shared."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import math
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_data.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_data", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tiny_run(bench, tmp_path_factory):
    path = tmp_path_factory.mktemp("bench-data") / "out" / "bench_data.json"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = bench.main(["--tiny", "--json", str(path)])
    assert code == 0  # without --strict, failing targets (tiny sizes) do not fail the run
    return json.loads(path.read_text()), printed.getvalue()


def test_tiny_run_measures_both_sets(tiny_run):
    result, printed = tiny_run
    assert result["tiny"] is True and result["sizes"] == [2000, 500]
    for key in ("fashion-mnist", "mnist"):
        gen, load = result["generation"][key], result["loads"][key]
        assert math.isfinite(gen["seconds"]) and gen["seconds"] > 0
        assert load["source"] == "synthetic" and load["images"] == 2500
        assert load["first_status"] == "built"
        assert 0 < load["cached_load_s"] == min(load["samples"])
        assert f"{key:<14} synthetic 2500 images: cached" in printed
    acc = result["accuracy"]
    for key in ("softmax_acc", "mlp_scratch_acc", "mlp_nn_acc"):
        assert 0.0 <= acc[key] <= 1.0
    assert len(acc["confused_pairs"]) == 6
    counts = [c for _, _, c in acc["confused_pairs"]]
    assert counts == sorted(counts, reverse=True)


def test_every_target_is_judged(tiny_run):
    result, printed = tiny_run
    keys = {t["key"] for t in result["targets"]}
    assert keys == {"fashion-mnist_cached_load_s", "mnist_cached_load_s", "softmax_acc",
                    "mlp_scratch_margin", "mlp_nn_margin", "top3_look_alike"}
    for t in result["targets"]:
        assert ("PASS" if t["pass"] else "FAIL") in printed
    margin = next(t for t in result["targets"] if t["key"] == "mlp_nn_margin")
    acc = result["accuracy"]
    assert margin["value"] == pytest.approx(100 * (acc["mlp_nn_acc"] - acc["softmax_acc"]))
    assert margin["pass"] is (margin["value"] >= 2.0)
    assert result["report"] in printed


def test_strict_fails_when_a_target_fails(bench, tiny_run, tmp_path, monkeypatch, capsys):
    result, _ = tiny_run
    monkeypatch.setattr(bench, "run", lambda args: result)
    expected = 0 if all(t["pass"] for t in result["targets"]) else 1
    assert bench.main(["--strict", "--json", str(tmp_path / "b.json")]) == expected
    assert bench.main(["--json", str(tmp_path / "b.json")]) == 0
    capsys.readouterr()


def test_bad_repeats_are_refused(bench, capsys):
    with pytest.raises(SystemExit) as exc:
        bench.parse_args(["--repeats", "0"])
    assert exc.value.code == 2 and "--repeats must be >= 1" in capsys.readouterr().err
