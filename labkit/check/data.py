"""Checkers for the synthetic data and the minibatch iterator (``labkit.data``'s lesson).

Notebook 02 has the student write ``make_logistic_data`` (uniform features labelled by a
noisy logistic model, bias with a plus sign) and ``data_iter`` (a new random order at each
call, every example once per pass, the last partial batch kept, rows of X and y together).
"""

from __future__ import annotations

import torch

from labkit.check._core import Checker, Fail, describe_value, run_checker

__all__ = ["make_logistic_data", "data_iter"]

F64 = torch.float64

# (true_w, true_b): the seeds' values (about 14% positives with the right sign, balanced
# with the flipped one) and a 3-d set
PARAMS = [((1.9, -3.1), -0.6), ((-2.0, 1.0, 3.0), 0.8)]


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# ====================================================================== make_logistic_data

SIGN_FIX = ("sigmoid(X @ w + b) is 1 / (1 + exp(-(X @ w + b))); writing "
            "1 / (1 + exp(-X @ w + b)) flips the sign of b")
NOISE_FIX = ("add noise * torch.randn(num_examples, generator=generator) to the probability "
             "sigmoid(X @ w + b), then label 1 where the result is >= 0.5")
GENERATOR_FIX = ("pass generator=generator to torch.rand and torch.randn (np.random and the "
                 "random module do not use it)")


def _make(c: Checker, n: int, params, noise=None, seed: int | None = 0, *,
          default_args: bool = False):
    w, b = params
    true_w = torch.tensor(w)
    if default_args:
        out = c.call(n, true_w, b)
    else:
        out = c.call(n, true_w, b, noise, generator=None if seed is None else _gen(seed))
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        raise Fail(f"it returns {describe_value(out)}", "return the pair X, y")
    X, y = out
    for name, t in (("X", X), ("y", y)):
        if not isinstance(t, torch.Tensor):
            raise Fail(f"{name} is {describe_value(t)}", f"return {name} as a torch.Tensor")
    return X, y


def _logits(X: torch.Tensor, params, sign: float = 1.0) -> torch.Tensor:
    w, b = params
    return X.detach().double() @ torch.tensor(w, dtype=F64) + sign * b


def _mld_shapes(c: Checker) -> None:
    for params in PARAMS:
        n, d = 50, len(params[0])
        X, y = _make(c, n, params, 0.01)
        if tuple(X.shape) != (n, d):
            raise Fail(f"X has shape {tuple(X.shape)} for num_examples={n} and "
                       f"len(true_w)={d}; expected ({n}, {d})",
                       "X = torch.rand(num_examples, len(true_w), generator=generator)")
        if tuple(y.shape) != (n,):
            fix = "return y of shape (N,)"
            if tuple(y.shape) == (n, 1):
                fix += ": drop the reshape(-1, 1)"
            raise Fail(f"y has shape {tuple(y.shape)}; expected ({n},)", fix)
        if X.dtype != torch.float32:
            raise Fail(f"X has dtype {X.dtype}; expected torch.float32",
                       "torch.rand gives float32; convert others with .float()")
        if y.dtype != torch.float32:
            raise Fail(f"y has dtype {y.dtype}; expected torch.float32 holding 0. and 1.",
                       "convert the comparison's bool labels with .float()")


def _mld_uniform(c: Checker) -> None:
    n = 4000
    X, _ = _make(c, n, PARAMS[0], 0.01)
    X = X.double()
    lo, hi = X.min().item(), X.max().item()
    means = X.mean(dim=0)
    quarter = (X < 0.25).double().mean(dim=0)
    ok = (lo >= 0 and hi < 1 and bool(((means - 0.5).abs() < 0.03).all())
          and bool(((quarter - 0.25).abs() < 0.03).all()))
    if not ok:
        raise Fail(f"X is not uniform in [0, 1) (min {lo:.3g}, max {hi:.3g}, column means "
                   f"{[round(m, 3) for m in means.tolist()]})",
                   "X = torch.rand(num_examples, len(true_w), generator=generator)")


def _mld_binary(c: Checker) -> None:
    _, y = _make(c, 200, PARAMS[0], 0.01)
    values = torch.unique(y.detach()).tolist()
    if not set(values) <= {0.0, 1.0}:
        raise Fail(f"y holds the values {values[:6]}, not only 0. and 1.",
                   "label with the comparison: y = (p >= 0.5).float()")


def _mld_labels(c: Checker) -> None:
    for params in PARAMS:
        X, y = _make(c, 500, params, 0.0)
        y = y.detach().double().reshape(-1)
        z = _logits(X, params)
        clear = z.abs() > 1e-6  # ties at the boundary may go either way
        if torch.equal(y[clear], (z >= 0).double()[clear]):
            continue
        z_flipped = _logits(X, params, sign=-1.0)
        if torch.equal(y[clear], (z_flipped >= 0).double()[clear]):
            raise Fail("the bias enters with the wrong sign: the labels follow "
                       "sigmoid(X @ w - b)", SIGN_FIX)
        if torch.equal(y[clear], (z < 0).double()[clear]):
            raise Fail("the labels are inverted: y is 1 where the probability is below 0.5",
                       "y = 1 where sigmoid(X @ w + b) + noise >= 0.5")
        if torch.equal(y, (_logits(X, (params[0], 0.0)) >= 0).double()):
            raise Fail("the labels ignore true_b", "use sigmoid(X @ true_w + true_b)")
        wrong = int((y[clear] != (z >= 0).double()[clear]).sum())
        raise Fail(f"with noise=0, {wrong} of 500 labels differ from "
                   f"sigmoid(X @ w + b) >= 0.5",
                   "y = 1 where sigmoid(X @ true_w + true_b) + noise * N(0, 1) >= 0.5")


def _mld_noise(c: Checker) -> None:
    n, noise = 4000, 0.1
    X, y = _make(c, n, PARAMS[0], noise, seed=3)
    y = y.detach().double().reshape(-1)
    flips = []
    for sign in (1.0, -1.0):  # a flipped bias sign is reported by its own check only
        p = torch.sigmoid(_logits(X, PARAMS[0], sign))
        flipped = y != (p >= 0.5).double()
        q = torch.special.ndtr(-(p - 0.5).abs() / noise)  # P(the noise crosses 0.5)
        flips.append((int(flipped.sum()), float(q.sum()), float((q * (1 - q)).sum())))
    count, expected, var = min(flips, key=lambda f: abs(f[0] - f[1]))
    if count == 0:
        raise Fail(f"noise={noise} changes no label: the noise argument has no effect",
                   NOISE_FIX)
    if abs(count - expected) > 5 * var ** 0.5 + 3:
        raise Fail(f"noise={noise} flips {count} of {n} labels where about "
                   f"{expected:.0f} are expected: noise is the standard deviation of a "
                   f"normal noise added to the probability", NOISE_FIX)


def _mld_generator(c: Checker) -> None:
    X1, y1 = _make(c, 30, PARAMS[0], 0.01, seed=5)
    X2, y2 = _make(c, 30, PARAMS[0], 0.01, seed=5)
    if not (torch.equal(X1, X2) and torch.equal(y1, y2)):
        raise Fail("two generators with the same seed give different data: it ignores "
                   "its generator argument", GENERATOR_FIX)
    X3, _ = _make(c, 30, PARAMS[0], 0.01, seed=6)
    if torch.equal(X1, X3):
        raise Fail("generators with different seeds give the same data",
                   "don't reseed inside (no torch.manual_seed): " + GENERATOR_FIX)


def _mld_defaults(c: Checker) -> None:
    X, y = _make(c, 20, PARAMS[0], default_args=True)
    if tuple(X.shape) != (20, 2) or tuple(y.shape) != (20,):
        raise Fail(f"with the default noise and generator it returns X of shape "
                   f"{tuple(X.shape)} and y of shape {tuple(y.shape)}",
                   "keep the defaults noise=0.01, generator=None")


def make_logistic_data(fn) -> None:
    """Check the student's ``make_logistic_data(num_examples, true_w, true_b, noise=0.01,
    generator=None)``: ``X`` float32 ``(N, D)`` uniform in [0, 1), ``y`` float32 ``(N,)``
    of 0./1., 1 where ``sigmoid(X @ w + b) + noise * N(0, 1) >= 0.5`` (bias with a plus
    sign), the same generator seed giving the same data."""
    def build() -> Checker:
        c = Checker("make_logistic_data", fn,
                    signature="make_logistic_data(num_examples, true_w, true_b, noise=0.01, "
                              "generator=None)",
                    unavailable=("labkit.make_logistic_data", "labkit.data.make_logistic_data",
                                 "labkit.data.synthetic.make_logistic_data"),
                    elementary_fix="torch.rand, torch.randn and your own formula")
        c.run("returns X float32 (N, D) and y float32 (N,)", _mld_shapes, essential=True)
        c.run("X is uniform in [0, 1)", _mld_uniform)
        c.run("y holds only 0. and 1.", _mld_binary)
        c.run("with noise=0, y = 1 exactly where sigmoid(X @ w + b) >= 0.5", _mld_labels)
        c.run("noise * N(0, 1) is added to the probability", _mld_noise)
        c.run("the same generator seed gives the same data", _mld_generator)
        c.run("works with the default noise and generator", _mld_defaults)
        c.run("works without lk.make_logistic_data",
              lambda c: c.check_elementary(
                  lambda: (20, torch.tensor(PARAMS[0][0]), PARAMS[0][1], 0.01),
                  kwargs={"generator": _gen(0)}))
        return c
    run_checker(build)


# ====================================================================== data_iter

PERM_FIX = ("shuffle once per call with indices = torch.randperm(num_examples, "
            "generator=generator), then yield X[j], y[j] for j = indices[i:i + batch_size], "
            "i in range(0, num_examples, batch_size)")


def _id_data(n: int):
    """X (n, 2) whose first column is the example's id, y (n,) = the id."""
    ids = torch.arange(n, dtype=torch.float32)
    return torch.stack([ids, 1000 + ids], dim=1), ids.clone()


def _pass(c: Checker, batch_size: int, X, y, **kwargs) -> list[tuple]:
    """The batches of one call, each checked to be an (X_batch, y_batch) pair."""
    result = c.call(batch_size, X, y, **kwargs)
    try:
        it = iter(result)
    except TypeError:
        raise Fail(f"it returns {describe_value(result)}, not an iterable of batches",
                   "yield X[j], y[j] for each batch (a generator)") from None
    end = object()
    batches = []
    limit = len(X) + 2
    while True:
        item = c.call_other(next, it, end)
        if item is end:
            return batches
        if len(batches) >= limit:
            raise Fail(f"it yields more than {limit} batches for {len(X)} examples: it "
                       f"never stops", PERM_FIX)
        if not (isinstance(item, (tuple, list)) and len(item) == 2
                and all(isinstance(t, torch.Tensor) for t in item)):
            raise Fail(f"it yields {describe_value(item)}",
                       "yield pairs (X_batch, y_batch) of tensors")
        batches.append(tuple(item))


def _ids_of(batches) -> list[int]:
    return [int(v) for _, yb in batches for v in yb.reshape(-1).tolist()]


def _di_pairs(c: Checker) -> None:
    X, y = _id_data(23)
    for Xb, yb in _pass(c, 5, X, y, generator=_gen(0)):
        if Xb.dim() != 2 or Xb.shape[1] != 2 or yb.dim() != 1 or Xb.shape[0] != yb.shape[0]:
            raise Fail(f"a batch holds X_batch of shape {tuple(Xb.shape)} and y_batch of "
                       f"shape {tuple(yb.shape)}; expected (B, 2) and (B,)",
                       "index the rows: X[j], y[j] with j a tensor of indices")


def _di_full_pass(c: Checker) -> None:
    for n, bs in ((23, 5), (20, 5)):
        X, y = _id_data(n)
        batches = _pass(c, bs, X, y, generator=_gen(1))
        sizes = [len(yb) for _, yb in batches]
        expected = [bs] * (n // bs) + ([n % bs] if n % bs else [])
        ids = _ids_of(batches)
        if len(ids) == n - n % bs and n % bs and len(set(ids)) == len(ids):
            raise Fail(f"it drops the last partial batch ({n % bs} of {n} examples never "
                       f"appear with batch_size={bs})",
                       "keep the last, shorter batch: loop over range(0, num_examples, "
                       "batch_size) and slice indices[i:i + batch_size]")
        if sorted(ids) != list(range(n)):
            missing = n - len(set(ids))
            raise Fail(f"one pass over {n} examples yields {len(ids)}, {len(ids) - len(set(ids))}"
                       f" repeated and {missing} never seen",
                       "take consecutive slices of one permutation; drawing random indices "
                       "(torch.randint) repeats some examples and misses others. " + PERM_FIX)
        if 0 in sizes:
            raise Fail(f"it yields an empty batch (sizes {sizes})", PERM_FIX)
        if sizes != expected:
            raise Fail(f"the batch sizes are {sizes}; expected {expected}", PERM_FIX)


def _di_together(c: Checker) -> None:
    X, y = _id_data(23)
    X0, y0 = X.clone(), y.clone()
    for Xb, yb in _pass(c, 5, X, y, generator=_gen(2)):
        if not torch.equal(Xb[:, 0], yb):
            raise Fail("the rows of X and y are separated: X_batch[i] and y_batch[i] come "
                       "from different examples",
                       "index X and y with the same indices: X[j], y[j]")
    if not (torch.equal(X, X0) and torch.equal(y, y0)):
        raise Fail("it reorders the caller's X and y in place",
                   "shuffle indices, not the data: " + PERM_FIX)


def _di_shuffles(c: Checker) -> None:
    X, y = _id_data(50)
    batches = _pass(c, 10, X, y, generator=_gen(3))
    ids = _ids_of(batches)
    if ids == list(range(50)):
        raise Fail("it never shuffles: the examples come in their stored order",
                   "draw a random order with torch.randperm(num_examples, "
                   "generator=generator)")
    if all(b[1].tolist() == list(range(int(b[1][0]), int(b[1][0]) + len(b[1])))
           for b in batches):
        raise Fail("it shuffles the order of the batches but not the examples: each batch "
                   "holds consecutive examples", PERM_FIX)


def _di_new_order(c: Checker) -> None:
    X, y = _id_data(40)
    g = _gen(4)
    first, second = _ids_of(_pass(c, 8, X, y, generator=g)), _ids_of(_pass(c, 8, X, y,
                                                                          generator=g))
    without = [_ids_of(_pass(c, 8, X, y)) for _ in range(2)]
    if first == second or without[0] == without[1]:
        when = "with one generator" if first == second else "without a generator"
        raise Fail(f"two calls {when} give the same order",
                   "draw a new permutation at every call; don't reseed inside data_iter "
                   "(no torch.manual_seed)")


def _di_generator(c: Checker) -> None:
    X, y = _id_data(40)
    a = _ids_of(_pass(c, 8, X, y, generator=_gen(7)))
    b = _ids_of(_pass(c, 8, X, y, generator=_gen(7)))
    if a != b:
        raise Fail("two generators with the same seed give different orders: it ignores "
                   "its generator argument",
                   "pass generator=generator to torch.randperm (random.shuffle and "
                   "np.random do not use it)")


def _di_big_batch(c: Checker) -> None:
    X, y = _id_data(7)
    batches = _pass(c, 10, X, y, generator=_gen(8))
    if [len(yb) for _, yb in batches] != [7] or sorted(_ids_of(batches)) != list(range(7)):
        raise Fail(f"with batch_size=10 and 7 examples it yields batches of sizes "
                   f"{[len(yb) for _, yb in batches]}; expected one batch of all 7",
                   PERM_FIX)


def data_iter(fn) -> None:
    """Check the student's ``data_iter(batch_size, X, y, generator=None)``: a generator of
    ``(X_batch, y_batch)`` pairs, a new random order at each call (from ``generator`` when
    given), every example exactly once per pass, the last partial batch kept, rows of X and
    y together."""
    def build() -> Checker:
        c = Checker("data_iter", fn, signature="data_iter(batch_size, X, y, generator=None)",
                    unavailable=("labkit.data_iter", "labkit.data.data_iter",
                                 "labkit.data.synthetic.data_iter",
                                 "torch.utils.data.DataLoader", "labkit.InMemoryLoader",
                                 "labkit.data.InMemoryLoader",
                                 "labkit.data.loader.InMemoryLoader"),
                    elementary_fix="torch.randperm, slicing and indexing")
        c.run("yields (X_batch, y_batch) pairs of shapes (B, D) and (B,)", _di_pairs,
              essential=True)
        c.run("one pass yields every example exactly once, the last partial batch kept",
              _di_full_pass)
        c.run("rows of X and y stay together; X and y are left unchanged", _di_together)
        c.run("the order is random", _di_shuffles)
        c.run("each call draws a new order", _di_new_order)
        c.run("the same generator seed gives the same order", _di_generator)
        c.run("batch_size larger than the data gives one batch", _di_big_batch)
        c.run("works without lk.data_iter or DataLoader",
              lambda c: c.check_elementary(lambda: (5, *_id_data(12)),
                                           kwargs={"generator": _gen(9)},
                                           consume=list, compare=_all_once))
        return c
    run_checker(build)


def _all_once(batches) -> None:
    ids = sorted(int(v) for b in batches for v in b[1].reshape(-1).tolist())
    if ids != list(range(12)):
        raise Fail("one pass does not yield every example once", PERM_FIX)
