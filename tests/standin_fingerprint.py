"""Fingerprints of the two offline stand-ins' drawings, pinned to their generator versions.

A stand-in on disk is reused as long as its completion marker names the current generator
version (``MNIST_STANDIN_VERSION``, ``STANDIN_VERSION``). If the drawing changes and the
version does not, machines that generated the stand-in before the change keep the old
images, silently, and their notebooks print other numbers than a fresh clone's. The tests
compare a fingerprint of a small stand-in (the test split of seed 0, drawn from its own
random stream) with the one recorded in ``standin_fingerprints.json`` for the current
version: a changed drawing fails until the version is raised and the file rewritten.

The fingerprint is per image: the ink (sum of the pixels), the centre of mass (row,
column) and the RMS radius of the ink around it. It tolerates last-bit differences between
CPUs and PyTorch builds (a pixel rounded to the neighbouring byte), which an exact hash
would not, and catches any change that moves, reshapes or thickens a stroke.

After an intended change to a drawing: raise its version, then run
``python tests/standin_fingerprint.py`` to record the new fingerprints.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

FINGERPRINTS = Path(__file__).with_name("standin_fingerprints.json")
NUM_IMAGES = 300  # the test split's size: its images do not depend on num_train
TOLERANCE = {"ink": 2e-3, "pixels": 0.02}  # relative for the ink, pixels for the positions


def fingerprint(images: torch.Tensor) -> dict[str, list[float]]:
    """Per image of ``images`` uint8 ``(N, 28, 28)``: ink, centre of mass, RMS radius."""
    ink = images.double()
    mass = ink.sum((1, 2)).clamp(min=1.0)
    grid = torch.arange(images.shape[1], dtype=torch.float64)
    row = (ink.sum(2) * grid).sum(1) / mass
    col = (ink.sum(1) * grid).sum(1) / mass
    dist2 = (grid[None, :, None] - row[:, None, None]) ** 2 \
        + (grid[None, None, :] - col[:, None, None]) ** 2
    radius = ((ink * dist2).sum((1, 2)) / mass).sqrt()
    return {"ink": [int(v) for v in mass.tolist()],
            "row": [round(v, 3) for v in row.tolist()],
            "col": [round(v, 3) for v in col.tolist()],
            "radius": [round(v, 3) for v in radius.tolist()]}


def current() -> dict[str, dict]:
    """The fingerprints of the drawings in this checkout, with their versions."""
    from labkit.data.mnist_standin import MNIST_STANDIN_VERSION, generate_mnist_standin
    from labkit.data.standin import STANDIN_VERSION, generate_standin

    mnist_test = generate_mnist_standin(num_train=1, num_test=NUM_IMAGES, seed=0)[2]
    fashion_test = generate_standin(num_train=1, num_test=NUM_IMAGES, seed=0)[2]
    return {"mnist": {"version": MNIST_STANDIN_VERSION, **fingerprint(mnist_test)},
            "fashion": {"version": STANDIN_VERSION, **fingerprint(fashion_test)}}


def differences(recorded: dict, now: dict) -> list[int]:
    """The images whose fingerprint differs beyond rounding between ``recorded`` and ``now``."""
    ink_a, ink_b = torch.tensor(recorded["ink"]), torch.tensor(now["ink"])
    bad = (ink_a - ink_b).abs() > TOLERANCE["ink"] * ink_a.clamp(min=1.0)
    for key in ("row", "col", "radius"):
        bad |= (torch.tensor(recorded[key]) - torch.tensor(now[key])).abs() > TOLERANCE["pixels"]
    return bad.nonzero().flatten().tolist()


if __name__ == "__main__":
    FINGERPRINTS.write_text(json.dumps(current(), separators=(",", ":")) + "\n")
    print(f"wrote {FINGERPRINTS}")
