"""How the app shows a node's value or gradient as text: in full when it is small enough to
read, else by its size (norm), range and mean, which is what tells training's story.

Every function takes an array, a plain number or a 0-d array; None (no value yet, or no
gradient) is shown as NOTHING. NaN and ±inf, the marks of a diverging run, are counted
apart so that the statistics of the other entries stay readable.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

SMALL = 8  # the most rows, columns or vector entries shown in full
SHORT_ENTRIES = 4  # the most vector entries a graph label lists
NOTHING = "—"  # no value, or no gradient


def shape_text(shape: tuple[int, ...]) -> str:
    """'scalar', '8' or '2×8': a shape as a teacher says it."""
    return "×".join(map(str, shape)) if shape else "scalar"


def number_text(value: float) -> str:
    """4 significant digits: '0.6931', '-12.35', '1.235e+04', 'nan', 'inf'."""
    return f"{value:.4g}"


def matrix_text(a: ArrayLike | None) -> str | None:
    """Every entry of a number, a vector of up to 8 entries or a matrix of up to 8×8, in
    right-aligned columns (a vector on one row); None when it is too big to read."""
    if a is None:
        return None
    values = _values(a)
    if values.ndim > 2 or any(n > SMALL for n in values.shape):
        return None
    if values.ndim == 0:
        return number_text(values.item())
    if values.size == 0:
        return "[]"
    cells = [[number_text(v) for v in row] for row in np.atleast_2d(values)]
    widths = [max(len(cell) for cell in column) for column in zip(*cells, strict=True)]
    return "\n".join(
        "  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True)) for row in cells
    )


@dataclass(frozen=True)
class ArrayStats:
    """Shape and summary of an array. norm (Frobenius), min, max and mean are over its
    finite entries (NaN when there are none; the norm is then 0); nan and inf count the
    others (inf counts -inf too)."""

    shape: tuple[int, ...]
    norm: float
    min: float
    max: float
    mean: float
    nan: int = 0
    inf: int = 0


def array_stats(a: ArrayLike) -> ArrayStats:
    """The shape, norm, range and mean of a value or gradient, NaN and inf set apart."""
    values = _values(a)
    finite = values[np.isfinite(values)]
    nan = int(np.isnan(values).sum())
    inf = values.size - finite.size - nan
    if finite.size == 0:
        return ArrayStats(values.shape, 0.0, math.nan, math.nan, math.nan, nan, inf)
    # In units of the largest entry, so that huge (diverged) values don't overflow to inf.
    largest = float(np.abs(finite).max()) or 1.0
    scaled = finite / largest
    norm = largest * float(np.sqrt(np.sum(scaled**2)))
    mean = largest * float(scaled.mean())
    return ArrayStats(values.shape, norm, float(finite.min()), float(finite.max()), mean, nan, inf)


def histogram(a: ArrayLike, bins: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """(counts, edges) of the finite entries, so NaN and ±inf are left out (array_stats
    counts them). A constant array gets a range around its value and an empty one 0 to 1,
    so that there are always `bins` bins of increasing edges to draw."""
    if bins < 1:
        raise ValueError(f"a histogram needs at least one bin, not {bins}")
    finite = _values(a).ravel()
    finite = finite[np.isfinite(finite)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if low == high:
        half = 0.5 * max(1.0, abs(low))
        low, high = max(low - half, -sys.float_info.max), min(high + half, sys.float_info.max)
    t = np.linspace(0.0, 1.0, bins + 1)
    edges = low * (1 - t) + high * t  # not low + (high - low) * t, which can overflow
    counts, _ = np.histogram(finite, bins=edges)
    return counts, edges


def short_text(a: ArrayLike | None) -> str:
    """One line for a graph label: '0.6931', '[0.12, -0.5]', else '‖·‖ 3.21 (2×8)'."""
    if a is None:
        return NOTHING
    values = _values(a)
    if values.ndim == 0:
        return number_text(values.item())
    if values.ndim == 1 and values.size <= SHORT_ENTRIES:
        return "[" + ", ".join(number_text(v) for v in values) + "]"
    stats = array_stats(values)
    text = f"‖·‖ {number_text(stats.norm)} ({shape_text(stats.shape)})"
    return ", ".join(filter(None, [text, _non_finite(stats)]))


def describe(a: ArrayLike | None) -> str:
    """Several lines: every entry when small, else the shape, norm, min, max and mean."""
    if a is None:
        return NOTHING
    full = matrix_text(a)
    if full is not None:
        return full
    stats = array_stats(a)
    lines = [f"shape {shape_text(stats.shape)}"]
    size = math.prod(stats.shape)
    if stats.nan + stats.inf < size:
        named = [("‖·‖", stats.norm), ("min", stats.min), ("max", stats.max), ("mean", stats.mean)]
        lines += [f"{label} {number_text(value)}" for label, value in named]
    if not size:
        lines.append("empty")
    return "\n".join(filter(None, [*lines, _non_finite(stats)]))


def _values(a: ArrayLike) -> np.ndarray:
    """As float64, so float32 gradients neither overflow nor print 8 digits of noise."""
    return np.asarray(a, dtype=np.float64)


def _non_finite(stats: ArrayStats) -> str:
    """'3 NaN, 1 inf', or '' when every entry is finite."""
    parts = [f"{n} {label}" for n, label in [(stats.nan, "NaN"), (stats.inf, "inf")] if n]
    return ", ".join(parts)
