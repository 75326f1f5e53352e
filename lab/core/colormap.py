"""Colours for values (regression targets and predictions, a unit's activation): orange for
low, white in the middle, blue for high, as TensorFlow Playground shows them, in the same
colour-blind-safe pair as the classes."""

from __future__ import annotations

import functools

import numpy as np

LOW, MIDDLE, HIGH = "#D55E00", "#F7F7F7", "#0072B2"
SHADES = 256  # colours an image tells apart
DOT_SHADES = 11  # colours the points come in (each is drawn from one stamp)


def _rgb(color: str) -> np.ndarray:
    return np.array([int(color[i : i + 2], 16) for i in (1, 3, 5)], dtype=np.float64)


@functools.lru_cache(maxsize=4)
def value_palette(shades: int) -> np.ndarray:
    """(shades, 3) uint8 colours from LOW through MIDDLE to HIGH."""
    t = np.linspace(-1.0, 1.0, shades)[:, None]
    low, middle, high = _rgb(LOW), _rgb(MIDDLE), _rgb(HIGH)
    colors = np.where(t < 0, middle + (middle - low) * t, middle + (high - middle) * t)
    return np.rint(colors).astype(np.uint8)


def value_limits(values: np.ndarray) -> tuple[float, float]:
    """The range the colours span: the values', widened to be symmetric around 0 (so white
    means 0), and at least -1 to 1."""
    finite = values[np.isfinite(values)]
    largest = float(np.abs(finite).max(initial=0.0))
    return -max(largest, 1.0), max(largest, 1.0)


def value_shades(values: np.ndarray, limits: tuple[float, float], shades: int) -> np.ndarray:
    """Which of `shades` colours each value gets (values outside the limits get the ends)."""
    low, high = limits
    scaled = (np.asarray(values, dtype=np.float64) - low) / (high - low)
    return np.clip(np.rint(np.nan_to_num(scaled, nan=0.5) * (shades - 1)), 0, shades - 1
                   ).astype(np.intp)


def value_image(values: np.ndarray, limits: tuple[float, float], alpha: float) -> np.ndarray:
    """RGBA image (ny, nx, 4) uint8 of a (ny, nx) grid of values, at opacity `alpha`."""
    pixels = np.empty((*values.shape, 4), dtype=np.uint8)
    pixels[..., :3] = value_palette(SHADES)[value_shades(values, limits, SHADES)]
    pixels[..., 3] = round(255 * min(max(alpha, 0.0), 1.0))
    return pixels


def hex_color(rgb: np.ndarray) -> str:
    return "#" + "".join(f"{int(c):02x}" for c in rgb)
