"""Tests for labkit.selection: the validation split, k-fold indices and cross-validation.

The folds are checked by their defining properties (every example validated on exactly
once, train and validation disjoint and complete, sizes within one, deterministic from the
seed) over many (n, k) pairs; cross-validation on small synthetic sets (a few hundred
examples, a few epochs: well under a second per call).
"""

from __future__ import annotations

import functools
import math
import re

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

import labkit as lk
from labkit.selection import CrossValidationResult

# ------------------------------------------------------------------- kfold_indices


@st.composite
def n_and_k(draw):
    n = draw(st.integers(2, 200))
    return n, draw(st.integers(2, n))


@given(nk=n_and_k(), seed=st.none() | st.integers(0, 2**31))
def test_kfold_folds_partition_the_examples(nk, seed):
    n, k = nk
    folds = lk.kfold_indices(n, k, seed=seed)
    assert len(folds) == k
    everything = torch.arange(n)
    val_all = torch.cat([val for _, val in folds])
    assert torch.equal(val_all.sort().values, everything)  # each validated exactly once
    for train_idx, val_idx in folds:
        assert train_idx.dtype == torch.int64 and val_idx.dtype == torch.int64
        assert len(val_idx) in (n // k, n // k + 1)
        both = torch.cat([train_idx, val_idx]).sort().values
        assert torch.equal(both, everything)  # disjoint, and nothing missing
        assert torch.equal(train_idx, train_idx.sort().values)
        assert torch.equal(val_idx, val_idx.sort().values)
    sizes = [len(v) for _, v in folds]
    assert max(sizes) - min(sizes) <= 1


def test_kfold_is_deterministic_from_the_seed_and_shuffled():
    a = lk.kfold_indices(100, 10, seed=3)
    b = lk.kfold_indices(100, 10, seed=3)
    c = lk.kfold_indices(100, 10, seed=4)
    assert all(torch.equal(x[1], y[1]) for x, y in zip(a, b))
    assert not all(torch.equal(x[1], y[1]) for x, y in zip(a, c))
    # shuffled: a fold is not a contiguous block (data sorted by class would break that)
    assert not torch.equal(a[0][1], torch.arange(10))
    assert lk.kfold_indices(100, 10)[0][1].tolist() == lk.kfold_indices(100, 10, 0)[0][1].tolist()
    # seed=None: contiguous parts, the first n % k one longer
    plain = lk.kfold_indices(10, 3, seed=None)
    assert [v.tolist() for _, v in plain] == [[0, 1, 2, 3], [4, 5, 6], [7, 8, 9]]


def test_kfold_leave_one_out():
    folds = lk.kfold_indices(5, 5, seed=1)
    assert sorted(v.item() for _, v in folds) == [0, 1, 2, 3, 4]
    assert all(len(t) == 4 for t, _ in folds)


@pytest.mark.parametrize("args, error, match", [
    ((10, 1), ValueError, r"k must be >= 2.*got 1"),
    ((10, 11), ValueError, r"k must be <= n: 10 examples cannot make 11 non-empty folds"),
    ((10, 2.0), TypeError, r"k must be an integer >= 2, got 2.0"),
    ((0, 2), ValueError, r"n must be a positive integer, got 0"),
    ((10, 2, -1), ValueError, r"seed must be an integer from 0 to 2\*\*63 - 1, got -1"),
    ((10, 2, "0"), TypeError, r"seed must be an integer from 0 to 2\*\*63 - 1"),
])
def test_kfold_bad_arguments(args, error, match):
    with pytest.raises(error, match=match):
        lk.kfold_indices(*args)


# ----------------------------------------------------------------- train_val_split


def test_train_val_split_partitions_and_keeps_rows_together():
    X = torch.arange(50, dtype=torch.float32).reshape(25, 2)
    y = torch.arange(25)
    X_train, y_train, X_val, y_val = lk.train_val_split(X, y, val_size=0.2, seed=1)
    assert len(X_val) == 5 and len(X_train) == 20
    assert torch.equal(torch.cat([y_train, y_val]).sort().values, y)
    assert torch.equal(X_train[:, 0], 2 * y_train.float())  # rows stayed together
    assert torch.equal(X_val[:, 0], 2 * y_val.float())
    again = lk.train_val_split(X, y, val_size=0.2, seed=1)
    assert torch.equal(again[3], y_val)
    assert not torch.equal(lk.train_val_split(X, y, val_size=0.2, seed=2)[3], y_val)
    assert not torch.equal(y_val, torch.arange(20, 25))  # random, not the last rows
    _, _, _, y_val7 = lk.train_val_split(X, y, val_size=7)
    assert len(y_val7) == 7
    assert len(lk.train_val_split(X, y, val_size=0.001)[3]) == 1  # at least one


@pytest.mark.parametrize("val_size, error, match", [
    (0.0, ValueError, r"val_size as a fraction must be in \(0, 1\), got 0.0"),
    (1.0, ValueError, r"val_size as a fraction must be in \(0, 1\)"),
    (0, ValueError, r"val_size as a count must be in \[1, 9\] for 10 examples, got 0"),
    (10, ValueError, r"val_size as a count must be in \[1, 9\]"),
    ("0.2", TypeError, r"val_size must be a fraction in \(0, 1\) or a count"),
])
def test_train_val_split_bad_val_size(val_size, error, match):
    with pytest.raises(error, match=match):
        lk.train_val_split(torch.zeros(10, 2), torch.zeros(10), val_size=val_size)


def test_train_val_split_bad_data():
    with pytest.raises(ValueError, match=r"X and y must hold the same number of examples: "
                                         r"X has 10 rows and y has 9$"):
        lk.train_val_split(torch.zeros(10, 2), torch.zeros(9))
    with pytest.raises(TypeError, match=r"y must be a torch.Tensor"):
        lk.train_val_split(torch.zeros(10, 2), [0] * 10)


# ------------------------------------------------------------------ cross_validate


def _binary(n=300, seed=0):
    X, y, _, _ = lk.make_binary_data(n, 10, num_inputs=20, mean=0.5, seed=seed)
    return X, y


def test_cross_validate_classification_table():
    X, y = _binary()
    made = []

    def make_net():
        net = lk.MLP(20, (8,), 1, generator=torch.Generator().manual_seed(len(made)))
        made.append(net)
        return net

    result = lk.cross_validate(make_net, X, y, nn.BCEWithLogitsLoss(),
                               lambda net: torch.optim.Adam(net.parameters(), lr=0.01),
                               num_epochs=3, k=5, batch_size=32, seed=0)
    assert isinstance(result, CrossValidationResult) and len(result) == 5
    assert len(made) == 5 and result.nets == made  # a fresh model per fold
    assert result.columns == ("fold", "num_train", "num_val", "train_loss", "val_loss",
                              "train_acc", "val_acc", "seconds")
    assert [r["fold"] for r in result.folds] == [1, 2, 3, 4, 5]
    assert all(r["num_train"] == 240 and r["num_val"] == 60 for r in result.folds)
    # the table's numbers are the last epoch of each fold's history (validation = "test")
    for row, history in zip(result.folds, result.histories):
        assert len(history) == 3
        assert row["val_acc"] == history.last["test_acc"]
        assert row["train_loss"] == history.last["train_loss"]
    # Bayes accuracy here is Phi(0.5 * sqrt(20)) = 98.7%: 3 epochs get well above chance
    assert result.mean("val_acc") > 0.85
    assert result.std("val_acc") >= 0
    text = repr(result)
    assert "mean" in text and "std" in text and "val_acc" in text
    assert len(text.splitlines()) == 10  # header, rule, 5 folds, rule, mean, std
    assert result.to_dict()["fold"] == [1, 2, 3, 4, 5]


def test_cross_validate_each_fold_validates_on_its_own_part():
    # a model that memorizes nothing: predicting the mean of its training targets. Its
    # validation loss on fold i can be computed by hand from kfold_indices.
    X = torch.randn(40, 3, generator=torch.Generator().manual_seed(0))
    y = torch.linspace(0, 3, 40).unsqueeze(1)  # (N, 1) regression targets

    class Constant(nn.Module):
        def __init__(self):
            super().__init__()
            self.c = nn.Parameter(torch.zeros(1))

        def forward(self, X):
            return self.c.expand(len(X), 1)

    result = lk.cross_validate(Constant, X, y, nn.MSELoss(),
                               lambda net: torch.optim.SGD(net.parameters(), lr=0.5),
                               num_epochs=30, k=4, batch_size=40, seed=5, metric=None)
    assert "val_acc" not in result.columns  # regression: no accuracy
    for (train_idx, val_idx), row, net in zip(lk.kfold_indices(40, 4, seed=5),
                                               result.folds, result.nets):
        mean = y[train_idx].mean()
        torch.testing.assert_close(net.c.detach(), mean.reshape(1), atol=1e-4, rtol=0)
        expected = ((y[val_idx] - mean) ** 2).mean().item()
        assert row["val_loss"] == pytest.approx(expected, rel=1e-3)


def test_cross_validate_regression_with_the_scratch_mlp():
    X, y, _, _ = lk.make_regression_data(200, 10, num_inputs=5, true_w=1.0, noise=0.1)
    result = lk.cross_validate(lambda: lk.MLPScratch(5, (), 1),
                               X, y, functools.partial(lk.mse_loss, reduction="mean"),
                               lambda net: lk.SGD(net.parameters(), lr=0.05),
                               num_epochs=20, k=3, batch_size=20, metric=None)
    assert result.mean("val_loss") < 0.05  # noise^2 = 0.01 is the floor
    assert result.columns[-1] == "seconds" and "train_acc" not in result.columns
    assert all(h.train_acc == [None] * 20 and h.test_acc == [None] * 20
               for h in result.histories)  # lk.train got metric=None
    with pytest.raises(ValueError, match=r"train_iter \(batch 1\): y holds .*not a class "
                                         r"label.*pass metric=None"):
        lk.cross_validate(lambda: lk.MLPScratch(5, (), 1), X, y,
                          functools.partial(lk.mse_loss, reduction="mean"),
                          lambda net: lk.SGD(net.parameters(), lr=0.05), num_epochs=2, k=3)


def test_cross_validate_metric_is_lk_train_s_and_classification_is_refused():
    X, y = _binary(60)
    args = (lambda: lk.MLP(20, (4,), 1), X, y, nn.BCEWithLogitsLoss(),
            lambda net: torch.optim.SGD(net.parameters(), lr=0.1), 1)
    # a binary classification without accuracy: the losses alone, as asked
    result = lk.cross_validate(*args, k=2, metric=None)
    assert result.columns == ("fold", "num_train", "num_val", "train_loss", "val_loss",
                              "seconds")
    with pytest.raises(TypeError, match=r"takes metric=, as lk.train does, not "
                                        r"classification="):
        lk.cross_validate(*args, k=2, classification=False)
    with pytest.raises(ValueError, match=r"metric must be 'accuracy' .* or None .*got 'mse'"):
        lk.cross_validate(*args, k=2, metric="mse")


def test_cross_validate_refuses_a_reused_model_and_bad_arguments():
    X, y = _binary(50)
    net = lk.MLP(20, (4,), 1)
    with pytest.raises(ValueError, match=r"make_net returned the same model object twice"):
        lk.cross_validate(lambda: net, X, y, nn.BCEWithLogitsLoss(),
                          lambda n: torch.optim.SGD(n.parameters(), lr=0.1), 1, k=2)
    with pytest.raises(TypeError, match=r"make_net must be a function"):
        lk.cross_validate(net, X, y, nn.BCEWithLogitsLoss(), lambda n: None, 1, k=2)
    with pytest.raises(TypeError, match=r"make_updater must be a function"):
        lk.cross_validate(lambda: lk.MLP(20, (4,), 1), X, y, nn.BCEWithLogitsLoss(), "sgd",
                          1, k=2)
    with pytest.raises(ValueError, match=r"k must be <= n"):
        lk.cross_validate(lambda: lk.MLP(20, (4,), 1), X[:3], y[:3], nn.BCEWithLogitsLoss(),
                          lambda n: torch.optim.SGD(n.parameters(), lr=0.1), 1, k=4)
    with pytest.raises(ValueError, match=r"num_epochs must be a positive integer, got 0"):
        lk.cross_validate(lambda: lk.MLP(20, (4,), 1), X, y, nn.BCEWithLogitsLoss(),
                          lambda n: torch.optim.SGD(n.parameters(), lr=0.1), 0, k=2)
    with pytest.raises(ValueError, match=r"column must be one of"):
        CrossValidationResult([], [], ("fold",)).mean("val_acc")


def test_cross_validation_table_significant_digits_and_no_timing():
    """A regression's small losses keep their digits (not 0.0003 / 0.0000), every column has
    one number of decimals, and the default table has no timing: it is the same at every
    run. ``seconds=True`` shows the timing; ``digits`` sets the precision."""
    folds = [{"fold": 1, "num_train": 9, "num_val": 3, "train_loss": 1.234e-4,
              "val_loss": 3.85e-4, "train_acc": 1.0, "val_acc": 0.9, "seconds": 0.0612},
             {"fold": 2, "num_train": 9, "num_val": 3, "train_loss": 1.1e-4,
              "val_loss": 2.99e-4, "train_acc": 0.9989, "val_acc": 0.85, "seconds": 0.0587}]
    columns = ("fold", "num_train", "num_val", "train_loss", "val_loss", "train_acc",
               "val_acc", "seconds")
    result = CrossValidationResult(folds, [], columns)
    lines = result.table().splitlines()
    assert lines[0].split() == ["fold", "train", "val", "train_loss", "val_loss",
                                "train_acc", "val_acc"]
    assert lines[2].split() == ["1", "9", "3", "1.234e-04", "3.850e-04", "1.000", "0.9000"]
    assert lines[3].split() == ["2", "9", "3", "1.100e-04", "2.990e-04", "0.999", "0.8500"]
    assert lines[5].split() == ["mean", "1.167e-04", "3.420e-04", "0.999", "0.8750"]
    # the standard deviation keeps two significant digits even where the column has fewer
    assert lines[6].split() == ["std", "9.475e-06", "6.081e-05", "0.00078", "0.0354"]
    assert len({len(line) for line in lines}) == 1  # every line as wide as the header
    assert repr(result) == result.table() and "seconds" not in repr(result)
    timed = result.table(seconds=True).splitlines()
    assert timed[0].split()[-1] == "seconds" and timed[2].split()[-1] == "0.06120"
    assert result.table(digits=2).splitlines()[2].split()[3:] == ["1.2e-04", "3.8e-04", "1.0",
                                                                  "0.90"]
    with pytest.raises(ValueError, match=r"digits must be a positive integer, got 0"):
        result.table(digits=0)
    with pytest.raises(TypeError, match=r"seconds must be True or False, got 'yes'"):
        result.table(seconds="yes")


def test_cross_validate_prints_the_same_table_at_every_run(capsys):
    X, y, _, _ = lk.make_regression_data(120, 10, num_inputs=5, true_w=1.0, noise=0.01)
    args = (lambda: lk.MLPScratch(5, (), 1), X, y, nn.MSELoss(),
            lambda net: lk.SGD(net.parameters(), lr=0.05), 10)
    tables = []
    for _ in range(2):
        torch.manual_seed(0)
        result = lk.cross_validate(*args, k=3, batch_size=20, metric=None)
        tables.append(repr(result))
    assert tables[0] == tables[1]
    for line, row in zip(tables[0].splitlines()[2:5], result.folds):  # no 0.0000 any more:
        shown = [float(cell) for cell in line.split()[3:]]          # 3 digits or more
        assert shown == pytest.approx([row["train_loss"], row["val_loss"]], rel=5e-3), line
    torch.manual_seed(0)
    lk.cross_validate(*args, k=3, batch_size=20, metric=None, progress=True)
    first = capsys.readouterr().out.splitlines()[0]  # the progress line: significant digits too
    assert re.fullmatch(r"fold 1/3: train_loss [0-9.e-]+, val_loss [0-9.e-]+ \(\d+\.\d s\)", first)
    assert float(first.split("val_loss ")[1].split()[0]) == pytest.approx(
        result.folds[0]["val_loss"], rel=1e-3)


def test_cross_validate_says_what_make_net_returned():
    X, y = _binary(50)
    args = (X, y, nn.BCEWithLogitsLoss(), lambda n: torch.optim.SGD(n.parameters(), lr=0.1), 1)
    with pytest.raises(TypeError, match=r"make_net\(\) returned None; it must return a new "
                                        r"model"):
        lk.cross_validate(lambda: None, *args, k=2)
    with pytest.raises(TypeError, match=r"make_net\(\) returned 3 \(int\)"):
        lk.cross_validate(lambda: 3, *args, k=2)


def test_cross_validate_accepts_the_largest_seed():
    # fold i shuffles with seed + i: from 2**63 - 1 that overflowed, and the error quoted
    # 2**63, a value the user never passed
    X, y = _binary(40)
    args = (lambda: lk.MLP(20, (4,), 1), X, y, nn.BCEWithLogitsLoss(),
            lambda n: torch.optim.SGD(n.parameters(), lr=0.1), 1)
    result = lk.cross_validate(*args, k=2, seed=2**63 - 1)
    assert len(result) == 2
    with pytest.raises(ValueError, match=r"seed must be an integer from 0 to 2\*\*63 - 1, "
                                         r"got 9223372036854775808$"):
        lk.cross_validate(*args, k=2, seed=2**63)


_COLUMNS = ("fold", "num_train", "num_val", "train_loss", "val_loss")


def _row(fold, train_loss, val_loss):
    return {"fold": fold, "num_train": 9, "num_val": 3, "train_loss": train_loss,
            "val_loss": val_loss}


def test_cross_validation_result_reports_nan_for_a_diverged_fold():
    # statistics.stdev raised "'float' object has no attribute 'numerator'" on a nan
    result = CrossValidationResult([_row(1, 0.1, float("nan")), _row(2, 0.2, 0.3)], [],
                                   _COLUMNS)
    assert math.isnan(result.mean("val_loss")) and math.isnan(result.std("val_loss"))
    assert result.mean("train_loss") == pytest.approx(0.15)
    lines = repr(result).splitlines()
    assert lines[2].split()[-1] == "nan"
    assert lines[5].split() == ["mean", "0.1500", "nan"]
    assert lines[6].split() == ["std", "0.0707", "nan"]
    infinite = CrossValidationResult([_row(1, 0.1, float("inf")), _row(2, 0.2, 0.3)], [],
                                     _COLUMNS)
    assert infinite.mean("val_loss") == math.inf and math.isnan(infinite.std("val_loss"))
    assert "inf" in repr(infinite)


@pytest.mark.parametrize("args, error, match", [
    (([_row(1, 0.1, 0.2)], [], "fold"), TypeError,
     r"columns must be a sequence of column names .*got 'fold' \(str\)"),
    (([_row(1, 0.1, 0.2)], [], None), TypeError, r"columns must be a sequence .*got None"),
    (([_row(1, 0.1, 0.2)], [], ("fold", 3)), TypeError, r"columns must be a sequence"),
    ((None, [], _COLUMNS), TypeError, r"folds must be a list \(one dict per fold\), got None"),
    (([_row(1, 0.1, 0.2)], None, _COLUMNS), TypeError, r"histories must be a list"),
    ((["x"], [], _COLUMNS), TypeError, r"folds\[0\] must be a dict of column values"),
    (([_row(1, 0.1, 0.2)], [], _COLUMNS + ("val_acc",)), ValueError,
     r"folds\[0\] has no value for the column 'val_acc'"),
])
def test_cross_validation_result_checks_its_arguments(args, error, match):
    with pytest.raises(error, match=match):
        CrossValidationResult(*args)


def test_cross_validation_result_without_folds_says_so():
    empty = CrossValidationResult([], [], _COLUMNS)
    for summary in (empty.mean, empty.std):
        with pytest.raises(ValueError, match=r"holds no folds: there is no val_loss"):
            summary("val_loss")


def test_cross_validate_names_x_and_y_when_their_lengths_differ():
    # the shared check said "got 50 predictions and 49 targets" about X and y
    X, y = _binary(50)
    with pytest.raises(ValueError, match=r"X has 50 rows and y has 49$"):
        lk.cross_validate(lambda: lk.MLP(20, (4,), 1), X, y[:49], nn.BCEWithLogitsLoss(),
                          lambda n: torch.optim.SGD(n.parameters(), lr=0.1), 1, k=2)
