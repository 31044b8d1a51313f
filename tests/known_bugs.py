"""Known-bug submissions: wrong implementations of the kinds students actually write, one
list per graded function, the seeds' own bugs first; and clean teaching implementations.

Every entry is the SOURCE of one function definition with exactly the name and signature of
the lab-1 contract (``/work/issues/LAB1_CONTRACT.md``), so that a test can exec it, or paste it
into the notebook's solution cell that defines ``def NAME(`` and autograde the notebook.
Sources rely only on what every notebook has imported: ``torch`` and ``labkit as lk``
(anything else is imported inside the function), and, like the student's code, they may call
the notebook's own functions defined earlier (``accuracy``, ``log_softmax``, ``sigmoid``).

- ``BUGS``: ``Bug(function, notebooks, name, hint, source)``; ``hint`` is a substring the
  checker's message must contain.
- ``CLEAN``: ``{(function, notebook): [source, ...]}``, correct teaching versions that must
  pass every checker.
- ``checker_kwargs(function, notebook)``: the extra arguments of that notebook's checker call
  (``binary=True`` for notebook 02's accuracy).
- ``namespace(notebook)``: a fresh namespace like the notebook's when the function is defined
  (``torch``, ``lk`` and the clean versions of the functions defined before it).
- ``define(source, ns)``: exec one source, return the function it defines.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

import torch

import labkit as lk


@dataclass(frozen=True)
class Bug:
    function: str
    notebooks: tuple[str, ...]
    name: str
    hint: str
    source: str

    @property
    def id(self) -> str:
        return f"{self.function}-{self.name}"


def _src(text: str) -> str:
    return textwrap.dedent(text).strip() + "\n"


# ================================================================== clean implementations

CLEAN_MAKE_LOGISTIC_DATA = _src('''
    def make_logistic_data(num_examples, true_w, true_b, noise=0.01, generator=None):
        """Features uniform in [0, 1), labels from a noisy logistic model."""
        true_w = torch.as_tensor(true_w, dtype=torch.float32)
        X = torch.rand(num_examples, len(true_w), generator=generator)   # (N, D)
        p = 1 / (1 + torch.exp(-(X @ true_w + true_b)))                   # (N,)
        p = p + noise * torch.randn(num_examples, generator=generator)
        y = (p >= 0.5).float()                                            # (N,) of 0. / 1.
        return X, y
''')

CLEAN_DATA_ITER = _src('''
    def data_iter(batch_size, X, y, generator=None):
        """Minibatches (X_batch, y_batch) in a new random order at every call."""
        num_examples = len(X)
        indices = torch.randperm(num_examples, generator=generator)
        for i in range(0, num_examples, batch_size):
            j = indices[i:i + batch_size]   # the last slice may be shorter
            yield X[j], y[j]
''')

CLEAN_SIGMOID = [_src('''
    def sigmoid(input):
        """1 / (1 + exp(-x)), with exp only ever seeing numbers <= 0."""
        e = torch.exp(torch.where(input >= 0, -input, input))   # in (0, 1]: no overflow
        return torch.where(input >= 0, 1 / (1 + e), e / (1 + e))
'''), _src('''
    def sigmoid(input):
        """The two equal forms of sigmoid, each used where its exp cannot overflow."""
        positive = input >= 0
        z = torch.exp(torch.where(positive, -input, input))   # exp of -|x|
        return torch.where(positive, 1 / (1 + z), z / (1 + z))
''')]

CLEAN_LOGISTIC_REGRESSION = _src('''
    def logistic_regression(X, w, b):
        """Logits X @ w + b: (N, D) @ (D,) -> (N,)."""
        return X @ w + b
''')

CLEAN_BCE = [_src('''
    def binary_cross_entropy(input, target, reduction="mean"):
        """-(t log p + (1 - t) log(1 - p)), each log clamped at -100 like PyTorch."""
        log_p = torch.clamp(torch.log(input), min=-100)
        log_1mp = torch.clamp(torch.log(1 - input), min=-100)
        loss = -(target * log_p + (1 - target) * log_1mp)   # (N,)
        if reduction == "mean":
            return loss.mean()
        if reduction == "sum":
            return loss.sum()
        if reduction == "none":
            return loss
        raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
''')]

CLEAN_BCE_LOGITS = [_src('''
    def binary_cross_entropy_with_logits(input, target, reduction="mean"):
        """BCE of sigmoid(x) from the logit x: max(x, 0) - x t + log(1 + exp(-|x|))."""
        # torch.where, not clamp/relu and abs: their derivative at 0 counts as 0, which would
        # make the gradient at x = 0 wrong (it is sigmoid(0) - t = 0.5 - t)
        pos = input >= 0
        neg_abs = torch.where(pos, -input, input)                  # -|x|: exp sees <= 0
        loss = torch.where(pos, input, 0) - input * target + torch.log1p(torch.exp(neg_abs))
        if reduction == "mean":
            return loss.mean()
        if reduction == "sum":
            return loss.sum()
        if reduction == "none":
            return loss
        raise ValueError(f"unknown reduction {reduction!r}: use 'mean', 'sum' or 'none'")
'''), _src('''
    def binary_cross_entropy_with_logits(input, target, reduction="mean"):
        """(1 - t) x + softplus(-x), softplus(z) = m + log(exp(-m) + exp(z - m)), m = max(z, 0)."""
        if reduction not in ("mean", "sum", "none"):
            raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
        neg = -input
        m = neg.clamp(min=0).detach()          # the log-sum-exp shift, a constant: exp sees <= 0
        softplus_neg = m + torch.log(torch.exp(-m) + torch.exp(neg - m))
        loss = (1 - target) * input + softplus_neg
        return {"mean": loss.mean(), "sum": loss.sum(), "none": loss}[reduction]
''')]

CLEAN_SGD = [_src('''
    def sgd(params, lr, batch_size):
        """p <- p - lr * p.grad / batch_size, in place, then zero the gradient."""
        with torch.no_grad():
            for p in params:
                p -= lr * p.grad / batch_size
                p.grad.zero_()
'''), _src('''
    def sgd(params, lr, batch_size):
        """The seeds' form: update .data (not recorded by autograd), then zero."""
        for param in params:
            param.data -= lr * param.grad / batch_size
            param.grad.zero_()
''')]

CLEAN_ACCURACY_BINARY = _src('''
    def accuracy(y_hat, y):
        """Number of correct predictions for binary logits (N,): class 1 where logit > 0."""
        preds = (y_hat > 0).float()
        return float((preds == y).sum())
''')

CLEAN_TRAIN_EPOCH = [_src('''
    def train_epoch(net, train_iter, loss, updater):
        """One pass over train_iter; returns (mean loss, accuracy) over the epoch."""
        metric = lk.Accumulator(3)   # summed loss, number correct, number of examples
        for X, y in train_iter:
            y_hat = net(X)
            l = loss(y_hat, y)       # (B,): one loss per example
            l.sum().backward()
            updater(X.shape[0])
            metric.add(float(l.sum()), accuracy(y_hat, y), y.numel())
        return metric[0] / metric[2], metric[1] / metric[2]
'''), _src('''
    def train_epoch(net, train_iter, loss, updater):
        """The same loop with plain Python sums."""
        total_loss, total_correct, total = 0.0, 0, 0
        for X, y in train_iter:
            y_hat = net(X)
            l = loss(y_hat, y)
            total_loss += l.sum().item()
            total_correct += int(accuracy(y_hat.detach(), y))
            total += len(y)
            l.sum().backward()
            updater(len(y))
        return total_loss / total, total_correct / total
''')]

CLEAN_SOFTMAX = [_src('''
    def softmax(X):
        """Row-wise softmax of logits (N, C), stable: each row's maximum subtracted."""
        X = X - X.max(dim=1, keepdim=True).values   # every exponent <= 0
        X_exp = torch.exp(X)
        return X_exp / X_exp.sum(dim=1, keepdim=True)
'''), _src('''
    def softmax(X):
        """The same with amax and a detached shift (its gradient is 0 anyway)."""
        e = torch.exp(X - X.amax(dim=1, keepdim=True).detach())
        return e / e.sum(1, keepdim=True)
''')]

CLEAN_LOG_SOFTMAX = [_src('''
    def log_softmax(X):
        """Row-wise log-softmax: (X - m) - log(sum(exp(X - m))), m each row's maximum."""
        shifted = X - X.max(dim=1, keepdim=True).values
        return shifted - torch.log(torch.exp(shifted).sum(dim=1, keepdim=True))
''')]

CLEAN_SOFTMAX_REGRESSION = _src('''
    def softmax_regression(X, W, b):
        """Logits (N, C): flatten each example to W.shape[0] features, then X @ W + b."""
        return X.reshape(-1, W.shape[0]) @ W + b
''')

CLEAN_CROSS_ENTROPY = [_src('''
    def cross_entropy(input, target, reduction="mean"):
        """-log_softmax(input)[i, target[i]], averaged, summed or per example."""
        log_probs = log_softmax(input)                               # (N, C)
        loss = -log_probs[torch.arange(len(target)), target]         # (N,)
        if reduction == "mean":
            return loss.mean()
        if reduction == "sum":
            return loss.sum()
        if reduction == "none":
            return loss
        raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
'''), _src('''
    def cross_entropy(input, target, reduction="mean"):
        """The same with gather and a self-contained log-sum-exp."""
        m = input.max(dim=1, keepdim=True).values
        log_probs = input - m - torch.log(torch.exp(input - m).sum(dim=1, keepdim=True))
        loss = -log_probs.gather(1, target.unsqueeze(1)).squeeze(1)
        reduced = {"mean": loss.mean, "sum": loss.sum, "none": lambda: loss}
        if reduction not in reduced:
            raise ValueError(f"reduction must be one of {list(reduced)}, got {reduction!r}")
        return reduced[reduction]()
''')]

CLEAN_ACCURACY_MULTI = [_src('''
    def accuracy(y_hat, y):
        """Number of correct predictions for scores (N, C): argmax over the classes."""
        return float((y_hat.argmax(dim=1) == y).sum())
'''), _src('''
    def accuracy(y_hat, y):
        """d2l's version."""
        if len(y_hat.shape) > 1 and y_hat.shape[1] > 1:
            y_hat = y_hat.argmax(axis=1)
        cmp = y_hat.type(y.dtype) == y
        return float(cmp.type(y.dtype).sum())
''')]

CLEAN_EVALUATE_ACCURACY = [_src('''
    def evaluate_accuracy(net, data_iter):
        """Fraction correct over every batch, weighted by batch size."""
        was_training = isinstance(net, torch.nn.Module) and net.training
        if isinstance(net, torch.nn.Module):
            net.eval()                       # evaluation mode (no dropout etc.)
        metric = lk.Accumulator(2)           # number correct, number of examples
        with torch.no_grad():
            for X, y in data_iter:
                metric.add(accuracy(net(X), y), y.numel())
        if was_training:
            net.train()                      # leave the model as we found it
        return metric[0] / metric[1]
'''), _src('''
    def evaluate_accuracy(net, data_iter):
        """The mode handed back with net.train(was_training); plain Python sums."""
        is_module = isinstance(net, torch.nn.Module)
        was_training = is_module and net.training
        if is_module:
            net.eval()
        correct, total = 0, 0
        with torch.no_grad():
            for X, y in data_iter:
                correct += int(accuracy(net(X), y))
                total += len(y)
        if is_module:
            net.train(was_training)
        return correct / total
''')]

CLEAN: dict[tuple[str, str], list[str]] = {
    ("make_logistic_data", "02"): [CLEAN_MAKE_LOGISTIC_DATA],
    ("data_iter", "02"): [CLEAN_DATA_ITER],
    ("sigmoid", "02"): CLEAN_SIGMOID,
    ("logistic_regression", "02"): [CLEAN_LOGISTIC_REGRESSION],
    ("binary_cross_entropy", "02"): CLEAN_BCE,
    ("binary_cross_entropy_with_logits", "02"): CLEAN_BCE_LOGITS,
    ("sgd", "02"): CLEAN_SGD,
    ("accuracy", "02"): [CLEAN_ACCURACY_BINARY],
    ("train_epoch", "02"): CLEAN_TRAIN_EPOCH,
    ("softmax", "04"): CLEAN_SOFTMAX,
    ("log_softmax", "04"): CLEAN_LOG_SOFTMAX,
    ("softmax_regression", "04"): [CLEAN_SOFTMAX_REGRESSION],
    ("cross_entropy", "04"): CLEAN_CROSS_ENTROPY,
    ("accuracy", "04"): CLEAN_ACCURACY_MULTI,
    ("evaluate_accuracy", "04"): CLEAN_EVALUATE_ACCURACY,
    ("train_epoch", "04"): CLEAN_TRAIN_EPOCH,
}


def checker_kwargs(function: str, notebook: str) -> dict:
    """The extra arguments of the checker call for ``function`` in ``notebook``."""
    if function == "accuracy" and notebook == "02":
        return {"binary": True}
    return {}


def namespace(notebook: str) -> dict:
    """A namespace like the notebook's: torch, lk, and the (clean) functions that the
    graded functions may call."""
    ns: dict = {"torch": torch, "lk": lk}
    if notebook == "02":
        define(CLEAN_SIGMOID[0], ns)
        define(CLEAN_ACCURACY_BINARY, ns)
    else:
        define(CLEAN_SOFTMAX[0], ns)
        define(CLEAN_LOG_SOFTMAX[0], ns)
        define(CLEAN_ACCURACY_MULTI[0], ns)
    return ns


def define(source: str, ns: dict | None = None):
    """Exec ``source`` (one function definition) in ``ns`` (default: torch and lk only);
    return the function it defines."""
    ns = {"torch": torch, "lk": lk} if ns is None else ns
    exec(compile(source, "<known_bugs>", "exec"), ns)
    return ns[function_name(source)]


def function_name(source: str) -> str:
    """The name in the source's ``def NAME(`` line."""
    return source.split("def ", 1)[1].split("(", 1)[0].strip()


# ================================================================== known bugs

B02, B04, BOTH = ("02",), ("04",), ("02", "04")

BUGS: list[Bug] = [
    # ---------------------------------------------------------- make_logistic_data
    Bug("make_logistic_data", B02, "flipped-bias-sign", "the bias enters with the wrong sign",
        _src('''
        def make_logistic_data(num_examples, true_w, true_b, noise=0.01, generator=None):
            X = torch.rand(num_examples, len(true_w), generator=generator)
            # the seeds' formula: -X @ w + b is -(X @ w - b)
            p = 1 / (1 + torch.exp(-X @ true_w + true_b))
            p = p + noise * torch.randn(num_examples, generator=generator)
            return X, (p >= 0.5).float()
        ''')),
    Bug("make_logistic_data", B02, "labels-as-column", "drop the reshape(-1, 1)", _src('''
        def make_logistic_data(num_examples, true_w, true_b, noise=0.01, generator=None):
            X = torch.rand(num_examples, len(true_w), generator=generator)
            p = torch.sigmoid(X @ true_w + true_b)
            p = p + noise * torch.randn(num_examples, generator=generator)
            return X, (p >= 0.5).float().reshape(-1, 1)
        ''')),
    Bug("make_logistic_data", B02, "noise-ignored", "the noise argument has no effect", _src('''
        def make_logistic_data(num_examples, true_w, true_b, noise=0.01, generator=None):
            X = torch.rand(num_examples, len(true_w), generator=generator)
            p = torch.sigmoid(X @ true_w + true_b)
            return X, (p >= 0.5).float()
        ''')),
    Bug("make_logistic_data", B02, "generator-ignored", "ignores its generator argument",
        _src('''
        def make_logistic_data(num_examples, true_w, true_b, noise=0.01, generator=None):
            X = torch.rand(num_examples, len(true_w))
            p = torch.sigmoid(X @ true_w + true_b) + noise * torch.randn(num_examples)
            return X, (p >= 0.5).float()
        ''')),
    Bug("make_logistic_data", B02, "numpy-random", "ignores its generator argument", _src('''
        def make_logistic_data(num_examples, true_w, true_b, noise=0.01, generator=None):
            import numpy as np
            X = torch.tensor(np.random.rand(num_examples, len(true_w)), dtype=torch.float32)
            p = torch.sigmoid(X @ true_w + true_b)
            p = p + torch.tensor(np.random.normal(0, noise, num_examples), dtype=torch.float32)
            return X, (p >= 0.5).float()
        ''')),
    Bug("make_logistic_data", B02, "normal-features", "X is not uniform in [0, 1)", _src('''
        def make_logistic_data(num_examples, true_w, true_b, noise=0.01, generator=None):
            X = torch.randn(num_examples, len(true_w), generator=generator)
            p = torch.sigmoid(X @ true_w + true_b)
            p = p + noise * torch.randn(num_examples, generator=generator)
            return X, (p >= 0.5).float()
        ''')),
    Bug("make_logistic_data", B02, "bool-labels", "y has dtype torch.bool", _src('''
        def make_logistic_data(num_examples, true_w, true_b, noise=0.01, generator=None):
            X = torch.rand(num_examples, len(true_w), generator=generator)
            p = torch.sigmoid(X @ true_w + true_b)
            p = p + noise * torch.randn(num_examples, generator=generator)
            return X, p >= 0.5
        ''')),
    # ---------------------------------------------------------- data_iter
    Bug("data_iter", B02, "drops-last-batch", "drops the last partial batch", _src('''
        def data_iter(batch_size, X, y, generator=None):
            num_examples = len(X)
            indices = torch.randperm(num_examples, generator=generator)
            for i in range(num_examples // batch_size):
                j = indices[i * batch_size:(i + 1) * batch_size]
                yield X[j], y[j]
        ''')),
    Bug("data_iter", B02, "never-shuffles", "it never shuffles", _src('''
        def data_iter(batch_size, X, y, generator=None):
            for i in range(0, len(X), batch_size):
                yield X[i:i + batch_size], y[i:i + batch_size]
        ''')),
    Bug("data_iter", B02, "generator-ignored", "ignores its generator argument", _src('''
        def data_iter(batch_size, X, y, generator=None):
            indices = torch.randperm(len(X))
            for i in range(0, len(X), batch_size):
                j = indices[i:i + batch_size]
                yield X[j], y[j]
        ''')),
    Bug("data_iter", B02, "random-shuffle", "ignores its generator argument", _src('''
        def data_iter(batch_size, X, y, generator=None):
            import random
            num_examples = len(X)
            indices = list(range(num_examples))
            random.shuffle(indices)        # the seeds' way: the generator is not used
            for i in range(0, num_examples, batch_size):
                j = torch.tensor(indices[i:min(i + batch_size, num_examples)])
                yield X[j], y[j]
        ''')),
    Bug("data_iter", B02, "separate-shuffles", "the rows of X and y are separated", _src('''
        def data_iter(batch_size, X, y, generator=None):
            X = X[torch.randperm(len(X), generator=generator)]
            y = y[torch.randperm(len(y), generator=generator)]
            for i in range(0, len(X), batch_size):
                yield X[i:i + batch_size], y[i:i + batch_size]
        ''')),
    Bug("data_iter", B02, "reseeds", "don't reseed inside data_iter", _src('''
        def data_iter(batch_size, X, y, generator=None):
            torch.manual_seed(0)           # "for reproducibility"
            indices = torch.randperm(len(X))
            for i in range(0, len(X), batch_size):
                j = indices[i:i + batch_size]
                yield X[j], y[j]
        ''')),
    Bug("data_iter", B02, "with-replacement", "repeats some examples", _src('''
        def data_iter(batch_size, X, y, generator=None):
            for i in range(0, len(X), batch_size):
                j = torch.randint(0, len(X), (min(batch_size, len(X) - i),), generator=generator)
                yield X[j], y[j]
        ''')),
    Bug("data_iter", B02, "shuffles-batches-only", "shuffles the order of the batches",
        _src('''
        def data_iter(batch_size, X, y, generator=None):
            starts = list(range(0, len(X), batch_size))
            order = torch.randperm(len(starts), generator=generator)
            for k in order.tolist():
                i = starts[k]
                yield X[i:i + batch_size], y[i:i + batch_size]
        ''')),
    Bug("data_iter", B02, "uses-dataloader", "it calls torch.utils.data.DataLoader", _src('''
        def data_iter(batch_size, X, y, generator=None):
            dataset = torch.utils.data.TensorDataset(X, y)
            return iter(torch.utils.data.DataLoader(dataset, batch_size, shuffle=True,
                                                    generator=generator))
        ''')),
    # ---------------------------------------------------------- sigmoid
    Bug("sigmoid", B02, "naive-exp-minus-x", "let every exp see only numbers <= 0", _src('''
        def sigmoid(input):
            return 1 / (1 + torch.exp(-input))
        ''')),
    Bug("sigmoid", B02, "naive-exp-x", "exp(x) overflows to inf for large x", _src('''
        def sigmoid(input):
            e = torch.exp(input)
            return e / (1 + e)
        ''')),
    Bug("sigmoid", B02, "where-both-branches", "torch.where does not pick", _src('''
        def sigmoid(input):
            return torch.where(input >= 0, 1 / (1 + torch.exp(-input)),
                               torch.exp(input) / (1 + torch.exp(input)))
        ''')),
    Bug("sigmoid", B02, "calls-torch-sigmoid", "it calls torch.sigmoid", _src('''
        def sigmoid(input):
            return torch.sigmoid(input)
        ''')),
    Bug("sigmoid", B02, "calls-tensor-method", "it calls torch.Tensor.sigmoid", _src('''
        def sigmoid(input):
            return input.sigmoid()
        ''')),
    Bug("sigmoid", B02, "abs-gradient-at-zero", "your function uses x.abs(), with a kink at 0",
        _src('''
        def sigmoid(input):
            e = torch.exp(-input.abs())    # stable, but d|x|/dx at 0 is taken as 0
            return torch.where(input >= 0, 1 / (1 + e), e / (1 + e))
        ''')),
    Bug("sigmoid", B02, "clamped-branches", "your function uses clamp, with a kink at 0",
        _src('''
        def sigmoid(input):
            # each branch's exp sees only numbers <= 0, but clamp's slope at 0 counts as 0
            pos = 1 / (1 + torch.exp(-input.clamp(min=0)))
            e = torch.exp(input.clamp(max=0))
            return torch.where(input >= 0, pos, e / (1 + e))
        ''')),
    Bug("sigmoid", B02, "maximum-gradient-at-zero", "torch.maximum / torch.minimum split",
        _src('''
        def sigmoid(input):
            e = torch.exp(-torch.maximum(input, -input))     # exp(-|x|), its slope halved at 0
            return torch.where(input >= 0, 1 / (1 + e), e / (1 + e))
        ''')),
    Bug("sigmoid", B02, "sign-flipped", "it computes sigmoid(-x)", _src('''
        def sigmoid(input):
            e = torch.exp(-input.abs())
            return torch.where(input >= 0, e / (1 + e), 1 / (1 + e))
        ''')),
    Bug("sigmoid", B02, "through-numpy", "does not require grad", _src('''
        def sigmoid(input):
            import numpy as np
            x = input.detach().numpy()
            return torch.tensor(np.exp(np.minimum(x, 0)) / (1 + np.exp(-np.abs(x))))
        ''')),
    Bug("sigmoid", B02, "in-place", "in place", _src('''
        def sigmoid(input):
            z = input
            z.abs_()                      # "z is a copy" -- it is not
            e = torch.exp(-z)
            return 1 / (1 + e)
        ''')),
    # ---------------------------------------------------------- logistic_regression
    Bug("logistic_regression", B02, "returns-probabilities", "it returns probabilities",
        _src('''
        def logistic_regression(X, w, b):
            # the seeds' model: 1 / (1 + exp(-(X w) + b)) -- probabilities, with the sign of b
            return 1 / (1 + torch.exp(-(X @ w + b)))
        ''')),
    Bug("logistic_regression", B02, "flipped-bias-sign", "the bias enters with the wrong sign",
        _src('''
        def logistic_regression(X, w, b):
            return -(-X @ w + b)
        ''')),
    Bug("logistic_regression", B02, "column-output", "reshape(-1) a (N, 1) result", _src('''
        def logistic_regression(X, w, b):
            return torch.mm(X, w.reshape(-1, 1)) + b
        ''')),
    Bug("logistic_regression", B02, "detached-weights", "the gradient w.r.t. the weights",
        _src('''
        def logistic_regression(X, w, b):
            return X @ w.detach() + b
        ''')),
    Bug("logistic_regression", B02, "uses-linear", "it calls torch.nn.functional.linear",
        _src('''
        def logistic_regression(X, w, b):
            return torch.nn.functional.linear(X, w.reshape(1, -1), b.reshape(1)).reshape(-1)
        ''')),
    # ---------------------------------------------------------- binary_cross_entropy
    Bug("binary_cross_entropy", B02, "no-clamp", "log(0) = -inf", _src('''
        def binary_cross_entropy(input, target, reduction="mean"):
            loss = -(target * torch.log(input) + (1 - target) * torch.log(1 - input))
            if reduction == "mean":
                return loss.mean()
            if reduction == "sum":
                return loss.sum()
            return loss
        ''')),
    Bug("binary_cross_entropy", B02, "epsilon-clamp", "rather than adding a small number",
        _src('''
        def binary_cross_entropy(input, target, reduction="mean"):
            p = torch.clamp(input, 1e-7, 1 - 1e-7)
            loss = -(target * torch.log(p) + (1 - target) * torch.log(1 - p))
            if reduction == "mean":
                return loss.mean()
            if reduction == "sum":
                return loss.sum()
            return loss
        ''')),
    Bug("binary_cross_entropy", B02, "swapped-terms", "the two terms are swapped", _src('''
        def binary_cross_entropy(input, target, reduction="mean"):
            log_p = torch.clamp(torch.log(input), min=-100)
            log_1mp = torch.clamp(torch.log(1 - input), min=-100)
            loss = -(target * log_1mp + (1 - target) * log_p)
            if reduction == "mean":
                return loss.mean()
            if reduction == "sum":
                return loss.sum()
            return loss
        ''')),
    Bug("binary_cross_entropy", B02, "reduction-ignored", "it returns the mean", _src('''
        def binary_cross_entropy(input, target, reduction="mean"):
            log_p = torch.clamp(torch.log(input), min=-100)
            log_1mp = torch.clamp(torch.log(1 - input), min=-100)
            loss = -(target * log_p + (1 - target) * log_1mp)
            if reduction == "none":
                return loss
            return loss.mean()
        ''')),
    Bug("binary_cross_entropy", B02, "mean-divided-twice", "divided by the batch size twice",
        _src('''
        def binary_cross_entropy(input, target, reduction="mean"):
            log_p = torch.clamp(torch.log(input), min=-100)
            log_1mp = torch.clamp(torch.log(1 - input), min=-100)
            loss = -(target * log_p + (1 - target) * log_1mp)
            if reduction == "mean":
                return loss.mean() / len(target)
            if reduction == "sum":
                return loss.sum()
            return loss
        ''')),
    Bug("binary_cross_entropy", B02, "sign-flipped", "the sign is flipped", _src('''
        def binary_cross_entropy(input, target, reduction="mean"):
            log_p = torch.clamp(torch.log(input), min=-100)
            log_1mp = torch.clamp(torch.log(1 - input), min=-100)
            loss = target * log_p + (1 - target) * log_1mp
            if reduction == "mean":
                return loss.mean()
            if reduction == "sum":
                return loss.sum()
            return loss
        ''')),
    Bug("binary_cross_entropy", B02, "unknown-reduction-accepted",
        "reduction='average' is not rejected", _src('''
        def binary_cross_entropy(input, target, reduction="mean"):
            log_p = torch.clamp(torch.log(input), min=-100)
            log_1mp = torch.clamp(torch.log(1 - input), min=-100)
            loss = -(target * log_p + (1 - target) * log_1mp)
            if reduction == "none":
                return loss
            if reduction == "sum":
                return loss.sum()
            return loss.mean()            # any other value: the mean, silently
        ''')),
    Bug("binary_cross_entropy", B02, "calls-torch", "torch.nn.functional.binary_cross_entropy",
        _src('''
        def binary_cross_entropy(input, target, reduction="mean"):
            return torch.nn.functional.binary_cross_entropy(input, target, reduction=reduction)
        ''')),
    # ---------------------------------------------------------- binary_cross_entropy_with_logits
    Bug("binary_cross_entropy_with_logits", B02, "through-sigmoid",
        "going through sigmoid and a clamped log", _src('''
        def binary_cross_entropy_with_logits(input, target, reduction="mean"):
            p = 1 / (1 + torch.exp(-input))
            log_p = torch.clamp(torch.log(p), min=-100)
            log_1mp = torch.clamp(torch.log(1 - p), min=-100)
            loss = -(target * log_p + (1 - target) * log_1mp)
            return {"mean": loss.mean(), "sum": loss.sum(), "none": loss}[reduction]
        ''')),
    Bug("binary_cross_entropy_with_logits", B02, "naive-softplus",
        "log(1 + exp(x)) overflows", _src('''
        def binary_cross_entropy_with_logits(input, target, reduction="mean"):
            loss = torch.log(1 + torch.exp(input)) - input * target
            return {"mean": loss.mean(), "sum": loss.sum(), "none": loss}[reduction]
        ''')),
    Bug("binary_cross_entropy_with_logits", B02, "where-both-branches",
        "a branch torch.where does not pick", _src('''
        def binary_cross_entropy_with_logits(input, target, reduction="mean"):
            softplus = torch.where(input > 0, input + torch.log1p(torch.exp(-input)),
                                   torch.log1p(torch.exp(input)))
            loss = softplus - input * target
            return {"mean": loss.mean(), "sum": loss.sum(), "none": loss}[reduction]
        ''')),
    Bug("binary_cross_entropy_with_logits", B02, "clamp-abs-gradient-at-0",
        "the gradient at the logit 0 with target 1 is -1 where it is sigmoid(0) - t = -0.5",
        _src('''
        def binary_cross_entropy_with_logits(input, target, reduction="mean"):
            loss = torch.clamp(input, min=0) - input * target \\
                + torch.log(1 + torch.exp(-input.abs()))
            return {"mean": loss.mean(), "sum": loss.sum(), "none": loss}[reduction]
        ''')),
    Bug("binary_cross_entropy_with_logits", B02, "relu-abs-gradient-at-0",
        "pick max(x, 0) and -|x| with torch.where(x >= 0, ...)", _src('''
        def binary_cross_entropy_with_logits(input, target, reduction="mean"):
            loss = torch.relu(input) - input * target + torch.log1p(torch.exp(-torch.abs(input)))
            return {"mean": loss.mean(), "sum": loss.sum(), "none": loss}[reduction]
        ''')),
    Bug("binary_cross_entropy_with_logits", B02, "target-flipped", "the target is flipped",
        _src('''
        def binary_cross_entropy_with_logits(input, target, reduction="mean"):
            loss = torch.clamp(input, min=0) - input * (1 - target) \\
                + torch.log1p(torch.exp(-input.abs()))
            return {"mean": loss.mean(), "sum": loss.sum(), "none": loss}[reduction]
        ''')),
    Bug("binary_cross_entropy_with_logits", B02, "none-ignored",
        "with reduction='none' return one loss per example", _src('''
        def binary_cross_entropy_with_logits(input, target, reduction="mean"):
            loss = torch.clamp(input, min=0) - input * target \\
                + torch.log1p(torch.exp(-input.abs()))
            return loss.sum() if reduction == "sum" else loss.mean()
        ''')),
    Bug("binary_cross_entropy_with_logits", B02, "reduction-key-error",
        "raises KeyError (a dictionary lookup), not a ValueError", _src('''
        def binary_cross_entropy_with_logits(input, target, reduction="mean"):
            pos = input >= 0
            loss = torch.where(pos, input, 0) - input * target \\
                + torch.log1p(torch.exp(torch.where(pos, -input, input)))
            return {"mean": loss.mean(), "sum": loss.sum(), "none": loss}[reduction]
        ''')),
    Bug("binary_cross_entropy_with_logits", B02, "calls-torch",
        "it calls torch.nn.functional.binary_cross_entropy_with_logits", _src('''
        def binary_cross_entropy_with_logits(input, target, reduction="mean"):
            F = torch.nn.functional
            return F.binary_cross_entropy_with_logits(input, target, reduction=reduction)
        ''')),
    # ---------------------------------------------------------- sgd
    Bug("sgd", B02, "outside-no-grad", "the update runs outside torch.no_grad()", _src('''
        def sgd(params, lr, batch_size):
            for p in params:
                p -= lr * p.grad / batch_size
                p.grad.zero_()
        ''')),
    Bug("sgd", B02, "rebinds", "only rebinds the name p", _src('''
        def sgd(params, lr, batch_size):
            with torch.no_grad():
                for p in params:
                    grad = p.grad
                    p = p - lr * grad / batch_size
                    grad.zero_()
        ''')),
    Bug("sgd", B02, "no-zero-grad", "still holds the gradient", _src('''
        def sgd(params, lr, batch_size):
            with torch.no_grad():
                for p in params:
                    p -= lr * p.grad / batch_size
        ''')),
    Bug("sgd", B02, "divided-twice", "the update is divided by the batch size twice", _src('''
        def sgd(params, lr, batch_size):
            with torch.no_grad():
                for p in params:
                    p -= lr / batch_size * p.grad / batch_size
                    p.grad.zero_()
        ''')),
    Bug("sgd", B02, "not-divided", "not divided by batch_size", _src('''
        def sgd(params, lr, batch_size):
            with torch.no_grad():
                for p in params:
                    p -= lr * p.grad
                    p.grad.zero_()
        ''')),
    Bug("sgd", B02, "ascent", "up the gradient", _src('''
        def sgd(params, lr, batch_size):
            with torch.no_grad():
                for p in params:
                    p += lr * p.grad / batch_size
                    p.grad.zero_()
        ''')),
    Bug("sgd", B02, "uses-torch-optim", "it calls torch.optim.SGD", _src('''
        def sgd(params, lr, batch_size):
            params = list(params)
            optimizer = torch.optim.SGD(params, lr=lr / batch_size)
            optimizer.step()
            optimizer.zero_grad(set_to_none=False)
        ''')),
    # ---------------------------------------------------------- accuracy, binary (02)
    Bug("accuracy", B02, "threshold-logits-at-half", "it thresholds the logits at 0.5",
        _src('''
        def accuracy(y_hat, y):
            return float(((y_hat > 0.5).float() == y).sum())
        ''')),
    Bug("accuracy", B02, "fraction", "instead of the number", _src('''
        def accuracy(y_hat, y):
            return float(((y_hat > 0).float() == y).float().mean())
        ''')),
    Bug("accuracy", B02, "argmax-on-logits", "argmax needs scores (N, C)", _src('''
        def accuracy(y_hat, y):
            return float((y_hat.argmax(dim=1) == y).sum())
        ''')),
    Bug("accuracy", B02, "numpy-without-detach", "stay with torch operations", _src('''
        def accuracy(y_hat, y):
            import numpy as np
            return int(np.sum((y_hat.numpy() > 0) == y.numpy()))
        ''')),
    Bug("accuracy", B02, "calls-labkit", "it calls labkit.accuracy", _src('''
        def accuracy(y_hat, y):
            return lk.accuracy(y_hat, y)
        ''')),
    # ---------------------------------------------------------- accuracy, multi-class (04)
    Bug("accuracy", B04, "threshold-before-argmax",
        "the accuracy thresholds at 0.5 before argmax", _src('''
        def accuracy(y_hat, y):
            # the seeds' version: probabilities thresholded at 0.5, then argmax
            y_hat = (y_hat > 0.5).long()
            return float((y_hat.argmax(dim=1) == y).sum())
        ''')),
    Bug("accuracy", B04, "argmax-dim-0", "predict with y_hat.argmax(dim=1)", _src('''
        def accuracy(y_hat, y):
            return float((y_hat.argmax(dim=0) == y).sum())
        ''')),
    Bug("accuracy", B04, "fraction", "instead of the number", _src('''
        def accuracy(y_hat, y):
            return float((y_hat.argmax(dim=1) == y).float().mean())
        ''')),
    Bug("accuracy", B04, "calls-labkit", "it calls labkit.accuracy", _src('''
        def accuracy(y_hat, y):
            return lk.accuracy(y_hat, y)
        ''')),
    # ---------------------------------------------------------- train_epoch (02 and 04)
    Bug("train_epoch", BOTH, "mean-loss-backward", "divided by the batch size twice", _src('''
        def train_epoch(net, train_iter, loss, updater):
            metric = lk.Accumulator(3)
            for X, y in train_iter:
                y_hat = net(X)
                l = loss(y_hat, y)
                l.mean().backward()        # and the updater divides by the batch size again
                updater(X.shape[0])
                metric.add(float(l.sum()), accuracy(y_hat, y), y.numel())
            return metric[0] / metric[2], metric[1] / metric[2]
        ''')),
    Bug("train_epoch", BOTH, "first-batch-size", "pass each batch's own size", _src('''
        def train_epoch(net, train_iter, loss, updater):
            metric = lk.Accumulator(3)
            batch_size = None
            for X, y in train_iter:
                if batch_size is None:
                    batch_size = X.shape[0]    # kept for every batch
                y_hat = net(X)
                l = loss(y_hat, y)
                l.sum().backward()
                updater(batch_size)
                metric.add(float(l.sum()), accuracy(y_hat, y), y.numel())
            return metric[0] / metric[2], metric[1] / metric[2]
        ''')),
    Bug("train_epoch", BOTH, "count-not-fraction", "it returns the number correct", _src('''
        def train_epoch(net, train_iter, loss, updater):
            metric = lk.Accumulator(3)
            for X, y in train_iter:
                y_hat = net(X)
                l = loss(y_hat, y)
                l.sum().backward()
                updater(X.shape[0])
                metric.add(float(l.sum()), accuracy(y_hat, y), y.numel())
            return metric[0] / metric[2], metric[1]
        ''')),
    Bug("train_epoch", BOTH, "unweighted-batch-means", "unweighted mean of the batch means",
        _src('''
        def train_epoch(net, train_iter, loss, updater):
            losses, accs = [], []
            for X, y in train_iter:
                y_hat = net(X)
                l = loss(y_hat, y)
                l.sum().backward()
                updater(X.shape[0])
                losses.append(float(l.mean()))
                accs.append(accuracy(y_hat, y) / len(y))
            return sum(losses) / len(losses), sum(accs) / len(accs)
        ''')),
    Bug("train_epoch", BOTH, "measured-after-update", "measured after each update", _src('''
        def train_epoch(net, train_iter, loss, updater):
            metric = lk.Accumulator(3)
            for X, y in train_iter:
                l = loss(net(X), y)
                l.sum().backward()
                updater(X.shape[0])
                with torch.no_grad():
                    y_hat = net(X)             # recomputed after the update
                    metric.add(float(loss(y_hat, y).sum()), accuracy(y_hat, y), y.numel())
            return metric[0] / metric[2], metric[1] / metric[2]
        ''')),
    Bug("train_epoch", BOTH, "backward-not-summed", "call l.sum().backward()", _src('''
        def train_epoch(net, train_iter, loss, updater):
            metric = lk.Accumulator(3)
            for X, y in train_iter:
                y_hat = net(X)
                l = loss(y_hat, y)
                l.backward()
                updater(X.shape[0])
                metric.add(float(l.sum()), accuracy(y_hat, y), y.numel())
            return metric[0] / metric[2], metric[1] / metric[2]
        ''')),
    Bug("train_epoch", BOTH, "update-before-backward", "the parameters have no gradient",
        _src('''
        def train_epoch(net, train_iter, loss, updater):
            metric = lk.Accumulator(3)
            for X, y in train_iter:
                y_hat = net(X)
                l = loss(y_hat, y)
                updater(X.shape[0])
                l.sum().backward()
                metric.add(float(l.sum()), accuracy(y_hat, y), y.numel())
            return metric[0] / metric[2], metric[1] / metric[2]
        ''')),
    Bug("train_epoch", BOTH, "loss-arguments-swapped", "the arguments are swapped", _src('''
        def train_epoch(net, train_iter, loss, updater):
            metric = lk.Accumulator(3)
            for X, y in train_iter:
                y_hat = net(X)
                l = loss(y, y_hat)
                l.sum().backward()
                updater(X.shape[0])
                metric.add(float(l.sum()), accuracy(y_hat, y), y.numel())
            return metric[0] / metric[2], metric[1] / metric[2]
        ''')),
    Bug("train_epoch", BOTH, "calls-labkit", "it calls labkit.train_epoch", _src('''
        def train_epoch(net, train_iter, loss, updater):
            return lk.train_epoch(net, train_iter, loss, updater)
        ''')),
    # ---------------------------------------------------------- softmax
    Bug("softmax", B04, "naive-overflow", "subtract each row's maximum before exp", _src('''
        def softmax(X):
            X_exp = torch.exp(X)
            return X_exp / X_exp.sum(dim=1, keepdim=True)
        ''')),
    Bug("softmax", B04, "global-maximum", "subtracts one maximum for the whole batch", _src('''
        def softmax(X):
            X_exp = torch.exp(X - X.max())
            return X_exp / X_exp.sum(dim=1, keepdim=True)
        ''')),
    Bug("softmax", B04, "columns", "normalizes each column", _src('''
        def softmax(X):
            X_exp = torch.exp(X - X.max(dim=0, keepdim=True).values)
            return X_exp / X_exp.sum(dim=0, keepdim=True)
        ''')),
    Bug("softmax", B04, "no-keepdim", "keepdim=True", _src('''
        def softmax(X):
            X_exp = torch.exp(X - X.max(dim=1, keepdim=True).values)
            return X_exp / X_exp.sum(dim=1)
        ''')),
    Bug("softmax", B04, "whole-matrix-sum", "divides by the sum of the whole matrix", _src('''
        def softmax(X):
            X_exp = torch.exp(X - X.max(dim=1, keepdim=True).values)
            return X_exp / X_exp.sum()
        ''')),
    Bug("softmax", B04, "in-place-shift", "in place", _src('''
        def softmax(X):
            X -= X.max(dim=1, keepdim=True).values
            X_exp = torch.exp(X)
            return X_exp / X_exp.sum(dim=1, keepdim=True)
        ''')),
    Bug("softmax", B04, "calls-torch", "it calls torch.softmax", _src('''
        def softmax(X):
            return torch.softmax(X, dim=1)
        ''')),
    # ---------------------------------------------------------- log_softmax
    Bug("log_softmax", B04, "log-of-softmax", "where a probability underflows to 0", _src('''
        def log_softmax(X):
            X_exp = torch.exp(X - X.max(dim=1, keepdim=True).values)
            return torch.log(X_exp / X_exp.sum(dim=1, keepdim=True))
        ''')),
    Bug("log_softmax", B04, "naive-logsumexp", "exp overflows for logits around 1000", _src('''
        def log_softmax(X):
            return X - torch.log(torch.exp(X).sum(dim=1, keepdim=True))
        ''')),
    Bug("log_softmax", B04, "calls-logsumexp", "it calls torch.logsumexp", _src('''
        def log_softmax(X):
            return X - torch.logsumexp(X, dim=1, keepdim=True)
        ''')),
    Bug("log_softmax", B04, "columns", "normalizes each column", _src('''
        def log_softmax(X):
            shifted = X - X.max(dim=0, keepdim=True).values
            return shifted - torch.log(torch.exp(shifted).sum(dim=0, keepdim=True))
        ''')),
    Bug("log_softmax", B04, "forgot-log", "it returns softmax, not its logarithm", _src('''
        def log_softmax(X):
            shifted = X - X.max(dim=1, keepdim=True).values
            return torch.exp(shifted) / torch.exp(shifted).sum(dim=1, keepdim=True)
        ''')),
    # ---------------------------------------------------------- softmax_regression
    Bug("softmax_regression", B04, "returns-probabilities", "it returns probabilities",
        _src('''
        def softmax_regression(X, W, b):
            return softmax(X.reshape(-1, W.shape[0]) @ W + b)
        ''')),
    Bug("softmax_regression", B04, "hard-coded-784", "not a fixed 784", _src('''
        def softmax_regression(X, W, b):
            return X.reshape(-1, 784) @ W + b
        ''')),
    Bug("softmax_regression", B04, "no-flatten", "flatten each example first", _src('''
        def softmax_regression(X, W, b):
            return X @ W + b
        ''')),
    Bug("softmax_regression", B04, "transposed-W", "multiply X @ W, without .T", _src('''
        def softmax_regression(X, W, b):
            return X.reshape(-1, W.shape[0]) @ W.T + b
        ''')),
    Bug("softmax_regression", B04, "hard-coded-rows-and-784", "not a fixed 784", _src('''
        def softmax_regression(X, W, b):
            return X.reshape(X.shape[0], 784) @ W + b
        ''')),
    Bug("softmax_regression", B04, "hard-coded-batch-size", "a size written into reshape",
        _src('''
        def softmax_regression(X, W, b):
            return X.reshape(4, -1) @ W + b
        ''')),
    Bug("softmax_regression", B04, "flipped-bias-sign", "the bias enters with the wrong sign",
        _src('''
        def softmax_regression(X, W, b):
            return X.reshape(-1, W.shape[0]) @ W - b
        ''')),
    Bug("softmax_regression", B04, "uses-linear", "it calls torch.nn.functional.linear",
        _src('''
        def softmax_regression(X, W, b):
            return torch.nn.functional.linear(X.reshape(-1, W.shape[0]), W.T, b)
        ''')),
    # ---------------------------------------------------------- cross_entropy
    Bug("cross_entropy", B04, "minus-log-softmax", "-log(softmax) gives inf", _src('''
        def cross_entropy(input, target, reduction="mean"):
            probs = softmax(input)
            loss = -torch.log(probs[torch.arange(len(target)), target])
            if reduction == "mean":
                return loss.mean()
            if reduction == "sum":
                return loss.sum()
            return loss
        ''')),
    Bug("cross_entropy", B04, "mean-divided-twice", "divided by the batch size twice",
        _src('''
        def cross_entropy(input, target, reduction="mean"):
            loss = -log_softmax(input)[torch.arange(len(target)), target]
            if reduction == "mean":
                return loss.mean() / len(target)
            if reduction == "sum":
                return loss.sum()
            return loss
        ''')),
    Bug("cross_entropy", B04, "picks-columns", "input[:, target] is an (N, N) matrix", _src('''
        def cross_entropy(input, target, reduction="mean"):
            loss = -log_softmax(input)[:, target]
            if reduction == "mean":
                return loss.mean()
            if reduction == "sum":
                return loss.sum()
            return loss
        ''')),
    Bug("cross_entropy", B04, "sum-is-mean", "it returns the mean", _src('''
        def cross_entropy(input, target, reduction="mean"):
            loss = -log_softmax(input)[torch.arange(len(target)), target]
            return loss if reduction == "none" else loss.mean()
        ''')),
    Bug("cross_entropy", B04, "unknown-reduction-accepted", "reduction='average' is not rejected",
        _src('''
        def cross_entropy(input, target, reduction="mean"):
            loss = -log_softmax(input).gather(1, target.unsqueeze(1)).squeeze(1)
            if reduction == "none":
                return loss
            if reduction == "sum":
                return loss.sum()
            return loss.mean()
        ''')),
    Bug("cross_entropy", B04, "value-error-unnamed", "does not name the value it got",
        _src('''
        def cross_entropy(input, target, reduction="mean"):
            loss = -log_softmax(input).gather(1, target.unsqueeze(1)).squeeze(1)
            if reduction == "none":
                return loss
            if reduction == "sum":
                return loss.sum()
            if reduction == "mean":
                return loss.mean()
            raise ValueError("invalid reduction")
        ''')),
    Bug("cross_entropy", B04, "calls-torch", "it calls torch.nn.functional.cross_entropy",
        _src('''
        def cross_entropy(input, target, reduction="mean"):
            return torch.nn.functional.cross_entropy(input, target, reduction=reduction)
        ''')),
    # ---------------------------------------------------------- evaluate_accuracy
    Bug("evaluate_accuracy", B04, "unweighted-batch-means",
        "averages the batch accuracies unweighted", _src('''
        def evaluate_accuracy(net, data_iter):
            accs = []
            with torch.no_grad():
                for X, y in data_iter:
                    accs.append(accuracy(net(X), y) / len(y))
            return sum(accs) / len(accs)
        ''')),
    Bug("evaluate_accuracy", B04, "no-no-grad", "the model runs with gradients on", _src('''
        def evaluate_accuracy(net, data_iter):
            metric = lk.Accumulator(2)
            for X, y in data_iter:
                metric.add(accuracy(net(X), y), y.numel())
            return metric[0] / metric[1]
        ''')),
    Bug("evaluate_accuracy", B04, "leaves-eval-mode", "in eval mode", _src('''
        def evaluate_accuracy(net, data_iter):
            if isinstance(net, torch.nn.Module):
                net.eval()                 # d2l's version: never switched back
            metric = lk.Accumulator(2)
            with torch.no_grad():
                for X, y in data_iter:
                    metric.add(accuracy(net(X), y), y.numel())
            return metric[0] / metric[1]
        ''')),
    Bug("evaluate_accuracy", B04, "never-eval-mode",
        "a model found in training mode is not switched to eval mode", _src('''
        def evaluate_accuracy(net, data_iter):
            correct, total = 0, 0           # the mode is left alone, but never set to eval
            with torch.no_grad():
                for X, y in data_iter:
                    correct += int(accuracy(net(X), y))
                    total += len(y)
            return correct / total
        ''')),
    Bug("evaluate_accuracy", B04, "train-mode-for-the-pass",
        "it evaluates an nn.Module in training mode",
        _src('''
        def evaluate_accuracy(net, data_iter):
            was_training = isinstance(net, torch.nn.Module) and net.training
            if isinstance(net, torch.nn.Module):
                net.train()                 # the two modes mixed up
            metric = lk.Accumulator(2)
            with torch.no_grad():
                for X, y in data_iter:
                    metric.add(accuracy(net(X), y), y.numel())
            if isinstance(net, torch.nn.Module):
                net.train(was_training)
            return metric[0] / metric[1]
        ''')),
    Bug("evaluate_accuracy", B04, "eval-on-function", "only call net.eval()", _src('''
        def evaluate_accuracy(net, data_iter):
            net.eval()
            metric = lk.Accumulator(2)
            with torch.no_grad():
                for X, y in data_iter:
                    metric.add(accuracy(net(X), y), y.numel())
            return metric[0] / metric[1]
        ''')),
    Bug("evaluate_accuracy", B04, "count", "returns the number correct", _src('''
        def evaluate_accuracy(net, data_iter):
            metric = lk.Accumulator(2)
            with torch.no_grad():
                for X, y in data_iter:
                    metric.add(accuracy(net(X), y), y.numel())
            return metric[0]
        ''')),
    Bug("evaluate_accuracy", B04, "return-in-loop", "returns after the first batch", _src('''
        def evaluate_accuracy(net, data_iter):
            metric = lk.Accumulator(2)
            with torch.no_grad():
                for X, y in data_iter:
                    metric.add(accuracy(net(X), y), y.numel())
                    return metric[0] / metric[1]
        ''')),
    Bug("evaluate_accuracy", B04, "calls-labkit", "it calls labkit.evaluate_accuracy", _src('''
        def evaluate_accuracy(net, data_iter):
            return lk.evaluate_accuracy(net, data_iter)
        ''')),
]


def bugs_for(notebook: str) -> list[Bug]:
    """The known bugs of the functions graded in ``notebook``."""
    return [b for b in BUGS if notebook in b.notebooks]
