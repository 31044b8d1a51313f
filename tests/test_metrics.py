"""Tests for labkit.metrics: counts against brute-force Python loops on random data."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from labkit.metrics import (
    Accumulator,
    accuracy,
    confusion_matrix,
    evaluate,
    evaluate_accuracy,
    most_confused,
    per_class_accuracy,
)

SETTINGS = settings(max_examples=50, deadline=None)


def brute_accuracy_multiclass(y_hat, y):
    """Count rows whose largest score (first one on ties) is at the true class."""
    count = 0
    for row, label in zip(y_hat.tolist(), y.tolist()):
        best = max(range(len(row)), key=lambda j: (row[j], -j))
        count += best == int(label)
    return count


@st.composite
def scores_and_labels(draw):
    n = draw(st.integers(1, 40))
    c = draw(st.integers(2, 8))
    seed = draw(st.integers(0, 2**31 - 1))
    g = torch.Generator().manual_seed(seed)
    y_hat = torch.randn(n, c, generator=g, dtype=torch.float64)
    y = torch.randint(0, c, (n,), generator=g)
    return y_hat, y


# ---------------------------------------------------------------- accuracy

@SETTINGS
@given(scores_and_labels())
def test_accuracy_multiclass_matches_brute_force(data):
    y_hat, y = data
    expected = brute_accuracy_multiclass(y_hat, y)
    assert accuracy(y_hat, y) == expected
    assert isinstance(accuracy(y_hat, y), int)
    # probabilities give the same argmax as logits, and float labels work too
    assert accuracy(torch.softmax(y_hat, dim=1), y, from_logits=False) == expected
    assert accuracy(y_hat, y.double()) == expected


@SETTINGS
@given(st.integers(1, 40), st.integers(0, 2**31 - 1))
def test_accuracy_binary_matches_brute_force(n, seed):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, generator=g, dtype=torch.float64)
    y = torch.randint(0, 2, (n,), generator=g).double()  # float 0./1. labels, like seed 000
    expected = sum(int((z > 0) == (t == 1)) for z, t in zip(logits.tolist(), y.tolist()))
    assert accuracy(logits, y) == expected
    assert accuracy(logits.unsqueeze(1), y) == expected  # (N, 1) scores
    assert accuracy(torch.sigmoid(logits), y, from_logits=False) == expected
    assert accuracy((logits > 0).long(), y.long()) == expected  # predicted labels
    assert accuracy(logits > 0, y) == expected  # bool predictions


def test_threshold_before_argmax_is_wrong():
    """The d2l-forum bug: ``(y_hat > 0.5).argmax(1)`` predicts class 0 whenever no
    probability passes 0.5, which is common with 3+ classes."""
    y_hat = torch.tensor([[0.30, 0.45, 0.25],   # argmax 1 (correct), nothing > 0.5
                          [0.20, 0.20, 0.60],   # argmax 2 (correct)
                          [0.35, 0.40, 0.25]])  # argmax 1, true class 0 (wrong)
    y = torch.tensor([1, 2, 0])
    buggy = int(((y_hat > 0.5).long().argmax(dim=1) == y).sum())
    assert buggy == 2  # rows 2 and 3 "right", row 1 wrong: the wrong rows!
    assert accuracy(y_hat, y, from_logits=False) == 2
    assert brute_accuracy_multiclass(y_hat, y) == 2
    # a case where the counts differ, not only which rows are counted
    y_hat2 = torch.tensor([[0.30, 0.45, 0.25], [0.25, 0.40, 0.35]])
    y2 = torch.tensor([1, 1])
    assert accuracy(y_hat2, y2, from_logits=False) == 2
    assert int(((y_hat2 > 0.5).long().argmax(dim=1) == y2).sum()) == 0


def test_accuracy_bad_input():
    with pytest.raises(ValueError, match="y_hat and y must hold the same number of examples: "
                                         "y_hat has 3 rows and y has 2"):
        accuracy(torch.randn(3, 4), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="y_hat"):
        accuracy(torch.randn(2, 3, 4), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="y must hold labels"):
        accuracy(torch.randn(2, 3), torch.zeros(2, 3))
    with pytest.raises(TypeError, match="y_hat must be a torch.Tensor"):
        accuracy([0.1, 0.9], torch.tensor([0, 1]))


# ---------------------------------------------------------------- Accumulator

def test_accumulator():
    metric = Accumulator(3)
    metric.add(1.5, torch.tensor(2), 3)
    metric.add(0.5, 1, 2)
    assert len(metric) == 3
    assert (metric[0], metric[1], metric[2]) == (2.0, 3.0, 5.0)
    metric.reset()
    assert metric.data == [0.0, 0.0, 0.0]
    with pytest.raises(TypeError, match=r"takes 3 values, got 2"):
        metric.add(1, 2)
    with pytest.raises(ValueError, match="n must be a positive integer"):
        Accumulator(0)


# ---------------------------------------------------------------- evaluate

class Recorder(nn.Module):
    """A linear model that records its mode and whether gradients were on."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(4, 3, dtype=torch.float64)
        self.seen = []

    def forward(self, X):
        self.seen.append((self.training, torch.is_grad_enabled()))
        return self.linear(X)


def make_batches(n=50, batch_size=16, num_classes=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 4, generator=g, dtype=torch.float64)
    y = torch.randint(0, num_classes, (n,), generator=g)
    return [(X[i:i + batch_size], y[i:i + batch_size]) for i in range(0, n, batch_size)]


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_evaluate_matches_brute_force(reduction):
    torch.manual_seed(0)
    net = Recorder()
    batches = make_batches()
    loss = nn.CrossEntropyLoss(reduction=reduction)
    mean_loss, acc = evaluate(net, batches, loss)
    X = torch.cat([b[0] for b in batches])
    y = torch.cat([b[1] for b in batches])
    with torch.no_grad():
        logits = net.linear(X)
    expected_loss = nn.functional.cross_entropy(logits, y).item()
    assert mean_loss == pytest.approx(expected_loss, rel=1e-12)
    assert acc == pytest.approx(brute_accuracy_multiclass(logits, y) / len(y), rel=1e-12)
    assert evaluate_accuracy(net, batches) == acc
    assert evaluate(net, batches)[0] is None


def test_evaluate_eval_mode_no_grad_and_mode_restored():
    net = Recorder()
    net.train()
    evaluate_accuracy(net, make_batches(), device="cpu")
    assert net.seen and all(s == (False, False) for s in net.seen)
    assert net.training  # restored
    net.eval()
    evaluate_accuracy(net, make_batches())
    assert not net.training


def test_evaluate_scratch_model_mode_restored():
    from labkit.models import SoftmaxRegressionScratch

    net = SoftmaxRegressionScratch(4, 3, generator=torch.Generator().manual_seed(0))
    batches = [(X.float(), y) for X, y in make_batches()]
    assert net.training
    acc = evaluate_accuracy(net, batches)
    assert 0.0 <= acc <= 1.0
    assert net.training


def test_evaluate_bad_input():
    net = Recorder()
    with pytest.raises(ValueError, match="data_iter produced no batches"):
        evaluate_accuracy(net, [])
    with pytest.raises(ValueError, match="data_iter produced no batches"):
        evaluate_accuracy(net, iter([]))
    with pytest.raises(TypeError, match="data_iter must be an iterable"):
        evaluate_accuracy(net, 3)
    with pytest.raises(TypeError, match=r"data_iter must yield \(X, y\) pairs"):
        evaluate_accuracy(net, [torch.zeros(2, 4)])
    with pytest.raises(TypeError, match="net must be callable"):
        evaluate_accuracy("net", make_batches())


# ---------------------------------------------------------------- confusion matrix

@SETTINGS
@given(st.integers(1, 60), st.integers(1, 7), st.integers(0, 2**31 - 1))
def test_confusion_matrix_matches_brute_force(n, c, seed):
    g = torch.Generator().manual_seed(seed)
    preds = torch.randint(0, c, (n,), generator=g)
    targets = torch.randint(0, c, (n,), generator=g)
    expected = [[0] * c for _ in range(c)]
    for p, t in zip(preds.tolist(), targets.tolist()):
        expected[t][p] += 1
    cm = confusion_matrix(preds, targets, c)
    assert cm.dtype == torch.int64 and cm.shape == (c, c)
    assert cm.tolist() == expected
    assert int(cm.trace()) == accuracy(preds, targets)
    # scores (N, C) give the matrix of their argmax
    scores = torch.nn.functional.one_hot(preds, c).double() + 0.1 * torch.rand(n, c, generator=g)
    assert confusion_matrix(scores, targets, c).tolist() == expected
    # per-class accuracy is the diagonal over the row sums
    pca = per_class_accuracy(cm)
    for i in range(c):
        total = sum(expected[i])
        if total:
            assert pca[i].item() == pytest.approx(expected[i][i] / total)
        else:
            assert torch.isnan(pca[i])


def test_confusion_matrix_float_binary_labels():
    preds = torch.tensor([1.0, 0.0, 1.0, 1.0])
    targets = torch.tensor([1.0, 0.0, 0.0, 1.0])
    assert confusion_matrix(preds, targets, 2).tolist() == [[1, 1], [0, 2]]


def test_confusion_matrix_refuses_an_absurd_num_classes():
    # 2**31 classes: torch's "Storage size calculation overflowed" (a 2**62-entry matrix)
    with pytest.raises(ValueError, match=r"num_classes=2147483648 would need a 2147483648 x "
                                         r"2147483648 matrix of int64 counts, .* GiB; "
                                         r"confusion_matrix allows at most 4 GiB \(23170 "
                                         r"classes\)"):
        confusion_matrix(torch.tensor([0]), torch.tensor([0]), 2**31)
    with pytest.raises(ValueError, match=r"num_classes=23171 would need"):
        confusion_matrix(torch.tensor([0]), torch.tensor([0]), 23171)


def test_confusion_matrix_refuses_complex_preds_and_score_targets():
    # complex preds were cast to int64 with only a warning
    with pytest.raises(TypeError, match=r"preds must hold real class labels or scores, got "
                                        r"the complex dtype torch.complex64"):
        confusion_matrix(torch.tensor([0, 1], dtype=torch.complex64), torch.tensor([0, 1]), 2)
    with pytest.raises(TypeError, match=r"targets must hold real class labels"):
        confusion_matrix(torch.tensor([0, 1]), torch.tensor([0j, 1j]), 2)
    # (N, C) scores as targets were argmax'd silently; targets are the true labels (N,)
    with pytest.raises(ValueError, match=r"targets must be labels \(N,\), the true class of "
                                         r"each example, got shape \(2, 3\); .*"
                                         r"targets.argmax\(dim=1\)"):
        confusion_matrix(torch.tensor([0, 1]), torch.eye(3)[:2], 3)


def test_confusion_matrix_bad_input():
    with pytest.raises(ValueError, match="num_classes must be a positive integer"):
        confusion_matrix(torch.tensor([0]), torch.tensor([0]), 0)
    with pytest.raises(TypeError, match="num_classes"):
        confusion_matrix(torch.tensor([0]), torch.tensor([0]), 2.0)
    with pytest.raises(ValueError, match="targets holds class index 3"):
        confusion_matrix(torch.tensor([0, 1]), torch.tensor([0, 3]), 3)
    with pytest.raises(ValueError, match="preds holds class index -1"):
        confusion_matrix(torch.tensor([-1, 1]), torch.tensor([0, 1]), 3)
    with pytest.raises(ValueError, match="preds and targets.*: preds has 3 rows and targets has 2"):
        confusion_matrix(torch.tensor([0, 1, 2]), torch.tensor([0, 1]), 3)
    with pytest.raises(ValueError, match=r"preds as scores must have shape \(N, 3\)"):
        confusion_matrix(torch.randn(2, 4), torch.tensor([0, 1]), 3)
    with pytest.raises(ValueError, match="non-integer value 0.5"):
        confusion_matrix(torch.tensor([0.5, 1.0]), torch.tensor([0, 1]), 2)


def test_most_confused():
    cm = torch.tensor([[5, 3, 0],
                       [1, 7, 4],
                       [0, 4, 2]])
    assert most_confused(cm) == [(1, 2, 4), (2, 1, 4), (0, 1, 3), (1, 0, 1)]
    assert most_confused(cm, k=2, class_names=["a", "b", "c"]) == [("b", "c", 4), ("c", "b", 4)]
    with pytest.raises(ValueError, match="class_names must have one name per class"):
        most_confused(cm, class_names=["a"])
    with pytest.raises(ValueError, match="cm must be a square"):
        per_class_accuracy(torch.zeros(2, 3))
