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


def test_make_run_covers_every_notebook_of_every_lab_in_order(runner, tmp_path, monkeypatch,
                                                                capsys):
    """Without arguments (`make run`) the runner takes notebooks/lab*/ in the lab's order:
    lab 1's five, then lab 2's three."""
    seen = []

    def fake_run(path, out, timeout=600):
        seen.append(path)
        return {"name": path.stem, "ok": True, "seconds": 0.0, "accuracy": None, "error": None}

    monkeypatch.setattr(runner, "run_notebook", fake_run)
    assert runner.main(["--out", str(tmp_path)]) == 0
    expected = sorted((ROOT / "notebooks").glob("lab*/[0-9]*.ipynb"), key=lambda p: p.name)
    assert seen == expected
    assert [(p.parent.name, p.name[:2]) for p in seen] == (
        [("lab1", f"0{i}") for i in range(1, 6)] + [("lab2", f"0{i}") for i in range(6, 9)])
    assert capsys.readouterr().out.count("ok  ") == 8
