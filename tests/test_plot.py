"""Tests for labkit.plot under the Agg backend (set in conftest.py; labkit never uses
pyplot anyway): each function returns a Figure with the expected axes, lines, collections
and labels, and nothing needs a display."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

import labkit.plot as lkplot
from labkit.plot import (
    Animator,
    plot_confusion_matrix,
    plot_decision_boundary,
    plot_history,
    show_images,
)
from labkit.train import History


def make_history(with_test=True, with_accuracy=True):
    h = History()
    for epoch in range(1, 5):
        acc = with_accuracy
        h.append({"epoch": epoch, "train_loss": 1.0 / epoch,
                  "train_acc": 0.5 + 0.1 * epoch if acc else None,
                  "test_loss": 1.1 / epoch if with_test else None,
                  "test_acc": 0.45 + 0.1 * epoch if with_test and acc else None,
                  "seconds": 0.1})
    return h


def renders(fig: Figure) -> bool:
    """The figure can be drawn to PNG bytes (no display involved)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue().startswith(b"\x89PNG")


@pytest.fixture
def no_display(monkeypatch):
    """Fail if anything calls IPython's display()."""
    import IPython.display

    def fail(*args, **kwargs):
        raise AssertionError("display() called outside Jupyter")

    monkeypatch.setattr(IPython.display, "display", fail)


# ---------------------------------------------------------------- curves

def test_plot_history_two_panels(no_display):
    fig = plot_history(make_history(), title="run")
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 2
    ax_loss, ax_acc = fig.axes
    assert ax_loss.get_title() == "loss" and ax_acc.get_title() == "accuracy"
    assert ax_loss.get_xlabel() == "epoch" and ax_acc.get_ylabel() == "accuracy"
    assert [line.get_label() for line in ax_loss.lines] == ["train loss", "test loss"]
    assert [line.get_label() for line in ax_acc.lines] == ["train accuracy", "test accuracy"]
    assert list(ax_loss.lines[0].get_ydata()) == pytest.approx([1, 1 / 2, 1 / 3, 1 / 4])
    assert fig._suptitle.get_text() == "run"
    assert renders(fig)


def test_plot_history_accepts_dict_and_skips_missing_test():
    fig = plot_history(make_history(with_test=False).to_dict())
    assert [len(ax.lines) for ax in fig.axes] == [1, 1]


def test_plot_history_bad_input():
    with pytest.raises(TypeError, match="history must be a History"):
        plot_history(3)
    with pytest.raises(TypeError, match=r"accuracy must be True, False or None"):
        plot_history(make_history(), accuracy="yes")


def test_plot_history_without_accuracy_draws_the_loss_alone(no_display):
    regression = make_history(with_accuracy=False)  # lk.train(..., metric=None)
    for h in (regression, regression.to_dict(), regression.records):
        fig = plot_history(h)
        (ax,) = fig.axes
        assert ax.get_title() == "loss"
        assert [line.get_label() for line in ax.lines] == ["train loss", "test loss"]
    assert renders(fig)
    with pytest.raises(ValueError, match=r"accuracy=True but the history holds no accuracy "
                                         r"\(a run trained with metric=None"):
        plot_history(regression, accuracy=True)
    # a classification run drawn without its accuracy panel, on request
    assert [ax.get_title() for ax in plot_history(make_history(), accuracy=False).axes] == \
        ["loss"]
    assert len(plot_history(make_history(), accuracy=True).axes) == 2


def test_animator_without_accuracy_one_panel(no_display):
    animator = Animator(4, accuracy=False)
    for record in make_history(with_accuracy=False):
        animator.add(record["epoch"], record)
    (ax,) = animator.close().axes
    assert ax.get_title() == "loss" and len(ax.lines) == 2
    assert animator.figure.get_size_inches().tolist() == [5.0, 3.5]
    assert renders(animator.figure)
    with pytest.raises(TypeError, match=r"accuracy must be True or False, got None"):
        Animator(4, accuracy=None)


def test_animator_headless_only_records(no_display):
    animator = Animator(5)
    for record in make_history():
        animator.add(record["epoch"], record)
    fig = animator.close()
    assert isinstance(fig, Figure) and fig is animator.figure
    assert len(fig.axes) == 2
    assert [len(ax.lines) for ax in fig.axes] == [2, 2]
    assert fig.axes[0].get_xlim() == (1, 5)
    assert renders(fig)


def test_animator_in_jupyter_displays_once_then_updates(monkeypatch):
    import IPython.display

    calls = []

    class Handle:
        def update(self, obj):
            calls.append(("update", obj))

    def fake_display(obj, display_id=False):
        calls.append(("display", obj))
        assert display_id is True
        return Handle()

    monkeypatch.setattr(IPython.display, "display", fake_display)
    monkeypatch.setattr(lkplot, "_in_jupyter", lambda: True)
    animator = Animator(4)
    for record in make_history():
        animator.add(record["epoch"], record)
    assert [kind for kind, _ in calls] == ["display", "update", "update", "update"]
    assert all(obj is animator.figure for _, obj in calls)
    assert len(animator.figure.axes[0].lines[0].get_xdata()) == 4


def test_figures_get_a_notebook_formatter_in_a_kernel(monkeypatch):
    """Without pyplot a Figure has no rich repr; in a kernel labkit registers PNG."""
    from types import SimpleNamespace

    from IPython.core.formatters import DisplayFormatter

    shell = SimpleNamespace(display_formatter=DisplayFormatter(), kernel=object())
    monkeypatch.setattr(lkplot, "_kernel_shell", lambda: shell)
    fig = plot_history(make_history())
    data, _ = shell.display_formatter.format(fig)
    assert "image/png" in data
    # an existing Figure formatter (e.g. pyplot's inline backend, svg) is left alone
    shell2 = SimpleNamespace(display_formatter=DisplayFormatter(), kernel=object())
    sentinel = object()
    shell2.display_formatter.formatters["image/svg+xml"].for_type(Figure, lambda f: sentinel)
    monkeypatch.setattr(lkplot, "_kernel_shell", lambda: shell2)
    plot_history(make_history())
    png = shell2.display_formatter.formatters["image/png"]
    with pytest.raises(KeyError):
        png.lookup_by_type(Figure)


def test_outside_a_kernel_no_shell():
    assert lkplot._kernel_shell() is None
    assert not lkplot._in_jupyter()


# ---------------------------------------------------------------- images

def test_show_images_grid_titles_no_ticks(no_display):
    images = torch.rand(6, 1, 28, 28)
    fig = show_images(images, titles=[f"t{i}" for i in range(6)], num_rows=2, num_cols=3)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 6
    assert [ax.get_title() for ax in fig.axes] == [f"t{i}" for i in range(6)]
    for ax in fig.axes:
        assert len(ax.get_xticks()) == 0 and len(ax.get_yticks()) == 0
        assert len(ax.images) == 1
    assert fig.axes[0].images[0].get_array().shape == (28, 28)
    assert renders(fig)


def test_show_images_shapes_and_dtypes():
    uint8 = torch.randint(0, 256, (10, 28, 28), dtype=torch.uint8)
    assert len(show_images(uint8).axes) == 10  # default: up to 8 columns, 2 rows
    assert len(show_images(uint8, num_rows=1, num_cols=4).axes) == 4  # first 4 only
    assert len(show_images(uint8, num_rows=5).axes) == 10
    rgb = np.random.default_rng(0).random((3, 8, 8, 3))
    assert show_images(rgb).axes[0].images[0].get_array().shape == (8, 8, 3)
    assert len(show_images([torch.rand(5, 5), torch.rand(5, 5)]).axes) == 2


def test_show_images_bad_input():
    with pytest.raises(ValueError, match="titles must have one entry per image"):
        show_images(torch.rand(3, 4, 4), titles=["a"])
    with pytest.raises(ValueError, match="images must have shape"):
        show_images(torch.rand(4, 4))
    with pytest.raises(ValueError, match="images is empty"):
        show_images(torch.rand(0, 4, 4))
    with pytest.raises(ValueError, match="scale must be a positive number"):
        show_images(torch.rand(2, 4, 4), scale=0)
    with pytest.raises(TypeError, match=r"titles must be one title per image \(a list of "
                                        r"strings\) or None, got 'abc' \(str\); for a "
                                        r"single image pass a list"):
        show_images(torch.rand(3, 4, 4), titles="abc")
    with pytest.raises(TypeError, match=r"titles must be one title per image.*got <generator"):
        show_images(torch.rand(2, 4, 4), titles=(str(i) for i in range(2)))


@pytest.mark.parametrize("args, fixed", [
    ((2, 2), "lk.show_images(images, num_rows=2, num_cols=2)"),
    ((2, 9), "lk.show_images(images, num_rows=2, num_cols=9)"),
    ((3,), "lk.show_images(images, num_rows=3)"),
    ((2, 9, ["a"] * 18), "lk.show_images(images, titles=..., num_rows=2, num_cols=9)"),
])
def test_show_images_in_d2l_s_argument_order_says_how_to_write_it(args, fixed):
    """d2l's show_images(imgs, num_rows, num_cols, titles): titles comes second here."""
    with pytest.raises(TypeError) as info:
        show_images(torch.rand(18, 4, 4), *args)
    message = str(info.value)
    assert message.startswith(f"titles must be one title per image (a list of strings) or "
                              f"None, got {args[0]} (int): this looks like d2l's order"), message
    assert message.endswith(fixed), message
    # what the message says to write works
    fig = eval(fixed.replace("lk.show_images", "show_images").replace("titles=...",
                                                                      "titles=['a'] * 18"),
               {"show_images": show_images, "images": torch.rand(18, 4, 4)})
    assert len(fig.axes) == (args[0] * args[1] if len(args) > 1 else 18)


def test_show_images_titles_positional_in_labkit_s_order():
    fig = show_images(torch.rand(2, 4, 4), ("a", "b"))
    assert [ax.get_title() for ax in fig.axes] == ["a", "b"]


# ---------------------------------------------------------------- decision boundary

def two_classes():
    g = torch.Generator().manual_seed(0)
    X = torch.cat([torch.randn(30, 2, generator=g) + 2, torch.randn(30, 2, generator=g) - 2])
    y = torch.cat([torch.ones(30), torch.zeros(30)])
    return X, y


def test_decision_boundary_learned_and_true(no_display):
    X, y = two_classes()
    w, b = torch.tensor([1.0, 2.0]), torch.tensor(0.5)
    fig = plot_decision_boundary(X, y, w, b, true_w=[1.0, 1.0], true_b=0.0, title="boundary")
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    ax = fig.axes[0]
    assert len(ax.collections) == 2  # the two classes
    assert [line.get_label() for line in ax.lines] == ["learned boundary", "true boundary"]
    assert ax.lines[1].get_linestyle() == "--"
    x0, x1 = ax.lines[0].get_xdata(), ax.lines[0].get_ydata()
    np.testing.assert_allclose(1.0 * x0 + 2.0 * x1 + 0.5, 0.0, atol=1e-9)  # on the line
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["class 0", "class 1", "learned boundary", "true boundary"]
    assert ax.get_title() == "boundary"
    assert renders(fig)


def test_decision_boundary_vertical_line_and_nn_weight_shape():
    X, y = two_classes()
    weight = torch.tensor([[2.0, 0.0]], requires_grad=True)  # nn.Linear's (1, 2), w1 = 0
    fig = plot_decision_boundary(X, y, weight, torch.tensor([1.0]))
    (line,) = fig.axes[0].lines
    assert list(line.get_xdata()) == [-0.5, -0.5]  # x0 = -b / w0
    assert np.isfinite(line.get_ydata()).all()


def test_decision_boundary_bad_input():
    X, y = two_classes()
    with pytest.raises(ValueError, match=r"X must have shape \(N, 2\)"):
        plot_decision_boundary(torch.randn(5, 3), torch.zeros(5), [1, 1], 0)
    with pytest.raises(ValueError, match="w must hold 2 weights"):
        plot_decision_boundary(X, y, [1, 2, 3], 0)
    with pytest.raises(ValueError, match="y must hold binary labels"):
        plot_decision_boundary(X, y * 2, [1, 2], 0)
    with pytest.raises(ValueError, match="true_w and true_b must be given together"):
        plot_decision_boundary(X, y, [1, 2], 0, true_w=[1, 1])


# ---------------------------------------------------------------- confusion matrix

def test_confusion_matrix_plot(no_display):
    cm = torch.tensor([[5, 1, 0], [2, 7, 1], [0, 0, 9]])
    names = ["cat", "dog", "bird"]
    fig = plot_confusion_matrix(cm, class_names=names)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert len(fig.axes) == 2  # the matrix and its colorbar
    assert len(ax.images) == 1
    assert sorted(t.get_text() for t in ax.texts) == sorted(str(v) for v in cm.flatten().tolist())
    assert [t.get_text() for t in ax.get_xticklabels()] == names
    assert [t.get_text() for t in ax.get_yticklabels()] == names
    assert ax.get_xlabel() == "predicted" and ax.get_ylabel() == "true"
    assert renders(fig)


def test_confusion_matrix_plot_normalized():
    cm = torch.tensor([[3, 1], [0, 0]])
    fig = plot_confusion_matrix(cm, normalize=True)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.texts] == ["0.75", "0.25", "0.00", "0.00"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "1"]
    with pytest.raises(ValueError, match="class_names must have one name per class"):
        plot_confusion_matrix(cm, class_names=["a"])
    with pytest.raises(ValueError, match="cm must be a square"):
        plot_confusion_matrix(torch.zeros(2, 3))


# ---------------------------------------------------------------- several runs


def test_plot_histories_dict_one_color_per_run(no_display):
    runs = {"relu": make_history(), "tanh": make_history(), "no test": make_history(False)}
    fig = lkplot.plot_histories(runs, title="activations", test_label="validation")
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    ax_loss, ax_acc = fig.axes
    assert ax_loss.get_title() == "loss" and ax_acc.get_title() == "accuracy"
    labels = [line.get_label() for line in ax_loss.lines]
    assert labels == ["relu (train)", "relu (validation)", "tanh (train)",
                      "tanh (validation)", "no test (train)"]
    colors = [line.get_color() for line in ax_loss.lines]
    assert colors[0] == colors[1] != colors[2] == colors[3] != colors[4]
    styles = [line.get_linestyle() for line in ax_acc.lines]
    assert styles == ["-", "--", "-", "--", "-"]
    assert list(ax_acc.lines[1].get_ydata()) == pytest.approx([0.55, 0.65, 0.75, 0.85])
    run_legend = [t.get_text() for t in ax_loss.get_legend().get_texts()]
    assert run_legend == ["relu", "tanh", "no test"]
    assert [t.get_text() for t in ax_acc.get_legend().get_texts()] == ["train", "validation"]
    assert fig._suptitle.get_text() == "activations"
    assert renders(fig)


def test_plot_histories_list_labels_regression_and_log_scale():
    hs = [make_history(), make_history()]
    fig = lkplot.plot_histories(hs, accuracy=False, logy=True)
    assert len(fig.axes) == 1
    (ax,) = fig.axes
    assert ax.get_yscale() == "log"
    assert [line.get_label() for line in ax.lines][::2] == ["run 1 (train)", "run 2 (train)"]
    fig = lkplot.plot_histories(hs, ["lr=0.1", "lr=0.01"], accuracy=False)
    assert fig.axes[0].lines[2].get_label() == "lr=0.01 (train)"
    assert renders(fig)
    fig = lkplot.plot_histories([make_history().to_dict()], ["dict"])
    assert fig.axes[0].lines[0].get_label() == "dict (train)"


def test_plot_histories_of_runs_without_accuracy():
    # lk.train(..., metric=None) runs: the loss panel alone, without being asked
    runs = {"relu": make_history(with_accuracy=False),
            "tanh": make_history(with_accuracy=False).to_dict()}
    fig = lkplot.plot_histories(runs, test_label="validation")
    (ax,) = fig.axes
    assert ax.get_title() == "loss" and len(ax.lines) == 4
    assert renders(fig)
    with pytest.raises(ValueError, match=r"accuracy=True but none of the histories holds an "
                                         r"accuracy"):
        lkplot.plot_histories(runs, accuracy=True)
    # mixed: the accuracy panel shows the runs that have one
    fig = lkplot.plot_histories({"clf": make_history(), "reg": make_history(False, False)})
    ax_loss, ax_acc = fig.axes
    assert len(ax_loss.lines) == 3 and len(ax_acc.lines) == 2


@pytest.mark.parametrize("args, kwargs, error, match", [
    (({},), {}, ValueError, r"histories is empty"),
    ((3,), {}, TypeError, r"histories must be a dict \{label: History\} or a list"),
    (([make_history()], ["a", "b"]), {}, ValueError,
     r"labels must give one label per history \(1\)"),
    (({"a": make_history()}, ["a"]), {}, ValueError, r"labels must be None when histories "
                                                     r"is a dict"),
    (([3],), {}, TypeError, r"history must be a History"),
    (([make_history()],), {"test_label": 1}, TypeError, r"test_label must be a string"),
])
def test_plot_histories_bad_input(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        lkplot.plot_histories(*args, **kwargs)
