"""The machinery every checker shares: running the student's function, collecting failed
checks with their fixes, hiding PyTorch's and labkit's own versions of a function, and
leaving the caller's state (random generators, threads, grad mode) as it was.

A checker is a list of checks, each a small function that receives the ``Checker`` and
raises ``Fail(problem, fix)`` when the student's function misbehaves::

    def sigmoid(fn):
        c = Checker("sigmoid", fn, signature="sigmoid(input)", ...)
        c.run("values equal torch.sigmoid", _values)
        ...
        c.finish()  # raises AssertionError listing every failed check, or prints one line

Everything the student's function does goes through ``c.call(...)``, which silences its
prints and warnings and turns the exceptions it raises into failed checks with a hint.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import random
import re
import warnings
from collections.abc import Callable, Sequence

import numpy as np
import torch

__all__ = ["Fail", "Skip", "Checker", "describe_value", "first_mismatch", "fmt"]

SEED = 20240601  # the global generators' seed while a checker runs (restored afterwards)


class Fail(Exception):
    """One failed check: ``problem`` says what came out, ``fix`` what to change."""

    def __init__(self, problem: str, fix: str | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.fix = fix


class Skip(Exception):
    """A check that cannot give a meaningful verdict until an earlier failure is fixed (its
    result would only repeat that failure's consequence): counted as not run."""


class _StudentError(Exception):
    """The student's function raised ``exc``."""

    def __init__(self, exc: BaseException) -> None:
        super().__init__(repr(exc))
        self.exc = exc


class _Unavailable(RuntimeError):
    """Raised by a function that a checker made unavailable."""


def fmt(x) -> str:
    """A number as a short string (``1e+04``, ``-100``, ``0.731``, ``nan``)."""
    if isinstance(x, torch.Tensor):
        x = x.item()
    if isinstance(x, float):
        return f"{x:.4g}"
    return str(x)


MAX_DESCRIPTION = 100  # characters of a value's repr quoted in a message


def describe_value(x) -> str:
    """What a value is, for messages: shape and dtype for tensors, the length and kind of
    the items for a list or tuple holding tensors ("a list of 4 tensors"), else the type and
    repr on one line, cut at ``MAX_DESCRIPTION`` characters (a tensor's repr would fill the
    screen)."""
    if isinstance(x, torch.Tensor):
        return f"a tensor of shape {tuple(x.shape)} and dtype {x.dtype}"
    if x is None:
        return "None (did you forget the return statement?)"
    kind = type(x).__name__
    if isinstance(x, (list, tuple)) and any(isinstance(v, torch.Tensor) for v in x):
        n = len(x)
        if all(isinstance(v, torch.Tensor) for v in x):
            return f"a {kind} of {n} tensor{'' if n == 1 else 's'}"
        items = "; ".join(describe_value(v) for v in x[:3]) + ("; ..." if n > 3 else "")
        return _cut(f"a {kind} of {n} item{'' if n == 1 else 's'} ({items})")
    return _cut(f"{kind} {x!r}")


def _cut(text: str) -> str:
    """``text`` on one line, at most ``MAX_DESCRIPTION`` characters."""
    text = " ".join(text.split())
    return text if len(text) <= MAX_DESCRIPTION else text[:MAX_DESCRIPTION - 3] + "..."


def first_mismatch(actual: torch.Tensor, expected: torch.Tensor, rtol: float,
                   atol: float) -> int | None:
    """The flat index of the first entry where ``actual`` and ``expected`` differ beyond
    ``atol + rtol * |expected|`` (nan never matches, equal infinities do), else ``None``."""
    a = actual.detach().reshape(-1).double()
    e = expected.detach().reshape(-1).double()
    same_inf = torch.isinf(a) & torch.isinf(e) & (torch.sign(a) == torch.sign(e))
    with np.errstate(invalid="ignore"):
        ok = same_inf | ((a - e).abs() <= atol + rtol * e.abs())
    bad = (~ok).nonzero()
    return None if bad.numel() == 0 else int(bad[0, 0])


# ------------------------------------------------------------------ error messages
# (regular expression on "ExceptionType: message", fix). A checker adds its own in front.
COMMON_ERROR_FIXES: list[tuple[str, str]] = [
    (r"a leaf Variable that requires grad is being used in an in-place operation",
     "it changes a tensor that requires grad in place (x -= ..., x.sub_(...), x[...] = ...): "
     "write x = x - ... to get a new tensor and leave the argument alone"),
    (r"grad can be implicitly created only for scalar outputs",
     "backward() needs one number: with one loss per example call l.sum().backward()"),
    (r"Can't call numpy\(\) on Tensor that requires grad",
     "stay with torch operations (no .numpy()): autograd cannot follow NumPy"),
    (r"unexpected keyword argument",
     "keep the signature the notebook gives: {signature}"),
    (r"positional argument|positional arguments",
     "keep the signature the notebook gives: {signature}"),
    (r"'torch\.return_types\.(max|min)'|return_types",
     "x.max(dim=...) returns (values, indices): take .values, e.g. "
     "X.max(dim=1, keepdim=True).values"),
    (r"expected (m1 and m2|mat1 and mat2) to have the same dtype|expected scalar type",
     "it mixes float32 and float64 tensors: create new tensors with the input's dtype "
     "(torch.zeros_like(x), or use Python numbers such as 1.0)"),
    (r"not implemented for 'Long'|not implemented for 'Int'",
     "an integer tensor reached a floating-point operation: convert with .float()"),
    (r"NoneType.*has no attribute 'zero_'|'NoneType' object has no attribute",
     "something is None that should be a tensor: was backward() called first, and did "
     "every function return its result?"),
]


def _error_text(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    return first if len(first) <= 200 else first[:197] + "..."


# ------------------------------------------------------------------ unavailable functions


def _resolve(path: str):
    """``"torch.nn.functional.softmax"`` -> ``(torch.nn.functional, "softmax")``, or
    ``None`` when that attribute does not exist in this PyTorch/labkit."""
    parts = path.split(".")
    for i in range(len(parts) - 1, 0, -1):
        try:
            owner = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        try:
            for name in parts[i:-1]:
                owner = getattr(owner, name)
            getattr(owner, parts[-1])
        except AttributeError:
            return None
        return owner, parts[-1]
    return None


def _blocker(path: str, calls: list[str]):
    def unavailable(*args, **kwargs):
        calls.append(path)
        raise _Unavailable(f"{path} is unavailable while the check runs")

    unavailable.__name__ = path.rsplit(".", 1)[-1]
    return unavailable


@contextlib.contextmanager
def unavailable(paths: Sequence[str], fn, calls: list[str]):
    """Replace each function in ``paths`` (and any global name of ``fn`` bound to one of
    them) by a stub that records the call in ``calls`` and raises; restore them all on
    exit, whatever happens. When ``fn`` is itself one of them (labkit's own function, e.g.
    in labkit's tests) nothing is replaced: it may use its siblings."""
    patches: list[tuple[object, str, bool, object]] = []  # owner, name, had_own, original
    originals: dict[int, str] = {}
    targets = [(path, *found) for path in paths if (found := _resolve(path)) is not None]
    if any(getattr(owner, name) is fn for _, owner, name in targets):
        targets = []  # fn is labkit's own version: it may use its siblings
    try:
        for path, owner, name in targets:
            original = getattr(owner, name)
            originals.setdefault(id(original), path)
            own = vars(owner) if hasattr(owner, "__dict__") else {}
            had_own = name in own
            patches.append((owner, name, had_own, own.get(name)))
            setattr(owner, name, _blocker(path, calls))
        namespace = getattr(fn, "__globals__", None)
        if isinstance(namespace, dict):
            for name, value in list(namespace.items()):
                path = originals.get(id(value))
                if path is not None and value is not fn:
                    patches.append((namespace, name, True, value))
                    namespace[name] = _blocker(path, calls)
        yield
    finally:
        for owner, name, had_own, original in reversed(patches):
            if isinstance(owner, dict):
                owner[name] = original
            elif had_own:
                setattr(owner, name, original)
            else:
                delattr(owner, name)


# ------------------------------------------------------------------ the caller's state


@contextlib.contextmanager
def isolated():
    """Seed the global generators (torch CPU, ``random``, NumPy) for the checker's run and
    restore them afterwards, with torch's thread count, grad mode and default dtype."""
    torch_state = torch.get_rng_state()
    py_state = random.getstate()
    np_state = np.random.get_state()
    threads = torch.get_num_threads()
    grad = torch.is_grad_enabled()
    dtype = torch.get_default_dtype()
    torch.default_generator.manual_seed(SEED)
    random.seed(SEED)
    np.random.seed(SEED)
    try:
        yield
    finally:
        torch.set_rng_state(torch_state)
        random.setstate(py_state)
        np.random.set_state(np_state)
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
        torch.set_grad_enabled(grad)
        torch.set_default_dtype(dtype)


# ------------------------------------------------------------------ the checker


class _Abort(Exception):
    pass


class Checker:
    """Runs the checks of one student function and reports them.

    Args:
        name: the function's name, as the notebook spells it (``"sigmoid"``).
        fn: the student's callable.
        signature: the signature the notebook states, quoted in hints.
        unavailable: dotted paths of the functions that ``fn`` must not use (PyTorch's and
            labkit's own versions of it), for ``check_elementary``.
        elementary_fix: what to use instead, for the hint.
        error_fixes: extra ``(regex, fix)`` pairs for exceptions raised by ``fn``, tried
            before the common ones.
    """

    def __init__(self, name: str, fn: Callable, *, signature: str,
                 unavailable: Sequence[str] = (), elementary_fix: str = "",
                 error_fixes: Sequence[tuple[str, str]] = ()) -> None:
        if not callable(fn):
            raise TypeError(
                f"lk.check.{name} takes the function you wrote, {signature}, got "
                f"{'None' if fn is None else describe_value(fn)}"
            )
        self.name = name
        self.fn = fn
        self.signature = signature
        self.unavailable = tuple(unavailable)
        self.elementary_fix = elementary_fix
        self.error_fixes = list(error_fixes) + COMMON_ERROR_FIXES
        self.results: list[tuple[str, str | None, str | None]] = []  # what, problem, fix
        self.skipped = 0
        self.note = ""  # said after the verdict's first line, e.g. " (with ...)"
        self._aborted = False
        self._calls: list[str] = []

    # -- calling the student's function

    def call(self, *args, **kwargs):
        """``fn(*args, **kwargs)`` with its output and warnings hidden; an exception it
        raises becomes ``_StudentError``."""
        return self.call_other(self.fn, *args, **kwargs)

    def call_other(self, fn, *args, **kwargs):
        """Like ``call`` for another student-side callable (e.g. a generator's ``next``)."""
        sink = io.StringIO()
        try:
            with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink), \
                    warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return fn(*args, **kwargs)
        except (_Abort, Fail, Skip):
            raise
        except Exception as exc:  # anything the student's code raises
            raise _StudentError(exc) from exc

    # -- running checks

    def run(self, what: str, check: Callable[[Checker], None], *,
            essential: bool = False) -> None:
        """Run one check. ``essential``: if it fails, the remaining checks are skipped
        (they need what it tests, e.g. that the function returns a tensor at all). A check
        that raises ``Skip`` counts as not run."""
        if self._aborted:
            self.skipped += 1
            return
        try:
            check(self)
        except Skip:
            self.skipped += 1
        except Fail as f:
            self.results.append((what, f.problem, f.fix))
            if essential:
                self._aborted = True
        except _StudentError as e:
            exc = e.exc
            if isinstance(exc, NotImplementedError):
                self.results.append((
                    what,
                    f"{self.name} raises NotImplementedError: it is not written yet",
                    f"replace `raise NotImplementedError()` with your code "
                    f"({self.signature})"))
                self._aborted = True
                return
            if isinstance(exc, _Unavailable):  # a blocked function outside the dedicated check
                raise
            self.results.append((what, f"raised {_error_text(exc)}", self._fix_for(exc)))
            if essential:
                self._aborted = True
        else:
            self.results.append((what, None, None))

    def _fix_for(self, exc: BaseException) -> str | None:
        text = _error_text(exc)
        for pattern, fix in self.error_fixes:
            if re.search(pattern, text):
                return fix.format(signature=self.signature)
        return None

    def check_elementary(self, args_factory: Callable[[], tuple],
                         compare: Callable[[object], None] | None = None,
                         kwargs: dict | None = None,
                         consume: Callable[[object], object] | None = None) -> None:
        """The check that ``fn`` works while PyTorch's and labkit's own version of it are
        unavailable; ``consume(out)`` runs inside too (e.g. ``list`` for a generator, whose
        body only runs when iterated); ``compare(result)`` may then check the result."""
        calls: list[str] = []
        args = args_factory()
        try:
            with unavailable(self.unavailable, self.fn, calls):
                out = self.call(*args, **(kwargs or {}))
                if consume is not None:
                    out = self.call_other(consume, out)
        except _StudentError as e:
            if not calls:
                raise
            out = e
        if calls:
            used = ", ".join(dict.fromkeys(calls))
            raise Fail(
                f"it calls {used}: PyTorch's (or labkit's) own version of what you are "
                f"asked to write",
                f"build it from elementary operations{': ' if self.elementary_fix else ''}"
                f"{self.elementary_fix}")
        if compare is not None:
            compare(out)

    # -- the verdict

    def finish(self) -> None:
        """Raise ``AssertionError`` listing every failed check, or print one line."""
        failed = [(w, p, f) for w, p, f in self.results if p is not None]
        total = len(self.results) + self.skipped
        if not failed:
            print(f"{self.name}: all {total} checks passed{self.note}")
            return
        head = f"{self.name}: {len(failed)} of {total} checks failed"
        if self.skipped:
            head += f" ({self.skipped} not run until the first ones pass)"
        head += self.note
        lines = [head]
        previous_fix = None
        for i, (what, problem, fix) in enumerate(failed, start=1):
            lines.append(f"{i}. {what}: {problem}")
            if fix:
                lines.append("   fix: as above" if fix == previous_fix else f"   fix: {fix}")
            previous_fix = fix
        raise AssertionError("\n".join(lines))


def run_checker(build: Callable[[], Checker]) -> None:
    """Build and run a checker with the caller's state protected, then report."""
    with isolated():
        checker = build()
    checker.finish()


def quiet_passes(checker_fn: Callable, fn, **kwargs) -> bool:
    """Whether ``checker_fn(fn, **kwargs)`` passes, printing nothing (used to tell a student
    that a helper their function calls fails its own check)."""
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            checker_fn(fn, **kwargs)
    except AssertionError:
        return False
    except Exception:
        return False
    return True


@contextlib.contextmanager
def stand_in(fn, name: str, passes: Callable[[Callable], bool],
             make_correct: Callable[[Callable], Callable]):
    """While the block runs, replace the helper ``name`` in ``fn``'s module globals (the
    notebook's) by ``make_correct(helper)`` if ``passes(helper)`` is false; restored
    afterwards. Yields ``True`` when it replaced one.

    Why: a checked function that calls another graded function of the notebook (accuracy,
    relu) would otherwise fail its check through the helper's bug, and its cell would lose
    its points as well as the helper's. A correct helper is left in place (the student's code
    runs as it will in the notebook)."""
    namespace = getattr(fn, "__globals__", None)
    helper = namespace.get(name) if isinstance(namespace, dict) else None
    if not callable(helper) or helper is fn or passes(helper):
        yield False
        return
    namespace[name] = make_correct(helper)
    try:
        yield True
    finally:
        namespace[name] = helper


# ------------------------------------------------------------------ tensor helpers


def expect_tensor(out, *, shape: tuple | None = None, dtype: torch.dtype | None = None,
                  context: str = "", shape_fix: str | None = None,
                  dtype_fix: str | None = None) -> torch.Tensor:
    """``out`` is a tensor of the given shape and dtype, else ``Fail``."""
    where = f" {context}" if context else ""
    if not isinstance(out, torch.Tensor):
        raise Fail(f"it returns {describe_value(out)}{where}", "return a torch.Tensor")
    if shape is not None and tuple(out.shape) != tuple(shape):
        raise Fail(f"it returns shape {tuple(out.shape)}{where}; expected {tuple(shape)}",
                   shape_fix)
    if dtype is not None and out.dtype != dtype:
        raise Fail(
            f"it returns dtype {out.dtype}{where}; expected {dtype}",
            dtype_fix or "keep the input's dtype: build new tensors with the input's dtype "
            "(torch.zeros_like(x)) or use Python numbers, never torch.tensor(...) with "
            "a fixed dtype")
    return out


def upstream(out: torch.Tensor, seed: int = 1234) -> torch.Tensor:
    """A fixed random upstream gradient with ``out``'s shape and dtype."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(out.shape, generator=g, dtype=torch.float64).to(out.dtype)


def vjp(c: Checker, out, inputs: Sequence[torch.Tensor], context: str = ""):
    """Vector-Jacobian products of the student's ``out`` w.r.t. ``inputs``, with a fixed
    random upstream gradient (so every entry of the Jacobian counts)."""
    where = f" {context}" if context else ""
    if not isinstance(out, torch.Tensor):
        raise Fail(f"it returns {describe_value(out)}{where}", "return a torch.Tensor")
    if not out.requires_grad:
        raise Fail(
            f"the output{where} is not connected to the input's graph (it does not "
            f"require grad), so no gradient can flow back",
            "compute it with torch operations on the input: no .detach(), .item(), "
            ".numpy(), .data, math.* or torch.tensor(...) re-wrapping")
    grads = c.call_other(torch.autograd.grad, out, list(inputs), upstream(out),
                         allow_unused=True)
    return [torch.zeros_like(x) if g is None else g for g, x in zip(grads, inputs)]


def torch_vjp(f: Callable, inputs: Sequence[torch.Tensor], wrt: Sequence[int], **kwargs):
    """The reference: ``f(*inputs)`` and its vector-Jacobian products w.r.t. ``wrt``."""
    leaves = [x.detach().clone().requires_grad_(i in wrt) if x.is_floating_point() else x
              for i, x in enumerate(inputs)]
    out = f(*leaves, **kwargs)
    grads = torch.autograd.grad(out, [leaves[i] for i in wrt], upstream(out))
    return out.detach(), list(grads)


def leaves_for(inputs: Sequence[torch.Tensor], wrt: Sequence[int]) -> list[torch.Tensor]:
    """Fresh copies of ``inputs``, the ones in ``wrt`` requiring grad."""
    return [x.detach().clone().requires_grad_(i in wrt) if x.is_floating_point()
            else x.clone() for i, x in enumerate(inputs)]


# ------------------------------------------------------------------ what a graph is made of

# Elementwise operations with a kink: autograd takes their derivative at the kink as 0 (abs,
# clamp, relu, sign) or splits it between the two sides (maximum, minimum), so a formula built
# on them can have the right values and a wrong gradient exactly there.
_KINKED = [(re.compile(p), name) for p, name in (
    (r"^Abs", "x.abs()"),
    (r"^Clamp", "clamp"),
    (r"^(Relu|Threshold)", "relu"),
    (r"^(Maximum|Minimum|Fmax|Fmin)", "torch.maximum / torch.minimum"),
    (r"^(Sign|Sgn)", "sign"),
    (r"^Hardtanh", "hardtanh"),
)]


def kinked_operations(out) -> list[str]:
    """The operations with a kink (``x.abs()``, ``clamp``, ``relu``, ``torch.maximum``, ...)
    that autograd recorded in ``out``'s graph, by name, in a fixed order; ``[]`` for a tensor
    without a graph. Used to tell a student which of their operations makes a gradient wrong
    at the kink, instead of guessing."""
    fn = getattr(out, "grad_fn", None)
    found: set[str] = set()
    seen: set[int] = set()
    stack = [fn] if fn is not None else []
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        kind = type(node).__name__
        for pattern, name in _KINKED:
            if pattern.match(kind):
                found.add(name)
        stack.extend(nxt for nxt, _ in getattr(node, "next_functions", ()) if nxt is not None)
    return [name for _, name in _KINKED if name in found]
