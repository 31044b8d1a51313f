"""Known-bug submissions for lab 2's graded functions, in ``known_bugs``' format: wrong
implementations of the kinds students write, each with the hint its checker must give, and
clean teaching implementations that must pass.

The functions, their notebooks and their signatures (the lab-2 contract, see
``labkit/check/__init__.py`` and each checker's docstring):

- notebook 06: ``relu(input)``, ``leaky_relu(input, negative_slope=0.01)``, ``tanh(input)``,
  ``elu(input, alpha=1.0)``, ``mse_loss(input, target, reduction="mean")``,
  ``mlp(X, params, activation)``, ``mlp_loss_and_grads(X, y, params)``;
- notebook 07: ``sgd_momentum(params, states, lr, momentum=0.9)``,
  ``rmsprop(params, states, lr=0.01, alpha=0.99, eps=1e-8)``,
  ``adam(params, states, lr=0.001, betas=(0.9, 0.999), eps=1e-8)``;
- notebook 08: ``dropout(input, p, training=True)``, ``kfold_indices(n, k, seed=0)``.

Sources rely only on ``torch`` and ``labkit as lk`` (and, in notebook 06, the notebook's own
``relu``), like the lab-1 ones.
"""

from __future__ import annotations

import torch
from known_bugs import Bug, _src, define

import labkit as lk

B06, B07, B08 = ("06",), ("07",), ("08",)

# ================================================================== clean implementations

CLEAN_RELU = [_src('''
    def relu(input):
        """max(x, 0), elementwise."""
        return torch.clamp(input, min=0)
'''), _src('''
    def relu(input):
        """x where x > 0, else 0."""
        return torch.where(input > 0, input, torch.zeros_like(input))
''')]

CLEAN_LEAKY_RELU = [_src('''
    def leaky_relu(input, negative_slope=0.01):
        """x for x > 0, negative_slope * x otherwise."""
        return torch.where(input > 0, input, negative_slope * input)
''')]

CLEAN_TANH = [_src('''
    def tanh(input):
        """(exp(x) - exp(-x)) / (exp(x) + exp(-x)), with every exp seeing only numbers <= 0."""
        positive = input >= 0
        zero = torch.zeros_like(input)
        e_pos = torch.exp(-2 * torch.where(positive, input, zero))   # exp(-2x) for x >= 0
        e_neg = torch.exp(2 * torch.where(positive, zero, input))    # exp(2x) for x < 0
        return torch.where(positive, (1 - e_pos) / (1 + e_pos), (e_neg - 1) / (e_neg + 1))
'''), _src('''
    def tanh(input):
        """tanh(x) = 2 sigmoid(2x) - 1, with a stable sigmoid."""
        z = 2 * input
        e = torch.exp(torch.where(z >= 0, -z, z))             # in (0, 1]
        s = torch.where(z >= 0, 1 / (1 + e), e / (1 + e))
        return 2 * s - 1
''')]

CLEAN_ELU = [_src('''
    def elu(input, alpha=1.0):
        """x for x > 0, alpha * (exp(x) - 1) otherwise; exp never sees a positive number."""
        negative_part = alpha * (torch.exp(torch.clamp(input, max=0)) - 1)
        return torch.where(input > 0, input, negative_part)
''')]

CLEAN_MSE = [_src('''
    def mse_loss(input, target, reduction="mean"):
        """(input - target)^2, averaged, summed or per element."""
        loss = (input - target) ** 2
        if reduction == "mean":
            return loss.mean()
        if reduction == "sum":
            return loss.sum()
        if reduction == "none":
            return loss
        raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
''')]

CLEAN_MLP = [_src('''
    def mlp(X, params, activation):
        """Logits of a network with len(params) // 2 layers: [W1, b1, ..., WL, bL]."""
        H = X.reshape(-1, params[0].shape[0])                     # (N, D)
        for W, b in zip(params[0:-2:2], params[1:-2:2]):
            H = activation(H @ W + b)                              # (N, hidden)
        return H @ params[-2] + params[-1]                         # (N, C): logits
'''), _src('''
    def mlp(X, params, activation):
        """The same with an index loop."""
        H = X.reshape(X.shape[0], -1)
        num_layers = len(params) // 2
        for i in range(num_layers):
            H = H @ params[2 * i] + params[2 * i + 1]
            if i < num_layers - 1:
                H = activation(H)
        return H
''')]

CLEAN_MLP_LOSS_AND_GRADS = [_src('''
    def mlp_loss_and_grads(X, y, params):
        """Forward and backward by hand: ReLU hidden layers, softmax cross-entropy (mean)."""
        H = X.reshape(-1, params[0].shape[0])
        inputs, pre = [H], []                 # each layer's input and pre-activation
        num_layers = len(params) // 2
        for i in range(num_layers):
            Z = H @ params[2 * i] + params[2 * i + 1]
            pre.append(Z)
            if i < num_layers - 1:
                H = relu(Z)
                inputs.append(H)
        N = X.shape[0]
        Z = Z - Z.max(dim=1, keepdim=True).values                 # stable softmax
        P = torch.exp(Z) / torch.exp(Z).sum(dim=1, keepdim=True)
        loss = -torch.log(P[torch.arange(N), y]).mean()
        dZ = P.clone()
        dZ[torch.arange(N), y] -= 1
        dZ = dZ / N                                               # d loss / d logits
        grads = [None] * len(params)
        for i in reversed(range(num_layers)):
            grads[2 * i] = inputs[i].T @ dZ                       # dW
            grads[2 * i + 1] = dZ.sum(dim=0)                      # db
            if i > 0:
                dZ = (dZ @ params[2 * i].T) * (pre[i - 1] > 0)    # back through the ReLU
        return loss, grads
'''), _src('''
    def mlp_loss_and_grads(X, y, params):
        """One or two hidden layers written out (CS231n style)."""
        X = X.reshape(len(X), -1)
        N = len(X)
        if len(params) == 4:
            W1, b1, W2, b2 = params
            Z1 = X @ W1 + b1
            H1 = torch.clamp(Z1, min=0)
            scores = H1 @ W2 + b2
        else:
            W1, b1, W2, b2, W3, b3 = params
            Z1 = X @ W1 + b1
            H1 = torch.clamp(Z1, min=0)
            Z2 = H1 @ W2 + b2
            H2 = torch.clamp(Z2, min=0)
            scores = H2 @ W3 + b3
        shifted = scores - scores.max(dim=1, keepdim=True).values
        log_probs = shifted - torch.log(torch.exp(shifted).sum(dim=1, keepdim=True))
        loss = -log_probs[torch.arange(N), y].mean()
        dscores = torch.exp(log_probs)
        dscores[torch.arange(N), y] -= 1
        dscores /= N
        if len(params) == 4:
            dW2, db2 = H1.T @ dscores, dscores.sum(0)
            dZ1 = (dscores @ W2.T) * (Z1 > 0)
            return loss, [X.T @ dZ1, dZ1.sum(0), dW2, db2]
        dW3, db3 = H2.T @ dscores, dscores.sum(0)
        dZ2 = (dscores @ W3.T) * (Z2 > 0)
        dW2, db2 = H1.T @ dZ2, dZ2.sum(0)
        dZ1 = (dZ2 @ W2.T) * (Z1 > 0)
        return loss, [X.T @ dZ1, dZ1.sum(0), dW2, db2, dW3, db3]
''')]

CLEAN_DROPOUT = [_src('''
    def dropout(input, p, training=True):
        """Inverted dropout: zero each element with probability p, scale the rest."""
        if not 0 <= p < 1:
            raise ValueError(f"p must be a probability in [0, 1), got {p!r}")
        if not training:
            return input
        mask = (torch.rand(input.shape) > p).to(input.dtype)     # 1 with probability 1 - p
        return input * mask / (1 - p)
'''), _src('''
    def dropout(input, p, training=True):
        """d2l's dropout_layer with a training switch."""
        if p < 0 or p >= 1:
            raise ValueError("dropout probability has to be in [0, 1), but got {}".format(p))
        if not training or p == 0:
            return input
        mask = (torch.rand_like(input) > p).float()
        return mask * input / (1.0 - p)
''')]

CLEAN_SGD_MOMENTUM = [_src('''
    def sgd_momentum(params, states, lr, momentum=0.9):
        """v <- momentum * v + g (v = g at the first step); p <- p - lr * v."""
        with torch.no_grad():
            for p, state in zip(params, states):
                if "v" not in state:
                    state["v"] = p.grad.clone()
                else:
                    state["v"] = momentum * state["v"] + p.grad
                p -= lr * state["v"]
'''), _src('''
    def sgd_momentum(params, states, lr, momentum=0.9):
        """d2l's form: the velocity starts at 0, so the first step is v = g as well."""
        for p, state in zip(params, states):
            v = state.setdefault("v", torch.zeros_like(p))
            with torch.no_grad():
                v[:] = momentum * v + p.grad
                p[:] -= lr * v
''')]

CLEAN_RMSPROP = [_src('''
    def rmsprop(params, states, lr=0.01, alpha=0.99, eps=1e-8):
        """v <- alpha v + (1 - alpha) g^2; p <- p - lr g / (sqrt(v) + eps)."""
        with torch.no_grad():
            for p, state in zip(params, states):
                v = state.get("v", torch.zeros_like(p))
                v = alpha * v + (1 - alpha) * p.grad ** 2
                state["v"] = v
                p -= lr * p.grad / (torch.sqrt(v) + eps)
''')]

CLEAN_ADAM = [_src('''
    def adam(params, states, lr=0.001, betas=(0.9, 0.999), eps=1e-8):
        """Adam with bias correction; t counts this parameter's steps from 1."""
        beta1, beta2 = betas
        with torch.no_grad():
            for p, state in zip(params, states):
                if not state:
                    state["t"] = 0
                    state["m"] = torch.zeros_like(p)
                    state["v"] = torch.zeros_like(p)
                state["t"] += 1
                t, g = state["t"], p.grad
                state["m"] = beta1 * state["m"] + (1 - beta1) * g
                state["v"] = beta2 * state["v"] + (1 - beta2) * g * g
                m_hat = state["m"] / (1 - beta1 ** t)
                v_hat = state["v"] / (1 - beta2 ** t)
                p -= lr * m_hat / (torch.sqrt(v_hat) + eps)
''')]

CLEAN_KFOLD = [_src('''
    def kfold_indices(n, k, seed=0):
        """k (train_idx, val_idx) pairs; the parts of one shuffled order, sizes within one."""
        perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
        sizes = [n // k + (1 if i < n % k else 0) for i in range(k)]
        parts = torch.split(perm, sizes)
        return [(torch.cat([part for j, part in enumerate(parts) if j != i]), parts[i])
                for i in range(k)]
'''), _src('''
    def kfold_indices(n, k, seed=0):
        """With torch.tensor_split, which sizes the parts the same way."""
        g = torch.Generator().manual_seed(seed)
        parts = torch.tensor_split(torch.randperm(n, generator=g), k)
        folds = []
        for i in range(k):
            train = torch.cat(parts[:i] + parts[i + 1:])
            folds.append((train, parts[i]))
        return folds
''')]

CLEAN: dict[tuple[str, str], list[str]] = {
    ("relu", "06"): CLEAN_RELU,
    ("leaky_relu", "06"): CLEAN_LEAKY_RELU,
    ("tanh", "06"): CLEAN_TANH,
    ("elu", "06"): CLEAN_ELU,
    ("mse_loss", "06"): CLEAN_MSE,
    ("mlp", "06"): CLEAN_MLP,
    ("mlp_loss_and_grads", "06"): CLEAN_MLP_LOSS_AND_GRADS,
    ("dropout", "08"): CLEAN_DROPOUT,
    ("sgd_momentum", "07"): CLEAN_SGD_MOMENTUM,
    ("rmsprop", "07"): CLEAN_RMSPROP,
    ("adam", "07"): CLEAN_ADAM,
    ("kfold_indices", "08"): CLEAN_KFOLD,
}


def checker_kwargs(function: str, notebook: str) -> dict:
    """The extra arguments of the checker call (none in lab 2)."""
    return {}


def namespace(notebook: str) -> dict:
    """A namespace like the notebook's: torch, lk, and (06) the notebook's own relu."""
    ns: dict = {"torch": torch, "lk": lk}
    if notebook == "06":
        define(CLEAN_RELU[0], ns)
    return ns


# ================================================================== known bugs

BUGS: list[Bug] = [
    # ---------------------------------------------------------- relu
    Bug("relu", B06, "returns-mask", "it returns the mask", _src('''
        def relu(input):
            return (input > 0).to(input.dtype)
        ''')),
    Bug("relu", B06, "keeps-negative-part", "keeps the negative part", _src('''
        def relu(input):
            return torch.clamp(input, max=0)
        ''')),
    Bug("relu", B06, "python-max", "Python's max(), min() and if compare single numbers",
        _src('''
        def relu(input):
            return max(input, 0)
        ''')),
    Bug("relu", B06, "in-place", "changes its argument in place", _src('''
        def relu(input):
            input[input < 0] = 0
            return input
        ''')),
    Bug("relu", B06, "calls-torch", "it calls torch.relu", _src('''
        def relu(input):
            return torch.relu(input)
        ''')),
    # ---------------------------------------------------------- leaky_relu
    Bug("leaky_relu", B06, "slope-ignored", "ignores its negative_slope argument", _src('''
        def leaky_relu(input, negative_slope=0.01):
            return torch.where(input > 0, input, 0.01 * input)
        ''')),
    Bug("leaky_relu", B06, "is-relu", "it returns relu(x)", _src('''
        def leaky_relu(input, negative_slope=0.01):
            return torch.clamp(input, min=0)
        ''')),
    Bug("leaky_relu", B06, "slope-on-positive-side", "applied to the positive side", _src('''
        def leaky_relu(input, negative_slope=0.01):
            return torch.where(input > 0, negative_slope * input, input)
        ''')),
    Bug("leaky_relu", B06, "calls-torch", "it calls torch.nn.functional.leaky_relu", _src('''
        def leaky_relu(input, negative_slope=0.01):
            return torch.nn.functional.leaky_relu(input, negative_slope)
        ''')),
    # ---------------------------------------------------------- tanh
    Bug("tanh", B06, "textbook-overflow", "an exp overflows", _src('''
        def tanh(input):
            return (torch.exp(input) - torch.exp(-input)) / (torch.exp(input) + torch.exp(-input))
        ''')),
    Bug("tanh", B06, "abs-trick-gradient-at-0", "the gradient at x = 0 is 0 where it is 1",
        _src('''
        def tanh(input):
            e = torch.exp(-2 * input.abs())
            return torch.sign(input) * (1 - e) / (1 + e)
        ''')),
    Bug("tanh", B06, "where-both-branches-overflow", "should only see numbers <= 0", _src('''
        def tanh(input):
            pos = (1 - torch.exp(-2 * input)) / (1 + torch.exp(-2 * input))
            neg = (torch.exp(2 * input) - 1) / (torch.exp(2 * input) + 1)
            return torch.where(input >= 0, pos, neg)
        ''')),
    Bug("tanh", B06, "clamp-gradient-at-0", "torch.clamp(x, min=0) at 0 counts as 0", _src('''
        def tanh(input):
            e_pos = torch.exp(-2 * torch.clamp(input, min=0))
            e_neg = torch.exp(2 * torch.clamp(input, max=0))
            return torch.where(input >= 0, (1 - e_pos) / (1 + e_pos), (e_neg - 1) / (e_neg + 1))
        ''')),
    Bug("tanh", B06, "sigmoid-of-x", "which is tanh(x / 2)", _src('''
        def tanh(input):
            e = torch.exp(torch.where(input >= 0, -input, input))
            s = torch.where(input >= 0, 1 / (1 + e), e / (1 + e))
            return 2 * s - 1
        ''')),
    Bug("tanh", B06, "calls-torch", "it calls torch.tanh", _src('''
        def tanh(input):
            return torch.tanh(input)
        ''')),
    # ---------------------------------------------------------- elu
    Bug("elu", B06, "where-overflow-nan-gradient", "torch.where computes BOTH branches",
        _src('''
        def elu(input, alpha=1.0):
            return torch.where(input > 0, input, alpha * (torch.exp(input) - 1))
        ''')),
    Bug("elu", B06, "alpha-ignored", "it ignores its alpha argument", _src('''
        def elu(input, alpha=1.0):
            return torch.where(input > 0, input, torch.exp(torch.clamp(input, max=0)) - 1)
        ''')),
    Bug("elu", B06, "missing-minus-one", "misses the - 1", _src('''
        def elu(input, alpha=1.0):
            return torch.where(input > 0, input, alpha * torch.exp(torch.clamp(input, max=0)))
        ''')),
    Bug("elu", B06, "exp-everywhere", "to positive inputs too", _src('''
        def elu(input, alpha=1.0):
            return alpha * (torch.exp(input) - 1)
        ''')),
    # ---------------------------------------------------------- mse_loss
    Bug("mse_loss", B06, "d2l-half", "it halves the squared error", _src('''
        def mse_loss(input, target, reduction="mean"):
            loss = (input - target) ** 2 / 2
            return {"mean": loss.mean(), "sum": loss.sum(), "none": loss}[reduction]
        ''')),
    Bug("mse_loss", B06, "sum-for-mean", "reduction='mean' returns the sum", _src('''
        def mse_loss(input, target, reduction="mean"):
            loss = (input - target) ** 2
            return loss if reduction == "none" else loss.sum()
        ''')),
    Bug("mse_loss", B06, "reduction-ignored", "reduction='sum' returns the mean", _src('''
        def mse_loss(input, target, reduction="mean"):
            loss = (input - target) ** 2
            return loss if reduction == "none" else loss.mean()
        ''')),
    Bug("mse_loss", B06, "absolute-error", "absolute error (L1)", _src('''
        def mse_loss(input, target, reduction="mean"):
            loss = (input - target).abs()
            return {"mean": loss.mean(), "sum": loss.sum(), "none": loss}[reduction]
        ''')),
    Bug("mse_loss", B06, "unknown-reduction-accepted", "raise ValueError(f\"reduction must be",
        _src('''
        def mse_loss(input, target, reduction="mean"):
            loss = (input - target) ** 2
            if reduction == "mean":
                return loss.mean()
            if reduction == "sum":
                return loss.sum()
            return loss                                     # any other value: no reduction
        ''')),
    Bug("mse_loss", B06, "unknown-reduction-key-error", "raises KeyError (a dictionary lookup)",
        _src('''
        def mse_loss(input, target, reduction="mean"):
            loss = (input - target) ** 2
            return {"mean": loss.mean(), "sum": loss.sum(), "none": loss}[reduction]
        ''')),
    Bug("mse_loss", B06, "calls-torch", "it calls torch.nn.functional.mse_loss", _src('''
        def mse_loss(input, target, reduction="mean"):
            return torch.nn.functional.mse_loss(input, target, reduction=reduction)
        ''')),
    # ---------------------------------------------------------- mlp
    Bug("mlp", B06, "activation-on-output", "applied to the output layer", _src('''
        def mlp(X, params, activation):
            H = X.reshape(-1, params[0].shape[0])
            for W, b in zip(params[0::2], params[1::2]):
                H = activation(H @ W + b)
            return H
        ''')),
    Bug("mlp", B06, "two-layers-only", "loop over the layers", _src('''
        def mlp(X, params, activation):
            W1, b1, W2, b2 = params[0], params[1], params[-2], params[-1]
            H = activation(X.reshape(-1, W1.shape[0]) @ W1 + b1)
            return H @ W2 + b2
        ''')),
    Bug("mlp", B06, "no-flatten", "flatten X", _src('''
        def mlp(X, params, activation):
            H = X
            for W, b in zip(params[0:-2:2], params[1:-2:2]):
                H = activation(H @ W + b)
            return H @ params[-2] + params[-1]
        ''')),
    Bug("mlp", B06, "relu-hard-coded", "it uses relu whatever activation is passed", _src('''
        def mlp(X, params, activation):
            H = X.reshape(-1, params[0].shape[0])
            for W, b in zip(params[0:-2:2], params[1:-2:2]):
                H = relu(H @ W + b)
            return H @ params[-2] + params[-1]
        ''')),
    Bug("mlp", B06, "no-bias", "the biases are missing", _src('''
        def mlp(X, params, activation):
            H = X.reshape(-1, params[0].shape[0])
            for W in params[0:-2:2]:
                H = activation(H @ W)
            return H @ params[-2]
        ''')),
    Bug("mlp", B06, "weights-transposed", "(fan_in, fan_out)", _src('''
        def mlp(X, params, activation):
            H = X.reshape(-1, params[0].shape[0])
            for W, b in zip(params[0:-2:2], params[1:-2:2]):
                H = activation(H @ W.T + b)
            return H @ params[-2].T + params[-1]
        ''')),
    Bug("mlp", B06, "weights-through-data", "no .detach(), .data or copies", _src('''
        def mlp(X, params, activation):
            H = X.reshape(-1, params[0].shape[0])
            for W, b in zip(params[0:-2:2], params[1:-2:2]):
                H = activation(H @ W.data + b)              # W outside autograd's graph
            return H @ params[-2].data + params[-1]
        ''')),
    # ---------------------------------------------------------- mlp_loss_and_grads
    Bug("mlp_loss_and_grads", B06, "not-divided-by-N", "N times too large", _src('''
        def mlp_loss_and_grads(X, y, params):
            W1, b1, W2, b2 = params
            X = X.reshape(len(X), -1)
            Z1 = X @ W1 + b1
            H1 = relu(Z1)
            scores = H1 @ W2 + b2
            P = torch.softmax(scores, dim=1)
            loss = -torch.log(P[torch.arange(len(y)), y]).mean()
            dscores = P.clone()
            dscores[torch.arange(len(y)), y] -= 1          # forgot: / N
            dZ1 = (dscores @ W2.T) * (Z1 > 0)
            return loss, [X.T @ dZ1, dZ1.sum(0), H1.T @ dscores, dscores.sum(0)]
        ''')),
    Bug("mlp_loss_and_grads", B06, "no-relu-mask", "does not stop at inactive ReLU units",
        _src('''
        def mlp_loss_and_grads(X, y, params):
            H = X.reshape(-1, params[0].shape[0])
            inputs = [H]
            L = len(params) // 2
            for i in range(L):
                Z = H @ params[2 * i] + params[2 * i + 1]
                if i < L - 1:
                    H = relu(Z)
                    inputs.append(H)
            N = len(y)
            P = torch.softmax(Z, dim=1)
            loss = -torch.log(P[torch.arange(N), y]).mean()
            dZ = P.clone()
            dZ[torch.arange(N), y] -= 1
            dZ /= N
            grads = [None] * len(params)
            for i in reversed(range(L)):
                grads[2 * i], grads[2 * i + 1] = inputs[i].T @ dZ, dZ.sum(0)
                dZ = dZ @ params[2 * i].T                   # the ReLU's mask is missing
            return loss, grads
        ''')),
    Bug("mlp_loss_and_grads", B06, "one-hot-not-subtracted", "one-hot of the true class is not "
        "subtracted", _src('''
        def mlp_loss_and_grads(X, y, params):
            H = X.reshape(-1, params[0].shape[0])
            inputs, pre = [H], []
            L = len(params) // 2
            for i in range(L):
                Z = H @ params[2 * i] + params[2 * i + 1]
                pre.append(Z)
                if i < L - 1:
                    H = relu(Z)
                    inputs.append(H)
            N = len(y)
            P = torch.softmax(Z, dim=1)
            loss = -torch.log(P[torch.arange(N), y]).mean()
            dZ = P / N
            grads = [None] * len(params)
            for i in reversed(range(L)):
                grads[2 * i], grads[2 * i + 1] = inputs[i].T @ dZ, dZ.sum(0)
                if i > 0:
                    dZ = (dZ @ params[2 * i].T) * (pre[i - 1] > 0)
            return loss, grads
        ''')),
    Bug("mlp_loss_and_grads", B06, "bias-gradient-not-summed", "db = dZ.sum(dim=0)", _src('''
        def mlp_loss_and_grads(X, y, params):
            W1, b1, W2, b2 = params[:4]
            X = X.reshape(len(X), -1)
            Z1 = X @ W1 + b1
            H1 = relu(Z1)
            P = torch.softmax(H1 @ W2 + b2, dim=1)
            N = len(y)
            loss = -torch.log(P[torch.arange(N), y]).mean()
            dscores = P.clone()
            dscores[torch.arange(N), y] -= 1
            dscores /= N
            dZ1 = (dscores @ W2.T) * (Z1 > 0)
            return loss, [X.T @ dZ1, dZ1, H1.T @ dscores, dscores]
        ''')),
    Bug("mlp_loss_and_grads", B06, "uses-autograd", "without backward()", _src('''
        def mlp_loss_and_grads(X, y, params):
            params = [p.detach().clone().requires_grad_() for p in params]
            H = X.reshape(len(X), -1)
            for i in range(0, len(params) - 2, 2):
                H = relu(H @ params[i] + params[i + 1])
            loss = torch.nn.functional.cross_entropy(H @ params[-2] + params[-1], y)
            loss.backward()
            return loss.detach(), [p.grad for p in params]
        ''')),
    Bug("mlp_loss_and_grads", B06, "loss-summed", "the loss is summed over the batch", _src('''
        def mlp_loss_and_grads(X, y, params):
            W1, b1, W2, b2 = params[:4]
            X = X.reshape(len(X), -1)
            Z1 = X @ W1 + b1
            H1 = relu(Z1)
            P = torch.softmax(H1 @ W2 + b2, dim=1)
            N = len(y)
            loss = -torch.log(P[torch.arange(N), y]).sum()
            dscores = P.clone()
            dscores[torch.arange(N), y] -= 1
            dscores /= N
            dZ1 = (dscores @ W2.T) * (Z1 > 0)
            return loss, [X.T @ dZ1, dZ1.sum(0), H1.T @ dscores, dscores.sum(0)]
        ''')),
    Bug("mlp_loss_and_grads", B06, "one-hidden-layer-only", "with 2 hidden layer(s)", _src('''
        def mlp_loss_and_grads(X, y, params):
            W1, b1, W2, b2 = params
            X = X.reshape(len(X), -1)
            Z1 = X @ W1 + b1
            H1 = relu(Z1)
            P = torch.softmax(H1 @ W2 + b2, dim=1)
            N = len(y)
            loss = -torch.log(P[torch.arange(N), y]).mean()
            dscores = P.clone()
            dscores[torch.arange(N), y] -= 1
            dscores /= N
            dZ1 = (dscores @ W2.T) * (Z1 > 0)
            return loss, [X.T @ dZ1, dZ1.sum(0), H1.T @ dscores, dscores.sum(0)]
        ''')),
    Bug("mlp_loss_and_grads", B06, "unstable-softmax", "subtract each row's maximum before exp",
        _src('''
        def mlp_loss_and_grads(X, y, params):
            H = X.reshape(-1, params[0].shape[0])
            inputs, pre = [H], []
            L = len(params) // 2
            for i in range(L):
                Z = H @ params[2 * i] + params[2 * i + 1]
                pre.append(Z)
                if i < L - 1:
                    H = relu(Z)
                    inputs.append(H)
            N = len(y)
            E = torch.exp(Z)                                # not shifted: overflows
            P = E / E.sum(dim=1, keepdim=True)
            loss = -torch.log(P[torch.arange(N), y]).mean()
            dZ = P.clone()
            dZ[torch.arange(N), y] -= 1
            dZ = dZ / N
            grads = [None] * len(params)
            for i in reversed(range(L)):
                grads[2 * i], grads[2 * i + 1] = inputs[i].T @ dZ, dZ.sum(0)
                if i > 0:
                    dZ = (dZ @ params[2 * i].T) * (pre[i - 1] > 0)
            return loss, grads
        ''')),
    Bug("mlp_loss_and_grads", B06, "bias-gradient-averaged",
        "d loss / d b is N times too small", _src('''
        def mlp_loss_and_grads(X, y, params):
            H = X.reshape(-1, params[0].shape[0])
            inputs, pre = [H], []
            L = len(params) // 2
            for i in range(L):
                Z = H @ params[2 * i] + params[2 * i + 1]
                pre.append(Z)
                if i < L - 1:
                    H = relu(Z)
                    inputs.append(H)
            N = len(y)
            Z = Z - Z.max(dim=1, keepdim=True).values
            P = torch.exp(Z) / torch.exp(Z).sum(dim=1, keepdim=True)
            loss = -torch.log(P[torch.arange(N), y]).mean()
            dZ = P.clone()
            dZ[torch.arange(N), y] -= 1
            dZ = dZ / N
            grads = [None] * len(params)
            for i in reversed(range(L)):
                grads[2 * i], grads[2 * i + 1] = inputs[i].T @ dZ, dZ.mean(0)   # mean, not sum
                if i > 0:
                    dZ = (dZ @ params[2 * i].T) * (pre[i - 1] > 0)
            return loss, grads
        ''')),
    Bug("mlp_loss_and_grads", B06, "returns-grads-then-loss",
        "the first entry is a list of 4 tensors", _src('''
        def mlp_loss_and_grads(X, y, params):
            W1, b1, W2, b2 = params[:4]
            X = X.reshape(len(X), -1)
            Z1 = X @ W1 + b1
            H1 = relu(Z1)
            scores = H1 @ W2 + b2
            shifted = scores - scores.max(dim=1, keepdim=True).values
            P = torch.exp(shifted) / torch.exp(shifted).sum(dim=1, keepdim=True)
            N = len(y)
            loss = -torch.log(P[torch.arange(N), y]).mean()
            dscores = P.clone()
            dscores[torch.arange(N), y] -= 1
            dscores /= N
            dZ1 = (dscores @ W2.T) * (Z1 > 0)
            grads = [X.T @ dZ1, dZ1.sum(0), H1.T @ dscores, dscores.sum(0)]
            return grads, loss                              # the order swapped
        ''')),
    # ---------------------------------------------------------- dropout
    Bug("dropout", B08, "no-scaling", "the survivors are not scaled", _src('''
        def dropout(input, p, training=True):
            if not training:
                return input
            return input * (torch.rand(input.shape) > p).to(input.dtype)
        ''')),
    Bug("dropout", B08, "active-in-eval-mode", "it still drops elements with training=False",
        _src('''
        def dropout(input, p, training=True):
            mask = (torch.rand(input.shape) > p).to(input.dtype)
            return input * mask / (1 - p)
        ''')),
    Bug("dropout", B08, "p-is-keep-probability", "p is used as the probability of KEEPING",
        _src('''
        def dropout(input, p, training=True):
            if not training:
                return input
            mask = (torch.rand(input.shape) < p).to(input.dtype)
            return input * mask / p
        ''')),
    Bug("dropout", B08, "divided-by-p", "the survivors are divided by p", _src('''
        def dropout(input, p, training=True):
            if not training:
                return input
            mask = (torch.rand(input.shape) > p).to(input.dtype)
            return input * mask / p
        ''')),
    Bug("dropout", B08, "old-style-scaling", "multiplied by 1 - p instead of divided", _src('''
        def dropout(input, p, training=True):
            if not training:
                return input
            mask = (torch.rand(input.shape) > p).to(input.dtype)
            return input * mask * (1 - p)
        ''')),
    Bug("dropout", B08, "same-mask-every-call", "two calls drop the same elements", _src('''
        def dropout(input, p, training=True):
            if not training:
                return input
            torch.manual_seed(0)
            mask = (torch.rand(input.shape) > p).to(input.dtype)
            return input * mask / (1 - p)
        ''')),
    Bug("dropout", B08, "in-place", "changes its argument in place", _src('''
        def dropout(input, p, training=True):
            if not training:
                return input
            with torch.no_grad():
                input[torch.rand(input.shape) <= p] = 0
            return input / (1 - p)
        ''')),
    Bug("dropout", B08, "in-place-mul", "changes its argument in place", _src('''
        def dropout(input, p, training=True):
            if not 0 <= p < 1:
                raise ValueError(f"p must be in [0, 1), got {p}")
            if not training:
                return input
            mask = (torch.rand(input.shape) > p).to(input.dtype)
            input.mul_(mask).div_(1 - p)                    # the caller's tensor changed
            return input
        ''')),
    Bug("dropout", B08, "p-not-checked", "raise ValueError(f\"p must be a probability",
        _src('''
        def dropout(input, p, training=True):
            if not training:
                return input
            mask = (torch.rand(input.shape) > p).to(input.dtype)
            return input * mask / (1 - p)
        ''')),
    Bug("dropout", B08, "only-p-one-rejected", "p = 1.5 is not a probability", _src('''
        def dropout(input, p, training=True):
            if p == 1:
                raise ValueError("p = 1 would drop everything")
            if not training:
                return input
            mask = (torch.rand(input.shape) > p).to(input.dtype)
            return input * mask / (1 - p)
        ''')),
    Bug("dropout", B08, "p-error-without-value", "does not name the value it got", _src('''
        def dropout(input, p, training=True):
            if not 0 <= p < 1:
                raise ValueError("p must be in [0, 1)")
            if not training:
                return input
            mask = (torch.rand(input.shape) > p).to(input.dtype)
            return input * mask / (1 - p)
        ''')),
    Bug("dropout", B08, "calls-torch", "it calls torch.nn.functional.dropout", _src('''
        def dropout(input, p, training=True):
            return torch.nn.functional.dropout(input, p, training)
        ''')),
    # ---------------------------------------------------------- sgd_momentum
    Bug("sgd_momentum", B07, "dampening", "(dampening)", _src('''
        def sgd_momentum(params, states, lr, momentum=0.9):
            with torch.no_grad():
                for p, state in zip(params, states):
                    v = state.get("v")
                    v = p.grad.clone() if v is None else momentum * v + (1 - momentum) * p.grad
                    state["v"] = v
                    p -= lr * v
        ''')),
    Bug("sgd_momentum", B07, "velocity-not-kept", "not kept between calls", _src('''
        def sgd_momentum(params, states, lr, momentum=0.9):
            with torch.no_grad():
                for p in params:
                    v = torch.zeros_like(p)
                    v = momentum * v + p.grad
                    p -= lr * v
        ''')),
    Bug("sgd_momentum", B07, "velocity-in-a-function-attribute", "live outside states", _src('''
        def sgd_momentum(params, states, lr, momentum=0.9):
            if not hasattr(sgd_momentum, "velocities"):
                sgd_momentum.velocities = [torch.zeros_like(p) for p in params]
            with torch.no_grad():
                for p, v in zip(params, sgd_momentum.velocities):
                    v.mul_(momentum).add_(p.grad)
                    p -= lr * v
        ''')),
    Bug("sgd_momentum", B07, "zeros-and-dampening", "starts at zeros AND the gradient enters",
        _src('''
        def sgd_momentum(params, states, lr, momentum=0.9):
            with torch.no_grad():
                for p, state in zip(params, states):
                    v = state.get("v", torch.zeros_like(p))
                    v = momentum * v + (1 - momentum) * p.grad
                    state["v"] = v
                    p -= lr * v
        ''')),
    Bug("sgd_momentum", B07, "velocity-in-a-module-dict", "live outside states", _src('''
        VELOCITY = {}                                       # shared by every caller

        def sgd_momentum(params, states, lr, momentum=0.9):
            with torch.no_grad():
                for i, p in enumerate(params):
                    if i not in VELOCITY:
                        VELOCITY[i] = p.grad.clone()
                    else:
                        VELOCITY[i] = momentum * VELOCITY[i] + p.grad
                    p -= lr * VELOCITY[i]
        ''')),
    Bug("sgd_momentum", B07, "rebinds-p", "the parameters did not change", _src('''
        def sgd_momentum(params, states, lr, momentum=0.9):
            for p, state in zip(params, states):
                v = state.get("v")
                v = p.grad.clone() if v is None else momentum * v + p.grad
                state["v"] = v
                p = p - lr * v
        ''')),
    Bug("sgd_momentum", B07, "calls-torch", "it calls torch.optim.SGD", _src('''
        def sgd_momentum(params, states, lr, momentum=0.9):
            if "opt" not in states[0]:
                states[0]["opt"] = torch.optim.SGD(params, lr=lr, momentum=momentum)
            states[0]["opt"].step()
        ''')),
    # ---------------------------------------------------------- rmsprop
    Bug("rmsprop", B07, "eps-inside-sqrt", "eps is inside the square root", _src('''
        def rmsprop(params, states, lr=0.01, alpha=0.99, eps=1e-8):
            with torch.no_grad():
                for p, state in zip(params, states):
                    v = alpha * state.get("v", torch.zeros_like(p)) + (1 - alpha) * p.grad ** 2
                    state["v"] = v
                    p -= lr * p.grad / torch.sqrt(v + eps)
        ''')),
    Bug("rmsprop", B07, "no-square-root", "not by its square root", _src('''
        def rmsprop(params, states, lr=0.01, alpha=0.99, eps=1e-8):
            with torch.no_grad():
                for p, state in zip(params, states):
                    v = alpha * state.get("v", torch.zeros_like(p)) + (1 - alpha) * p.grad ** 2
                    state["v"] = v
                    p -= lr * p.grad / (v + eps)
        ''')),
    Bug("rmsprop", B07, "alpha-swapped", "weights the new g^2 by alpha", _src('''
        def rmsprop(params, states, lr=0.01, alpha=0.99, eps=1e-8):
            with torch.no_grad():
                for p, state in zip(params, states):
                    v = (1 - alpha) * state.get("v", torch.zeros_like(p)) + alpha * p.grad ** 2
                    state["v"] = v
                    p -= lr * p.grad / (torch.sqrt(v) + eps)
        ''')),
    Bug("rmsprop", B07, "no-no-grad", "wrap it in `with torch.no_grad():`", _src('''
        def rmsprop(params, states, lr=0.01, alpha=0.99, eps=1e-8):
            for p, state in zip(params, states):
                v = alpha * state.get("v", torch.zeros_like(p)) + (1 - alpha) * p.grad ** 2
                state["v"] = v
                p -= lr * p.grad / (torch.sqrt(v) + eps)
        ''')),
    # ---------------------------------------------------------- adam
    Bug("adam", B07, "no-bias-correction", "no bias correction", _src('''
        def adam(params, states, lr=0.001, betas=(0.9, 0.999), eps=1e-8):
            beta1, beta2 = betas
            with torch.no_grad():
                for p, state in zip(params, states):
                    m = beta1 * state.get("m", torch.zeros_like(p)) + (1 - beta1) * p.grad
                    v = beta2 * state.get("v", torch.zeros_like(p)) + (1 - beta2) * p.grad ** 2
                    state["m"], state["v"] = m, v
                    p -= lr * m / (torch.sqrt(v) + eps)
        ''')),
    Bug("adam", B07, "t-starts-at-0", "the step count starts at 0", _src('''
        def adam(params, states, lr=0.001, betas=(0.9, 0.999), eps=1e-8):
            beta1, beta2 = betas
            with torch.no_grad():
                for p, state in zip(params, states):
                    t = state.get("t", 0)
                    m = beta1 * state.get("m", torch.zeros_like(p)) + (1 - beta1) * p.grad
                    v = beta2 * state.get("v", torch.zeros_like(p)) + (1 - beta2) * p.grad ** 2
                    state["m"], state["v"], state["t"] = m, v, t + 1
                    m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
                    p -= lr * m_hat / (torch.sqrt(v_hat) + eps)
        ''')),
    Bug("adam", B07, "t-per-parameter", "once per parameter instead of once per step", _src('''
        def adam(params, states, lr=0.001, betas=(0.9, 0.999), eps=1e-8):
            beta1, beta2 = betas
            with torch.no_grad():
                for p, state in zip(params, states):
                    states[0]["t"] = states[0].get("t", 0) + 1     # one counter for all
                    t = states[0]["t"]
                    m = beta1 * state.get("m", torch.zeros_like(p)) + (1 - beta1) * p.grad
                    v = beta2 * state.get("v", torch.zeros_like(p)) + (1 - beta2) * p.grad ** 2
                    state["m"], state["v"] = m, v
                    m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
                    p -= lr * m_hat / (torch.sqrt(v_hat) + eps)
        ''')),
    Bug("adam", B07, "eps-inside-sqrt", "eps is inside the square root", _src('''
        def adam(params, states, lr=0.001, betas=(0.9, 0.999), eps=1e-8):
            beta1, beta2 = betas
            with torch.no_grad():
                for p, state in zip(params, states):
                    t = state["t"] = state.get("t", 0) + 1
                    m = beta1 * state.get("m", torch.zeros_like(p)) + (1 - beta1) * p.grad
                    v = beta2 * state.get("v", torch.zeros_like(p)) + (1 - beta2) * p.grad ** 2
                    state["m"], state["v"] = m, v
                    m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
                    p -= lr * m_hat / torch.sqrt(v_hat + eps)
        ''')),
    Bug("adam", B07, "betas-swapped", "beta1 and beta2 are swapped", _src('''
        def adam(params, states, lr=0.001, betas=(0.9, 0.999), eps=1e-8):
            beta2, beta1 = betas
            with torch.no_grad():
                for p, state in zip(params, states):
                    t = state["t"] = state.get("t", 0) + 1
                    m = beta1 * state.get("m", torch.zeros_like(p)) + (1 - beta1) * p.grad
                    v = beta2 * state.get("v", torch.zeros_like(p)) + (1 - beta2) * p.grad ** 2
                    state["m"], state["v"] = m, v
                    m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
                    p -= lr * m_hat / (torch.sqrt(v_hat) + eps)
        ''')),
    Bug("adam", B07, "calls-labkit", "it calls labkit.Adam", _src('''
        def adam(params, states, lr=0.001, betas=(0.9, 0.999), eps=1e-8):
            if "opt" not in states[0]:
                states[0]["opt"] = lk.Adam(params, lr=lr, betas=betas, eps=eps)
            states[0]["opt"].step()
        ''')),
    # ---------------------------------------------------------- kfold_indices
    Bug("kfold_indices", B08, "drops-the-remainder", "the remainder n % k", _src('''
        def kfold_indices(n, k, seed=0):
            perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
            size = n // k
            return [(torch.cat([perm[:i * size], perm[(i + 1) * size:]]),
                     perm[i * size:(i + 1) * size]) for i in range(k)]
        ''')),
    Bug("kfold_indices", B08, "overlapping-folds", "the validation parts overlap", _src('''
        def kfold_indices(n, k, seed=0):
            perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
            size = -(-n // k)                                # ceil(n / k)
            folds = []
            for i in range(k):
                start = min(i * size, n - size)              # the last folds slide back
                val = perm[start:start + size]
                folds.append((torch.cat([perm[:start], perm[start + size:]]), val))
            return folds
        ''')),
    Bug("kfold_indices", B08, "trains-on-everything", "trains on", _src('''
        def kfold_indices(n, k, seed=0):
            perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
            parts = torch.tensor_split(perm, k)
            return [(perm, parts[i]) for i in range(k)]
        ''')),
    Bug("kfold_indices", B08, "not-shuffled", "not shuffled", _src('''
        def kfold_indices(n, k, seed=0):
            parts = torch.tensor_split(torch.arange(n), k)
            return [(torch.cat(parts[:i] + parts[i + 1:]), parts[i]) for i in range(k)]
        ''')),
    Bug("kfold_indices", B08, "seed-ignored", "the seed is not used", _src('''
        def kfold_indices(n, k, seed=0):
            parts = torch.tensor_split(torch.randperm(n), k)
            return [(torch.cat(parts[:i] + parts[i + 1:]), parts[i]) for i in range(k)]
        ''')),
    Bug("kfold_indices", B08, "global-seed", "changes torch's global random numbers", _src('''
        def kfold_indices(n, k, seed=0):
            torch.manual_seed(seed)
            parts = torch.tensor_split(torch.randperm(n), k)
            return [(torch.cat(parts[:i] + parts[i + 1:]), parts[i]) for i in range(k)]
        ''')),
    Bug("kfold_indices", B08, "remainder-in-last-fold", "the validation parts have sizes",
        _src('''
        def kfold_indices(n, k, seed=0):
            perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
            size = n // k
            folds = []
            for i in range(k):
                end = n if i == k - 1 else (i + 1) * size      # the last part takes the rest
                folds.append((torch.cat([perm[:i * size], perm[end:]]), perm[i * size:end]))
            return folds
        ''')),
    Bug("kfold_indices", B08, "one-fold-short", "folds for k", _src('''
        def kfold_indices(n, k, seed=0):
            perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
            parts = torch.tensor_split(perm, k)
            return [(torch.cat(parts[:i] + parts[i + 1:]), parts[i]) for i in range(k - 1)]
        ''')),
]


# A wrong value leads to more failed checks than its cause: these must not be reported for
# the bugs named (by id), where they would send the student after a consequence, and
# FIRST_HINT: the hint the verdict's first failed check must give.
MISLEADING: dict[str, list[str]] = {
    "mlp-activation-on-output": ["no .detach(), .data or copies"],
    "mlp-relu-hard-coded": ["no .detach(), .data or copies"],
    "dropout-in-place-mul": ["the survivors are not scaled", "two calls drop the same",
                             "a leaf Variable", "2. "],
    "dropout-in-place": ["the survivors are not scaled", "two calls drop the same",
                         "a leaf Variable"],
    "sgd_momentum-velocity-in-a-module-dict": ["follow torch.optim's"],
    "sgd_momentum-velocity-in-a-function-attribute": ["follow torch.optim's"],
    "sgd_momentum-zeros-and-dampening": ["follow torch.optim's"],
}
FIRST_HINT: dict[str, str] = {
    "sgd_momentum-velocity-in-a-module-dict": "live outside states",
    "sgd_momentum-velocity-in-a-function-attribute": "live outside states",
    "mlp_loss_and_grads-bias-gradient-averaged": "sum dZ over the batch (dim 0), the 1/N is "
                                                 "already in dZ",
    "dropout-in-place-mul": "changes its argument in place",
    "dropout-in-place": "changes its argument in place",
}


def bugs_for(notebook: str) -> list[Bug]:
    """The known bugs of the functions graded in ``notebook``."""
    return [b for b in BUGS if notebook in b.notebooks]
