"""Geometry of what a classifier decides, computed here so the plot only has to draw it.

Kept free of Qt so the worker thread can prepare boundaries and region images off the GUI
thread, and so the maths can be tested without a display.
"""

import functools
from collections.abc import Sequence

import numpy as np

Rect = tuple[float, float, float, float]
"""(x0, y0, x1, y1) in data coordinates."""

_PARALLEL_TOL = 1e-12
_SHADES = 256  # levels of certainty a region image tells apart


def _clip_interval(alpha: np.ndarray, beta: np.ndarray) -> tuple[float, float] | None:
    """Intersect the constraints alpha*t + beta >= 0; None when nothing is left.

    Every clip (rect sides and "i, j beat class m") has this one form, so one routine
    handles them all. Constraints come with unit-length normals, so an absolute tolerance
    tells "parallel to the line" apart.
    """
    parallel = np.abs(alpha) <= _PARALLEL_TOL
    if np.any(beta[parallel] < 0):
        return None
    alpha, beta = alpha[~parallel], beta[~parallel]
    bounds = -beta / alpha
    lo = bounds[alpha > 0].max(initial=-np.inf)
    hi = bounds[alpha < 0].min(initial=np.inf)
    if not hi > lo:
        return None
    return float(lo), float(hi)


def separating_segments(
    W: np.ndarray, b: np.ndarray, rect: Rect
) -> list[tuple[int, int, np.ndarray]]:
    """Pieces of the linear model's decision boundary that are visible in ``rect``.

    For p = softmax(x @ W + b) the pairwise line between classes i and j only matters
    where i and j are the two best classes; elsewhere a third class wins and drawing it
    would show a boundary that does not exist. Returns (i, j, endpoints (2, 2)) per visible
    piece, i < j.
    """
    W = np.asarray(W, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if not (np.isfinite(W).all() and np.isfinite(b).all()):
        return []
    # Scaling W and b together moves no boundary, and keeps a diverging run's huge weights
    # from overflowing below.
    scale = max(float(np.abs(W).max(initial=0.0)), float(np.abs(b).max(initial=0.0)), 1e-300)
    W, b = W / scale, b / scale
    k = W.shape[1]
    x0, x1 = sorted((float(rect[0]), float(rect[2])))
    y0, y1 = sorted((float(rect[1]), float(rect[3])))
    centre = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
    w_scale = max(float(np.abs(W).max(initial=0.0)), 1e-300)

    segments: list[tuple[int, int, np.ndarray]] = []
    for i in range(k):
        for j in range(i + 1, k):
            normal = W[:, i] - W[:, j]
            norm2 = float(normal @ normal)
            if np.sqrt(norm2) <= _PARALLEL_TOL * w_scale:
                continue
            offset = b[i] - b[j]
            # Parametrise the line around the point nearest the rect centre so t stays small.
            origin = centre - (normal @ centre + offset) / norm2 * normal
            direction = np.array([-normal[1], normal[0]]) / np.sqrt(norm2)

            # Rect: x0 <= ox + t dx <= x1 and likewise for y.
            alpha = [direction[0], -direction[0], direction[1], -direction[1]]
            beta = [origin[0] - x0, x1 - origin[0], origin[1] - y0, y1 - origin[1]]
            # Class i (equal to j on the line) must score at least as high as every other m.
            for m in range(k):
                if m in (i, j):
                    continue
                diff = W[:, i] - W[:, m]
                length = max(float(np.hypot(*diff)), 1e-300)
                alpha.append(diff @ direction / length)
                beta.append((diff @ origin + b[i] - b[m]) / length)
            interval = _clip_interval(np.array(alpha), np.array(beta))
            if interval is None:
                continue
            ends = origin + np.outer(interval, direction)
            segments.append((i, j, ends))
    return segments


def _hex_to_rgb(colors: Sequence[str]) -> np.ndarray:
    return np.array(
        [[int(c.lstrip("#")[p : p + 2], 16) for p in (0, 2, 4)] for c in colors],
        dtype=np.float64,
    )


def region_image(probs: np.ndarray, colors: Sequence[str], alpha: float) -> np.ndarray:
    """RGBA image of which class wins where, fading to white where the model is unsure.

    ``probs`` is (ny, nx, k); the result is (ny, nx, 4) uint8 in the same layout, with the
    opacity ``alpha`` (0..1) everywhere so points drawn on top stay readable. Class c gets
    ``colors[c % len(colors)]``. How sure the model is comes in 256 steps, each a ready
    pixel in a lookup table: one gather instead of float maths per channel, ~2.5x faster.
    """
    probs = np.asarray(probs, dtype=np.float64)
    k = probs.shape[-1]
    winner = probs.argmax(axis=-1)
    if k > 1:
        p_max = np.take_along_axis(probs, winner[..., None], axis=-1)[..., 0]
        strength = (p_max - 1.0 / k) * (1.0 / (1.0 - 1.0 / k))
    else:
        strength = np.ones(winner.shape)
    shade = np.clip(strength * (_SHADES - 1) + 0.5, 0, _SHADES - 1).astype(np.intp)
    table = _pixel_table(tuple(colors), alpha)
    pixels = table[(winner % len(colors)) * _SHADES + shade]
    return pixels.view(np.uint8).reshape(*winner.shape, 4)


@functools.lru_cache(maxsize=8)
def _pixel_table(colors: tuple[str, ...], alpha: float) -> np.ndarray:
    """Every (colour, shade) pixel as one packed RGBA uint32, shade 0 white, the last pure."""
    fade = np.linspace(0.0, 1.0, _SHADES)[None, :, None]
    palette = _hex_to_rgb(colors)[:, None, :]
    table = np.empty((len(colors), _SHADES, 4), dtype=np.uint8)
    table[..., :3] = np.rint(255.0 - fade * (255.0 - palette))
    table[..., 3] = round(255 * min(max(alpha, 0.0), 1.0))
    return table.reshape(-1, 4).view(np.uint32).ravel()


def grid_points(rect: Rect, nx: int, ny: int) -> np.ndarray:
    """Cell centres of an nx-by-ny grid over ``rect``, row-major with row = y index.

    The order matches ``region_image``: evaluate the model here, reshape the
    probabilities to (ny, nx, k), and the image lines up with the rect.
    """
    x0, y0, x1, y1 = rect
    xs = x0 + (np.arange(nx) + 0.5) * ((x1 - x0) / nx)
    ys = y0 + (np.arange(ny) + 0.5) * ((y1 - y0) / ny)
    gx, gy = np.meshgrid(xs, ys)
    return np.column_stack((gx.ravel(), gy.ravel()))


# The square's edges as pairs of its corners (0 bottom-left, 1 bottom-right, 2 top-right,
# 3 top-left): bottom, right, top, left.
_EDGES = ((0, 1), (1, 2), (3, 2), (0, 3))


def contour_segments(field: np.ndarray, rect: Rect, level: float = 0.0) -> np.ndarray:
    """Where `field` crosses `level`, as line segments (M, 2, 2) in data coordinates.

    `field` (ny, nx) holds values at the cell centres of ``grid_points(rect, nx, ny)``.
    Marching squares: each square of four neighbouring samples that the level crosses gets
    a segment between the crossings on its edges, placed by linear interpolation; a saddle
    (crossings on all four edges) is split as its centre's value says.
    """
    field = np.asarray(field, dtype=np.float64) - level
    ny, nx = field.shape
    if nx < 2 or ny < 2:
        return np.empty((0, 2, 2))
    x0, y0, x1, y1 = rect
    dx, dy = (x1 - x0) / nx, (y1 - y0) / ny
    # Only the squares the level crosses (a few hundred of 9,000 on the app's grid): those
    # whose corners are not all on one side. Row-major, as the grid.
    side = field > 0
    iy, ix = np.nonzero(
        (side[:-1, :-1] != side[:-1, 1:])
        | (side[:-1, 1:] != side[1:, 1:])
        | (side[1:, 1:] != side[1:, :-1])
    )
    corners = np.stack([field[iy, ix], field[iy, ix + 1], field[iy + 1, ix + 1], field[iy + 1, ix]])
    xs, ys = x0 + (ix + 0.5) * dx, y0 + (iy + 0.5) * dy
    corner_x = np.stack([xs, xs + dx, xs + dx, xs])
    corner_y = np.stack([ys, ys, ys + dy, ys + dy])
    above = corners > 0
    crossed, points = [], []
    for start, end in _EDGES:
        crossed.append(above[start] != above[end])
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.clip(corners[start] / (corners[start] - corners[end]), 0.0, 1.0)
        points.append(np.stack([
            corner_x[start] + t * (corner_x[end] - corner_x[start]),
            corner_y[start] + t * (corner_y[end] - corner_y[start]),
        ], axis=-1))
    crossed, points = np.stack(crossed), np.stack(points)  # (4, m), (4, m, 2)
    count = crossed.sum(axis=0)
    pairs = np.argsort(~crossed, axis=0, kind="stable")[:2]  # the first two crossed edges
    two = count == 2
    segments = [np.stack([np.take_along_axis(points, pairs[k][None, :, None], 0)[0][two]
                          for k in (0, 1)], axis=1)]
    four = count == 4
    if four.any():
        centre_above = (corners.mean(axis=0) > 0)[four]
        corner_above = above[0][four]
        edge = points[:, four]  # (4, m, 2): bottom, right, top, left
        # With the centre on the bottom-left corner's side, that corner joins the top-right
        # one, and the level cuts off the other two: bottom-right, then top-left.
        joined = (centre_above == corner_above)[:, None]
        segments += [
            np.stack([edge[0], np.where(joined, edge[1], edge[3])], axis=1),
            np.stack([edge[2], np.where(joined, edge[3], edge[1])], axis=1),
        ]
    return np.concatenate(segments)


def decision_contour(probabilities: np.ndarray, rect: Rect) -> np.ndarray:
    """Segments (M, 2, 2) where the most likely class changes, over a (ny, nx, k) grid."""
    k = probabilities.shape[-1]
    if k == 2:
        return contour_segments(probabilities[..., 1] - probabilities[..., 0], rect)
    pieces = []
    for c in range(k):
        others = np.delete(probabilities, c, axis=-1).max(axis=-1)
        pieces.append(contour_segments(probabilities[..., c] - others, rect))
    return np.concatenate(pieces)
