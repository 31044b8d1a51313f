"""Settings shared by every test: a headless matplotlib backend, a fast hypothesis profile,
and no network: no test ever downloads anything."""

from __future__ import annotations

import os

import pytest
import torchvision
from hypothesis import settings

# No display in CI or on a server: matplotlib must never try to open a window.
os.environ.setdefault("MPLBACKEND", "Agg")

# Under pytest-xdist (make test runs two workers on two cores) each worker runs PyTorch on one
# thread: two workers with two threads each would fight over the cores.
if os.environ.get("PYTEST_XDIST_WORKER"):
    import torch

    torch.set_num_threads(1)

# Random-input tests stay quick and never fail on timing (2 shared cores).
settings.register_profile("labkit", deadline=None, max_examples=50)
settings.load_profile("labkit")


def _no_download(self):
    raise RuntimeError("simulated: no network in tests")


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Every test: torchvision's Fashion-MNIST and MNIST downloads fail at once (tests that
    check the fallback rely on it), and LABKIT_DATA / LABKIT_OFFLINE from the caller's shell
    are unset."""
    monkeypatch.setattr(torchvision.datasets.FashionMNIST, "download", _no_download)
    monkeypatch.setattr(torchvision.datasets.MNIST, "download", _no_download)
    monkeypatch.delenv("LABKIT_DATA", raising=False)
    monkeypatch.delenv("LABKIT_OFFLINE", raising=False)
