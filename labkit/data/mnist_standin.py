"""An offline stand-in for MNIST: handwritten-looking digits drawn as pen strokes.

Introduced with MNIST in lab 2 (used when the real set is absent and cannot be downloaded:
offline classrooms, CI, this environment).

Each digit is written the way a hand writes it: one to three pen strokes through a few
waypoints, several styles per digit (a 1 with or without a flag and a base, an open or a
closed 4, a 7 with or without a crossbar, a 2 with a straight or a curled base, an 8 as one
figure-of-eight stroke or as two stacked loops, ...). Every image draws its own:

- waypoint jitter (how this hand shapes each part: size of a loop, length of a bar);
- aspect ratio, slant (a shear, mostly to the right) and a rotation;
- a smooth elastic distortion (three random waves of long wavelength displacing the pen);
- stroke thickness (ink flow, thin pen to thick marker) and pen pressure that varies along
  each stroke and fades where the pen lands and lifts.

Strokes are smooth curves (Catmull-Rom splines through the waypoints) sampled densely and
rendered as ink deposits on the 28 x 28 grid, blurred by the pen's footprint and saturated:
full ink (255) along the middle of a stroke, anti-aliased at its edges, paper exactly 0. As
in MNIST, each digit is size-normalised into a 20 x 20 box (aspect ratio kept) and placed so
that its centre of mass falls on the centre of the 28 x 28 field (within half a pixel).

Some styles genuinely look alike, as handwriting does: a closed 4 and a 9, the lower bowls of
3, 5 and 8, a flagged 1 and a short-barred 7, a curved 7 and a 2. A softmax regression
confuses exactly those pairs, and reaches about 0.92 test accuracy (real MNIST: about 0.92)
where a one-hidden-layer MLP reaches about 0.95 (``benchmarks/bench_data.py`` measures
both). The numbers you get are NOT MNIST's; they only exercise the same code and behave like
MNIST where a student can see it.

Drawing is vectorised over all images of one style (waypoints ``(n, Q, 2)``, stroke samples
``(n, P, 2)``); generating 70,000 images takes a few seconds. A seed fixes every image (train
and test use separate random streams, so ``num_train`` does not change the test set).
``write_mnist_standin`` stores the result in ``<root>/MNIST-standin/raw/``, never where the
real files go, with the completion marker written last (see ``labkit.data.standin``).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Union

import torch
import torch.nn.functional as F

from labkit._checks import check_positive_int, describe
from labkit.data.standin import write_generated

__all__ = [
    "MNIST_STANDIN_FOLDER",
    "MNIST_STANDIN_VERSION",
    "MNIST_STANDIN_GENERATOR",
    "generate_mnist_standin",
    "write_mnist_standin",
]

PathLike = Union[str, "os.PathLike[str]"]

MNIST_STANDIN_FOLDER = "MNIST-standin"
#: Bump when the drawing changes (any change to the images a seed gives): a stand-in whose
#: marker names another version is regenerated on the next load, so every machine ends up with
#: the same digits. ``tests/test_mnist_standin.py`` pins a fingerprint of the drawing to this
#: number. History: 1, the first drawing; 2, the tuned hands of the data branch (lean,
#: rotation, aspect, full ink, centring by mass, a 0 never narrower than 0.75).
MNIST_STANDIN_VERSION = 2
#: The generator's name in the completion marker.
MNIST_STANDIN_GENERATOR = "labkit.data.mnist_standin"

_SIZE = 28  # the field, pixels
_BOX = 20  # the digit is size-normalised into a 20 x 20 box, as in MNIST
_CENTRE = (_SIZE - 1) / 2  # 13.5: pixel centres are at 0..27
_CHUNK = 4096  # images of one style drawn at once
_SAMPLES = 10  # spline samples per waypoint interval
_SIGMA = 0.8  # the pen's footprint: Gaussian blur of the ink deposits, pixels
# How much hands vary (tuned so that a softmax regression lands near real MNIST's accuracy
# and confuses the digits that look alike; see benchmarks/RESULTS.md):
_JITTER = 1.2  # scales every style's waypoint jitter
_ELASTIC = 0.06  # largest amplitude of each of the three elastic waves, design units
_SLANT_SD = 0.45  # slant (shear) ~ N(0.15, 0.45), clamped to [-0.45, 0.8]
_ROTATION = 0.4  # rotation ~ U(-0.4, 0.4) radians ...
_LEAN = (-0.55, 0.8)  # ... keeping slant + rotation (the lean) within -32 to +46 degrees
_ASPECT = (0.55, 1.45)  # width scale
_GAIN = (4.0, 24.0)  # ink flow, log-uniform: thin pen to thick marker
_CUT = 0.1  # ink below this fraction is paper (MNIST's background is exactly 0)


# ------------------------------------------------------------------------------ the styles
# Design frame: x to the right, y down, a digit about 0.6 wide and 1 tall, centred on 0.
# A style is (weight, waypoints, strokes, jitter): named waypoints, pen strokes through them
# (a stroke shares its end with another stroke by naming the same waypoint), and how far
# each waypoint wanders from hand to hand (in design units).

def _arc(cx, cy, rx, ry, start, stop, count, prefix):
    """``count`` waypoints on an ellipse from angle ``start`` to ``stop`` (degrees, 0 =
    right, 90 = up), named prefix0, prefix1, ..."""
    points = {}
    for i in range(count):
        a = math.radians(start + (stop - start) * i / (count - 1))
        points[f"{prefix}{i}"] = (cx + rx * math.cos(a), cy - ry * math.sin(a))
    return points, [f"{prefix}{i}" for i in range(count)]


def _polyline(*xy):
    points = {f"p{i}": p for i, p in enumerate(xy)}
    return points, list(points)


def _style(weight, strokes, jitter=0.035, narrowest=_ASPECT[0]):
    """``strokes``: a list of (points dict, names) as made by ``_arc`` / ``_polyline``;
    points with the same coordinates in two strokes are shared (jittered together).
    ``narrowest``: the smallest width scale this style is drawn with (a 0 squeezed to a
    bar is no longer a 0)."""
    points, named = {}, []
    for k, (pts, names) in enumerate(strokes):
        stroke = []
        for name in names:
            xy = pts[name]
            found = next((key for key, value in points.items() if value == xy), None)
            if found is None:
                found = f"s{k}{name}"
                points[found] = xy
            stroke.append(found)
        named.append(stroke)
    return weight, points, named, (jitter, narrowest)


def _build_styles():
    s = {d: [] for d in range(10)}
    # 0: an oval, closed with a small overlap or a small gap; round or narrow
    s[0].append(_style(3, [_arc(0, 0, 0.3, 0.5, 100, 100 - 370, 11, "a")], narrowest=0.75))
    s[0].append(_style(2, [_arc(0, 0, 0.3, 0.5, 80, 80 + 350, 11, "a")], narrowest=0.75))
    s[0].append(_style(1, [_arc(0, 0.02, 0.34, 0.48, 120, 120 - 355, 11, "a")], jitter=0.05,
                       narrowest=0.75))
    # 1: a bar; with a flag; with a flag and a base
    s[1].append(_style(6, [_polyline((0.0, -0.5), (0.0, 0.0), (0.0, 0.5))], jitter=0.025))
    s[1].append(_style(3, [_polyline((-0.1, -0.4), (0.0, -0.5)),
                           _polyline((0.0, -0.5), (0.0, 0.0), (0.0, 0.5))], jitter=0.03))
    s[1].append(_style(0.5, [_polyline((-0.1, -0.4), (0.0, -0.5)),
                           _polyline((0.0, -0.5), (0.0, 0.0), (0.0, 0.5)),
                           _polyline((-0.18, 0.5), (0.18, 0.5))], jitter=0.03))
    # 2: a hook, a diagonal neck and a base; the base straight or after a small curl
    s[2].append(_style(4, [
        _polyline((-0.24, -0.28), (-0.12, -0.45), (0.06, -0.5), (0.22, -0.38),
                  (0.2, -0.16), (0.04, 0.06), (-0.14, 0.28), (-0.27, 0.48)),
        _polyline((-0.27, 0.48), (0.0, 0.46), (0.28, 0.49))]))
    s[2].append(_style(1, [
        _polyline((-0.24, -0.3), (-0.1, -0.47), (0.1, -0.48), (0.23, -0.32), (0.16, -0.08),
                  (-0.06, 0.16), (-0.22, 0.36), (-0.18, 0.5), (-0.05, 0.44), (-0.12, 0.36),
                  (-0.2, 0.44), (0.05, 0.5), (0.3, 0.46))], jitter=0.03))
    s[2].append(_style(2, [
        _polyline((-0.22, -0.36), (0.0, -0.5), (0.2, -0.42), (0.22, -0.22),
                  (-0.02, 0.1), (-0.26, 0.46), (0.02, 0.42), (0.3, 0.5))], jitter=0.045))
    # 3: two bumps; or a flat top and a bowl
    s[3].append(_style(4, [
        _polyline((-0.22, -0.38), (-0.04, -0.5), (0.17, -0.45), (0.2, -0.26), (0.04, -0.07),
                  (-0.06, -0.04), (0.06, -0.02), (0.23, 0.14), (0.2, 0.38), (0.0, 0.5),
                  (-0.25, 0.38))]))
    s[3].append(_style(1, [
        _polyline((-0.24, -0.48), (0.22, -0.48)),
        _polyline((0.22, -0.48), (0.0, -0.1), (0.2, 0.05), (0.24, 0.3), (0.02, 0.5),
                  (-0.24, 0.4))]))
    # 4: open (a bent stroke and a stem), closed (a triangle on the stem), or a cup and a stem
    s[4].append(_style(3, [
        _polyline((-0.06, -0.5), (-0.27, 0.12)),
        _polyline((-0.27, 0.12), (0.3, 0.1)),
        _polyline((0.12, -0.3), (0.11, 0.1), (0.1, 0.5))], jitter=0.04))
    s[4].append(_style(2, [
        _polyline((0.1, -0.5), (-0.27, 0.08)),
        _polyline((-0.27, 0.08), (0.34, 0.08)),
        _polyline((0.1, -0.5), (0.09, 0.0), (0.08, 0.5))], jitter=0.03))
    s[4].append(_style(2, [
        _polyline((-0.22, -0.45), (-0.24, -0.05), (-0.05, 0.08), (0.2, 0.04)),
        _polyline((0.2, -0.48), (0.19, 0.0), (0.16, 0.5))], jitter=0.04))
    # 5: a bar, a neck and a bowl (the bar drawn first, or last, and sometimes detached)
    s[5].append(_style(4, [
        _polyline((0.24, -0.5), (-0.14, -0.48)),
        _polyline((-0.14, -0.48), (-0.17, -0.04), (0.05, -0.12), (0.23, 0.08), (0.21, 0.36),
                  (0.02, 0.5), (-0.22, 0.38))]))
    s[5].append(_style(2, [
        _polyline((-0.08, -0.48), (0.26, -0.5)),
        _polyline((-0.12, -0.44), (-0.16, -0.06), (0.06, -0.1), (0.23, 0.08), (0.21, 0.36),
                  (0.01, 0.5), (-0.22, 0.4))], jitter=0.035))
    # 6: a long left curve into a loop at the bottom
    s[6].append(_style(3, [
        _polyline((0.12, -0.5), (-0.05, -0.38), (-0.19, -0.12), (-0.23, 0.18), (-0.08, 0.47),
                  (0.14, 0.43), (0.2, 0.22), (0.04, 0.06), (-0.2, 0.2))]))
    s[6].append(_style(2, [
        _polyline((0.12, -0.5), (-0.1, -0.18), (-0.22, 0.15), (-0.12, 0.47), (0.14, 0.45),
                  (0.2, 0.2), (0.0, 0.06), (-0.18, 0.2))], jitter=0.045))
    # 7: a bar and a diagonal; a short bar; a crossbar; a curved diagonal
    s[7].append(_style(4, [
        _polyline((-0.26, -0.46), (0.26, -0.48)),
        _polyline((0.26, -0.48), (0.08, -0.05), (-0.06, 0.5))]))
    s[7].append(_style(1, [
        _polyline((-0.22, -0.44), (0.2, -0.5)),
        _polyline((0.2, -0.5), (0.1, -0.05), (0.02, 0.5))], jitter=0.03))
    s[7].append(_style(0.5, [
        _polyline((-0.26, -0.46), (0.26, -0.48)),
        _polyline((0.26, -0.48), (0.08, -0.05), (-0.06, 0.5)),
        _polyline((-0.12, 0.0), (0.24, -0.02))]))
    s[7].append(_style(2, [
        _polyline((-0.26, -0.46), (-0.02, -0.5), (0.24, -0.47)),
        _polyline((0.24, -0.47), (0.18, -0.2), (-0.02, 0.12), (-0.14, 0.5))], jitter=0.04))
    # 8: one figure-of-eight stroke; or two stacked loops
    s[8].append(_style(4, [
        _polyline((0.16, -0.4), (0.0, -0.5), (-0.18, -0.38), (-0.12, -0.16), (0.0, -0.05),
                  (0.2, 0.14), (0.18, 0.4), (0.0, 0.5), (-0.2, 0.38), (-0.18, 0.14),
                  (0.0, -0.05), (0.14, -0.2), (0.18, -0.36), (0.1, -0.48))], jitter=0.03))
    top, names_top = _arc(0, -0.26, 0.18, 0.24, 270, 270 - 365, 9, "t")
    bottom, names_bottom = _arc(0, 0.24, 0.24, 0.26, 90, 90 - 365, 9, "b")
    s[8].append(_style(2, [(top, names_top), (bottom, names_bottom)], jitter=0.03))
    # 9: a loop and a stem (straight or curved), in one stroke or two
    loop, names_loop = _arc(0, -0.24, 0.24, 0.26, 350, 350 + 360, 10, "l")
    s[9].append(_style(4, [(loop, names_loop),
                           _polyline((0.24, -0.3), (0.2, 0.1), (0.12, 0.5))], jitter=0.025))
    s[9].append(_style(2, [
        _polyline((0.2, -0.38), (0.0, -0.5), (-0.2, -0.35), (-0.18, -0.12), (0.05, -0.06),
                  (0.2, -0.3), (0.19, 0.0), (0.15, 0.3), (0.08, 0.5))],
        jitter=0.035))
    return s


_STYLES = _build_styles()


def _spline_matrix(count: int) -> torch.Tensor:
    """``((count - 1) * _SAMPLES + 1, count)``: Catmull-Rom samples as weights of the
    waypoints (the end tangents extrapolate the first and last intervals)."""
    t = torch.arange(_SAMPLES, dtype=torch.float64) / _SAMPLES
    basis = 0.5 * torch.stack([-t + 2 * t**2 - t**3, 2 - 5 * t**2 + 3 * t**3,
                               t + 4 * t**2 - 3 * t**3, -t**2 + t**3], dim=1)  # (S, 4)
    # neighbours of interval i: P[i-1], P[i], P[i+1], P[i+2], with P[-1] = 2 P[0] - P[1]
    # and P[count] = 2 P[count-1] - P[count-2]
    extend = torch.zeros(count + 2, count, dtype=torch.float64)
    extend[1:-1] = torch.eye(count)
    extend[0, 0], extend[0, min(1, count - 1)] = 2.0, -1.0
    extend[-1, -1], extend[-1, max(count - 2, 0)] = 2.0, -1.0
    if count == 1:
        extend[0] = extend[-1] = torch.eye(1)[0]
    rows = [basis @ extend[i: i + 4] for i in range(count - 1)]
    rows.append(extend[count: count + 1])  # the last waypoint itself
    return torch.cat(rows).to(torch.float32)


class _Compiled:
    """A style as tensors: waypoints ``(Q, 2)``, the sampling matrix ``(P, Q)``, and per
    sample its stroke id and position ``u`` in [0, 1] along its stroke."""

    def __init__(self, points: dict, strokes: list, shape: tuple[float, float]):
        names = list(points)
        self.waypoints = torch.tensor([points[n] for n in names], dtype=torch.float32)
        self.jitter, self.narrowest = shape
        blocks, stroke_id, position, first = [], [], [], []
        for k, stroke in enumerate(strokes):
            m = _spline_matrix(len(stroke))  # (M, K)
            block = torch.zeros(len(m), len(names))
            for j, name in enumerate(stroke):
                block[:, names.index(name)] += m[:, j]
            blocks.append(block)
            stroke_id += [k] * len(m)
            position.append(torch.linspace(0, 1, len(m)))
            first += [True] + [False] * (len(m) - 1)
        self.matrix = torch.cat(blocks)  # (P, Q)
        self.stroke_id = torch.tensor(stroke_id)
        self.num_strokes = len(strokes)
        self.u = torch.cat(position)  # (P,)
        self.first = torch.tensor(first)  # first sample of a stroke
        self.last = torch.roll(self.first, -1)  # last sample of a stroke


_COMPILED = {d: [(w, _Compiled(p, st, j)) for w, p, st, j in styles]
             for d, styles in _STYLES.items()}


# ----------------------------------------------------------------------------- drawing
def _uniform(n, lo, hi, g, *shape):
    return lo + (hi - lo) * torch.rand(n, *shape, generator=g)


def _draw_style(style: _Compiled, n: int, g: torch.Generator):
    """One hand per image: the stroke samples ``x``, ``y`` ``(n, P)`` (design units), the pen
    pressure at each ``(n, P)`` and each image's ink flow (gain) ``(n,)``."""
    # this hand's version of the waypoints
    noise = torch.randn(n, *style.waypoints.shape, generator=g)  # (n, Q, 2)
    W = style.waypoints + _JITTER * style.jitter * noise
    p = style.matrix @ W  # (n, P, 2)
    x, y = p[..., 0], p[..., 1]
    # aspect ratio, smooth elastic displacement (a few long waves), slant, rotation
    x = x * _uniform(n, style.narrowest, _ASPECT[1], g, 1)
    for _ in range(3):
        k = _uniform(n, -5.0, 5.0, g, 2)  # wave vector (n, 2)
        phase = _uniform(n, 0, 2 * math.pi, g, 1)
        amp = _uniform(n, 0.0, _ELASTIC, g, 1)
        direction = torch.randn(n, 2, generator=g)  # which way this wave pushes the pen
        w = amp * torch.sin(k[:, :1] * x + k[:, 1:] * y + phase)
        x = x + direction[:, :1] * w
        y = y + direction[:, 1:] * w
    slant = (0.15 + _SLANT_SD * torch.randn(n, 1, generator=g)).clamp_(-0.45, 0.8)
    x = x - slant * y
    # a rotation, keeping the whole lean (slant + rotation) within _LEAN: hands lean right
    lean = torch.atan(slant)
    angle = _uniform(n, -_ROTATION, _ROTATION, g, 1).clamp(_LEAN[0] - lean, _LEAN[1] - lean)
    c, s = torch.cos(angle), torch.sin(angle)
    x, y = c * x - s * y, s * x + c * y
    # pen: ink flow (thickness) per image, pressure along each stroke, fading at its ends
    gain = torch.exp(_uniform(n, math.log(_GAIN[0]), math.log(_GAIN[1]), g))  # (n,)
    freq = _uniform(n, 0.5, 2.0, g, style.num_strokes)[:, style.stroke_id]
    phase = _uniform(n, 0, 2 * math.pi, g, style.num_strokes)[:, style.stroke_id]
    depth = _uniform(n, 0.0, 0.35, g, style.num_strokes)[:, style.stroke_id]
    u = style.u
    pressure = 1 + depth * torch.sin(2 * math.pi * freq * u + phase)
    pressure = pressure * (0.55 + 0.45 * (torch.minimum(u, 1 - u) / 0.08).clamp(max=1))
    return x, y, pressure, gain


def _place(x, y, pressure, gain, style: _Compiled):
    """Size-normalise into the 20 x 20 box (aspect kept) and centre by mass: pixel
    coordinates, each sample's ink, and the integer box ``(n, 2)`` (left, top)."""
    # how far ink reaches beyond the stroke's centre line at this gain (pixels)
    peak = gain / (math.sqrt(2 * math.pi) * _SIGMA)
    reach = _SIGMA * torch.sqrt(2 * torch.log((peak / -math.log(1 - _CUT)).clamp(min=1.0)))
    reach = reach + 0.6  # the bilinear deposit spreads each sample over one more pixel
    lo_x, hi_x = x.amin(1), x.amax(1)
    lo_y, hi_y = y.amin(1), y.amax(1)
    extent = torch.maximum(hi_x - lo_x, hi_y - lo_y).clamp(min=1e-3)
    scale = (_BOX - 2 * reach) / extent  # (n,) pixels per design unit
    px = (x - ((lo_x + hi_x) / 2)[:, None]) * scale[:, None]
    py = (y - ((lo_y + hi_y) / 2)[:, None]) * scale[:, None]
    # ink per sample: pressure x the stroke length it stands for (half its two gaps)
    step = torch.sqrt(torch.diff(px, dim=1) ** 2 + torch.diff(py, dim=1) ** 2)  # (n, P-1)
    step = step.masked_fill(style.first[1:], 0.0)  # no ink between two strokes
    length = F.pad(step, (1, 0)) + F.pad(step, (0, 1))
    ink = pressure * length / 2
    total = ink.sum(1, keepdim=True)
    cx = (ink * px).sum(1) / total[:, 0]
    cy = (ink * py).sum(1) / total[:, 0]
    # the box around the (centred) stroke, clamped so that it stays inside the field
    half_w = (hi_x - lo_x) * scale / 2 + reach
    half_h = (hi_y - lo_y) * scale / 2 + reach
    ox = (_CENTRE - cx).clamp(min=half_w - 0.5, max=_SIZE - 0.5 - half_w)
    oy = (_CENTRE - cy).clamp(min=half_h - 0.5, max=_SIZE - 0.5 - half_h)
    px, py = px + ox[:, None], py + oy[:, None]
    box = torch.stack([(ox - _BOX / 2 + 0.5).round(), (oy - _BOX / 2 + 0.5).round()], 1)
    box = box.clamp(0, _SIZE - _BOX).to(torch.int64)
    return px, py, ink, box


def _deposit(px, py, ink, images: torch.Tensor, out: torch.Tensor) -> None:
    """Add each sample's ink to its 4 nearest pixels (bilinear weights) in ``out``, the flat
    ``(N * 784,)`` density of all images; ``images`` ``(n,)`` says which image each row is."""
    x0, y0 = px.floor(), py.floor()
    fx, fy = px - x0, py - y0
    x0 = x0.to(torch.int64).clamp_(0, _SIZE - 2)
    y0 = y0.to(torch.int64).clamp_(0, _SIZE - 2)
    base = images[:, None] * (_SIZE * _SIZE) + y0 * _SIZE + x0  # (n, P)
    index = torch.cat([base, base + 1, base + _SIZE, base + _SIZE + 1], 1).flatten()
    weight = torch.cat([(1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy], 1)
    weight = (weight * ink.repeat(1, 4)).flatten()
    out.index_add_(0, index, weight)


def _blur_matrix() -> torch.Tensor:
    """``(28, 28)``: a 1-D Gaussian blur of width ``_SIGMA`` as a matrix ``B``, so that
    ``B @ D @ B.T`` blurs a ``(28, 28)`` image ``D`` (separable, zero outside the field)."""
    r = torch.arange(_SIZE, dtype=torch.float32)
    k = torch.exp(-(r[:, None] - r[None, :]) ** 2 / (2 * _SIGMA**2))
    k = k * (k > 1e-4)
    return k / torch.exp(-torch.arange(-4.0, 5.0) ** 2 / (2 * _SIGMA**2)).sum()


def _generate_split(num: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    labels = torch.arange(num) % 10  # balanced: each digit num // 10 or num // 10 + 1 times
    labels = labels[torch.randperm(num, generator=g)]
    density = torch.zeros(num * _SIZE * _SIZE)
    gains = torch.empty(num)
    boxes = torch.empty(num, 2, dtype=torch.int64)
    for digit in range(10):
        index = (labels == digit).nonzero().flatten()
        weights = torch.tensor([float(w) for w, _ in _COMPILED[digit]])
        choice = torch.multinomial(weights, len(index), replacement=True, generator=g) \
            if len(index) else torch.empty(0, dtype=torch.int64)
        for k, (_, style) in enumerate(_COMPILED[digit]):
            chosen = index[choice == k]
            for start in range(0, len(chosen), _CHUNK):
                part = chosen[start: start + _CHUNK]
                x, y, pressure, gain = _draw_style(style, len(part), g)
                px, py, ink, box = _place(x, y, pressure, gain, style)
                _deposit(px, py, ink, part, density)
                gains[part] = gain
                boxes[part] = box
    # the pen's footprint: a separable Gaussian blur, then the ink saturates
    blur = _blur_matrix()
    images = torch.empty(num, _SIZE, _SIZE, dtype=torch.uint8)
    grid = torch.arange(_SIZE)
    for start in range(0, num, _CHUNK):
        d = density.view(num, _SIZE, _SIZE)[start: start + _CHUNK]
        d = blur @ d @ blur.T  # (n, 28, 28)
        ink = 1 - torch.exp(-gains[start: start + _CHUNK, None, None] * d)
        ink = ((ink - _CUT) / (1 - _CUT)).clamp_(0, 1)
        # the darkest pixel of each digit is full ink (255), as in MNIST: a light pen shows
        # as a thinner stroke, not a grey one
        ink = ink / ink.flatten(1).amax(1).clamp(min=1e-6)[:, None, None]
        # nothing outside the 20 x 20 box (only faint tails ever reach it)
        box = boxes[start: start + _CHUNK]
        inside_x = (grid >= box[:, :1]) & (grid < box[:, :1] + _BOX)  # (n, 28)
        inside_y = (grid >= box[:, 1:]) & (grid < box[:, 1:] + _BOX)
        ink = ink * (inside_y[:, :, None] & inside_x[:, None, :])
        images[start: start + _CHUNK] = _centre_by_mass(ink).mul_(255).round_().to(torch.uint8)
    return images, labels.to(torch.int64)


def _centre_by_mass(ink: torch.Tensor) -> torch.Tensor:
    """Shift each image ``(n, 28, 28)`` by whole pixels so that its centre of mass lies
    within half a pixel of the field's centre, as MNIST's images were placed (the ink
    estimate used for placing the strokes misses where strokes cross and saturate). A shift
    never pushes ink out of the field."""
    grid = torch.arange(_SIZE, dtype=ink.dtype)
    rows, cols = ink.sum(2), ink.sum(1)  # (n, 28) each
    mass = rows.sum(1).clamp(min=1e-6)
    shifts = []
    for profile in (rows, cols):
        centre = (profile * grid).sum(1) / mass
        occupied = profile > 0
        first = torch.where(occupied, grid, float(_SIZE)).amin(1)
        last = torch.where(occupied, grid, -1.0).amax(1)
        shift = (_CENTRE - centre).round().clamp(min=-first, max=_SIZE - 1 - last)
        shifts.append(shift.to(torch.int64))
    dy, dx = shifts
    index = torch.arange(_SIZE)
    src_y = index[None, :] - dy[:, None]  # (n, 28): the row each output row comes from
    src_x = index[None, :] - dx[:, None]
    inside_y = (src_y >= 0) & (src_y < _SIZE)
    inside_x = (src_x >= 0) & (src_x < _SIZE)
    valid = inside_y[:, :, None] & inside_x[:, None, :]  # (n, 28, 28)
    out = ink.gather(1, src_y.clamp(0, _SIZE - 1)[:, :, None].expand(-1, -1, _SIZE))
    out = out.gather(2, src_x.clamp(0, _SIZE - 1)[:, None, :].expand(-1, _SIZE, -1))
    return out * valid


def generate_mnist_standin(num_train: int = 60000, num_test: int = 10000, seed: int = 0
                           ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Draw the MNIST stand-in in memory.

    Args:
        num_train, num_test: numbers of images (each >= 1); the digits are balanced to
            within one image.
        seed: any integer >= 0; the same seed always gives the same images.

    Returns:
        ``(train_images, train_labels, test_images, test_labels)``: images uint8
        ``(N, 28, 28)`` in [0, 255] (paper 0, ink up to 255), labels int64 ``(N,)`` in 0..9.
    """
    num_train = check_positive_int(num_train, "num_train")
    num_test = check_positive_int(num_test, "num_test")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise TypeError(f"seed must be an integer >= 0, got {describe(seed)}")
    train_g = torch.Generator().manual_seed(2 * seed)
    test_g = torch.Generator().manual_seed(2 * seed + 1)
    num_threads = torch.get_num_threads()  # one thread: see labkit.data.standin
    torch.set_num_threads(1)
    try:
        with torch.inference_mode():
            train = _generate_split(num_train, train_g)
            test = _generate_split(num_test, test_g)
    finally:
        torch.set_num_threads(num_threads)
    return (*train, *test)


def write_mnist_standin(root: PathLike, num_train: int = 60000, num_test: int = 10000,
                        seed: int = 0) -> Path:
    """Generate the MNIST stand-in and write it to ``<root>/MNIST-standin/raw/`` (four IDX
    files with torchvision's extracted names, then the completion marker). Returns the raw
    folder."""
    raw = Path(root) / MNIST_STANDIN_FOLDER / "raw"
    return write_generated(
        raw, lambda: generate_mnist_standin(num_train, num_test, seed),
        generator=MNIST_STANDIN_GENERATOR, version=MNIST_STANDIN_VERSION,
        info={"seed": seed, "num_train": num_train, "num_test": num_test})
