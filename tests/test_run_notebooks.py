"""tools/run_notebooks.py: the headless notebook runner behind `make run`."""

import importlib.util
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def runner():
    path = ROOT / "tools" / "run_notebooks.py"
    spec = importlib.util.spec_from_file_location("run_notebooks", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _write(path, *sources, tags=None):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    for cell, cell_tags in zip(nb.cells, tags or []):
        cell.metadata["tags"] = cell_tags
    nbformat.write(nb, path)
    return path


def test_runner_executes_writes_html_and_reports_accuracy(runner, tmp_path, capsys):
    good = _write(tmp_path / "01_good.ipynb", "x = 1 + 1",
                  "raise ValueError('intended')",
                  "print(f'final test accuracy: {0.8125:.4f}')",
                  tags=[[], ["raises-exception"], []])
    code = runner.main([str(good), "--out", str(tmp_path / "build")])
    out = capsys.readouterr().out
    assert code == 0
    assert "ok" in out and "01_good" in out and "final test accuracy 0.8125" in out
    executed = nbformat.read(tmp_path / "build" / "01_good.ipynb", as_version=4)
    assert executed.cells[2].outputs[0]["text"].strip() == "final test accuracy: 0.8125"
    assert (tmp_path / "build" / "01_good.html").read_text().lstrip().startswith("<!DOCTYPE")


def test_runner_fails_with_the_cell_that_failed(runner, tmp_path, capsys):
    bad = _write(tmp_path / "02_bad.ipynb", "y = 2", "1 / 0", "print('never')")
    code = runner.main([str(bad), "--out", str(tmp_path / "build")])
    out = capsys.readouterr().out
    assert code == 1
    assert "FAIL" in out and "cell 1 failed" in out and "ZeroDivisionError" in out
    assert (tmp_path / "build" / "02_bad.html").exists()  # the partial run is still rendered


def test_final_accuracy_takes_the_last_report(runner):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("")
    text = "final test accuracy: 0.5\nfinal test accuracy: 0.75\n"
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
    nb.cells = [cell]
    assert runner.final_accuracy(nb) == 0.75
    assert runner.final_accuracy(nbformat.v4.new_notebook()) is None
