"""The plain-assert test cells of lab 1 (notebooks 01, 03, 05) and lab 2 (notebook 08) turn the
mistakes students made in trial runs into failed tests that say what to fix, never a bare
PyTorch or Python error.

For each notebook one kernel runs the instructor edition's cells in order; at each solution
cell with a known mistake it first runs the mistaken code and the test cell after it (whose
error must carry the hint), then the instructor's code and the test cell again (which must
pass), and goes on. One kernel per notebook keeps this to seconds.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"

# lab/notebook -> {solution grade_id: [(mistaken source, text the test cell's error must contain)]}
MISTAKES = {
    "lab1/01_tensor_basics": {
        "01-subtract": [(
            # the name after `as` is deleted when the except block ends
            "M_inplace = M.clone()\nD_operator = M - N\nD_function = torch.sub(M, N)\ntry:\n"
            "    M_inplace.sub_(N)\n    inplace_error = None\n"
            "except RuntimeError as inplace_error:\n    pass\n",
            "Write `except RuntimeError as error:` and, inside the block, `inplace_error = error`",
        )],
        "01-random-product": [(
            "generator = torch.Generator().manual_seed(0)\n"
            "P = torch.normal(0.0, 0.01, size=(3, 2), generator=generator)\n",
            "not defined: Q, Q_T, PQ_T",
        ), (
            # the variance where torch.normal takes the standard deviation
            "generator = torch.Generator().manual_seed(0)\n"
            "P = torch.normal(0, 0.01**2, size=(3, 2), generator=generator)\n"
            "Q = torch.normal(0, 0.01**2, size=(4, 2), generator=generator)\nQ_T = Q.T\n"
            "PQ_T = P @ Q_T\n",
            "the standard deviation, 0.01, not the variance 0.01**2",
        ), (
            # P from the global generator
            "generator = torch.Generator().manual_seed(0)\n"
            "P = torch.normal(0.0, 0.01, size=(3, 2))\n"
            "Q = torch.normal(0.0, 0.01, size=(4, 2), generator=generator)\nQ_T = Q.T\n"
            "PQ_T = P @ Q_T\n",
            "draw P, then Q, both from `generator`",
        )],
    },
    "lab1/03_logistic_regression_nn": {
        "03-model": [(
            "class LogisticRegressionNN(nn.Module):\n    def __init__(self, num_inputs):\n"
            "        super().__init__()\n        self.linear = nn.Linear(num_inputs, 1)\n"
            "        nn.init.normal_(self.linear.weight, std=0.01)\n"
            "        nn.init.zeros_(self.linear.bias)\n\n    def forward(self, X):\n"
            "        self.linear(X).squeeze(1)\n",
            "forward should return the logits, a tensor, got NoneType (a missing return?)",
        )],
        "03-loss-optimizer": [(
            "def make_loss_and_optimizer(net, lr):\n    loss = nn.BCEWithLogitsLoss()\n"
            "    optimizer = torch.optim.SGD(net.parameters(), lr=lr)\n",
            "should return the pair (loss, optimizer), got None (a missing return?)",
        ), (
            "def make_loss_and_optimizer(net, lr):\n"
            "    return [nn.BCEWithLogitsLoss(), torch.optim.SGD(net.parameters(), lr=lr)]\n",
            "return a tuple, `return loss, optimizer`, not a list",
        )],
        "03-train-epoch": [(
            # notebook 05's accuracy, argmax over the classes, on (B,) logits
            "def train_epoch_nn(net, train_loader, loss, optimizer):\n"
            "    total_loss, total_correct, num_examples = 0.0, 0, 0\n"
            "    for X, y in train_loader:\n        y_hat = net(X)\n        l = loss(y_hat, y)\n"
            "        optimizer.zero_grad()\n        l.backward()\n        optimizer.step()\n"
            "        total_loss += l.item() * len(y)\n"
            "        total_correct += int((y_hat.argmax(dim=1) == y).sum())\n"
            "        num_examples += len(y)\n"
            "    return total_loss / num_examples, total_correct / num_examples\n",
            "fix: the logits are (B,), one per example: predict class 1 where y_hat > 0",
        ), (
            # integer division for the accuracy
            "def train_epoch_nn(net, train_loader, loss, optimizer):\n"
            "    total_loss, total_correct, num_examples = 0.0, 0, 0\n"
            "    for X, y in train_loader:\n"
            "        y_hat = net(X)\n        l = loss(y_hat, y)\n"
            "        optimizer.zero_grad()\n        l.backward()\n        optimizer.step()\n"
            "        total_loss += l.item() * len(y)\n"
            "        total_correct += int(((y_hat > 0).float() == y).sum())\n"
            "        num_examples += len(y)\n"
            "    return total_loss / num_examples, total_correct // num_examples\n",
            "`total_correct // num_examples` is integer division",
        ), (
            # sigmoid before nn.BCEWithLogitsLoss
            "def train_epoch_nn(net, train_loader, loss, optimizer):\n"
            "    total_loss, total_correct, num_examples = 0.0, 0, 0\n"
            "    for X, y in train_loader:\n"
            "        y_hat = net(X)\n        l = loss(torch.sigmoid(y_hat), y)\n"
            "        optimizer.zero_grad()\n        l.backward()\n        optimizer.step()\n"
            "        total_loss += l.item() * len(y)\n"
            "        total_correct += int(((y_hat > 0).float() == y).sum())\n"
            "        num_examples += len(y)\n"
            "    return total_loss / num_examples, total_correct / num_examples\n",
            "pass it the logits, loss(net(X), y)",
        ), (
            # the notebook's test_loader instead of the train_loader argument
            "def train_epoch_nn(net, train_loader, loss, optimizer):\n"
            "    total_loss, total_correct, num_examples = 0.0, 0, 0\n"
            "    for X, y in test_loader:\n"
            "        y_hat = net(X)\n        l = loss(y_hat, y)\n"
            "        optimizer.zero_grad()\n        l.backward()\n        optimizer.step()\n"
            "        total_loss += l.item() * len(y)\n"
            "        total_correct += int(((y_hat > 0).float() == y).sum())\n"
            "        num_examples += len(y)\n"
            "    return total_loss / num_examples, total_correct / num_examples\n",
            "loop over that argument, `for X, y in train_loader:`",
        ), (
            # zero_grad between backward and step
            "def train_epoch_nn(net, train_loader, loss, optimizer):\n"
            "    total_loss, total_correct, num_examples = 0.0, 0, 0\n"
            "    for X, y in train_loader:\n"
            "        y_hat = net(X)\n        l = loss(y_hat, y)\n"
            "        l.backward()\n        optimizer.zero_grad()\n        optimizer.step()\n"
            "        total_loss += l.item() * len(y)\n"
            "        total_correct += int(((y_hat > 0).float() == y).sum())\n"
            "        num_examples += len(y)\n"
            "    return total_loss / num_examples, total_correct / num_examples\n",
            "optimizer.zero_grad(), l.backward(), optimizer.step(), in that order",
        ), (
            # the whole loop under torch.no_grad()
            "def train_epoch_nn(net, train_loader, loss, optimizer):\n"
            "    total_loss, total_correct, num_examples = 0.0, 0, 0\n"
            "    with torch.no_grad():\n        for X, y in train_loader:\n"
            "            y_hat = net(X)\n            l = loss(y_hat, y)\n"
            "            optimizer.zero_grad()\n            l.backward()\n"
            "            optimizer.step()\n"
            "    return 0.0, 0.0\n",
            "the training loop must not run under torch.no_grad()",
        )],
    },
    "lab1/04_softmax_regression_scratch": {
        "04-softmax-regression": [(
            # W used as if it were nn.Linear's (C, D) weight
            "def softmax_regression(X, W, b):\n    return X.reshape(-1, W.shape[0]) @ W.T + b\n",
            "W already has shape (D, C), inputs by outputs (not nn.Linear's (C, D))",
        ), (
            # the sizes of the images written into reshape
            "def softmax_regression(X, W, b):\n    return X.reshape(X.shape[0], 784) @ W + b\n",
            "reshape X with W.shape[0], not a fixed 784",
        )],
    },
    "lab1/05_softmax_regression_nn": {
        "05-model": [(
            # no nn.Flatten: PyTorch's "mat1 and mat2 shapes cannot be multiplied" on images
            "def softmax_regression_nn(num_inputs=784, num_outputs=10):\n"
            "    net = nn.Sequential(nn.Linear(num_inputs, num_outputs))\n"
            "    nn.init.normal_(net[0].weight, std=0.01)\n    nn.init.zeros_(net[0].bias)\n"
            "    return net\n",
            "the model fails on a batch of shape (5, 1, 28, 28)",
        )],
        "05-train-epoch": [(
            # notebook 04's accuracy, which this notebook does not define
            "def train_epoch_nn(net, train_iter, loss, optimizer):\n    net.train()\n"
            "    metric = lk.Accumulator(3)\n    for X, y in train_iter:\n        y_hat = net(X)\n"
            "        l = loss(y_hat, y)\n        optimizer.zero_grad()\n        l.backward()\n"
            "        optimizer.step()\n"
            "        metric.add(l.item() * len(y), accuracy(y_hat, y), len(y))\n"
            "    return metric[0] / metric[2], metric[1] / metric[2]\n",
            "count the correct predictions with lk.accuracy(y_hat, y)",
        ), (
            "def train_epoch_nn(net, train_iter, loss, optimizer):\n    net.train()\n"
            "    for X, y in train_iter:\n        l = loss(net(X), y)\n"
            "        optimizer.zero_grad()\n        l.backward()\n        optimizer.step()\n",
            "got None (a missing return?)",
        ), (
            # softmax before nn.CrossEntropyLoss
            "def train_epoch_nn(net, train_iter, loss, optimizer):\n    net.train()\n"
            "    metric = lk.Accumulator(3)\n    for X, y in train_iter:\n"
            "        y_hat = torch.softmax(net(X), dim=1)\n"
            "        l = loss(y_hat, y)\n        optimizer.zero_grad()\n        l.backward()\n"
            "        optimizer.step()\n"
            "        metric.add(l.item() * len(y), lk.accuracy(y_hat, y), len(y))\n"
            "    return metric[0] / metric[2], metric[1] / metric[2]\n",
            "pass it the logits, loss(net(X), y), with no softmax before",
        ), (
            # the notebook's test_iter instead of the train_iter argument
            "def train_epoch_nn(net, train_iter, loss, optimizer):\n    net.train()\n"
            "    metric = lk.Accumulator(3)\n    for X, y in test_iter:\n        y_hat = net(X)\n"
            "        l = loss(y_hat, y)\n        optimizer.zero_grad()\n        l.backward()\n"
            "        optimizer.step()\n"
            "        metric.add(l.item() * len(y), lk.accuracy(y_hat, y), len(y))\n"
            "    return metric[0] / metric[2], metric[1] / metric[2]\n",
            "loop over that argument, `for X, y in train_iter:`",
        ), (
            # zero_grad between backward and step
            "def train_epoch_nn(net, train_iter, loss, optimizer):\n    net.train()\n"
            "    metric = lk.Accumulator(3)\n    for X, y in train_iter:\n        y_hat = net(X)\n"
            "        l = loss(y_hat, y)\n        l.backward()\n        optimizer.zero_grad()\n"
            "        optimizer.step()\n"
            "        metric.add(l.item() * len(y), lk.accuracy(y_hat, y), len(y))\n"
            "    return metric[0] / metric[2], metric[1] / metric[2]\n",
            "optimizer.zero_grad(), l.backward(), optimizer.step(), in that order",
        ), (
            # float targets (PyTorch 2.14: "expected target dtype to be Long or Byte")
            "def train_epoch_nn(net, train_iter, loss, optimizer):\n    net.train()\n"
            "    metric = lk.Accumulator(3)\n    for X, y in train_iter:\n        y_hat = net(X)\n"
            "        l = loss(y_hat, y.float())\n        optimizer.zero_grad()\n"
            "        l.backward()\n        optimizer.step()\n"
            "        metric.add(l.item() * len(y), lk.accuracy(y_hat, y), len(y))\n"
            "    return metric[0] / metric[2], metric[1] / metric[2]\n",
            "pass y to the loss as it is",
        ), (
            # the whole loop under torch.no_grad()
            "def train_epoch_nn(net, train_iter, loss, optimizer):\n    net.train()\n"
            "    metric = lk.Accumulator(3)\n    with torch.no_grad():\n"
            "        for X, y in train_iter:\n"
            "            y_hat = net(X)\n            l = loss(y_hat, y)\n"
            "            optimizer.zero_grad()\n"
            "            l.backward()\n            optimizer.step()\n"
            "            metric.add(l.item() * len(y), lk.accuracy(y_hat, y), len(y))\n"
            "    return metric[0] / metric[2], metric[1] / metric[2]\n",
            "must not run under torch.no_grad()",
        ), (
            # integer division for the accuracy
            "def train_epoch_nn(net, train_iter, loss, optimizer):\n    net.train()\n"
            "    metric = lk.Accumulator(3)\n    for X, y in train_iter:\n        y_hat = net(X)\n"
            "        l = loss(y_hat, y)\n        optimizer.zero_grad()\n        l.backward()\n"
            "        optimizer.step()\n"
            "        metric.add(l.item() * len(y), lk.accuracy(y_hat, y), len(y))\n"
            "    return metric[0] / metric[2], int(metric[1]) // int(metric[2])\n",
            "`//` is integer division",
        )],
    },
    "lab2/08_regularization_and_model_selection": {
        "08-mlp-dropout": [(
            # no nn.Flatten: PyTorch's "mat1 and mat2 shapes cannot be multiplied" on images
            "def mlp_with_dropout(num_inputs, num_hiddens, num_outputs, p=0.0):\n"
            "    layers, fan_in = [], num_inputs\n    for width in num_hiddens:\n"
            "        layers += [nn.Linear(fan_in, width), nn.ReLU(), nn.Dropout(p)]\n"
            "        fan_in = width\n"
            "    return nn.Sequential(*layers, nn.Linear(fan_in, num_outputs))\n",
            "the first layer should be nn.Flatten(), so that MNIST's (N, 1, 28, 28) images",
        )],
        "08-l2-penalty": [(
            # .item() inside: the right value, but no gradient reaches the weights
            "def l2_penalty(weights, weight_decay):\n"
            "    total = sum((W ** 2).sum().item() for W in weights)\n"
            "    return torch.tensor(weight_decay / 2 * total)\n",
            "build the penalty from tensor operations on the weights (no .item()",
        )],
    },
}
FLATTEN_HINT = ("start the model with nn.Flatten(), which turns each image into a row, "
                "(N, 1, 28, 28) -> (N, 784)")


def _error(cell) -> str | None:
    errors = [o for o in cell.outputs if o.output_type == "error"]
    return f"{errors[0].ename}: {errors[0].evalue}" if errors else None


@pytest.mark.parametrize("notebook", list(MISTAKES))
def test_a_mistake_fails_its_test_cell_with_a_hint(notebook, monkeypatch):
    monkeypatch.setenv("LABKIT_OFFLINE", "1")  # the kernel never tries to download
    nb = nbformat.read(NOTEBOOKS / f"{notebook}.ipynb", as_version=4)
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
    last = max(ids.index(gid) for gid in MISTAKES[notebook]) + 1  # the last test cell
    folder = str(NOTEBOOKS / notebook.split("/")[0])
    client = NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": folder}})
    seen = []
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells[:last + 1]):
            if cell.cell_type != "code":
                continue
            gid = ids[index]
            test = nb.cells[index + 1]
            for source, hint in MISTAKES[notebook].get(gid, []):
                wrong, check = new_code_cell(source), new_code_cell(test.source)
                client.execute_cell(wrong, index)
                client.execute_cell(check, index + 1)
                error = _error(check)
                assert error and error.startswith("AssertionError: "), (gid, error)
                assert hint in error, (gid, hint, error)
                seen.append((gid, error))
            client.execute_cell(cell, index)
            assert _error(cell) is None, (notebook, index, _error(cell))
    assert len(seen) == sum(len(v) for v in MISTAKES[notebook].values())
    if notebook == "lab1/05_softmax_regression_nn":
        model_error = dict(seen)["05-model"]
        assert FLATTEN_HINT in model_error, model_error
