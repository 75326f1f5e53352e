"""Shared numpy helpers: buffered outputs, broadcasting-aware sums.

The ops' forward passes and gradients call these every step, so each takes the cheapest
numpy route on small arrays, where the per-call cost of numpy outweighs the arithmetic.
"""

from __future__ import annotations

from typing import Any

import numpy as np

# Results with fewer elements than this are not kept as buffers: numpy allocates them
# faster than an op can check that a kept buffer still fits.
_BUFFER_MIN_SIZE = 4096


def reusable_buffer(result: Any) -> np.ndarray | None:
    """`result` if it is large enough to be worth reusing as the next run's output buffer."""
    return result if type(result) is np.ndarray and result.size >= _BUFFER_MIN_SIZE else None


def shape_of(value: Any) -> tuple[int, ...]:
    """np.shape without its per-call cost for arrays."""
    return value.shape if type(value) is np.ndarray else np.shape(value)


def fast_sum(a: Any, axis: int | tuple[int, ...] | None, keepdims: bool = False) -> Any:
    """np.add.reduce, but float sums of 1-D arrays and 2-D arrays along one axis use BLAS.

    numpy's reduction machinery costs microseconds on short rows (an (N, 2) row sum is
    2-3 times slower than the arithmetic around it); a product with a ones vector is not.
    """
    if type(a) is np.ndarray and a.dtype.kind == "f":
        ndim = a.ndim
        if ndim == 2:
            if axis == 1 or axis == -1:
                result = a.dot(ones_vector(a.shape[1], a.dtype))
                return result[:, None] if keepdims else result
            if axis == 0 or axis == -2:
                result = ones_vector(a.shape[0], a.dtype).dot(a)
                return result[None, :] if keepdims else result
        elif ndim == 1 and not keepdims and (axis is None or axis == 0 or axis == -1):
            return a.dot(ones_vector(a.shape[0], a.dtype))
    return np.add.reduce(a, axis=axis, keepdims=keepdims)


_ONES: dict[tuple[int, np.dtype], np.ndarray] = {}


def ones_vector(n: int, dtype: np.dtype) -> np.ndarray:
    """A read-only vector of n ones, made once per length and dtype."""
    try:
        return _ONES[n, dtype]
    except KeyError:
        ones = _ONES[n, dtype] = np.ones(n, dtype)
        ones.flags.writeable = False
        return ones


def row_max(a: np.ndarray) -> np.ndarray:
    """Maximum over the last axis, keeping it; column by column when rows are short."""
    if a.ndim == 2:
        k = a.shape[1]
        if 1 < k <= 8:
            result = np.maximum(a[:, 0], a[:, 1])
            if k > 2:
                for j in range(2, k):
                    np.maximum(result, a[:, j], out=result)
            return result[:, None]
    return np.maximum.reduce(a, axis=-1, keepdims=True)


def unbroadcast(grad: Any, shape: tuple[int, ...]) -> Any:
    """Sum `grad` down to `shape`, undoing numpy broadcasting of an input of that shape."""
    if shape_of(grad) == shape:
        return grad
    grad = np.asarray(grad)
    extra = grad.ndim - len(shape)
    if extra:
        grad = fast_sum(grad, 0) if extra == 1 else grad.sum(axis=tuple(range(extra)))
        if grad.shape == shape:
            return grad
    kept = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if kept:
        grad = grad.sum(axis=kept, keepdims=True)
    return grad


def exp_shifted(logits: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(e^(z - max z), its row sums, z - max z) over the last axis: the stable softmax parts."""
    z = logits
    if type(z) is not np.ndarray or z.dtype.kind != "f":
        z = np.asarray(z, dtype=np.float64)
    shifted = z - row_max(z)
    e = np.exp(shifted)
    return e, fast_sum(e, -1, keepdims=True), shifted


_SMALLEST_NORMAL = {
    np.dtype(t): float(np.finfo(t).tiny) for t in (np.float16, np.float32, np.float64)
}


def smallest_normal(value: Any) -> float:
    """The smallest normal float of `value`'s dtype (float64's for anything else)."""
    return _SMALLEST_NORMAL.get(
        getattr(value, "dtype", None), _SMALLEST_NORMAL[np.dtype(np.float64)]
    )
