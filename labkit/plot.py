"""Plots for the lab: training curves (static and live), image grids, a 2-D decision
boundary and a confusion matrix.

Introduced in ``02_logistic_regression_scratch`` (curves, decision boundary); images, the
live curves and the confusion matrix in ``04_softmax_regression_scratch``; lab 2 compares
several runs on one figure with ``plot_histories`` (activations, depth and width, dropout
rates, L2 strengths, optimizers).

Every function returns a ``matplotlib.figure.Figure`` built without ``pyplot``: nothing
is drawn on a screen, no window opens, and there is nothing to ``show()``. In Jupyter a
returned figure is displayed once, as the cell's result; elsewhere save it with
``fig.savefig("curves.png")``. Working without a display never fails.

Outside ``pyplot`` a Figure has no notebook representation of its own, so when labkit
runs inside a Jupyter kernel it registers the same PNG formatter as matplotlib's inline
backend (only if no Figure formatter is registered yet).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence

import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from labkit._checks import check_positive, check_positive_int, describe

__all__ = [
    "plot_history",
    "plot_histories",
    "Animator",
    "show_images",
    "plot_decision_boundary",
    "plot_confusion_matrix",
]


# ---------------------------------------------------------------- notebook support

def _kernel_shell():
    """The IPython shell when running inside a Jupyter kernel, else ``None``."""
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    if shell is None or getattr(shell, "kernel", None) is None:
        return None  # plain Python, or terminal IPython (no kernel, no rich display)
    return shell


def _in_jupyter() -> bool:
    return _kernel_shell() is not None


def _ensure_notebook_display() -> None:
    """In a Jupyter kernel, make Figures display as PNG (as the inline backend does)."""
    shell = _kernel_shell()
    if shell is None:
        return
    formatters = shell.display_formatter.formatters
    for mime in ("image/png", "image/svg+xml", "image/jpeg", "application/pdf"):
        try:
            formatters[mime].lookup_by_type(Figure)
            return  # already set up (pyplot's inline backend, or an earlier call)
        except KeyError:
            continue
    from IPython.core.pylabtools import select_figure_formats

    select_figure_formats(shell, {"png"})


def _new_figure(figsize: tuple[float, float]) -> Figure:
    _ensure_notebook_display()
    return Figure(figsize=figsize, layout="constrained")


def _to_numpy(x, name: str) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    try:
        return np.asarray(x)
    except Exception as e:  # re-raised with the argument's name
        raise TypeError(f"{name} must be a tensor or an array, got {describe(x)}") from e


# ---------------------------------------------------------------- training curves

_CURVE_FIELDS = ("epoch", "train_loss", "train_acc", "test_loss", "test_acc")


def _records(history) -> list[dict]:
    """Records from a ``History``, its ``to_dict()`` columns, or a list of record dicts."""
    if hasattr(history, "records"):
        return list(history.records)
    if isinstance(history, Mapping):
        missing = [f for f in _CURVE_FIELDS if f not in history]
        if missing:
            raise ValueError(f"history is missing the fields {missing}")
        return [dict(zip(_CURVE_FIELDS, values))
                for values in zip(*(history[f] for f in _CURVE_FIELDS))]
    if isinstance(history, Sequence) and all(isinstance(r, Mapping) for r in history):
        return list(history)
    raise TypeError(
        f"history must be a History, its to_dict(), or a list of records, got "
        f"{describe(history)}"
    )


def _has_accuracy(records: list[dict]) -> bool:
    """Whether any record holds an accuracy (a run trained with ``metric=None`` has none)."""
    return any(r.get(f) is not None for r in records for f in ("train_acc", "test_acc"))


def _want_accuracy(accuracy, have: bool, missing: str) -> bool:
    """The ``accuracy=`` argument of the curve plots: ``None`` draws the accuracy panel when
    the data has an accuracy; ``True`` requires one (else ``missing`` says what is missing);
    ``False`` leaves the panel out."""
    if accuracy is None:
        return have
    if not isinstance(accuracy, bool):
        raise TypeError(f"accuracy must be True, False or None (None: draw the accuracy panel "
                        f"when there is an accuracy), got {describe(accuracy)}")
    if accuracy and not have:
        raise ValueError(f"accuracy=True but {missing} (a run trained with metric=None, e.g. "
                         f"a regression): leave accuracy out, or pass accuracy=False, to "
                         f"plot the loss alone")
    return accuracy


def _draw_curves(axes, records: list[dict], num_epochs: int | None = None) -> None:
    """Train vs test loss on ``axes[0]``; train vs test accuracy on ``axes[1]`` when there
    is a second axes; x = epoch."""
    panels = (("loss", "loss"), ("acc", "accuracy"))[:len(axes)]
    for ax, (kind, ylabel) in zip(axes, panels):
        ax.cla()
        for split, style in (("train", "-"), ("test", "--")):
            points = [(r["epoch"], r[f"{split}_{kind}"]) for r in records
                      if r.get(f"{split}_{kind}") is not None]
            if points:
                xs, ys = zip(*points)
                ax.plot(xs, ys, style, marker="o", markersize=3, label=f"{split} {ylabel}")
        ax.set_title(ylabel)
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
        if num_epochs is not None and num_epochs > 1:
            ax.set_xlim(1, num_epochs)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(True, alpha=0.3)
        if ax.lines:
            ax.legend()


def plot_history(history, title: str | None = None, *, accuracy: bool | None = None) -> Figure:
    """The training curves: loss (train vs test) and accuracy (train vs test).

    Args:
        history: a ``History`` from ``train`` (or its ``to_dict()``, or a list of records).
        title: optional figure title.
        accuracy: draw the accuracy panel. ``None`` (default): when the history has an
            accuracy, i.e. not for a run trained with ``metric=None`` (a regression);
            ``True`` requires one (``ValueError`` otherwise); ``False``: the loss alone.

    Returns:
        A Figure with two axes (loss, accuracy), or one (loss) without accuracy; test
        curves are dashed and omitted when there is no test set.
    """
    records = _records(history)
    panels = 2 if _want_accuracy(accuracy, _has_accuracy(records),
                                    "the history holds no accuracy") else 1
    fig = _new_figure((9.0, 3.5) if panels == 2 else (5.0, 3.5))
    axes = fig.subplots(1, panels, squeeze=False)[0]
    _draw_curves(axes, records)
    if title is not None:
        fig.suptitle(title)
    return fig


def _labelled_runs(histories, labels) -> list[tuple[str, list[dict]]]:
    """``[(label, records), ...]`` from a dict ``{label: history}`` or a list + labels."""
    if isinstance(histories, Mapping):
        if labels is not None:
            raise ValueError("labels must be None when histories is a dict: its keys are "
                             "the labels")
        pairs = [(str(k), v) for k, v in histories.items()]
    elif isinstance(histories, Sequence) and not isinstance(histories, (str, bytes)):
        histories = list(histories)
        if labels is None:
            labels = [f"run {i}" for i in range(1, len(histories) + 1)]
        elif isinstance(labels, str) or len(labels) != len(histories):
            raise ValueError(f"labels must give one label per history ({len(histories)}), "
                             f"got {labels!r}")
        pairs = [(str(label), h) for label, h in zip(labels, histories)]
    else:
        raise TypeError(f"histories must be a dict {{label: History}} or a list of History "
                        f"objects, got {describe(histories)}")
    if not pairs:
        raise ValueError("histories is empty: there is nothing to plot")
    return [(label, _records(h)) for label, h in pairs]


def plot_histories(histories, labels: Sequence[str] | None = None, *,
                   title: str | None = None, test_label: str = "test",
                   accuracy: bool | None = None, logy: bool = False) -> Figure:
    """Several training runs on one figure: loss (and accuracy), train and test, per epoch.

    Each run has its own color; train curves are solid, test (or validation) curves
    dashed. Used to compare activations, depths and widths, dropout rates, L2 strengths or
    optimizers side by side.

    Args:
        histories: ``{label: History}`` (e.g. ``{"relu": h1, "tanh": h2}``), or a list of
            ``History`` objects (or their ``to_dict()``) with ``labels``.
        labels: one label per history when ``histories`` is a list (default "run 1", ...).
        title: optional figure title.
        test_label: what the second split is called in the legend: ``"test"``, or
            ``"validation"`` when ``lk.train`` was given a validation set as ``test_iter``.
        accuracy: draw the accuracy panel. ``None`` (default): when some history has an
            accuracy, i.e. not for runs trained with ``metric=None`` (a regression);
            ``True`` requires one (``ValueError`` otherwise); ``False``: the loss alone.
        logy: a logarithmic loss axis (losses that fall over several decades).

    Returns:
        A Figure with one axes per panel (loss, then accuracy); a legend of the runs (the
        colors) on the first and of the splits (the line styles) on the last.
    """
    runs = _labelled_runs(histories, labels)
    if not isinstance(test_label, str):
        raise TypeError(f"test_label must be a string, got {describe(test_label)}")
    have = any(_has_accuracy(records) for _, records in runs)
    accuracy = _want_accuracy(accuracy, have, "none of the histories holds an accuracy")
    panels = [("loss", "loss")] + ([("acc", "accuracy")] if accuracy else [])
    fig = _new_figure((4.5 * len(panels) + 1.0, 3.8))
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    colors = [f"C{i % 10}" for i in range(len(runs))]
    for ax, (kind, name) in zip(axes, panels):
        for (label, records), color in zip(runs, colors):
            for split, style in (("train", "-"), ("test", "--")):
                points = [(r["epoch"], r[f"{split}_{kind}"]) for r in records
                          if r.get(f"{split}_{kind}") is not None]
                if points:
                    xs, ys = zip(*points)
                    ax.plot(xs, ys, style, color=color, marker="o", markersize=2.5,
                            label=f"{label} ({split if split == 'train' else test_label})")
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(True, alpha=0.3)
        if kind == "loss" and logy:
            ax.set_yscale("log")
    from matplotlib.lines import Line2D

    run_handles = [Line2D([], [], color=c, label=label) for (label, _), c in zip(runs, colors)]
    axes[0].legend(handles=run_handles, fontsize=8, loc="best")
    style_handles = [Line2D([], [], color="gray", linestyle="-", label="train"),
                     Line2D([], [], color="gray", linestyle="--", label=test_label)]
    last = axes[-1]
    if len(axes) == 1:  # one panel: both legends on it
        last.add_artist(axes[0].get_legend())
    last.legend(handles=style_handles, fontsize=8,
                loc="best" if last is not axes[0] else "upper center")
    if title is not None:
        fig.suptitle(title)
    return fig


class Animator:
    """A live plot of the training curves over epochs: loss and accuracy side by side, or
    the loss alone (``accuracy=False``, what ``lk.train(..., metric=None)`` uses).

    ``add(epoch, record)`` appends one epoch's metrics (a dict with ``train_loss``,
    ``train_acc``, ``test_loss``, ``test_acc``; missing or ``None`` values are skipped).

    - In Jupyter, the figure is shown once (``display(fig, display_id=True)``) and then
      redrawn in place at each ``add`` (``handle.update(fig)``), in the same output.
    - Elsewhere (scripts, tests, a server without a display) nothing is displayed: the
      records are kept and the curves are drawn when ``figure`` or ``close()`` is read.

    Args:
        num_epochs: the x-axis runs from 1 to ``num_epochs``.
        title: optional figure title.
        figsize: figure size in inches (default ``(9.0, 3.5)`` with the accuracy panel,
            ``(5.0, 3.5)`` without).
        accuracy: draw the accuracy panel beside the loss (default ``True``); ``False``
            for a run without accuracy (a regression).
    """

    def __init__(self, num_epochs: int, *, title: str | None = None,
                 figsize: tuple[float, float] | None = None, accuracy: bool = True) -> None:
        self.num_epochs = check_positive_int(num_epochs, "num_epochs")
        if not isinstance(accuracy, bool):
            raise TypeError(f"accuracy must be True or False, got {describe(accuracy)}")
        self.records: list[dict] = []
        self.title = title
        self.accuracy = accuracy
        if figsize is None:
            figsize = (9.0, 3.5) if accuracy else (5.0, 3.5)
        self._fig = _new_figure(figsize)
        self._axes = self._fig.subplots(1, 2 if accuracy else 1, squeeze=False)[0]
        self._handle = None  # IPython display handle, once shown
        self._stale = True

    def add(self, epoch: int, record: Mapping) -> None:
        """Record one epoch's metrics and, in Jupyter, redraw the figure in place."""
        if not isinstance(record, Mapping):
            raise TypeError(f"record must be a dict of metrics, got {describe(record)}")
        self.records.append({**record, "epoch": epoch})
        self._stale = True
        if _in_jupyter():
            from IPython.display import display

            fig = self.figure  # redraws
            if self._handle is None:
                self._handle = display(fig, display_id=True)
            else:
                self._handle.update(fig)

    @property
    def figure(self) -> Figure:
        """The figure with every point added so far."""
        if self._stale:
            _draw_curves(self._axes, self.records, self.num_epochs)
            if self.title is not None:
                self._fig.suptitle(self.title)
            self._stale = False
        return self._fig

    def close(self) -> Figure:
        """Finish and return the final figure (in Jupyter it is already on screen)."""
        return self.figure


# ---------------------------------------------------------------- images

def show_images(images, titles: Sequence[str] | None = None, num_rows: int | None = None,
                num_cols: int | None = None, scale: float = 1.5) -> Figure:
    """A grid of images with optional titles and no axis ticks.

    Args:
        images: ``(N, H, W)`` grayscale, ``(N, 1, H, W)``, ``(N, 3, H, W)`` or
            ``(N, H, W, 3)``; uint8 or float; a tensor, an array or a list of them.
        titles: optional, one per image (e.g. ``"true\\npredicted"``): a list, a tuple,
            or anything with a length whose items print as titles.
        num_rows, num_cols: grid size; by default up to 8 columns and as many rows as
            needed. If both are given, only the first ``num_rows * num_cols`` images show.
        scale: inches per image.

    Returns:
        A Figure with one axes per image shown.

    Unlike d2l's ``show_images(imgs, num_rows, num_cols, titles=None, scale=1.5)``,
    ``titles`` comes second: pass the grid size by keyword. d2l's positional call
    ``show_images(X, 2, 9)`` would put 2 in ``titles``; it is refused with a
    ``TypeError`` that says how to write it here (``num_rows=2, num_cols=9``).
    """
    _check_titles(titles, num_rows, num_cols)
    if isinstance(images, (list, tuple)):
        images = [_to_numpy(img, "images") for img in images]
        if not images:
            raise ValueError("images is empty: there is nothing to show")
        images = np.stack(images)
    else:
        images = _to_numpy(images, "images")
    if images.ndim == 4 and images.shape[1] in (1, 3):  # (N, C, H, W) -> (N, H, W, C)
        images = images.transpose(0, 2, 3, 1)
    if images.ndim == 4 and images.shape[3] == 1:
        images = images[..., 0]  # (N, H, W, 1) -> (N, H, W)
    if images.ndim not in (3, 4) or (images.ndim == 4 and images.shape[3] != 3):
        raise ValueError(
            f"images must have shape (N, H, W), (N, 1, H, W), (N, 3, H, W) or (N, H, W, 3), "
            f"got shape {images.shape}"
        )
    n = images.shape[0]
    if n == 0:
        raise ValueError("images is empty: there is nothing to show")
    if titles is not None and len(titles) != n:
        raise ValueError(f"titles must have one entry per image ({n}), got {len(titles)}")
    scale = check_positive(scale, "scale")
    if num_rows is None and num_cols is None:
        num_cols = min(n, 8)
    if num_cols is None:
        num_cols = math.ceil(n / check_positive_int(num_rows, "num_rows"))
    num_cols = check_positive_int(num_cols, "num_cols")
    if num_rows is None:
        num_rows = math.ceil(n / num_cols)
    num_rows = check_positive_int(num_rows, "num_rows")
    shown = min(n, num_rows * num_cols)
    title_space = 0.35 if titles is not None else 0.0
    fig = _new_figure((num_cols * scale, num_rows * (scale + title_space)))
    for i in range(shown):
        ax = fig.add_subplot(num_rows, num_cols, i + 1)
        ax.imshow(images[i], cmap="gray" if images.ndim == 3 else None)
        ax.set_xticks([])
        ax.set_yticks([])
        if titles is not None:
            ax.set_title(str(titles[i]), fontsize=9)
    return fig


def _check_titles(titles, num_rows, num_cols) -> None:
    """``titles`` must be ``None`` or a sequence of titles; a number there is d2l's argument
    order, ``show_images(imgs, num_rows, num_cols, titles)``, and gets its translation."""
    if titles is None:
        return
    if isinstance(titles, numbers.Number):
        fixed = [f"num_rows={titles!r}"]
        if num_rows is not None:
            fixed.append(f"num_cols={num_rows!r}")
        if num_cols is not None:  # d2l's fourth positional argument: the titles
            fixed.insert(0, "titles=...")
        raise TypeError(
            f"titles must be one title per image (a list of strings) or None, got "
            f"{describe(titles)}: this looks like d2l's order, show_images(imgs, num_rows, "
            f"num_cols, titles). In labkit titles comes second and the grid size is passed "
            f"by keyword: lk.show_images(images, {', '.join(fixed)})"
        )
    if isinstance(titles, (str, bytes)) or not hasattr(titles, "__len__") or \
            not hasattr(titles, "__getitem__"):
        raise TypeError(
            f"titles must be one title per image (a list of strings) or None, got "
            f"{describe(titles)}; for a single image pass a list, titles=[title]"
        )


# ---------------------------------------------------------------- decision boundary

def _line_params(w, b, name_w: str, name_b: str) -> tuple[float, float, float]:
    w = _to_numpy(w, name_w).astype(float).reshape(-1)
    if w.shape != (2,):
        raise ValueError(
            f"{name_w} must hold 2 weights (a 2-D logistic model), got {w.size} values"
        )
    b = _to_numpy(b, name_b).astype(float).reshape(-1)
    if b.shape != (1,):
        raise ValueError(f"{name_b} must be a single number, got {b.size} values")
    return float(w[0]), float(w[1]), float(b[0])


def _draw_line(ax, w0: float, w1: float, b: float, xlim, style: str, label: str) -> None:
    """Draw ``w0 * x0 + w1 * x1 + b = 0`` across ``xlim``."""
    if w0 == 0 and w1 == 0:
        ax.plot([], [], style, label=f"{label} (w = 0: none)")
        return
    if abs(w1) <= 1e-6 * abs(w0):  # (nearly) vertical: x0 = -b / w0
        x0 = -b / w0
        ax.plot([x0, x0], ax.get_ylim(), style, label=label)
        return
    x0 = np.linspace(xlim[0], xlim[1], 2)
    ax.plot(x0, -(w0 * x0 + b) / w1, style, label=label)  # x1 = -(w0 x0 + b) / w1


def plot_decision_boundary(X, y, w, b, true_w=None, true_b=None,
                           title: str | None = None) -> Figure:
    """Scatter a 2-D binary data set with the learned (and true) boundary line.

    The boundary of a logistic model is where the logit is 0:
    ``w0 * x0 + w1 * x1 + b = 0``, i.e. ``x1 = -(w0 * x0 + b) / w1`` (a vertical line
    ``x0 = -b / w0`` when ``w1`` is 0).

    Args:
        X: features ``(N, 2)``.
        y: labels ``(N,)``, 0/1 (int, float or bool).
        w: learned weights, 2 values (``(2,)``, or ``nn.Linear``'s ``(1, 2)``).
        b: learned bias, one value.
        true_w, true_b: optional true parameters, drawn dashed.
        title: optional axes title.

    Returns:
        A Figure with one axes: two scatter collections (class 0, class 1), the learned
        line, the true line if given, and a legend.
    """
    X = _to_numpy(X, "X").astype(float)  # float64: the line is computed from its range
    y = _to_numpy(y, "y").reshape(-1)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"X must have shape (N, 2), got shape {X.shape}")
    if y.shape[0] != X.shape[0]:
        raise ValueError(
            f"X and y must hold the same number of examples: got {X.shape[0]} and {y.shape[0]}"
        )
    if not np.isin(y, (0, 1)).all():
        raise ValueError("y must hold binary labels 0/1")
    learned = _line_params(w, b, "w", "b")
    true = None
    if true_w is not None or true_b is not None:
        if true_w is None or true_b is None:
            raise ValueError("true_w and true_b must be given together")
        true = _line_params(true_w, true_b, "true_w", "true_b")

    fig = _new_figure((5.0, 4.5))
    ax = fig.add_subplot()
    positive = y == 1
    ax.scatter(X[~positive, 0], X[~positive, 1], s=12, alpha=0.7, label="class 0")
    ax.scatter(X[positive, 0], X[positive, 1], s=12, alpha=0.7, marker="^", label="class 1")
    pad = 0.05 * (np.ptp(X, axis=0) + 1e-12)
    xlim = (X[:, 0].min() - pad[0], X[:, 0].max() + pad[0])
    ax.set_xlim(*xlim)
    ax.set_ylim(X[:, 1].min() - pad[1], X[:, 1].max() + pad[1])
    _draw_line(ax, *learned, xlim, "k-", "learned boundary")
    if true is not None:
        _draw_line(ax, *true, xlim, "r--", "true boundary")
    ax.set_xlabel("$x_0$")
    ax.set_ylabel("$x_1$")
    if title is not None:
        ax.set_title(title)
    ax.legend(loc="best", fontsize=8)
    return fig


# ---------------------------------------------------------------- confusion matrix

def plot_confusion_matrix(cm, class_names: Sequence[str] | None = None,
                          normalize: bool = False) -> Figure:
    """A confusion matrix as an image with the count (or fraction) in each cell.

    Args:
        cm: ``(C, C)`` counts from ``confusion_matrix``; rows true, columns predicted.
        class_names: optional ``C`` names for the axes (default: 0 .. C-1).
        normalize: divide each row by its total, so a cell is the fraction of that true
            class predicted as the column's class (the diagonal is per-class accuracy).

    Returns:
        A Figure with the matrix axes and its colorbar.
    """
    cm = _to_numpy(cm, "cm")
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"cm must be a square (C, C) matrix, got shape {cm.shape}")
    num_classes = cm.shape[0]
    if class_names is None:
        class_names = [str(i) for i in range(num_classes)]
    if len(class_names) != num_classes:
        raise ValueError(
            f"class_names must have one name per class ({num_classes}), got {len(class_names)}"
        )
    values = cm.astype(float)
    if normalize:
        totals = values.sum(axis=1, keepdims=True)
        values = np.divide(values, totals, out=np.zeros_like(values), where=totals > 0)
    size = 2.5 + 0.55 * num_classes
    fig = _new_figure((size + 1.0, size))
    ax = fig.add_subplot()
    image = ax.imshow(values, cmap="Blues", vmin=0.0, vmax=1.0 if normalize else None)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    threshold = (values.max() if values.size else 0.0) / 2
    for i in range(num_classes):
        for j in range(num_classes):
            text = f"{values[i, j]:.2f}" if normalize else f"{int(cm[i, j])}"
            ax.text(j, i, text, ha="center", va="center", fontsize=8,
                    color="white" if values[i, j] > threshold else "black")
    ticks = np.arange(num_classes)
    ax.set_xticks(ticks)
    ax.set_yticks(ticks)
    long_names = max((len(str(n)) for n in class_names), default=0) > 3
    ax.set_xticklabels([str(n) for n in class_names], rotation=45 if long_names else 0,
                       ha="right" if long_names else "center")
    ax.set_yticklabels([str(n) for n in class_names])
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("confusion matrix" + (" (row-normalized)" if normalize else ""))
    return fig
