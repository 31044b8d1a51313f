"""Checkers for the optimizers of lab 2: momentum, RMSprop and Adam (``labkit.optim``'s
new lesson).

Notebook ``07_mlp_nn`` has the student write three update functions, each called once per
step after ``backward()`` (of a MEAN loss, as with ``torch.optim``)::

    sgd_momentum(params, states, lr, momentum=0.9)
    rmsprop(params, states, lr=0.01, alpha=0.99, eps=1e-8)
    adam(params, states, lr=0.001, betas=(0.9, 0.999), eps=1e-8)

``states`` is a list with one dict per parameter, empty at first (``states = [{} for p in
params]``), where the function keeps what it needs between calls (the velocity, the running
averages, Adam's step count), like ``torch.optim``'s ``optimizer.state[p]``. Each function
updates every parameter in place under ``torch.no_grad()``; whether it also zeroes the
gradients is not graded (the checker sets fresh ones before every call).

Each checker runs the student's function for several steps with changing gradients (some
of them small, where ``eps`` matters) and compares every parameter after every step with
``torch.optim.SGD(momentum=...)`` / ``RMSprop`` / ``Adam`` fed the same gradients, at the
defaults and at other hyperparameters. When they differ it replays the usual mistakes
(no bias correction, ``eps`` inside the square root, ...) and names the one that matches.
Tolerance: ``rtol=1e-7, atol=1e-10`` per step (float64).
"""

from __future__ import annotations

import torch

from labkit.check._core import Checker, Fail, Skip, fmt, run_checker

__all__ = ["sgd_momentum", "rmsprop", "adam"]

F64 = torch.float64
RTOL, ATOL = 1e-7, 1e-10
NUM_STEPS = 6
OPTIMIZERS = ("torch.optim.SGD", "torch.optim.sgd.SGD", "torch.optim.RMSprop",
              "torch.optim.rmsprop.RMSprop", "torch.optim.Adam", "torch.optim.adam.Adam",
              "torch.optim.AdamW", "torch.optim.adamw.AdamW", "torch.optim.Adagrad",
              "labkit.SGD", "labkit.optim.SGD", "labkit.sgd", "labkit.optim.sgd",
              "labkit.RMSprop", "labkit.optim.RMSprop", "labkit.Adam", "labkit.optim.Adam")
INPLACE_FIX = ("update each tensor in place inside `with torch.no_grad():` (p -= lr * ...); "
               "p = p - ... only rebinds the name")
STATE_FIX = ("keep the running values in states[i] (a dict per parameter) between calls: "
             "create them (zeros) at the first call, e.g. if not state: state['v'] = "
             "torch.zeros_like(p)")


def _start(seed: int = 0) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(3, 2, generator=g, dtype=F64), torch.randn(2, generator=g, dtype=F64)]


def _gradients(seed: int = 1) -> list[list[torch.Tensor]]:
    """NUM_STEPS gradient lists; steps 4-6 are small (~1e-3), where eps shows."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for step in range(NUM_STEPS):
        scale = 1.0 if step < 3 else 1e-3
        out.append([torch.randn(3, 2, generator=g, dtype=F64) * scale,
                    torch.randn(2, generator=g, dtype=F64) * scale])
    return out


def _torch_trajectory(make, hp: dict, grads) -> list[list[torch.Tensor]]:
    params = [p.clone().requires_grad_() for p in _start()]
    opt = make(params, **hp)
    out = []
    for gs in grads:
        for p, g in zip(params, gs):
            p.grad = g.clone()
        opt.step()
        out.append([p.detach().clone() for p in params])
    return out


def _student_trajectory(c: Checker, hp: dict, grads) -> list[list[torch.Tensor]]:
    params = [p.clone().requires_grad_() for p in _start()]
    states = [{} for _ in params]
    out = []
    for step, gs in enumerate(grads, start=1):
        for p, g in zip(params, gs):
            p.grad = g.clone()
        c.call(params, states, **hp)
        for i, p in enumerate(params):
            if not (p.is_leaf and p.requires_grad):
                raise Fail(f"after step {step} params[{i}] is no longer a leaf that "
                           f"requires grad (the update was recorded by autograd)",
                           INPLACE_FIX)
        out.append([p.detach().clone() for p in params])
    return out


def _simulate(rule, hp: dict, grads, **flags) -> list[list[torch.Tensor]]:
    """Replay ``rule(p, g, state, t, hp, **flags)`` (a reference or a known mistake)."""
    params = _start()
    states = [{} for _ in params]
    out = []
    for k, gs in enumerate(grads, start=1):
        for i, (p, g) in enumerate(zip(params, gs)):
            if flags.get("fresh_state"):
                states[i] = {}
            t = (k - 1) * len(params) + i + 1 if flags.get("shared_t") else k
            if flags.get("fresh_state"):
                t = 1
            params[i] = rule(p, g, states[i], t, hp, **flags)
        out.append([p.clone() for p in params])
    return out


def _same(a, b) -> bool:
    return all(torch.allclose(x, y, rtol=RTOL, atol=ATOL) for xs, ys in zip(a, b)
               for x, y in zip(xs, ys))


T0_FIX = ("count the steps from 1: t = state.get('t', 0) + 1, stored back, before the "
          "bias correction")


def _compare(c: Checker, name: str, make, rule, hp: dict, variants,
             num_steps: int = NUM_STEPS) -> None:
    """Fail unless the student's updates follow torch.optim's for ``num_steps`` steps."""
    grads = _gradients()[:num_steps]
    ours = _student_trajectory(c, hp, grads)
    ref = _torch_trajectory(make, hp, grads)
    if _same(ours, ref):
        return
    if getattr(c, "state_outside", False):
        # the running values carried over from the checks before: that is the cause
        raise Skip()
    where = f" (with {_hp_text(hp)})" if hp else " (with the defaults)"
    if all(torch.equal(x, s) for x, s in zip(ours[0], _start())):
        raise Fail(f"the parameters did not change{where}", INPLACE_FIX)
    for step, got in enumerate(ours, start=1):
        for i, x in enumerate(got):
            if not bool(torch.isfinite(x).all()):
                t0 = name == "adam" and step == 1
                raise Fail(f"after step {step}{where} params[{i}] holds nan or inf"
                           + (": 1 - beta ** t is 0 for t = 0 (the step count starts at 0)"
                              if t0 else ""),
                           T0_FIX if t0 else f"follow torch.optim's {name} rule exactly")
    for flags, problem, fix in variants:
        if _same(ours, _simulate(rule, hp, grads, **flags)):
            raise Fail(f"{problem}{where}", fix)
    step = next(k for k, (got, want) in enumerate(zip(ours, ref), start=1)
                if not _same([got], [want]))
    i = next(i for i, (x, y) in enumerate(zip(ours[step - 1], ref[step - 1]))
             if not torch.allclose(x, y, rtol=RTOL, atol=ATOL))
    x, y = ours[step - 1][i], ref[step - 1][i]
    j = int(((x - y).abs() > ATOL + RTOL * y.abs()).reshape(-1).nonzero()[0, 0])
    small = " (the gradients are ~1e-3 from step 4 on, where eps matters)" if step > 3 else ""
    raise Fail(f"after step {step}{where} params[{i}] differs from torch.optim's: "
               f"{fmt(x.reshape(-1)[j])} where {fmt(y.reshape(-1)[j])} is right{small}",
               f"follow torch.optim's {name} rule exactly (see the docstring of "
               f"lk.check.{name})")


def _hp_text(hp: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in hp.items())


def _optimizer_checker(name: str, fn, signature: str, make, rule, defaults_call: dict,
                       settings: list[dict], variants) -> None:
    def build() -> Checker:
        c = Checker(name, fn, signature=signature, unavailable=OPTIMIZERS,
                    elementary_fix="the update rule with tensor arithmetic and torch.sqrt",
                    error_fixes=[(r"a leaf Variable that requires grad is being used in an "
                                  r"in-place", "the update runs outside torch.no_grad(): "
                                  "wrap it in `with torch.no_grad():` so that autograd does "
                                  "not record it"),
                                 (r"KeyError", STATE_FIX),
                                 (r"unsupported operand type.*NoneType",
                                  "a gradient is None: read p.grad after backward(), and "
                                  "don't set it to None inside the function")])
        label = _hp_text(defaults_call) or "the defaults"
        c.run(f"one step with {label} equals torch.optim's",
              lambda c: _compare(c, name, make, rule, defaults_call, variants, 1),
              essential=True)
        # before the longer runs: running values kept outside states carry over from one
        # run to the next and would make those fail first, with no hint of the cause
        c.run("everything remembered between calls lives in states",
              lambda c: _own_state(c, defaults_call))
        c.run(f"{NUM_STEPS} steps with {label} equal torch.optim's, step by step",
              lambda c: _compare(c, name, make, rule, defaults_call, variants))
        for hp in settings:
            c.run(f"{NUM_STEPS} steps with {_hp_text(hp)} equal torch.optim's",
                  lambda c, hp=hp: _compare(c, name, make, rule, hp, variants))
        c.run("works without torch.optim / labkit's optimizers (elementary operations)",
              lambda c: c.check_elementary(_elementary_args, kwargs=defaults_call))
        return c
    run_checker(build)


def _own_state(c: Checker, hp: dict) -> None:
    """Runs from fresh states agree, and two parameter lists with their own states do not
    interfere: everything the function remembers lives in ``states``."""
    try:
        _check_own_state(c, hp)
    except Fail:
        c.state_outside = True
        raise


def _check_own_state(c: Checker, hp: dict) -> None:
    grads = _gradients()
    first, again = _student_like(c, hp, grads[:2]), _student_like(c, hp, grads[:2])
    if not _same([first], [again]):
        raise Fail("two runs from fresh (empty) states give different updates: the running "
                   "values live outside states (a global variable or a function attribute) "
                   "and carry over from one run to the next", STATE_FIX)
    a = [p.clone().requires_grad_() for p in _start()]
    b = [p.clone().requires_grad_() for p in _start(5)]
    sa, sb = [{} for _ in a], [{} for _ in b]
    for gs in grads[:3]:
        for p, g in zip(a, gs):
            p.grad = g.clone()
        for p, g in zip(b, gs):
            p.grad = -g.clone()
        c.call(a, sa, **hp)
        c.call(b, sb, **hp)
    alone = _student_like(c, hp, grads[:3])
    if not _same([[p.detach() for p in a]], [alone]):
        raise Fail("a second parameter list with its own states changes the first one's "
                   "updates: the running values live outside states (a global variable "
                   "or a function attribute)", STATE_FIX)


def _student_like(c: Checker, hp: dict, grads) -> list[torch.Tensor]:
    params = [p.clone().requires_grad_() for p in _start()]
    states = [{} for _ in params]
    for gs in grads:
        for p, g in zip(params, gs):
            p.grad = g.clone()
        c.call(params, states, **hp)
    return [p.detach().clone() for p in params]


def _elementary_args():
    params = [p.clone().requires_grad_() for p in _start()]
    for p, g in zip(params, _gradients()[0]):
        p.grad = g.clone()
    return params, [{} for _ in params]


# ====================================================================== momentum

def _momentum_rule(p, g, state, t, hp, *, dampening=False, zero_start=False, sign=1.0, **_):
    lr, momentum = hp["lr"], hp.get("momentum", 0.9)
    v = state.get("v")
    if v is None and not zero_start:
        v = g.clone()
    else:
        v = 0 * g if v is None else v
        v = momentum * v + ((1 - momentum) * g if dampening else g)
    state["v"] = v
    return p - sign * lr * v


def sgd_momentum(fn) -> None:
    """Check the student's ``sgd_momentum(params, states, lr, momentum=0.9)``: like
    ``torch.optim.SGD(params, lr, momentum)``: ``v <- momentum * v + g`` (``v = g`` at the
    first step), ``p <- p - lr * v``, in place, the velocity kept in ``states[i]``."""
    variants = [
        (dict(fresh_state=True), "the velocity is not kept between calls (each step is a "
         "plain SGD step)", STATE_FIX),
        (dict(dampening=True), "the gradient enters the velocity as (1 - momentum) * g "
         "(dampening)", "torch.optim.SGD adds the whole gradient: v = momentum * v + g"),
        (dict(dampening=True, zero_start=True), "the velocity starts at zeros AND the "
         "gradient enters it as (1 - momentum) * g (dampening): the velocity is "
         "(1 - momentum) times torch.optim's at every step, from the first (v = "
         "(1 - momentum) * g instead of g)",
         "add the whole gradient, v = momentum * v + g: starting from zeros is then fine "
         "(the first step gives v = g, as torch.optim.SGD); the (1 - momentum) factor is "
         "what makes it differ"),
        (dict(sign=-1.0), "it moves the parameters up the gradient (+=)",
         "p -= lr * v"),
    ]
    _optimizer_checker(
        "sgd_momentum", fn, "sgd_momentum(params, states, lr, momentum=0.9)",
        lambda params, lr, momentum=0.9: torch.optim.SGD(params, lr=lr, momentum=momentum),
        _momentum_rule, {"lr": 0.1}, [{"lr": 0.05, "momentum": 0.5}], variants)


# ====================================================================== RMSprop

def _rmsprop_rule(p, g, state, t, hp, *, eps_inside=False, no_sqrt=False, swap_alpha=False,
                  sign=1.0, **_):
    lr, alpha, eps = hp.get("lr", 0.01), hp.get("alpha", 0.99), hp.get("eps", 1e-8)
    v = state.get("v", torch.zeros_like(p))
    a = 1 - alpha if swap_alpha else alpha
    v = a * v + (1 - a) * g * g
    state["v"] = v
    if no_sqrt:
        denom = v + eps
    elif eps_inside:
        denom = torch.sqrt(v + eps)
    else:
        denom = torch.sqrt(v) + eps
    return p - sign * lr * g / denom


def rmsprop(fn) -> None:
    """Check the student's ``rmsprop(params, states, lr=0.01, alpha=0.99, eps=1e-8)``: like
    ``torch.optim.RMSprop``: ``v <- alpha * v + (1 - alpha) * g^2`` (``v`` starts at 0),
    ``p <- p - lr * g / (sqrt(v) + eps)``, in place; ``eps`` outside the square root."""
    variants = [
        (dict(eps_inside=True), "eps is inside the square root: g / sqrt(v + eps)",
         "add eps after the square root: g / (torch.sqrt(v) + eps), as torch.optim.RMSprop "
         "does"),
        (dict(no_sqrt=True), "it divides by the running mean square itself, not by its "
         "square root", "divide by torch.sqrt(v) + eps: the ROOT mean square has the "
         "gradient's units"),
        (dict(swap_alpha=True), "the running average weights the new g^2 by alpha and the "
         "old average by 1 - alpha", "v = alpha * v + (1 - alpha) * g * g: alpha (0.99) "
         "keeps the old average"),
        (dict(fresh_state=True), "the running average is not kept between calls", STATE_FIX),
        (dict(sign=-1.0), "it moves the parameters up the gradient (+=)",
         "p -= lr * g / (torch.sqrt(v) + eps)"),
    ]
    _optimizer_checker(
        "rmsprop", fn, "rmsprop(params, states, lr=0.01, alpha=0.99, eps=1e-8)",
        torch.optim.RMSprop, _rmsprop_rule, {},
        [{"lr": 0.05, "alpha": 0.9, "eps": 1e-3}], variants)


# ====================================================================== Adam

def _adam_rule(p, g, state, t, hp, *, bias=True, eps_inside=False, g_in_v=False,
               swap_betas=False, sign=1.0, **_):
    lr, eps = hp.get("lr", 1e-3), hp.get("eps", 1e-8)
    beta1, beta2 = hp.get("betas", (0.9, 0.999))
    if swap_betas:
        beta1, beta2 = beta2, beta1
    m = beta1 * state.get("m", torch.zeros_like(p)) + (1 - beta1) * g
    v = beta2 * state.get("v", torch.zeros_like(p)) + (1 - beta2) * (g if g_in_v else g * g)
    state["m"], state["v"] = m, v
    m_hat = m / (1 - beta1 ** t) if bias else m
    v_hat = v / (1 - beta2 ** t) if bias else v
    if g_in_v:
        v_hat = v_hat.abs()  # sqrt of a negative average would be nan
    denom = torch.sqrt(v_hat + eps) if eps_inside else torch.sqrt(v_hat) + eps
    return p - sign * lr * m_hat / denom


def adam(fn) -> None:
    """Check the student's ``adam(params, states, lr=0.001, betas=(0.9, 0.999),
    eps=1e-8)``: like ``torch.optim.Adam``: ``m <- beta1 m + (1 - beta1) g``,
    ``v <- beta2 v + (1 - beta2) g^2``, bias-corrected ``m / (1 - beta1^t)`` and
    ``v / (1 - beta2^t)`` with ``t = 1, 2, ...`` counted per parameter,
    ``p <- p - lr * m_hat / (sqrt(v_hat) + eps)``, in place."""
    variants = [
        (dict(bias=False), "no bias correction: m and v start at 0, so the early steps are "
         "too small", "divide m by (1 - beta1 ** t) and v by (1 - beta2 ** t), t the "
         "number of steps so far (1 at the first)"),
        (dict(shared_t=True), "the step count t goes up once per parameter instead of once "
         "per step", "keep t per parameter (states[i]['t'] += 1) or increment it once per "
         "call"),
        (dict(eps_inside=True), "eps is inside the square root: sqrt(v_hat + eps)",
         "add eps after the square root: m_hat / (torch.sqrt(v_hat) + eps)"),
        (dict(swap_betas=True), "beta1 and beta2 are swapped (m uses 0.999, v uses 0.9)",
         "m uses beta1 = betas[0], v uses beta2 = betas[1]"),
        (dict(g_in_v=True), "v averages g instead of g^2", "v = beta2 * v + (1 - beta2) * "
         "g * g"),
        (dict(fresh_state=True), "m, v and t are not kept between calls", STATE_FIX),
        (dict(sign=-1.0), "it moves the parameters up the gradient (+=)",
         "p -= lr * m_hat / (torch.sqrt(v_hat) + eps)"),
    ]
    _optimizer_checker(
        "adam", fn, "adam(params, states, lr=0.001, betas=(0.9, 0.999), eps=1e-8)",
        torch.optim.Adam, _adam_rule, {},
        [{"lr": 0.05, "betas": (0.8, 0.99), "eps": 1e-3}], variants)

