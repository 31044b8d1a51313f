"""Tests for labkit.monitor and ``lk.train(..., log_dir=DIR)``: the TensorBoard scalars are
read back from the events files and equal the History's numbers; a missing tensorboard
package gives an ImportError naming the extra before training starts; bad folders are
refused."""

from __future__ import annotations

import sys

import pytest
import torch
from torch import nn

import labkit as lk
from labkit import monitor

pytest.importorskip("tensorboard", reason="the tensorboard extra is not installed")
from tensorboard.backend.event_processing.event_accumulator import (  # noqa: E402
    EventAccumulator,
)


def _scalars(folder) -> dict[str, list[tuple[int, float]]]:
    events = EventAccumulator(str(folder))
    events.Reload()
    return {tag: [(e.step, e.value) for e in events.Scalars(tag)]
            for tag in events.Tags()["scalars"]}


def _problem(seed=0):
    X, y, Xt, yt = lk.make_binary_data(128, 64, num_inputs=10, mean=0.5, seed=seed)
    train_iter = lk.InMemoryLoader(X, y, 32, seed=seed)
    test_iter = lk.InMemoryLoader(Xt, yt, 32, shuffle=False)
    net = lk.MLP(10, (8,), 1, generator=torch.Generator().manual_seed(seed))
    return net, train_iter, test_iter, torch.optim.SGD(net.parameters(), lr=0.5)


def test_train_writes_every_epoch_as_tensorboard_scalars(tmp_path):
    net, train_iter, test_iter, opt = _problem()
    history = lk.train(net, train_iter, test_iter, nn.BCEWithLogitsLoss(), 3, opt,
                       progress=False, log_dir=tmp_path / "runs" / "mlp")
    scalars = _scalars(tmp_path / "runs" / "mlp")
    assert set(scalars) == {"loss/train", "loss/test", "accuracy/train", "accuracy/test",
                            "time/epoch_seconds"}
    for field, tag in monitor.TAGS.items():
        steps, values = zip(*scalars[tag])
        assert steps == (1, 2, 3)
        # events store float32: equal to the History's float64 numbers at that precision
        assert values == pytest.approx(getattr(history, field), rel=1e-6)


def test_without_a_test_set_only_train_scalars(tmp_path):
    net, train_iter, _, opt = _problem(1)
    lk.train(net, train_iter, None, nn.BCEWithLogitsLoss(), 2, opt, progress=False,
             log_dir=str(tmp_path))
    assert set(_scalars(tmp_path)) == {"loss/train", "accuracy/train", "time/epoch_seconds"}


def test_a_regression_writes_its_losses_alone(tmp_path):
    X, y, Xt, yt = lk.make_regression_data(128, 64, num_inputs=10, seed=0)
    train_iter = lk.InMemoryLoader(X, y, 32, seed=0)
    test_iter = lk.InMemoryLoader(Xt, yt, 32, shuffle=False)
    net = lk.MLP(10, (8,), 1, generator=torch.Generator().manual_seed(0))
    history = lk.train(net, train_iter, test_iter, nn.MSELoss(), 2,
                       torch.optim.SGD(net.parameters(), lr=0.1), metric=None,
                       progress=False, log_dir=tmp_path)
    scalars = _scalars(tmp_path)
    assert set(scalars) == {"loss/train", "loss/test", "time/epoch_seconds"}
    assert [v for _, v in scalars["loss/test"]] == pytest.approx(history.test_loss, rel=1e-6)


def test_two_runs_in_sibling_folders_are_two_runs(tmp_path):
    for name, lr in (("lr0.5", 0.5), ("lr0.05", 0.05)):
        net, train_iter, test_iter, _ = _problem(2)
        lk.train(net, train_iter, test_iter, nn.BCEWithLogitsLoss(), 2,
                 torch.optim.SGD(net.parameters(), lr=lr), progress=False,
                 log_dir=tmp_path / name)
    fast, slow = (_scalars(tmp_path / n)["loss/train"] for n in ("lr0.5", "lr0.05"))
    assert fast != slow and len(fast) == len(slow) == 2


def test_missing_tensorboard_names_the_extra_before_training(tmp_path, monkeypatch):
    # as if tensorboard were not installed: importing it (and torch's wrapper) fails
    monkeypatch.setitem(sys.modules, "tensorboard", None)
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)
    net, train_iter, test_iter, opt = _problem(3)
    before = [p.detach().clone() for p in net.parameters()]
    with pytest.raises(ImportError, match=r"tensorboard package is not installed.*"
                                          r"pip install \"labkit\[tensorboard\]\""):
        lk.train(net, train_iter, test_iter, nn.BCEWithLogitsLoss(), 2, opt, progress=False,
                 log_dir=tmp_path / "run")
    assert all(torch.equal(p, q) for p, q in zip(net.parameters(), before))  # not trained
    assert not (tmp_path / "run").exists()
    # and without log_dir nothing needs tensorboard
    lk.train(net, train_iter, test_iter, nn.BCEWithLogitsLoss(), 1, opt, progress=False)


@pytest.mark.parametrize("log_dir, error, match", [
    (3, TypeError, r"log_dir must be a folder path \(a str or pathlib.Path\), got 3"),
    ("", ValueError, r"log_dir is empty"),
])
def test_bad_log_dir(log_dir, error, match):
    net, train_iter, test_iter, opt = _problem(4)
    with pytest.raises(error, match=match):
        lk.train(net, train_iter, test_iter, nn.BCEWithLogitsLoss(), 1, opt, progress=False,
                 log_dir=log_dir)


def test_log_dir_that_is_a_file_is_refused(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("not a folder")
    with pytest.raises(ValueError, match=r"log_dir .*notes.txt' is a file, not a folder"):
        monitor.open_summary_writer(path)
