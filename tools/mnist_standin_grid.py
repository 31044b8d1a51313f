"""Draw a grid of the MNIST stand-in's digits into ``docs/mnist-standin.png`` (the README shows
it): one row per digit, the first test images of seed 0, black ink on white paper.

    python tools/mnist_standin_grid.py [--out docs/mnist-standin.png] [--columns 16]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from labkit.data.mnist_standin import generate_mnist_standin  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "mnist-standin.png")
    parser.add_argument("--columns", type=int, default=16)
    args = parser.parse_args(argv)
    _, _, images, labels = generate_mnist_standin(num_train=10, num_test=2000, seed=0)
    rows = []
    for digit in range(10):
        chosen = images[labels == digit][: args.columns]  # (columns, 28, 28)
        rows.append(torch.cat(list(chosen), dim=1))  # (28, columns * 28)
    grid = torch.cat(rows, dim=0)  # (280, columns * 28)
    fig = plt.figure(figsize=(grid.shape[1] / 50, grid.shape[0] / 50), dpi=100)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.imshow(grid, cmap="gray_r", vmin=0, vmax=255, interpolation="nearest")
    ax.set_axis_off()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=100)
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
