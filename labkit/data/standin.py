"""An offline stand-in for Fashion-MNIST: procedurally drawn garments, same format and shapes.

Introduced in ``04_softmax_regression_scratch`` (used when the real set is absent and cannot
be downloaded: offline classrooms, CI, this environment).

Each of the ten classes is a silhouette drawn from a few primitives on the 28 x 28 pixel
grid, with Fashion-MNIST's class order and names:

    0 T-shirt/top  torso + short sleeves (some sleeveless)   5 Sandal      sole + strap pattern
    1 Trouser      waistband + two legs                      6 Shirt       collar, button line,
    2 Pullover     torso + long sleeves, ribbed hem                        long or short sleeves
    3 Dress        narrow bodice + flared skirt              7 Sneaker     low shoe, laces
    4 Coat         long sleeves, longer body, opening        8 Bag         body + handle
                   with buttons                              9 Ankle boot  foot + high shaft

Every image draws its own size, position, proportions, brightness, stripes and pixel noise,
so the upper-body garments overlap the way they do in the real set: a softmax regression
reaches about 0.85 test accuracy and confuses T-shirt / Pullover / Coat / Shirt / Dress
most. The numbers you get are NOT Fashion-MNIST's; they only exercise the same code.

Drawing is vectorised: per-image parameters are tensors of shape ``(n, 1, 1)`` that
broadcast against the ``(1, 28, 28)`` coordinate grid, so each primitive is a handful of
tensor operations over a whole batch of images. Generating all 70,000 images takes a
few seconds on two CPU cores. A seed fixes every image (train and test use separate
random streams, so ``num_train`` does not change the test set).

``write_standin`` stores the result as IDX files (uncompressed, with torchvision's extracted
names) in ``<root>/FashionMNIST-standin/raw/``, never in the real set's folder, and writes a
completion marker last, so an interrupted generation is never taken for a complete one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Union

import torch

from labkit._checks import check_positive_int, describe
from labkit.data.idx import atomic_write, write_idx

__all__ = [
    "STANDIN_FOLDER",
    "STANDIN_VERSION",
    "STANDIN_FILES",
    "MARKER_NAME",
    "generate_standin",
    "write_standin",
    "standin_raw_folder",
]

PathLike = Union[str, "os.PathLike[str]"]

STANDIN_FOLDER = "FashionMNIST-standin"
#: Bump when the drawing changes: stand-ins written by an older version are regenerated.
STANDIN_VERSION = 1
#: The generator's name in the completion marker.
STANDIN_GENERATOR = "labkit.data.standin"
#: torchvision's extracted names, so ``torchvision.datasets.FashionMNIST`` can read them too.
STANDIN_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
MARKER_NAME = "labkit-standin.json"

_SIZE = 28
_CHUNK = 2048  # images drawn at once: (2048, 28, 28) float32 = 6.4 MB per temporary


def standin_raw_folder(root: PathLike) -> Path:
    """``<root>/FashionMNIST-standin/raw``: where the stand-in's IDX files live."""
    return Path(root) / STANDIN_FOLDER / "raw"


class _Batch:
    """Coordinates and a random stream for ``n`` images of one class.

    ``u``, ``v``: ``(n, 28, 28)`` pixel coordinates in each garment's own frame (x to the
    right, y down, origin at the garment's centre), after a random shift and scale.
    """

    def __init__(self, n: int, g: torch.Generator, grid_y: torch.Tensor, grid_x: torch.Tensor):
        self.n, self.g = n, g
        scale = self.rand(0.8, 1.14)
        sx = scale * self.rand(0.88, 1.12)  # proportions: width and height vary separately
        sy = scale * self.rand(0.9, 1.1)
        dx, dy = self.rand(-2.5, 2.5), self.rand(-2.0, 2.0)
        self.u = (grid_x - dx) / sx  # (n, 28, 28)
        self.v = (grid_y - dy) / sy

    def rand(self, lo: float, hi: float) -> torch.Tensor:
        """Per-image uniform draws in [lo, hi), shape (n, 1, 1)."""
        return lo + (hi - lo) * torch.rand(self.n, 1, 1, generator=self.g)

    def coin(self, p: float) -> torch.Tensor:
        """Per-image booleans, True with probability p, shape (n, 1, 1)."""
        return torch.rand(self.n, 1, 1, generator=self.g) < p


# Primitives: soft masks in [0, 1] with a one-pixel anti-aliased edge, (n, 28, 28).
def _soft(inside: torch.Tensor) -> torch.Tensor:
    """``inside`` is a signed distance in pixels (> 0 inside the shape)."""
    return (inside + 0.5).clamp_(0.0, 1.0)


def _box(u, v, u0, u1, v0, v1) -> torch.Tensor:
    """Axis-aligned rectangle [u0, u1] x [v0, v1]."""
    return _soft(torch.minimum(torch.minimum(u - u0, u1 - u), torch.minimum(v - v0, v1 - v)))


def _trapezoid(u, v, v0, v1, hw0, hw1) -> torch.Tensor:
    """Centred trapezoid from row v0 (half-width hw0) to row v1 (half-width hw1)."""
    t = ((v - v0) / (v1 - v0)).clamp(0.0, 1.0)
    half_width = hw0 + (hw1 - hw0) * t
    return _soft(torch.minimum(half_width - u.abs(), torch.minimum(v - v0, v1 - v)))


def _capsule(u, v, ax, ay, bx, by, radius) -> torch.Tensor:
    """Thick line segment from (ax, ay) to (bx, by) with round ends."""
    pu, pv = u - ax, v - ay
    du, dv = bx - ax, by - ay
    h = ((pu * du + pv * dv) / (du * du + dv * dv)).clamp(0.0, 1.0)
    dist = torch.sqrt((pu - du * h) ** 2 + (pv - dv * h) ** 2)
    return _soft(radius - dist)


def _disc(u, v, cu, cv, radius) -> torch.Tensor:
    return _soft(radius - torch.sqrt((u - cu) ** 2 + (v - cv) ** 2))


def _dots(u, v, cu, v0, spacing, count, radius) -> torch.Tensor:
    """``count`` buttons of ``radius`` in a column at u = cu, from row v0 every ``spacing``."""
    k = ((v - v0) / spacing).round_().clamp_(0, count - 1)  # index of the nearest button
    return _disc(u, v, cu, v0 + k * spacing, radius)


def _union(*masks: torch.Tensor) -> torch.Tensor:
    out = masks[0]
    for m in masks[1:]:
        out = torch.maximum(out, m)
    return out


def _where(cond: torch.Tensor, a, b) -> torch.Tensor:
    return torch.where(cond, a, b)


# Garments. Each returns (coverage mask, shading multiplier), both (n, 28, 28).
def _torso_garment(b: _Batch, *, tw, top, bottom, sleeve_end_u, sleeve_end_v, sleeve_r,
                   has_sleeve=None, neck_r=None):
    """Torso (a slightly tapered box) + two mirrored sleeves + a neck cut-out."""
    u, v = b.u, b.v
    au = u.abs()
    torso = _trapezoid(u, v, top, bottom, tw, tw * b.rand(0.92, 1.08))
    shoulder_u, shoulder_v = tw - 1.0, top + 1.6
    sleeves = _capsule(au, v, shoulder_u, shoulder_v, sleeve_end_u, sleeve_end_v, sleeve_r)
    if has_sleeve is not None:
        sleeves = sleeves * has_sleeve
    mask = _union(torso, sleeves)
    if neck_r is None:
        neck_r = b.rand(1.8, 3.0)
    neck = _disc(u, v, 0.0, top - 0.6, neck_r)
    return mask * (1 - neck)


def _tshirt(b: _Batch):
    tw = b.rand(4.5, 7.0)
    top = b.rand(-12.0, -10.5)
    bottom = b.rand(7.5, 12.0)
    sleeve_len = b.rand(2.5, 9.0)
    mask = _torso_garment(
        b, tw=tw, top=top, bottom=bottom,
        sleeve_end_u=tw + sleeve_len * 0.8, sleeve_end_v=top + 2 + sleeve_len * 0.8,
        sleeve_r=b.rand(1.8, 2.6), has_sleeve=(~b.coin(0.15)).float(),
    )
    return mask, 1 + 0 * mask


def _long_sleeved(b: _Batch, *, tw, top, bottom):
    sleeve_drop = b.rand(12.0, 20.0)
    return _torso_garment(
        b, tw=tw, top=top, bottom=bottom,
        sleeve_end_u=tw + b.rand(2.0, 4.5), sleeve_end_v=top + sleeve_drop,
        sleeve_r=b.rand(1.6, 2.3),
    )


def _pullover(b: _Batch):
    tw = b.rand(4.8, 6.6)
    top = b.rand(-12.0, -10.5)
    bottom = b.rand(8.0, 12.0)
    mask = _long_sleeved(b, tw=tw, top=top, bottom=bottom)
    hem = _box(b.u, b.v, -tw - 1, tw + 1, bottom - 1.6, bottom + 1)  # darker ribbed hem
    shade = 1 - b.rand(0.0, 0.35) * hem
    return mask, shade


def _coat(b: _Batch):
    tw = b.rand(5.2, 7.0)
    top = b.rand(-12.5, -11.0)
    bottom = b.rand(9.5, 13.0)
    mask = _long_sleeved(b, tw=tw, top=top, bottom=bottom)
    u, v = b.u, b.v
    opening = _box(u, v, -0.45, 0.45, top + 1, bottom + 1) * b.rand(0.0, 0.8)
    buttons = _dots(u, v, 1.6, top + 4, 4.0, 4, 0.7)
    lapels = _capsule(u.abs(), v, 0.5, top + 1.0, 3.0, top + 6.0, 0.6)
    shade = (1 - opening) * (1 - b.rand(0.0, 0.5) * buttons) * (1 + b.rand(0.0, 0.3) * lapels)
    return mask, shade


def _shirt(b: _Batch):
    tw = b.rand(4.8, 6.6)
    top = b.rand(-12.0, -10.5)
    bottom = b.rand(9.0, 12.0)
    long_sleeves = b.coin(0.6)
    sleeve_len = b.rand(3.5, 6.0)
    end_u = _where(long_sleeves, tw + b.rand(2.0, 4.0), tw + sleeve_len * 0.8)
    end_v = _where(long_sleeves, top + b.rand(15.0, 20.0), top + 2 + sleeve_len * 0.8)
    mask = _torso_garment(b, tw=tw, top=top, bottom=bottom, sleeve_end_u=end_u,
                          sleeve_end_v=end_v, sleeve_r=b.rand(1.6, 2.4),
                          neck_r=b.rand(1.2, 2.0))
    u, v = b.u, b.v
    collar = _capsule(u.abs(), v, 0.3, top + 3.0, 2.8, top - 0.2, 0.8)
    placket = _box(u, v, -0.35, 0.35, top + 2, bottom)
    buttons = _dots(u, v, 0.0, top + 4, 3.5, 5, 0.6)
    shade = ((1 + b.rand(0.0, 0.4) * collar) * (1 - b.rand(0.0, 0.4) * placket)
             * (1 - b.rand(0.0, 0.4) * buttons))
    return _union(mask, collar * 0.9), shade


def _dress(b: _Batch):
    u, v = b.u, b.v
    top = b.rand(-13.0, -11.5)
    waist = b.rand(-4.0, -1.0)
    bottom = b.rand(11.0, 13.5)
    bodice_w = b.rand(3.0, 5.0)
    hem_w = b.rand(4.5, 10.5)
    bodice = _box(u, v, -bodice_w, bodice_w, top, waist + 0.5)
    skirt = _trapezoid(u, v, waist, bottom, bodice_w + 0.3, hem_w)
    sleeves = _capsule(u.abs(), v, bodice_w - 0.8, top + 1.5, bodice_w + b.rand(1.5, 4.0),
                       top + b.rand(3.0, 9.0), b.rand(1.3, 2.0)) * b.coin(0.5)
    neck = _disc(u, v, 0.0, top - 0.5, b.rand(1.5, 2.8))
    mask = _union(bodice, skirt, sleeves) * (1 - neck)
    belt = _box(u, v, -6, 6, waist - 0.6, waist + 0.6) * b.coin(0.3)
    return mask, 1 - 0.3 * belt


def _trouser(b: _Batch):
    u, v = b.u, b.v
    top = b.rand(-13.5, -12.0)
    bottom = b.rand(11.5, 13.5)
    waist_w = b.rand(4.0, 5.5)
    leg_r = b.rand(1.7, 2.5)
    spread = b.rand(0.5, 3.0)
    crotch = top + b.rand(5.0, 8.0)
    au = u.abs()
    legs = _capsule(au, v, waist_w - leg_r, top + 1, waist_w - leg_r + spread, bottom - 1, leg_r)
    hips = _trapezoid(u, v, top, crotch, waist_w, waist_w + 0.3)
    mask = _union(legs, hips)
    band = _box(u, v, -8, 8, top, top + 1.3)
    return mask, 1 - 0.2 * band


def _shoe_top(b: _Batch, heel_top, toe_top):
    """Upper edge of a shoe seen from the side: toe on the left, heel on the right."""
    t = ((b.u + 12.0) / 22.0).clamp(0.0, 1.0)  # 0 at the toe, 1 at the heel
    return toe_top + (heel_top - toe_top) * t.sqrt()


def _sneaker(b: _Batch):
    u, v = b.u, b.v
    sole_v = b.rand(7.5, 9.5)
    top = _shoe_top(b, b.rand(-4.5, 0.5), b.rand(2.5, 5.0))
    upper = _soft(torch.minimum(torch.minimum(v - top, sole_v + 0.5 - v),
                                torch.minimum(u + 12.5, 11.0 - u)))
    toe = _disc(u, v, -11.0, sole_v - 1.5, 2.5)
    sole = _box(u, v, -12.5, 11.0, sole_v, sole_v + b.rand(1.2, 2.2))
    mask = _union(upper, toe, sole)
    laces = ((torch.sin(u * 2.2) > 0.3) & (u > -6) & (u < 4)).float() * _soft(
        torch.minimum(v - top, top + 2.5 - v))
    shade = (1 + 0.3 * sole) * (1 - 0.45 * laces * b.coin(0.7))
    return mask, shade


def _sandal(b: _Batch):
    u, v = b.u, b.v
    sole_v = b.rand(7.0, 9.5)
    top = _shoe_top(b, b.rand(-3.0, 1.0), b.rand(3.0, 5.5))
    region = _soft(torch.minimum(torch.minimum(v - top, sole_v - v),
                                 torch.minimum(u + 12.5, 11.0 - u)))
    angle = b.rand(0.4, 1.2)
    freq = b.rand(0.9, 1.6)
    straps = (torch.sin((u * torch.cos(angle) + v * torch.sin(angle)) * freq
                        + b.rand(0.0, 6.3)) > b.rand(0.1, 0.6)).float()
    heel_strap = _capsule(u, v, 8.5, top, 10.5, sole_v, 0.9)
    sole = _box(u, v, -12.5, 11.0, sole_v, sole_v + b.rand(0.9, 1.6))
    mask = _union(region * straps, heel_strap, sole)
    return mask, 1 + 0 * mask


def _ankle_boot(b: _Batch):
    u, v = b.u, b.v
    sole_v = b.rand(8.5, 10.5)
    shaft_left = b.rand(0.0, 5.0)
    shaft_top = b.rand(-13.0, -5.0)
    shaft = _box(u, v, shaft_left, 11.0, shaft_top, sole_v)
    top = _shoe_top(b, b.rand(-1.0, 2.0), b.rand(2.5, 5.0))
    foot = _soft(torch.minimum(torch.minimum(v - top, sole_v + 0.5 - v),
                               torch.minimum(u + 12.5, 11.0 - u)))
    toe = _disc(u, v, -11.0, sole_v - 1.5, 2.5)
    heel = _box(u, v, 7.5, 11.0, sole_v, sole_v + b.rand(1.5, 3.0))
    sole = _box(u, v, -12.5, 11.0, sole_v, sole_v + 1.2)
    mask = _union(shaft, foot, toe, heel, sole)
    shade = 1 + 0.25 * _box(u, v, shaft_left, 11.0, shaft_top, shaft_top + 1.5)
    return mask, shade


def _bag(b: _Batch):
    u, v = b.u, b.v
    body_top = b.rand(-5.0, -1.0)
    body_bottom = b.rand(10.0, 13.0)
    half_w = b.rand(8.0, 12.0)
    body = _trapezoid(u, v, body_top, body_bottom, half_w * b.rand(0.85, 1.0), half_w)
    r_out = b.rand(4.0, 7.5)
    thickness = b.rand(1.0, 2.0)
    radius = torch.sqrt(u ** 2 + (v - body_top) ** 2)
    handle = _soft(torch.minimum(r_out - radius, radius - (r_out - thickness)))
    handle = handle * (v < body_top).float() * b.coin(0.85)
    flap = _box(u, v, -half_w, half_w, body_top, body_top + b.rand(2.0, 5.0))
    shade = 1 - 0.25 * flap * b.coin(0.4)
    return _union(body, handle), shade


_DRAW = (_tshirt, _trouser, _pullover, _dress, _coat, _sandal, _shirt, _sneaker, _bag,
         _ankle_boot)


def _render(b: _Batch, mask: torch.Tensor, shade: torch.Tensor) -> torch.Tensor:
    """Brightness, stripes, shading and pixel noise on top of a mask -> uint8 (n, 28, 28)."""
    u, v = b.u, b.v
    brightness = b.rand(0.3, 1.0)
    angle = b.rand(0.0, 3.1416)
    stripes = torch.sin((u * torch.cos(angle) + v * torch.sin(angle)) * b.rand(0.8, 2.5))
    stripes = stripes * b.rand(0.0, 0.4) * b.coin(0.45)
    gradient = 1 + b.rand(-0.025, 0.025) * v + b.rand(-0.02, 0.02) * u
    # uniform noise in [-a, a] (cheaper to draw than Gaussian noise, looks the same here)
    noise = torch.rand(b.n, _SIZE, _SIZE, generator=b.g).sub_(0.5).mul_(b.rand(0.06, 0.3))
    image = noise.add_(stripes).add_(1).mul_(mask).mul_(shade).mul_(gradient)
    image.mul_(brightness * 255).round_().clamp_(0, 255)
    return image.to(torch.uint8)


def _generate_split(num: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    labels = torch.arange(num) % 10  # balanced: each class num // 10 or num // 10 + 1
    labels = labels[torch.randperm(num, generator=g)]
    images = torch.empty(num, _SIZE, _SIZE, dtype=torch.uint8)
    coords = torch.arange(_SIZE, dtype=torch.float32) - (_SIZE - 1) / 2
    grid_y, grid_x = coords.view(1, _SIZE, 1), coords.view(1, 1, _SIZE)
    for label, draw in enumerate(_DRAW):
        index = (labels == label).nonzero().flatten()
        for start in range(0, len(index), _CHUNK):
            chunk = index[start: start + _CHUNK]
            b = _Batch(len(chunk), g, grid_y, grid_x)
            images[chunk] = _render(b, *draw(b))
    return images, labels.to(torch.int64)


def generate_standin(num_train: int = 60000, num_test: int = 10000, seed: int = 0
                     ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Draw the stand-in data set in memory.

    Args:
        num_train, num_test: numbers of images (each >= 1); the classes are balanced to
            within one image.
        seed: any integer >= 0; the same seed always gives the same images.

    Returns:
        ``(train_images, train_labels, test_images, test_labels)``: images uint8
        ``(N, 28, 28)`` in [0, 255] (background 0), labels int64 ``(N,)`` in 0..9.
    """
    num_train = check_positive_int(num_train, "num_train")
    num_test = check_positive_int(num_test, "num_test")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise TypeError(f"seed must be an integer >= 0, got {describe(seed)}")
    train_g = torch.Generator().manual_seed(2 * seed)
    test_g = torch.Generator().manual_seed(2 * seed + 1)
    # One thread: the work is many cheap elementwise operations, where a second thread gains
    # little, and on a busy shared machine every operation's thread barrier can stall for a
    # whole time slice (measured 4-7x slower with 2 threads than with 1 on 2 shared cores).
    num_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.inference_mode():
            train_images, train_labels = _generate_split(num_train, train_g)
            test_images, test_labels = _generate_split(num_test, test_g)
    finally:
        torch.set_num_threads(num_threads)
    return train_images, train_labels, test_images, test_labels


def write_generated(raw: PathLike, generate, *, generator: str, version: int, info: dict,
                    files: tuple = STANDIN_FILES) -> Path:
    """Write a generated data set as IDX files into ``raw``, completion marker last.

    Args:
        raw: the folder (created if needed).
        generate: called once, returns ``(train_images, train_labels, test_images,
            test_labels)``; labels are stored as uint8, as in the real files.
        generator, version: recorded in the marker; ``read_marker`` trusts only a marker
            with the same generator and version.
        info: more facts for the marker (seed, sizes).
        files: the four file names.

    The marker is deleted first and written last (each file atomically), so a folder without
    it is an interrupted generation: it is regenerated, never read.
    """
    raw = Path(raw)
    raw.mkdir(parents=True, exist_ok=True)
    marker = raw / MARKER_NAME
    marker.unlink(missing_ok=True)  # from here on the folder is incomplete until the end
    tensors = generate()
    for name, tensor in zip(files, tensors):
        if name.endswith("labels-idx1-ubyte"):
            tensor = tensor.to(torch.uint8)
        write_idx(raw / name, tensor)
    record = {"generator": generator, "version": version, **info, "files": list(files)}
    with atomic_write(marker, "w") as f:
        json.dump(record, f, indent=2)
    return raw


def write_standin(root: PathLike, num_train: int = 60000, num_test: int = 10000,
                  seed: int = 0) -> Path:
    """Generate the stand-in and write it to ``<root>/FashionMNIST-standin/raw/``.

    The four IDX files are written atomically (uncompressed, torchvision's extracted names),
    then ``labkit-standin.json`` (seed, sizes, generator version) last: a folder without that
    marker is an interrupted generation and is regenerated, never read.

    Returns:
        The raw folder.
    """
    return write_generated(
        standin_raw_folder(root), lambda: generate_standin(num_train, num_test, seed),
        generator=STANDIN_GENERATOR, version=STANDIN_VERSION,
        info={"seed": seed, "num_train": num_train, "num_test": num_test})


def read_marker(raw: PathLike, generator: str = STANDIN_GENERATOR,
                version: int = STANDIN_VERSION) -> dict | None:
    """The completion marker's contents, or None when it is absent, unreadable, or written
    by another generator or version (stale)."""
    try:
        info = json.loads((Path(raw) / MARKER_NAME).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(info, dict) or info.get("version") != version:
        return None
    if info.get("generator", STANDIN_GENERATOR) != generator:
        return None
    return info
