"""Checker for k-fold cross-validation's folds (lab 2, ``labkit.selection``'s lesson).

Notebook 08 has the student write ``kfold_indices(n, k, seed=0)``: ``k`` pairs
``(train_idx, val_idx)`` of example indices in ``0 .. n-1``, where

- the validation parts cover every example exactly once (no overlap, nothing missing);
- each fold trains on every example outside its validation part, and only on those;
- the parts' sizes differ by at most one (the first ``n % k`` get one more);
- the examples are shuffled first, from ``seed`` alone: the same seed gives the same folds,
  another seed other folds, and the caller's random numbers are left alone (a private
  ``torch.Generator().manual_seed(seed)``, not ``torch.manual_seed``).

The indices may be tensors, lists or NumPy arrays.
"""

from __future__ import annotations

import torch

from labkit.check._core import Checker, Fail, describe_value, run_checker

__all__ = ["kfold_indices"]

SIGNATURE = "kfold_indices(n, k, seed=0)"
RECIPE = ("perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed)); cut it "
          "into k parts of sizes n // k + (1 if i < n % k else 0); fold i validates on part "
          "i and trains on torch.cat of the others")
CASES = ((23, 5), (20, 4), (10, 10), (7, 2))


def _as_index_list(x, what: str) -> list[int]:
    if isinstance(x, torch.Tensor):
        if x.is_floating_point() or x.dim() != 1:
            raise Fail(f"{what} is {describe_value(x)}",
                       "return 1-d integer tensors of indices (torch.randperm gives int64)")
        return [int(v) for v in x.tolist()]
    try:
        values = list(x)
    except TypeError:
        raise Fail(f"{what} is {describe_value(x)}", "return 1-d tensors of indices") from None
    out = []
    for v in values:
        if hasattr(v, "item"):
            v = v.item()
        if isinstance(v, bool) or not float(v).is_integer():
            raise Fail(f"{what} holds {v!r}, not an index", "return integer indices")
        out.append(int(v))
    return out


def _folds(c: Checker, n: int, k: int, seed=0) -> list[tuple[list[int], list[int]]]:
    result = c.call(n, k, seed) if seed is not None else c.call(n, k)
    try:
        folds = list(result)
    except TypeError:
        raise Fail(f"it returns {describe_value(result)}, not a list of folds",
                   "return a list of k pairs (train_idx, val_idx)") from None
    if len(folds) != k:
        raise Fail(f"it returns {len(folds)} folds for k = {k} (n = {n})",
                   "one pair (train_idx, val_idx) per fold: range(k), not range(k - 1)")
    out = []
    for i, fold in enumerate(folds):
        if not (isinstance(fold, (tuple, list)) and len(fold) == 2):
            raise Fail(f"fold {i} is {describe_value(fold)}", "each fold is a pair "
                       "(train_idx, val_idx)")
        out.append((_as_index_list(fold[0], f"fold {i}'s train_idx"),
                    _as_index_list(fold[1], f"fold {i}'s val_idx")))
    return out


def _form(c: Checker) -> None:
    _folds(c, 23, 5)


def _cover(c: Checker) -> None:
    for n, k in CASES:
        folds = _folds(c, n, k)
        val = [i for _, v in folds for i in v]
        outside = sorted({i for i in val if not 0 <= i < n})
        if outside:
            raise Fail(f"n = {n}: index {outside[0]} is outside 0 .. {n - 1}", RECIPE)
        seen = set(val)
        if len(val) > len(seen):
            raise Fail(f"n = {n}, k = {k}: the validation parts overlap ({len(val) - len(seen)}"
                       f" examples are validated on twice)",
                       "cut one permutation into consecutive, disjoint parts: " + RECIPE)
        missing = n - len(seen)
        if missing:
            hint = (f" (n // k * k = {n // k * k}: the remainder n % k = {n % k} is dropped)"
                    if missing == n % k else "")
            raise Fail(f"n = {n}, k = {k}: {missing} examples are never validated on{hint}",
                       "every example belongs to exactly one part: give the first n % k "
                       "parts one more example. " + RECIPE)


def _complement(c: Checker) -> None:
    for n, k in CASES:
        for i, (train, val) in enumerate(_folds(c, n, k)):
            both = set(train) & set(val)
            if both:
                raise Fail(f"n = {n}, k = {k}: fold {i} trains on {len(both)} of its own "
                           f"validation examples", "train on the other parts only: "
                           "torch.cat of the parts j != i")
            if len(train) != len(set(train)):
                raise Fail(f"n = {n}, k = {k}: fold {i}'s train_idx repeats examples", RECIPE)
            if sorted(set(train) | set(val)) != list(range(n)):
                left = n - len(set(train) | set(val))
                raise Fail(f"n = {n}, k = {k}: fold {i} neither trains nor validates on "
                           f"{left} examples", "train on every example outside the "
                           "validation part")


def _balanced(c: Checker) -> None:
    for n, k in CASES:
        sizes = [len(v) for _, v in _folds(c, n, k)]
        if max(sizes) - min(sizes) > 1:
            raise Fail(f"n = {n}, k = {k}: the validation parts have sizes {sizes}",
                       "spread the remainder: the first n % k parts get n // k + 1 "
                       "examples, the others n // k")


def _shuffled(c: Checker) -> None:
    n, k = 40, 4
    folds = _folds(c, n, k)
    if all(v == list(range(min(v), max(v) + 1)) for _, v in folds if v):
        raise Fail("the validation parts are blocks of consecutive examples: the examples "
                   "are not shuffled (data sorted by class would give folds without some "
                   "classes)", RECIPE)


def _seeded(c: Checker) -> None:
    n, k = 30, 3
    a = _folds(c, n, k, 3)
    b = _folds(c, n, k, 3)
    if a != b:
        raise Fail("the same seed gives different folds (the seed is not used)",
                   "draw the permutation from torch.Generator().manual_seed(seed)")
    other = _folds(c, n, k, 4)
    if other == a:
        raise Fail("seeds 3 and 4 give the same folds", "use the seed for the permutation")
    default = _folds(c, n, k, None)
    zero = _folds(c, n, k, 0)
    if default != zero:
        raise Fail("kfold_indices(n, k) differs from kfold_indices(n, k, 0)",
                   "the default is seed=0")


def _caller_rng(c: Checker) -> None:
    state = torch.get_rng_state()
    before = torch.rand(3)
    torch.set_rng_state(state)
    _folds(c, 30, 3, 7)
    after = torch.rand(3)
    torch.set_rng_state(state)
    if torch.equal(before, after):
        return
    raise Fail("it changes torch's global random numbers (torch.manual_seed inside, or "
               "torch.randperm without a generator): every later random draw of the "
               "notebook depends on the call", "draw from a private generator: "
               "torch.randperm(n, generator=torch.Generator().manual_seed(seed))")


def kfold_indices(fn) -> None:
    """Check the student's ``kfold_indices(n, k, seed=0)``: ``k`` pairs ``(train_idx,
    val_idx)``; validation parts that cover every example exactly once with sizes within
    one, each fold training on exactly the other examples; shuffled, deterministic from the
    seed, the caller's random numbers untouched."""
    def build() -> Checker:
        c = Checker("kfold_indices", fn, signature=SIGNATURE,
                    unavailable=("labkit.kfold_indices", "labkit.selection.kfold_indices",
                                 "sklearn.model_selection.KFold",
                                 "sklearn.model_selection.StratifiedKFold"),
                    elementary_fix="torch.randperm with a generator, slicing and torch.cat")
        c.run("returns k pairs (train_idx, val_idx) of indices", _form, essential=True)
        c.run("the validation parts cover every example exactly once", _cover)
        c.run("each fold trains on exactly the examples outside its validation part",
              _complement)
        c.run("the validation parts' sizes differ by at most one", _balanced)
        c.run("the examples are shuffled", _shuffled)
        c.run("the same seed gives the same folds, another seed other folds", _seeded)
        c.run("the caller's random numbers are left alone", _caller_rng)
        c.run("works without lk.kfold_indices / sklearn's KFold",
              lambda c: c.check_elementary(lambda: (12, 3, 0)))
        return c
    run_checker(build)
