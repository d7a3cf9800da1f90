"""A tiny PNG writer (numpy + zlib) and a plot of EQ curves on a log-frequency axis."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

U8 = NDArray[np.uint8]
BG = (20, 22, 28)
GRID = (52, 56, 66)
ZERO = (110, 116, 130)
COLOURS = ((90, 200, 250), (255, 159, 67), (120, 220, 120), (240, 100, 140))


def encode_png(rgb: U8) -> bytes:
    """Encode an ``(h, w, 3)`` uint8 image as PNG (8-bit RGB, no interlace)."""
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError("expected an (h, w, 3) uint8 array")
    h, w, _ = rgb.shape
    raw = np.empty((h, 1 + 3 * w), dtype=np.uint8)
    raw[:, 0] = 0  # filter type: none
    raw[:, 1:] = rgb.reshape(h, 3 * w)

    def chunk(tag: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(tag + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(raw.tobytes(), 9))
        + chunk(b"IEND", b"")
    )


def _line(img: U8, x0: float, y0: float, x1: float, y1: float, colour: Sequence[int]) -> None:
    n = int(max(abs(x1 - x0), abs(y1 - y0))) + 1
    xs = np.rint(np.linspace(x0, x1, n)).astype(int)
    ys = np.rint(np.linspace(y0, y1, n)).astype(int)
    h, w, _ = img.shape
    for dy in (0, 1):  # 2 px thick
        ok = (xs >= 0) & (xs < w) & (ys + dy >= 0) & (ys + dy < h)
        img[ys[ok] + dy, xs[ok]] = colour


def plot_curves(
    curves: Sequence[tuple[Sequence[float], Sequence[float]]],
    *,
    width: int = 800,
    height: int = 360,
    f_lo: float = 20.0,
    f_hi: float = 20000.0,
    db_range: float = 12.0,
) -> bytes:
    """PNG of gain curves ``(freqs_hz, gain_db)`` on a log-frequency axis, +-``db_range`` dB."""
    img = np.empty((height, width, 3), dtype=np.uint8)
    img[:] = BG
    lo, hi = np.log10(f_lo), np.log10(f_hi)
    for dec in (20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000):
        x = int(round((np.log10(dec) - lo) / (hi - lo) * (width - 1)))
        img[:, min(width - 1, max(0, x))] = GRID
    rng = max(db_range, max((float(np.max(np.abs(g))) for _, g in curves if len(g)), default=0))
    for db in np.arange(-rng, rng + 1e-9, 6.0):
        y = int(round((1 - (db + rng) / (2 * rng)) * (height - 1)))
        img[min(height - 1, max(0, y)), :] = ZERO if abs(db) < 1e-9 else GRID
    for i, (f, g) in enumerate(curves):
        fa = np.asarray(f, dtype=float)
        ga = np.asarray(g, dtype=float)
        ok = (fa >= f_lo) & (fa <= f_hi) & np.isfinite(ga)
        fa, ga = fa[ok], ga[ok]
        if len(fa) < 2:
            continue
        xs = (np.log10(fa) - lo) / (hi - lo) * (width - 1)
        ys = (1 - (np.clip(ga, -rng, rng) + rng) / (2 * rng)) * (height - 1)
        colour = COLOURS[i % len(COLOURS)]
        for j in range(len(xs) - 1):
            _line(img, xs[j], ys[j], xs[j + 1], ys[j + 1], colour)
    return encode_png(img)
