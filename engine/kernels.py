"""Shared numpy helpers: broadcasting-aware sums, the stable softmax's parts, gradient sums.

The ops' forward passes and gradients call these every step, so each takes the cheapest
numpy route on small arrays, where the per-call cost of numpy outweighs the arithmetic, and
writes into a caller's buffer (`out`) when given one, so that big steps allocate nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

# From this many rows on, numpy's broadcasting of one value per row (or of one row) over
# short rows costs more than the arithmetic: numpy loops over the rows one at a time.
MANY_ROWS = 256
# Up to this many columns (classes), a column at a time (`Columns`) beats broadcasting one
# value per row at every batch size.
FEW_COLUMNS = 4
# A dense layer this narrow (its input and output widths) keeps its values of MANY_ROWS rows
# or more column by column (Fortran order): BLAS multiplies a long, narrow matrix up to
# twice as fast when its long side is contiguous, and elementwise work runs down contiguous
# columns.
NARROW = 8


def as_float(value: Any) -> np.ndarray:
    """`value` if it is a float array, else it as a float64 array."""
    if type(value) is np.ndarray and value.dtype.kind == "f":
        return value
    return np.asarray(value, dtype=np.float64)


def shape_of(value: Any) -> tuple[int, ...]:
    """np.shape without its per-call cost for arrays."""
    return value.shape if type(value) is np.ndarray else np.shape(value)


def fast_sum(a: Any, axis: int | tuple[int, ...] | None, out: np.ndarray | None = None) -> Any:
    """np.add.reduce, but float sums of 1-D arrays and 2-D arrays along one axis use BLAS.

    numpy's reduction machinery costs microseconds on short rows (an (N, 2) row sum is
    2-3 times slower than the arithmetic around it); a product with a ones vector is not.
    """
    if type(a) is np.ndarray and a.dtype.kind == "f":
        ndim = a.ndim
        if ndim == 2:
            if axis == 1 or axis == -1:
                return a.dot(ones_vector(a.shape[1], a.dtype), out)
            if axis == 0 or axis == -2:
                return ones_vector(a.shape[0], a.dtype).dot(a, out)
        elif ndim == 1 and (axis is None or axis == 0 or axis == -1):
            return a.dot(ones_vector(a.shape[0], a.dtype))
    return np.add.reduce(a, axis=axis, out=out)


def row_sums(a: Any, out: np.ndarray | None = None) -> Any:
    """Sums over the last axis, kept as an axis of length 1 (for broadcasting back)."""
    if type(a) is np.ndarray and a.ndim == 2 and a.dtype.kind == "f":
        column = out[:, 0] if out is not None else None
        return a.dot(ones_vector(a.shape[1], a.dtype), column)[:, None]
    return np.add.reduce(a, axis=-1, keepdims=True, out=out)


def column_major(rows: int, *widths: int) -> bool:
    """Whether a layer's values of `rows` rows are best kept column by column: when they are
    many and the layer is narrow, its input and output widths up to NARROW. (A narrow output
    of a wide input does better row-major: a product between orders costs more.)"""
    return rows >= MANY_ROWS and max(widths) <= NARROW


def in_layer_order(a: Any) -> np.ndarray:
    """`a` (data, a row per point) as an array in the order a narrow layer over as many rows
    keeps its values (`column_major`).

    Data fed in that order (points' features and targets) meet the layers' values in one
    order: products and elementwise work then skip BLAS's slow paths and numpy's buffering.
    """
    a = np.asarray(a)
    if a.ndim == 2 and column_major(*a.shape):
        return np.asfortranarray(a)
    return np.ascontiguousarray(a)


def in_columns(a: np.ndarray) -> bool:
    """Whether a 2-D array is column-major only (its transpose C-contiguous, not itself)."""
    flags = a.flags
    return flags.f_contiguous and not flags.c_contiguous


def sum_of_products(a: Any, b: Any) -> Any:
    """Σ a · b over two arrays of one shape. vdot flattens in C order, which copies a
    column-major array: two of them go in transposed, a mix of orders a column at a time."""
    if type(a) is np.ndarray and type(b) is np.ndarray and a.ndim == b.ndim == 2:
        a_columns, b_columns = in_columns(a), in_columns(b)
        if a_columns and b_columns:
            return np.vdot(a.T, b.T)
        if a_columns or b_columns:
            return sum(a[:, j].dot(b[:, j]) for j in range(a.shape[1]))
    return np.vdot(a, b)


_ONES: dict[tuple[int, np.dtype], np.ndarray] = {}


def ones_vector(n: int, dtype: np.dtype) -> np.ndarray:
    """A read-only vector of n ones, made once per length and dtype."""
    try:
        return _ONES[n, dtype]
    except KeyError:
        ones = _ONES[n, dtype] = np.ones(n, dtype)
        ones.flags.writeable = False
        return ones


def by_rows(ufunc: np.ufunc, a: np.ndarray, column: np.ndarray, out=None) -> np.ndarray:
    """ufunc(a, column) for a 2-D `a` and one value per row (`column`, shape (N, 1)).

    Many short rows (a softmax's over 2 classes) go a column at a time: 3x faster.
    """
    if (
        a.ndim == 2
        and a.shape[0] >= MANY_ROWS
        and a.shape[1] <= 4
        and column.shape == (a.shape[0], 1)
    ):
        if out is None:
            out = np.empty_like(a, np.result_type(a, column))  # in a's order
        values = column[:, 0]
        for j in range(a.shape[1]):
            ufunc(a[:, j], values, out=out[:, j])
        return out
    return ufunc(a, column, out=out)


class Columns:
    """Views of the columns of a 2-D array, made again only when it is another array.

    A kernel that gets the same array run after run (an op's output buffer) then works a
    column at a time without numpy's slicing cost every step.
    """

    def __init__(self) -> None:
        self.array: np.ndarray | None = None  # the array the views are of
        self._views: list[np.ndarray] = []

    def of(self, a: np.ndarray) -> list[np.ndarray]:
        if a is not self.array:
            self.array, self._views = a, [a[:, j] for j in range(a.shape[1])]
        return self._views


def subtracter(d: np.ndarray) -> Callable[[np.ndarray], None]:
    """A function doing d -= a in place, for arrays `a` of d's shape (a batch's labels, say).

    An `a` laid out in memory as d is (both C- or both F-contiguous) goes in one call, up to
    4x faster than a column at a time; across orders numpy would buffer, allocating, and
    take up to 7x as long, so such an `a` goes a column at a time.
    """
    d_in_columns, d_columns, a_columns = in_columns(d), Columns().of(d), Columns()

    def subtract(a: np.ndarray) -> None:
        flags = a.flags
        if flags.f_contiguous if d_in_columns else flags.c_contiguous:
            np.subtract(d, a, out=d)
            return
        for into, column in zip(d_columns, a_columns.of(a), strict=True):
            np.subtract(into, column, out=into)

    return subtract


def row_adder(z: np.ndarray) -> Callable[[np.ndarray], Any]:
    """A function adding a row (a layer's bias) to every row of the 2-D array `z`, in place.

    Narrow rows get a column at a time; wide ones, when there are many, a block of rows
    at a time, against the row tiled over a block (made by a product with a ones column):
    2-5x faster than numpy's broadcasting, which adds to one row at a time. A column-major
    `z` gets the broadcasting, which then runs down its contiguous columns.
    """
    rows, width = z.shape
    if rows < MANY_ROWS or in_columns(z):  # column-major: numpy adds along its columns
        return partial(np.add, z, out=z)
    if width <= 4:
        columns = [z[:, j] for j in range(width)]

        def add_by_columns(row: np.ndarray) -> None:
            for j, column in enumerate(columns):
                np.add(column, row[j], out=column)

        return add_by_columns
    block = min(rows, max(1, 8192 // width))
    tile, ones = np.empty((block, width), z.dtype), np.ones((block, 1), z.dtype)
    flat, tiled = z.reshape(-1), tile.reshape(-1)
    whole = rows // block * block * width
    blocks, rest = flat[:whole].reshape(-1, block * width), flat[whole:]
    rest_tiled = tiled[: rest.size]

    def add_by_blocks(row: np.ndarray) -> None:
        np.dot(ones, row.reshape(1, width), out=tile)
        np.add(blocks, tiled, out=blocks)
        np.add(rest, rest_tiled, out=rest)

    return add_by_blocks


def row_max(a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Maximum over the last axis, keeping it; column by column when rows are short."""
    if a.ndim == 2:
        k = a.shape[1]
        if 1 < k <= 8:
            result = np.maximum(a[:, 0], a[:, 1], out=None if out is None else out[:, 0])
            for j in range(2, k):
                np.maximum(result, a[:, j], out=result)
            return result[:, None]
    return np.maximum.reduce(a, axis=-1, keepdims=True, out=out)


def unbroadcast(grad: Any, shape: tuple[int, ...], out: np.ndarray | None = None) -> Any:
    """Sum `grad` down to `shape`, undoing numpy broadcasting of an input of that shape.

    `grad` itself when nothing was broadcast; a bias's column sums go into `out` if given.
    """
    if shape_of(grad) == shape:
        return grad
    grad = np.asarray(grad)
    extra = grad.ndim - len(shape)
    if extra == 1 and grad.shape[1:] == shape:
        return fast_sum(grad, 0, out)
    if extra:
        leading = tuple(range(extra))
        if grad.shape[extra:] == shape and out is not None and out.shape == shape:
            return np.add.reduce(grad, axis=leading, out=out)
        grad = grad.sum(axis=leading)
        if grad.shape == shape:
            return grad
    kept = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if kept:
        grad = grad.sum(axis=kept, keepdims=True)
    return grad


def exp_shifted(
    logits: Any, e: np.ndarray | None = None, shifted: np.ndarray | None = None, rows=None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(e^(z - max z), its row sums, z - max z) over the last axis: the stable softmax parts.

    Written into `e`, `shifted` and `rows` (one value per row, an axis of length 1) if given.
    """
    z = as_float(logits)
    shifted = by_rows(np.subtract, z, row_max(z, rows), out=shifted)
    e = np.exp(shifted, out=e)
    return e, row_sums(e, rows), shifted


_SMALLEST_NORMAL = {
    np.dtype(t): float(np.finfo(t).tiny) for t in (np.float16, np.float32, np.float64)
}


def smallest_normal(value: Any) -> float:
    """The smallest normal float of `value`'s dtype (float64's for anything else)."""
    return _SMALLEST_NORMAL.get(
        getattr(value, "dtype", None), _SMALLEST_NORMAL[np.dtype(np.float64)]
    )


def one_like(value: Any) -> Any:
    """The gradient of a value with respect to itself: ones, in its dtype."""
    if type(value) is np.ndarray:
        return np.ones_like(value)
    if isinstance(value, np.generic):
        return value.dtype.type(1)
    return 1.0


def accumulate(total: Any, value: Any, out: np.ndarray | None) -> Any:
    """total + value, into `out` when it fits (a buffer kept for this sum), else a new array."""
    if out is not None and type(total) is np.ndarray and total.shape == out.shape:
        try:
            return np.add(total, value, out=out)
        except (ValueError, TypeError):
            pass
    return total + value
