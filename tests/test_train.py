"""Tests for labkit.train: it learns, scratch == nn step for step, errors are clear."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from torch import nn

import labkit as lk
from labkit.functional import binary_cross_entropy_with_logits, cross_entropy
from labkit.models import (
    LogisticRegression,
    LogisticRegressionScratch,
    SoftmaxRegression,
    SoftmaxRegressionScratch,
)
from labkit.optim import SGD, sgd
from labkit.train import History, NonFiniteLossError, train, train_epoch

FIELDS = ["epoch", "train_loss", "train_acc", "test_loss", "test_acc", "seconds"]


def blobs(num_per_class, centers, seed):
    """Gaussian blobs (std 1) around ``centers``: X float32 (N, D), y int64 (N,), shuffled."""
    g = torch.Generator().manual_seed(seed)
    centers = torch.tensor(centers, dtype=torch.float32)  # (C, D)
    X = torch.cat([c + torch.randn(num_per_class, len(c), generator=g) for c in centers])
    y = torch.arange(len(centers)).repeat_interleave(num_per_class)
    perm = torch.randperm(len(y), generator=g)
    return X[perm], y[perm]


def batches(X, y, batch_size):
    """A re-iterable list of batches in a fixed order; the last one may be partial."""
    return [(X[i:i + batch_size], y[i:i + batch_size]) for i in range(0, len(y), batch_size)]


def binary_data(seed=0, batch_size=32):
    """Two well separated 2-D classes (labels float 0./1.): train and test batches."""
    X, y = blobs(150, [[2.5, 2.5], [-2.5, -2.5]], seed)
    y = y.float()
    return batches(X[:200], y[:200], batch_size), batches(X[200:], y[200:], 64)


def multiclass_data(seed=0, batch_size=32):
    """Three well separated 4-D classes (int64 labels): train and test batches."""
    X, y = blobs(100, [[4, 0, 0, 0], [0, 4, 0, 0], [0, 0, 4, 0]], seed)
    return batches(X[:210], y[:210], batch_size), batches(X[210:], y[210:], 64)


def bce_none(y_hat, y):
    return binary_cross_entropy_with_logits(y_hat, y, reduction="none")


def ce_none(y_hat, y):
    return cross_entropy(y_hat, y, reduction="none")


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


# ---------------------------------------------------------------- it learns

def test_logistic_scratch_with_functional_sgd():
    train_iter, test_iter = binary_data()
    net = LogisticRegressionScratch(2, generator=gen())
    lr = 0.5
    history = train(net, train_iter, test_iter, bce_none, 5,
                    lambda batch_size: sgd(net.parameters(), lr, batch_size), progress=False)
    assert history.last["test_acc"] >= 0.95
    assert history.train_loss[-1] < history.train_loss[0]


@pytest.mark.parametrize("optimizer", ["torch", "labkit"])
def test_logistic_nn_with_optimizer(optimizer):
    train_iter, test_iter = binary_data()
    torch.manual_seed(0)
    net = LogisticRegression(2)
    opt_class = torch.optim.SGD if optimizer == "torch" else SGD
    updater = opt_class(net.parameters(), lr=0.5)
    history = train(net, train_iter, test_iter, nn.BCEWithLogitsLoss(), 5, updater,
                    progress=False, device="cpu")
    assert history.last["test_acc"] >= 0.95
    assert net.training  # evaluation restored training mode


def test_softmax_scratch_and_nn_learn():
    train_iter, test_iter = multiclass_data()
    scratch = SoftmaxRegressionScratch(4, 3, generator=gen())
    lr = 0.2
    history = train(scratch, train_iter, test_iter, ce_none, 5,
                    lambda batch_size: sgd(scratch.parameters(), lr, batch_size),
                    progress=False)
    assert history.last["test_acc"] >= 0.95
    torch.manual_seed(0)
    net = SoftmaxRegression(4, 3)
    history = train(net, train_iter, test_iter, nn.CrossEntropyLoss(), 5,
                    torch.optim.SGD(net.parameters(), lr=lr), progress=False)
    assert history.last["test_acc"] >= 0.95


# ---------------------------------------------------------------- scratch == nn

def test_logistic_scratch_and_nn_same_trajectory():
    """The lab's headline: a scratch model with the summed loss and ``sgd(params, lr,
    batch_size)`` takes the same steps as its ``torch.nn`` twin with the mean loss and
    ``torch.optim.SGD``; float32, 6 epochs, a partial last batch."""
    assert torch.get_default_dtype() == torch.float32
    train_iter, test_iter = binary_data(seed=1, batch_size=24)  # 200 = 8 * 24 + 8
    lr = 0.3
    scratch = LogisticRegressionScratch(2, generator=gen(1))
    net = scratch.to_nn()
    h_scratch = train(scratch, train_iter, test_iter, bce_none, 6,
                      lambda batch_size: sgd(scratch.parameters(), lr, batch_size),
                      progress=False)
    h_nn = train(net, train_iter, test_iter, nn.BCEWithLogitsLoss(), 6,
                 torch.optim.SGD(net.parameters(), lr=lr), progress=False)
    for field in ("train_loss", "test_loss"):
        a, b = getattr(h_scratch, field), getattr(h_nn, field)
        assert max(abs(u - v) for u, v in zip(a, b)) < 1e-5, (field, a, b)
    assert h_scratch.train_acc == h_nn.train_acc and h_scratch.test_acc == h_nn.test_acc
    torch.testing.assert_close(net.linear.weight.detach().reshape(-1), scratch.w.detach(),
                               rtol=1e-5, atol=1e-5)
    # the training moved the weights far from their initial N(0, 0.01^2) values
    assert scratch.w.abs().max() > 0.5


def test_softmax_scratch_and_nn_same_trajectory():
    train_iter, test_iter = multiclass_data(seed=2, batch_size=25)  # 210 = 8 * 25 + 10
    lr = 0.1
    scratch = SoftmaxRegressionScratch(4, 3, generator=gen(2))
    net = scratch.to_nn()
    h_scratch = train(scratch, train_iter, test_iter, ce_none, 5,
                      lambda batch_size: sgd(scratch.parameters(), lr, batch_size),
                      progress=False)
    h_nn = train(net, train_iter, test_iter, nn.CrossEntropyLoss(), 5,
                 torch.optim.SGD(net.parameters(), lr=lr), progress=False)
    for field in ("train_loss", "test_loss"):
        a, b = getattr(h_scratch, field), getattr(h_nn, field)
        assert max(abs(u - v) for u, v in zip(a, b)) < 1e-5, (field, a, b)
    torch.testing.assert_close(net.linear.weight.detach().T, scratch.W.detach(),
                               rtol=1e-5, atol=1e-5)


def test_loss_reductions_give_the_same_training():
    """Per-example, mean and sum losses are all reported as means and give the same steps
    (with an optimizer the loop always backpropagates the mean)."""
    train_iter, test_iter = binary_data(seed=3)
    histories = []
    for reduction in ("none", "mean", "sum"):
        net = LogisticRegressionScratch(2, generator=gen(3))
        loss = nn.BCEWithLogitsLoss(reduction=reduction)
        histories.append(train(net, train_iter, test_iter, loss, 3,
                               SGD(net.parameters(), lr=0.3), progress=False))
    for h in histories[1:]:
        for field in ("train_loss", "test_loss"):
            a, b = getattr(histories[0], field), getattr(h, field)
            assert max(abs(u - v) for u, v in zip(a, b)) < 1e-6


# ---------------------------------------------------------------- history

def test_history_fields_and_json(tmp_path):
    train_iter, test_iter = binary_data()
    net = LogisticRegressionScratch(2, generator=gen())
    history = train(net, train_iter, test_iter, bce_none, 3, SGD(net.parameters(), lr=0.1),
                    progress=False)
    assert len(history) == 3
    assert [list(r) for r in history] == [FIELDS] * 3
    assert history.epoch == [1, 2, 3]
    for field in FIELDS:
        assert len(getattr(history, field)) == 3
    assert all(s >= 0 for s in history.seconds)
    assert all(0 <= a <= 1 for a in history.train_acc + history.test_acc)
    assert history[-1] == history.last
    assert history.to_dict()["test_acc"] == history.test_acc
    assert history.figure is None
    assert "3 epochs" in repr(history)
    path = tmp_path / "history.json"
    history.save_json(path)
    loaded = History.load_json(path)
    assert loaded.records == history.records


def test_no_test_set():
    train_iter, _ = binary_data()
    net = LogisticRegressionScratch(2, generator=gen())
    history = train(net, train_iter, None, bce_none, 2, SGD(net.parameters(), lr=0.1),
                    progress=False)
    assert history.test_loss == [None, None] and history.test_acc == [None, None]


# ---------------------------------------------------------------- regression: metric=None

def regression_data(seed=0, batch_size=25):
    """Lab 2's regression set, small: y = 0.028 + x @ w + noise, targets (N, 1)."""
    X, y, Xt, yt = lk.make_regression_data(200, 100, num_inputs=5, true_w=1.0, noise=0.1,
                                           seed=seed)
    return batches(X, y, batch_size), batches(Xt, yt, 50)


def linear_net(seed=0):
    torch.manual_seed(seed)
    return nn.Linear(5, 1)


def test_regression_trains_without_accuracy(tmp_path, capsys):
    train_iter, test_iter = regression_data()
    net = linear_net()
    history = train(net, train_iter, test_iter, nn.MSELoss(), 5,
                    torch.optim.SGD(net.parameters(), lr=0.1), metric=None, verbose=True)
    assert history.train_acc == [None] * 5 and history.test_acc == [None] * 5
    assert not history.has_accuracy
    assert history.test_loss[-1] < 0.05 < history.test_loss[0]  # noise^2 = 0.01 is the floor
    # repr: the losses, no accuracy placeholders
    text = repr(history)
    assert "train_loss=" in text and "test_loss=" in text and "acc" not in text
    # the verbose table has no accuracy columns, the progress bar shows both losses
    out, err = capsys.readouterr()
    lines = out.strip().splitlines()
    assert lines[0].split() == ["epoch", "train", "loss", "test", "loss", "seconds"]
    assert [len(line.split()) for line in lines[1:]] == [4] * 5
    assert "test_loss=" in err and "acc" not in err
    # JSON: the accuracies are null and come back as None
    path = tmp_path / "regression.json"
    history.save_json(path)
    assert '"train_acc": [\n    null,' in path.read_text()
    loaded = History.load_json(path)
    assert loaded.records == history.records and not loaded.has_accuracy


def test_train_epoch_and_evaluate_without_accuracy():
    train_iter, test_iter = regression_data()
    net = linear_net()
    loss, acc = train_epoch(net, train_iter, nn.MSELoss(),
                            torch.optim.SGD(net.parameters(), lr=0.1), metric=None)
    assert acc is None and loss > 0
    mean_loss, acc = lk.evaluate(net, test_iter, nn.MSELoss(), metric=None)
    X = torch.cat([X for X, _ in test_iter])
    y = torch.cat([y for _, y in test_iter])
    with torch.no_grad():
        expected = nn.functional.mse_loss(net(X), y).item()
    assert acc is None and mean_loss == pytest.approx(expected, rel=1e-6)
    with pytest.raises(ValueError, match=r"nothing to compute with metric=None and no loss"):
        lk.evaluate(net, test_iter, metric=None)


def test_metric_none_on_a_classification_gives_the_same_losses():
    runs = []
    for metric in ("accuracy", None):
        train_iter, test_iter = binary_data()
        net = LogisticRegressionScratch(2, generator=gen())
        runs.append(train(net, train_iter, test_iter, bce_none, 3,
                          SGD(net.parameters(), lr=0.1), metric=metric, progress=False))
    with_acc, without = runs
    assert with_acc.train_loss == without.train_loss
    assert with_acc.test_loss == without.test_loss
    assert with_acc.has_accuracy and without.train_acc == [None] * 3


def test_regression_targets_with_the_default_metric_are_refused_before_any_step():
    train_iter, test_iter = regression_data()
    net = linear_net()
    before = [p.detach().clone() for p in net.parameters()]
    with pytest.raises(ValueError, match=r"train_iter \(batch 1\): y holds -?\d.* which is "
                                         r"not a class label .*pass metric=None"):
        train(net, train_iter, test_iter, nn.MSELoss(), 2,
              torch.optim.SGD(net.parameters(), lr=0.1), progress=False)
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters()))  # untouched
    with pytest.raises(ValueError, match=r"train_iter \(batch 1\).*metric=None"):
        train_epoch(net, train_iter, nn.MSELoss(), torch.optim.SGD(net.parameters(), lr=0.1))
    with pytest.raises(ValueError, match=r"data_iter \(batch 1\).*metric=None"):
        lk.evaluate(net, test_iter, nn.MSELoss())
    # only the test set's targets are not labels: named as test_iter
    bin_train, _ = binary_data()
    logistic = LogisticRegressionScratch(2, generator=gen())
    soft = [(X[:, :2], y.reshape(-1) * 0 + 0.5) for X, y in regression_data()[1]]
    with pytest.raises(ValueError, match=r"test_iter \(batch 1\): y holds 0.5.*0 and 1"):
        train(logistic, bin_train, soft, bce_none, 1, SGD(logistic.parameters(), lr=0.1),
              progress=False)
    # multi-class scores: labels must be whole numbers
    scores = [(torch.zeros(4, 3), torch.tensor([0.0, 1.0, 2.5, 1.0]))]
    with pytest.raises(ValueError, match=r"y holds 2.5.*class labels are whole numbers"):
        lk.evaluate(lambda X: X, scores)
    assert lk.evaluate(lambda X: X, [(torch.zeros(2, 3), torch.tensor([0.0, 2.0]))])[1] == 0.5


@pytest.mark.parametrize("metric, error, match", [
    ("mse", ValueError, r"metric must be 'accuracy' \(classification.*or None.*got 'mse'"),
    (lk.accuracy, TypeError, r"metric must be 'accuracy'.*got <function accuracy"),
    (True, TypeError, r"metric must be 'accuracy'.*got True \(bool\)"),
])
def test_bad_metric(metric, error, match):
    train_iter, test_iter = binary_data()
    net = LogisticRegressionScratch(2, generator=gen())
    updater = SGD(net.parameters(), lr=0.1)
    with pytest.raises(error, match=match):
        train(net, train_iter, test_iter, bce_none, 1, updater, metric=metric)
    with pytest.raises(error, match=match):
        train_epoch(net, train_iter, bce_none, updater, metric=metric)
    with pytest.raises(error, match=match):
        lk.evaluate(net, test_iter, bce_none, metric=metric)


def test_live_plot_without_accuracy_has_one_panel():
    train_iter, test_iter = regression_data()
    net = linear_net()
    history = train(net, train_iter, test_iter, nn.MSELoss(), 3,
                    torch.optim.SGD(net.parameters(), lr=0.1), metric=None, progress=False,
                    live_plot=True)
    (ax_loss,) = history.figure.axes
    assert ax_loss.get_title() == "loss"
    assert [line.get_label() for line in ax_loss.lines] == ["train loss", "test loss"]


# ---------------------------------------------------------------- non-finite loss

def nan_at(epoch, batch, loss):
    """Wrap ``loss`` so that it returns nan at the given (1-based) epoch and batch."""
    calls = {"n": 0}
    batches_per_epoch = len(binary_data()[0])

    def wrapped(y_hat, y):
        out = loss(y_hat, y)
        if not torch.is_grad_enabled():  # evaluation: not counted
            return out
        calls["n"] += 1
        if calls["n"] == (epoch - 1) * batches_per_epoch + batch:
            out = out * float("nan")
        return out

    return wrapped


@pytest.mark.parametrize("kind", ["torch", "labkit", "closure"])
def test_nan_loss_names_epoch_batch_and_lr(kind):
    train_iter, test_iter = binary_data()
    net = LogisticRegressionScratch(2, generator=gen())
    lr = 0.125
    if kind == "torch":
        updater = torch.optim.SGD(net.parameters(), lr=lr)
    elif kind == "labkit":
        updater = SGD(net.parameters(), lr=lr)
    else:
        def updater(batch_size):
            sgd(net.parameters(), lr, batch_size)
    loss = nan_at(2, 3, bce_none)
    with pytest.raises(NonFiniteLossError, match=r"epoch 2, batch 3 \(lr=0\.125\)") as info:
        train(net, train_iter, test_iter, loss, 4, updater, progress=False)
    err = info.value
    assert isinstance(err, FloatingPointError)
    assert (err.epoch, err.batch, err.lr) == (2, 3, 0.125) and math.isnan(err.value)
    assert len(err.history) == 1  # the epoch finished before
    assert torch.isfinite(net.w).all()  # raised before the nan could reach the weights


def test_huge_learning_rate_overflows_and_is_reported():
    train_iter, test_iter = binary_data()
    torch.manual_seed(0)
    net = LogisticRegression(2)
    updater = torch.optim.SGD(net.parameters(), lr=1e38)
    with pytest.raises(NonFiniteLossError, match=r"epoch 1, batch \d+ \(lr=1e\+38\)"):
        train(net, train_iter, test_iter, nn.BCEWithLogitsLoss(), 3, updater, progress=False)


def test_train_epoch_alone():
    train_iter, _ = binary_data()
    net = LogisticRegressionScratch(2, generator=gen())
    net.eval()
    loss, acc = train_epoch(net, train_iter, bce_none, SGD(net.parameters(), lr=0.5))
    assert net.training
    assert loss > 0 and 0.5 <= acc <= 1  # measured before each step, from ~0 weights
    with pytest.raises(NonFiniteLossError, match=r"at batch 1 \(lr unknown\)"):
        train_epoch(net, train_iter, lambda y_hat, y: bce_none(y_hat, y) / 0 * 0,
                    lambda batch_size: None)


# ---------------------------------------------------------------- output and plots

def test_verbose_table_and_progress_bar(capsys):
    train_iter, test_iter = binary_data()
    net = LogisticRegressionScratch(2, generator=gen())
    train(net, train_iter, test_iter, bce_none, 2, SGD(net.parameters(), lr=0.1),
          verbose=True, progress=True)
    out, err = capsys.readouterr()
    lines = out.strip().splitlines()
    assert lines[0].split() == ["epoch", "train", "loss", "train", "acc", "test", "loss",
                                "test", "acc", "seconds"]
    assert [line.split()[0] for line in lines[1:]] == ["1", "2"]
    assert len(lines[1].split()) == 6
    assert "2/2" in err  # tqdm's bar on stderr


def test_quiet_by_default_without_progress(capsys):
    train_iter, test_iter = binary_data()
    net = LogisticRegressionScratch(2, generator=gen())
    train(net, train_iter, test_iter, bce_none, 1, SGD(net.parameters(), lr=0.1),
          progress=False)
    assert capsys.readouterr() == ("", "")


def test_live_plot_headless_makes_no_display_call(monkeypatch):
    import IPython.display

    def no_display(*args, **kwargs):
        raise AssertionError("display() must not be called outside Jupyter")

    monkeypatch.setattr(IPython.display, "display", no_display)
    train_iter, test_iter = binary_data()
    net = LogisticRegressionScratch(2, generator=gen())
    history = train(net, train_iter, test_iter, bce_none, 3, SGD(net.parameters(), lr=0.1),
                    progress=False, live_plot=True)
    assert isinstance(history.figure, Figure)
    ax_loss, ax_acc = history.figure.axes[:2]
    assert len(ax_loss.lines) == 2 and len(ax_acc.lines) == 2
    assert list(ax_loss.lines[0].get_xdata()) == [1, 2, 3]


# ---------------------------------------------------------------- bad input

def test_bad_arguments():
    train_iter, test_iter = binary_data()
    net = LogisticRegressionScratch(2, generator=gen())
    updater = SGD(net.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="num_epochs must be a positive integer, got 0"):
        train(net, train_iter, test_iter, bce_none, 0, updater)
    with pytest.raises(TypeError, match="num_epochs must be a positive integer"):
        train(net, train_iter, test_iter, bce_none, 2.0, updater)
    with pytest.raises(TypeError, match="num_epochs"):
        train(net, train_iter, test_iter, bce_none, True, updater)
    with pytest.raises(TypeError, match="updater must be an optimizer.*got 0.1"):
        train(net, train_iter, test_iter, bce_none, 1, 0.1)
    with pytest.raises(TypeError, match="net must be callable"):
        train(net.parameters(), train_iter, test_iter, bce_none, 1, updater)
    with pytest.raises(TypeError, match="loss must be callable"):
        train(net, train_iter, test_iter, "bce", 1, updater)
    with pytest.raises(ValueError, match="train_iter produced no batches"):
        train(net, [], test_iter, bce_none, 1, updater, progress=False)
    with pytest.raises(TypeError, match="train_iter must be re-iterable"):
        train(net, iter(train_iter), test_iter, bce_none, 2, updater, progress=False)
    with pytest.raises(TypeError, match="train_iter must be an iterable"):
        train(net, 5, test_iter, bce_none, 1, updater, progress=False)
    with pytest.raises(ValueError, match="device must name a device"):
        train(net, train_iter, test_iter, bce_none, 1, updater, device="gpu0")
    with pytest.raises(TypeError, match="device must be None, a string"):
        train(net, train_iter, test_iter, bce_none, 1, updater, device=0.5)
    with pytest.raises(ValueError, match=r"loss must return one loss per example, shape "
                                         r"\(32,\) or \(32, 1\).*got shape \(32, 2\)"):
        train(net, train_iter, test_iter, lambda y_hat, y: (y_hat - y).reshape(-1, 1)
              .expand(-1, 2) ** 2, 1, updater, progress=False)
    one_epoch = train(net, iter(train_iter), test_iter, bce_none, 1, updater, progress=False)
    assert len(one_epoch) == 1  # a one-shot iterator is fine for a single epoch


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("impl", ["scratch", "nn"])
def test_cuda_device(impl):
    train_iter, test_iter = binary_data()  # batches stay on the CPU; train moves them
    scratch = LogisticRegressionScratch(2, generator=gen())
    net = scratch if impl == "scratch" else scratch.to_nn()
    params = list(net.parameters())
    lr = 0.5
    updater = (lambda batch_size: sgd(params, lr, batch_size)) if impl == "scratch" else \
        torch.optim.SGD(params, lr=lr)
    loss = bce_none if impl == "scratch" else nn.BCEWithLogitsLoss()
    history = train(net, train_iter, test_iter, loss, 3, updater, device="cuda",
                    progress=False)
    assert all(p.device.type == "cuda" for p in net.parameters())
    assert history.last["test_acc"] >= 0.95


def test_training_and_evaluation_loops_use_one_thread_and_restore_the_setting():
    seen = []

    class Recording(lk.SoftmaxRegressionScratch):
        def forward(self, X):
            seen.append(torch.get_num_threads())
            return super().forward(X)

    X, y = torch.rand(64, 784), torch.randint(0, 10, (64,))
    batches = [(X[:32], y[:32]), (X[32:], y[32:])]
    net = Recording()

    def loss(y_hat, y):
        return lk.cross_entropy(y_hat, y, reduction="none")

    def updater(batch_size):
        lk.sgd(net.parameters(), 0.1, batch_size)

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        lk.train_epoch(net, batches, loss, updater)
        assert torch.get_num_threads() == 2
        lk.train(net, batches, batches, loss, 2, updater, progress=False)
        assert torch.get_num_threads() == 2
        with pytest.raises(lk.NonFiniteLossError):  # restored on the way out of an error too
            lk.train(net, [(torch.full((4, 784), float("nan")), y[:4])], None, loss, 1,
                     updater, progress=False)
        assert torch.get_num_threads() == 2
        count = len(seen)
        lk.evaluate(net, batches, loss)
        assert torch.get_num_threads() == 2 and len(seen) == count + 2
        one_thread = len(seen)
        lk.train(net, batches, batches, loss, 1, updater, progress=False, num_threads=None)
        assert set(seen[one_thread:]) == {2}  # None: torch's own setting is kept
        with pytest.raises(ValueError, match="num_threads must be a positive integer, got 0"):
            lk.train(net, batches, None, loss, 1, updater, progress=False, num_threads=0)
    finally:
        torch.set_num_threads(before)
    assert one_thread > 0 and set(seen[:one_thread]) == {1}


# ---------------------------------------------------------------- the loss's reduction

def ce_sum_plain(y_hat, y):
    """The seeds' style: a plain function returning the batch SUM as one number."""
    return cross_entropy(y_hat, y, reduction="sum")


def ce_mean_plain(y_hat, y):
    return cross_entropy(y_hat, y)


def own_sum_default(y_hat, y, reduction="sum"):
    """A student's loss whose signature says what the loop's call returns: a sum."""
    return cross_entropy(y_hat, y, reduction=reduction)


@pytest.mark.parametrize("loss", [ce_sum_plain, ce_mean_plain], ids=["sum", "mean"])
def test_a_0d_loss_the_loop_cannot_classify_is_refused(loss):
    """Before: any 0-d loss without .reduction == 'sum' was taken for a mean, so a summed loss
    was reported batch_size times too large and lk.sgd stepped batch_size times too far."""
    train_iter, test_iter = multiclass_data()
    net = SoftmaxRegressionScratch(4, 3, generator=gen())
    before = net.W.detach().clone()

    def updater(batch_size):
        sgd(net.parameters(), 0.1, batch_size)

    for call in (lambda: train(net, train_iter, test_iter, loss, 1, updater, progress=False),
                 lambda: train_epoch(net, train_iter, loss, updater),
                 lambda: lk.evaluate(net, test_iter, loss)):
        with pytest.raises(ValueError, match=r"loss returned a single number.*cannot tell.*"
                                             r"mean or the sum.*reduction=\"none\"") as info:
            call()
        assert 'reduction="mean"' in str(info.value) and ".reduction" in str(info.value)
    assert torch.equal(net.W.detach(), before)  # refused before the first update


def test_a_0d_loss_that_declares_its_reduction_is_handled_correctly():
    """A function with a .reduction attribute, functools.partial(..., reduction=...), or a
    function whose reduction parameter has a default (lk.cross_entropy, F.cross_entropy, a
    student's own) is classified like nn.CrossEntropyLoss: the same history as per-example
    losses. Before, lk.cross_entropy itself was refused."""
    import functools

    train_iter, test_iter = multiclass_data(seed=4)
    sum_with_attribute = functools.wraps(ce_sum_plain)(lambda y_hat, y: ce_sum_plain(y_hat, y))
    sum_with_attribute.reduction = "sum"
    losses = {"none": ce_none, "sum-attribute": sum_with_attribute,
              "sum-partial": functools.partial(cross_entropy, reduction="sum"),
              "mean-partial": functools.partial(cross_entropy, reduction="mean"),
              "nn-sum": nn.CrossEntropyLoss(reduction="sum"),
              "lk-default": cross_entropy, "F-default": F.cross_entropy,
              "own-sum-default": own_sum_default}
    histories = {}
    for name, loss in losses.items():
        net = SoftmaxRegressionScratch(4, 3, generator=gen(4))
        histories[name] = train(net, train_iter, test_iter, loss, 2,
                                lambda batch_size, net=net: sgd(net.parameters(), 0.1,
                                                                batch_size),
                                progress=False)
    for name, h in histories.items():
        for field in ("train_loss", "test_loss"):
            a, b = getattr(histories["none"], field), getattr(h, field)
            assert max(abs(u - v) for u, v in zip(a, b)) < 1e-6, (name, field, a, b)
    assert histories["none"].train_loss[0] < 2  # a mean per example, not a batch sum


def test_the_docstrings_regression_call_with_lk_mse_loss_trains():
    """lk.train(net, ..., lk.mse_loss, ..., metric=None), as train's docstring shows it: the
    loop reads the mean from mse_loss's signature (before: refused as a 0-d loss it cannot
    classify), and the history equals per-example losses'."""
    g = torch.Generator().manual_seed(5)
    X = torch.randn(40, 3, generator=g)
    y = X @ torch.tensor([[1.0], [-2.0], [0.5]]) + 0.1
    histories = {}
    for name, loss in {"default": lk.mse_loss, "none": mse_none}.items():
        torch.manual_seed(0)
        net = nn.Linear(3, 1)
        histories[name] = train(net, lk.InMemoryLoader(X, y, 8), lk.InMemoryLoader(X, y, 8),
                                loss, 3, torch.optim.SGD(net.parameters(), lr=0.05),
                                metric=None, progress=False)
    a, b = histories["default"], histories["none"]
    assert max(abs(u - v) for u, v in zip(a.train_loss + a.test_loss,
                                         b.train_loss + b.test_loss)) < 1e-6


def test_numpy_batches_are_refused_with_the_fix_on_every_device_path():
    """Before: with device='cpu' a NumPy batch crashed with "'numpy.ndarray' object has no
    attribute 'to'"; without a device, with torch's own error from inside the model."""
    import numpy as np

    batches = [(np.zeros((2, 4), dtype=np.float32), np.zeros(2, dtype=np.int64))]
    for device in (None, "cpu"):
        with pytest.raises(TypeError, match=r"data_iter must yield \(X, y\) pairs of tensors, "
                                             r"got a batch whose X is a NumPy array.*"
                                             r"torch.as_tensor"):
            lk.evaluate(nn.Linear(4, 3), batches, nn.CrossEntropyLoss(), device=device)
    with pytest.raises(TypeError, match=r"whose y is \[0, 1\] \(list\)"):
        lk.evaluate(nn.Linear(4, 3), [(torch.zeros(2, 4), [0, 1])], nn.CrossEntropyLoss())


def mse_none(y_hat, y):
    return lk.mse_loss(y_hat, y, reduction="none")  # (N, 1) for (N, 1) y_hat and y


@pytest.mark.parametrize("loss", [mse_none, nn.MSELoss(reduction="none")],
                         ids=["lk.mse_loss", "nn.MSELoss"])
@pytest.mark.parametrize("kind", ["optimizer", "callable"])
def test_per_example_losses_of_shape_n_1_are_one_loss_per_example(loss, kind):
    """A regression's y (N, 1) and prediction (N, 1) give per-example losses (N, 1) with
    reduction="none": the same training and the same numbers as the batch mean."""
    histories = []
    for reference in (False, True):
        train_iter, test_iter = regression_data()
        net = linear_net()
        if kind == "optimizer":
            updater = torch.optim.SGD(net.parameters(), lr=0.1)
        else:
            def updater(batch_size, net=net):
                sgd(net.parameters(), 0.1, batch_size)
        with_loss = nn.MSELoss() if reference else loss
        histories.append(train(net, train_iter, test_iter, with_loss, 3, updater,
                               metric=None, progress=False))
    got, expected = histories
    assert got.train_loss == pytest.approx(expected.train_loss, rel=1e-6)
    assert got.test_loss == pytest.approx(expected.test_loss, rel=1e-6)
    train_iter, test_iter = regression_data()
    net = linear_net()
    assert train_epoch(net, train_iter, loss, torch.optim.SGD(net.parameters(), lr=0.1),
                       metric=None)[0] > 0
    mean_loss, _ = lk.evaluate(net, test_iter, loss, metric=None)
    assert mean_loss == pytest.approx(lk.evaluate(net, test_iter, nn.MSELoss(),
                                                  metric=None)[0], rel=1e-6)


@pytest.mark.filterwarnings("ignore:Using a target size:UserWarning")  # torch's own warning
def test_losses_that_broadcast_are_still_refused():
    """(N, 1) predictions against (N,) targets broadcast to (N, N) in nn.MSELoss: refused,
    with the reason; so are (1, N) and (N, 2)."""
    train_iter, _ = regression_data()
    flat = [(X, y.reshape(-1)) for X, y in train_iter]  # targets (N,), predictions (N, 1)
    net = linear_net()
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    with pytest.raises(ValueError, match=r"shape \(25,\) or \(25, 1\), or a 0-d tensor, got "
                                         r"shape \(25, 25\).*broadcasts to \(25, 25\): give "
                                         r"y the shape of y_hat"):
        train_epoch(net, flat, nn.MSELoss(reduction="none"), opt, metric=None)
    for bad in (lambda y_hat, y: ((y_hat - y) ** 2).reshape(1, -1),
                lambda y_hat, y: ((y_hat - y) ** 2).expand(-1, 2)):
        with pytest.raises(ValueError, match=r"got shape \((1, 25|25, 2)\); check the shapes "
                                             r"of y_hat and y$"):
            train_epoch(net, train_iter, bad, opt, metric=None)


def test_a_loss_declaring_none_must_return_one_value_per_example():
    train_iter, _ = multiclass_data()
    net = SoftmaxRegressionScratch(4, 3, generator=gen())

    def loss(y_hat, y):
        return cross_entropy(y_hat, y, reduction="sum")

    loss.reduction = "none"
    with pytest.raises(ValueError, match="loss declares reduction='none' but returned a single"):
        train_epoch(net, train_iter, loss, SGD(net.parameters(), lr=0.1))


# ---------------------------------------------------------------- the optimizer's model

@pytest.mark.parametrize("optimizer", [torch.optim.SGD, SGD])
def test_an_optimizer_built_for_another_model_is_refused(optimizer):
    """A notebook cell rebuilt the model but not the optimizer: before, training ran, printed
    a history, and the new model never changed."""
    train_iter, test_iter = binary_data()
    old = LogisticRegression(2)
    updater = optimizer(old.parameters(), lr=0.5)
    net = LogisticRegression(2)  # the re-run model cell
    before = [p.detach().clone() for p in net.parameters()]
    match = r"updater updates none of net's parameters.*re-run the cell that builds"
    with pytest.raises(ValueError, match=match):
        train(net, train_iter, test_iter, nn.BCEWithLogitsLoss(), 2, updater, progress=False)
    with pytest.raises(ValueError, match=match):
        train_epoch(net, train_iter, nn.BCEWithLogitsLoss(), updater)
    assert all(torch.equal(p, q) for p, q in zip(net.parameters(), before))
    # an optimizer over part of the model (or more than the model) is fine
    partial = optimizer([net.linear.weight, torch.zeros(1, requires_grad=True)], lr=0.5)
    train_epoch(net, train_iter, nn.BCEWithLogitsLoss(), partial)
    assert not torch.equal(net.linear.weight, before[0])


def test_a_scratch_model_with_an_optimizer_for_another_scratch_model_is_refused():
    train_iter, _ = binary_data()
    old = LogisticRegressionScratch(2, generator=gen())
    net = LogisticRegressionScratch(2, generator=gen())
    with pytest.raises(ValueError, match="updates none of net's parameters"):
        train_epoch(net, train_iter, bce_none, SGD(old.parameters(), lr=0.1))


# ---------------------------------------------------------------- non-finite data

def test_nan_in_the_training_features_blames_the_data_not_the_lr():
    train_iter, test_iter = binary_data()
    X, y = train_iter[2]
    X = X.clone()
    X[5, 1] = float("nan")
    X[7, 0] = float("inf")
    bad = train_iter[:2] + [(X, y)] + train_iter[3:]
    net = LogisticRegressionScratch(2, generator=gen())
    with pytest.raises(NonFiniteLossError) as info:
        train(net, bad, test_iter, bce_none, 2, SGD(net.parameters(), lr=0.1), progress=False)
    err = info.value
    assert isinstance(err, ValueError)  # bad input data
    message = str(err)
    assert "train_iter" in message and "epoch 1, batch 3" in message
    assert "X holds 2 non-finite values (1 nan, 1 inf)" in message
    assert "learning rate" not in message and "lr" not in message.split(";")[0]
    assert torch.isfinite(net.w).all()


def test_nan_in_float_targets_is_reported_as_such():
    train_iter, test_iter = binary_data()
    X, y = train_iter[0]
    y = y.clone()
    y[0] = float("nan")
    torch.manual_seed(0)
    net = LogisticRegression(2)
    with pytest.raises(NonFiniteLossError, match=r"y holds 1 non-finite value \(1 nan, 0 inf\)"):
        train_epoch(net, [(X, y)], nn.BCEWithLogitsLoss(), torch.optim.SGD(net.parameters(), 0.1))


def test_nan_in_the_test_features_is_an_error_not_a_nan_in_history(tmp_path):
    """Before: the test loss was recorded as nan, with no error."""
    train_iter, test_iter = binary_data()
    X, y = test_iter[1]
    X = X.clone()
    X[0, 0] = float("nan")
    bad_test = [test_iter[0], (X, y)]
    net = LogisticRegressionScratch(2, generator=gen())
    updater = SGD(net.parameters(), lr=0.1)
    with pytest.raises(NonFiniteLossError, match=r"test_iter.*epoch 1, batch 2.*X holds 1 "
                                                 r"non-finite value") as info:
        train(net, train_iter, bad_test, bce_none, 3, updater, progress=False)
    assert isinstance(info.value, ValueError) and len(info.value.history) == 0
    for call in (lambda: lk.evaluate(net, bad_test, bce_none),
                 lambda: lk.evaluate_accuracy(net, bad_test)):
        with pytest.raises(ValueError, match=r"data_iter.*batch 2.*X holds 1 non-finite"):
            call()


def test_evaluate_of_a_diverged_model_is_an_error():
    _, test_iter = binary_data()
    net = LogisticRegressionScratch(2, generator=gen())
    with torch.no_grad():
        net.w.fill_(float("inf"))
        net.b.fill_(-float("inf"))
    with pytest.raises(NonFiniteLossError, match="data_iter.*batch 1.*net's output") as info:
        lk.evaluate_accuracy(net, test_iter)
    assert not isinstance(info.value, ValueError)


# ---------------------------------------------------------------- history files

def test_history_json_stays_valid_json_with_non_finite_values(tmp_path):
    import json

    history = History([{"epoch": 1, "train_loss": float("nan"), "train_acc": 0.5,
                        "test_loss": float("inf"), "test_acc": None, "seconds": 0.1}])
    path = tmp_path / "history.json"
    history.save_json(path)

    def refuse(constant):
        raise ValueError(f"not JSON: {constant}")

    data = json.loads(path.read_text(), parse_constant=refuse)
    assert data["train_loss"] == [None] and data["test_loss"] == [None]


def test_history_load_json_refuses_columns_of_different_lengths(tmp_path):
    import json

    path = tmp_path / "history.json"
    columns = {f: [1, 2, 3] for f in FIELDS}
    columns["test_acc"] = [0.5, 0.6]
    path.write_text(json.dumps(columns))
    with pytest.raises(ValueError, match=r"history.json.*columns of different lengths.*"
                                         r"test_acc has 2.*3"):
        History.load_json(path)


def test_history_load_json_names_a_truncated_file(tmp_path):
    train_iter, test_iter = binary_data()
    net = LogisticRegressionScratch(2, generator=gen())
    history = train(net, train_iter, test_iter, bce_none, 2, SGD(net.parameters(), lr=0.1),
                    progress=False)
    path = tmp_path / "run" / "history.json"
    path.parent.mkdir()
    history.save_json(path)
    path.write_text(path.read_text()[:-40])
    with pytest.raises(ValueError, match=r"run/history.json.*is not valid JSON.*truncated"):
        History.load_json(path)
    path.write_text("[1, 2]")
    with pytest.raises(ValueError, match=r"history.json.*is not a saved History"):
        History.load_json(path)


def test_history_load_json_reads_the_cli_record(tmp_path):
    import json

    records = [{"epoch": i, "train_loss": 1.0 / i, "train_acc": 0.5, "test_loss": 0.9,
                "test_acc": 0.6, "seconds": 0.1} for i in (1, 2)]
    path = tmp_path / "history.json"
    path.write_text(json.dumps({"model": "logistic", "history": records}))
    assert History.load_json(path).records == records


# ---------------------------------------------------------------- Ctrl-C

def interrupt_at(epoch, batch, loss):
    """Wrap ``loss`` so that the given training batch raises KeyboardInterrupt (Ctrl-C)."""
    calls = {"n": 0}
    batches_per_epoch = len(binary_data()[0])

    def wrapped(y_hat, y):
        if torch.is_grad_enabled():
            calls["n"] += 1
            if calls["n"] == (epoch - 1) * batches_per_epoch + batch:
                raise KeyboardInterrupt
        return loss(y_hat, y)

    return wrapped


@pytest.mark.parametrize("live_plot", [False, True])
def test_ctrl_c_keeps_the_finished_epochs(live_plot):
    """Before: Ctrl-C in epoch 3 lost epochs 1-2."""
    train_iter, test_iter = binary_data()
    net = LogisticRegressionScratch(2, generator=gen())
    before = torch.get_num_threads()
    with pytest.raises(KeyboardInterrupt) as info:
        train(net, train_iter, test_iter, interrupt_at(3, 2, bce_none), 5,
              SGD(net.parameters(), lr=0.1), progress=False, live_plot=live_plot)
    err = info.value
    assert isinstance(err, lk.TrainingInterrupted)
    assert err.epoch == 3 and len(err.history) == 2 and err.history.epoch == [1, 2]
    assert "interrupted in epoch 3" in str(err) and ".history" in str(err)
    assert (err.history.figure is not None) == live_plot
    assert torch.get_num_threads() == before
    assert "finished epochs" in train.__doc__ and "TrainingInterrupted" in train.__doc__


def test_ctrl_c_in_the_first_epoch_gives_an_empty_history():
    train_iter, test_iter = binary_data()
    net = LogisticRegressionScratch(2, generator=gen())
    with pytest.raises(lk.TrainingInterrupted) as info:
        train(net, train_iter, test_iter, interrupt_at(1, 1, bce_none), 2,
              SGD(net.parameters(), lr=0.1), progress=False)
    assert len(info.value.history) == 0


# ---------------------------------------------------------------- one home for the machinery

def test_train_and_metrics_share_the_loop_machinery_openly():
    """The loss reduction, batch unpacking and thread control live in labkit.loop, imported
    under public names; no module imports another one's private helpers."""
    import ast
    from pathlib import Path

    import labkit.loop as loop

    for name in ("loop_threads", "eval_mode", "unpack_batch", "reduce_loss", "check_iterable",
                 "NonFiniteLossError"):
        assert callable(getattr(loop, name)), name
    assert lk.NonFiniteLossError is loop.NonFiniteLossError
    package = Path(lk.__file__).parent
    for path in [package / f"{name}.py" for name in ("train", "metrics", "loop", "cli")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("labkit"):
                private = [a.name for a in node.names if a.name.startswith("_")]
                assert not private, f"{path.name} imports {private} from {node.module}"
