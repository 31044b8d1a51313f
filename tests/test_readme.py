"""The README's claims that code can check: the point tables of "For instructors" (one per
assignment) match the notebooks' nbgrader metadata, and every row of "Coming from d2l" names
labkit functions that exist and behave as the row says."""

from __future__ import annotations

import inspect
import re
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

import labkit as lk

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
sys.path.insert(0, str(REPO / "tools"))
import course  # noqa: E402


def _section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    return text.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


@pytest.mark.parametrize("assignment", ["lab1", "lab2"])
def test_points_table_matches_the_notebooks(assignment):
    block = course.readme_block(assignment, README)
    assert block is not None, f"README.md lacks the {assignment} points markers"
    assert block == course.points_table(assignment), (
        f"README's point table of {assignment} is out of date: run python tools/course.py "
        f"points --assignment {assignment} --readme")


def test_every_assignment_has_a_points_table():
    assignments = sorted(p.name for p in (REPO / "notebooks").iterdir()
                         if p.is_dir() and list(p.glob("*.ipynb")))
    assert assignments == ["lab1", "lab2"]
    for assignment in assignments:
        assert course.readme_block(assignment, README) is not None, assignment


def test_update_readme_rewrites_only_the_block(tmp_path):
    readme = tmp_path / "README.md"
    start = course.README_START.format(assignment="lab1")
    end = course.README_END.format(assignment="lab1")
    readme.write_text(f"intro\n\n{start}\nold table\n{end}\n\noutro\n")
    assert course.update_readme("lab1", readme, "| new |") is True
    assert readme.read_text() == f"intro\n\n{start}\n| new |\n{end}\n\noutro\n"
    assert course.update_readme("lab1", readme, "| new |") is False


def _d2l_rows() -> list[tuple[str, str, str]]:
    rows = []
    for line in _section("Coming from d2l").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`d2l."):
            rows.append(tuple(cells))
    return rows


def test_every_labkit_name_in_the_d2l_table_exists():
    rows = _d2l_rows()
    assert len(rows) >= 10
    for d2l, labkit, _ in rows:
        names = re.findall(r"`lk\.(\w+)", labkit)
        assert names, (d2l, labkit)
        for name in names:
            assert hasattr(lk, name), f"README names lk.{name}, which does not exist"
            call = re.search(rf"`lk\.{name}\(([^)`]*)\)`", labkit)
            if call:  # the arguments shown exist, in this order (others may sit between)
                documented = [a.split("=")[0].strip() for a in call.group(1).split(",")]
                params = iter(inspect.signature(getattr(lk, name)).parameters)
                assert all(arg in params for arg in documented), (name, documented)


def _row(helper: str) -> str:
    return next(r[2] for r in _d2l_rows() if r[0].startswith(f"`d2l.{helper}("))


def test_softmax_is_stable_where_d2ls_overflows():
    X = torch.tensor([[100.0, 0.0], [1.0, 2.0]])
    naive = torch.exp(X) / torch.exp(X).sum(1, keepdim=True)  # d2l's softmax
    assert torch.isnan(naive).any()
    assert torch.isfinite(lk.softmax(X)).all()
    assert "stable" in _row("softmax")


def test_cross_entropy_takes_logits_like_pytorch():
    g = torch.Generator().manual_seed(0)
    logits, y = torch.randn(5, 3, generator=g), torch.tensor([0, 2, 1, 1, 0])
    torch.testing.assert_close(lk.cross_entropy(logits, y), F.cross_entropy(logits, y))
    d2l_style = -torch.log(torch.softmax(logits, 1)[range(5), y])  # d2l's, on probabilities
    torch.testing.assert_close(lk.cross_entropy(logits, y, reduction="none"), d2l_style)
    assert "**logits**" in _row("cross_entropy")


def test_accuracy_returns_an_int_count():
    y_hat = torch.tensor([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]])
    count = lk.accuracy(y_hat, torch.tensor([1, 1, 1]))
    assert type(count) is int and count == 2
    assert lk.accuracy(torch.tensor([2.0, -1.0, 0.5]), torch.tensor([1.0, 1.0, 0.0])) == 1
    assert "**count**" in _row("accuracy")


def test_show_images_takes_titles_second_and_returns_a_figure():
    params = list(inspect.signature(lk.show_images).parameters)
    assert params[:5] == ["images", "titles", "num_rows", "num_cols", "scale"]
    fig = lk.show_images(torch.zeros(4, 28, 28), num_rows=2, num_cols=2)
    assert type(fig).__name__ == "Figure"
    import matplotlib.pyplot as plt

    plt.close(fig)
    assert "**argument order**" in _row("show_images")
    assert "is a `TypeError` that says so" in _row("show_images")
    with pytest.raises(TypeError, match=r"d2l's order.*lk.show_images\(images, num_rows=2, "
                                        r"num_cols=9\)"):
        lk.show_images(torch.zeros(18, 28, 28), 2, 9)


def test_train_returns_a_history():
    g = torch.Generator().manual_seed(0)
    X, y = torch.randn(32, 2, generator=g), (torch.rand(32, generator=g) > 0.5).float()
    net = lk.LogisticRegressionScratch(2, generator=g)
    history = lk.train(net, [(X, y)], None, lambda y_hat, y: lk.binary_cross_entropy_with_logits(
        y_hat, y, reduction="none"), 2, lambda n: lk.sgd(net.parameters(), 0.1, n),
        progress=False)
    assert isinstance(history, lk.History) and len(history) == 2
    assert history[-1]["train_loss"] == history.train_loss[-1]
    assert "**`History`**" in _row("train_ch3")


def test_evaluate_accuracy_and_text_labels():
    net = torch.nn.Linear(2, 2)
    net.train()
    X = torch.randn(6, 2)
    acc = lk.evaluate_accuracy(net, [(X, torch.zeros(6, dtype=torch.long))])
    assert 0 <= acc <= 1 and net.training
    assert lk.text_labels([0]) == ["T-shirt/top"]
