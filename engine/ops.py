"""Operations: each one's forward (`compute`) and its gradient side by side.

Class names are the tutorial's op names (`add`, `matmul`, ...): calling the class builds the
node, and the gradient registry is keyed by that name. Importing this module also installs
the arithmetic operators on `Node` (`a + b` is `add(a, b)`), as TensorFlow 1's math ops did.

Forward passes take an `out` array and gradients an `out` per input: a session's prepared
program (engine.plans) passes buffers kept from the first run, so that a training step
allocates nothing big; alone, each allocates its result as numpy does. On small data the
per-call cost of numpy dominates: Python-level helpers (np.shape, np.reshape, np.mean) and
the matmul ufunc cost twice what array attributes, methods and `dot` do, so hot paths use
those, and the helpers the ops share are in `engine.kernels`.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from engine.gradients import RegisterGradient, register_fused_gradient
from engine.graph import Node, Operation
from engine.kernels import (
    as_float,
    by_rows,
    exp_shifted,
    fast_sum,
    row_sums,
    shape_of,
    smallest_normal,
    sum_of_products,
    unbroadcast,
)

Buffers = tuple[np.ndarray | None, ...]
NO_BUFFERS: Buffers = (None, None)


def _shape_error(op: Operation, what: str, *values: Any) -> ValueError:
    shapes = " and ".join(str(np.shape(v)) for v in values)
    return ValueError(f"{op!r}: cannot {what} shapes {shapes}")


class _Unary(Operation):
    """An op of one input."""

    def __init__(self, a: Any, name: str | None = None):
        super().__init__([a], name)


class _Elementwise(Operation):
    """A binary ufunc with numpy broadcasting."""

    ufunc: ClassVar[np.ufunc]
    verb: ClassVar[str]

    def __init__(self, a: Any, b: Any, name: str | None = None):
        super().__init__([a, b], name)

    def compute(self, a_value: Any, b_value: Any, out: np.ndarray | None = None) -> Any:
        try:
            return self.ufunc(a_value, b_value, out=out)
        except ValueError:
            raise _shape_error(self, self.verb, a_value, b_value) from None


class add(_Elementwise):
    """a + b, with numpy broadcasting."""

    ufunc = np.add
    verb = "add"


@RegisterGradient("add")
def _add_gradient(op: add, grad: Any, needed=(True, True), out: Buffers = NO_BUFFERS) -> list:
    a, b = op.inputs
    return [
        unbroadcast(grad, shape_of(a), out[0]) if needed[0] else None,
        unbroadcast(grad, shape_of(b), out[1]) if needed[1] else None,
    ]


class subtract(_Elementwise):
    """a - b, with numpy broadcasting."""

    ufunc = np.subtract
    verb = "subtract"


@RegisterGradient("subtract")
def _subtract_gradient(
    op: subtract, grad: Any, needed=(True, True), out: Buffers = NO_BUFFERS
) -> list[Any]:
    a, b = op.inputs
    return [
        unbroadcast(grad, shape_of(a), out[0]) if needed[0] else None,
        np.negative(unbroadcast(grad, shape_of(b)), out=out[1]) if needed[1] else None,
    ]


class multiply(_Elementwise):
    """Element-wise a * b, with numpy broadcasting."""

    ufunc = np.multiply
    verb = "multiply"


@RegisterGradient("multiply")
def _multiply_gradient(
    op: multiply, grad: Any, needed=(True, True), out: Buffers = NO_BUFFERS
) -> list[Any]:
    a, b = op.inputs
    return [
        _product_gradient(grad, b, shape_of(a), out[0]) if needed[0] else None,
        _product_gradient(grad, a, shape_of(b), out[1]) if needed[1] else None,
    ]


def _product_gradient(grad: Any, other: Any, shape: tuple[int, ...], out) -> Any:
    """grad · other, summed down to `shape` where numpy broadcast the input."""
    if shape_of(grad) == shape:
        return np.multiply(grad, other, out=out)
    return unbroadcast(grad * other, shape, out)


class matmul(Operation):
    """Matrix product a @ b."""

    def __init__(self, a: Any, b: Any, name: str | None = None):
        super().__init__([a, b], name)

    def compute(self, a_value: Any, b_value: Any, out: np.ndarray | None = None) -> Any:
        if (
            type(a_value) is np.ndarray
            and type(b_value) is np.ndarray
            and a_value.ndim == 2
            and b_value.ndim == 2
            and a_value.shape[1] == b_value.shape[0]
        ):
            return a_value.dot(b_value, out)  # for matrices, matmul at half the per-call cost
        try:
            return np.matmul(a_value, b_value, out=out)
        except ValueError:
            raise _shape_error(self, "matmul", a_value, b_value) from None


@RegisterGradient("matmul")
def _matmul_gradient(
    op: matmul, grad: Any, needed=(True, True), out: Buffers = NO_BUFFERS
) -> list[Any]:
    a, b = op.inputs
    if (
        type(a) is np.ndarray
        and type(b) is np.ndarray
        and type(grad) is np.ndarray
        and a.ndim == 2
        and b.ndim == 2
    ):
        return [
            grad.dot(b.T, out[0]) if needed[0] else None,
            a.T.dot(grad, out[1]) if needed[1] else None,
        ]
    return _matmul_gradient_general(np.asarray(a), np.asarray(b), np.asarray(grad), needed)


def _matmul_gradient_general(
    a: np.ndarray, b: np.ndarray, grad: np.ndarray, needed: tuple[bool, ...]
) -> list[Any]:
    """Vectors and stacks of matrices.

    A vector acts as a row (a) or a column (b) that matmul drops from the result; stacks
    broadcast, so their gradients are summed back down to each input's shape.
    """
    a2 = a[None, :] if a.ndim == 1 else a
    b2 = b[:, None] if b.ndim == 1 else b
    g2 = np.expand_dims(grad, tuple(axis for axis, v in ((-2, a), (-1, b)) if v.ndim == 1))
    return [
        unbroadcast(g2 @ b2.swapaxes(-1, -2), a2.shape).reshape(a.shape) if needed[0] else None,
        unbroadcast(a2.swapaxes(-1, -2) @ g2, b2.shape).reshape(b.shape) if needed[1] else None,
    ]


class negative(_Unary):
    """-a."""

    def compute(self, a_value: Any, out: np.ndarray | None = None) -> Any:
        return -a_value if out is None else np.negative(a_value, out=out)


@RegisterGradient("negative")
def _negative_gradient(op: negative, grad: Any, out: np.ndarray | None = None) -> Any:
    return -grad if out is None else np.negative(grad, out=out)


class square(_Unary):
    """a²."""

    def compute(self, a_value: Any, out: np.ndarray | None = None) -> Any:
        return np.square(a_value, out=out)


@RegisterGradient("square")
def _square_gradient(op: square, grad: Any, out: np.ndarray | None = None) -> Any:
    result = np.multiply(grad, 2, out=out)
    result *= op.inputs[0]
    return result


class exp(_Unary):
    """e to the a."""

    def compute(self, a_value: Any, out: np.ndarray | None = None) -> Any:
        return np.exp(a_value, out=out)


@RegisterGradient("exp")
def _exp_gradient(op: exp, grad: Any, out: np.ndarray | None = None) -> Any:
    return np.multiply(grad, op.output, out=out)


class log(_Unary):
    """Natural log; inputs are clamped at the smallest normal float so log(0) stays finite.

    The log of a softmax is the log-softmax the softmax computed from its logits, so it
    stays exact where the probabilities underflow.
    """

    def __init__(self, a: Any, name: str | None = None):
        super().__init__(a, name)
        source = self.input_nodes[0]
        self._softmax = source if isinstance(source, softmax) else None
        if self._softmax is not None:
            self._softmax._feeds_log = True

    def compute(self, a_value: Any, out: np.ndarray | None = None) -> Any:
        if self._softmax is not None:
            parts = self._softmax._log_parts
            if parts is not None and parts[0] is a_value:
                return parts[1]
        return np.log(np.maximum(a_value, smallest_normal(a_value), out=out), out=out)


@RegisterGradient("log")
def _log_gradient(op: log, grad: Any, out: np.ndarray | None = None) -> Any:
    x = op.inputs[0]
    return np.divide(grad, np.maximum(x, smallest_normal(x), out=out), out=out)


class sigmoid(_Unary):
    """1 / (1 + e^-a), computed without overflow for large |a|."""

    def compute(self, a_value: Any, out: np.ndarray | None = None) -> Any:
        # sigmoid(a) = (1 + tanh(a/2)) / 2 never overflows and needs no branches.
        result = np.tanh(np.multiply(a_value, 0.5, out=out), out=out)
        result += 1
        result *= 0.5
        return result


@RegisterGradient("sigmoid")
def _sigmoid_gradient(op: sigmoid, grad: Any, out: np.ndarray | None = None) -> Any:
    s = op.output
    result = np.subtract(1, s, out=out)
    result *= s
    result *= grad
    return result


class tanh(_Unary):
    """Hyperbolic tangent."""

    def compute(self, a_value: Any, out: np.ndarray | None = None) -> Any:
        return np.tanh(a_value, out=out)


@RegisterGradient("tanh")
def _tanh_gradient(op: tanh, grad: Any, out: np.ndarray | None = None) -> Any:
    t = op.output
    result = np.multiply(t, t, out=out)
    np.subtract(1, result, out=result)
    result *= grad
    return result


class relu(_Unary):
    """max(a, 0)."""

    def compute(self, a_value: Any, out: np.ndarray | None = None) -> Any:
        return np.maximum(a_value, 0, out=out)


@RegisterGradient("relu")
def _relu_gradient(op: relu, grad: Any, out: np.ndarray | None = None) -> Any:
    """grad where the unit is active: read from the output, which a layer computes in place."""
    active = np.greater(op.output, 0, out=out)  # into a float buffer: 1.0 or 0.0
    return np.multiply(grad, active, out=out)


class abs(_Unary):  # named as TensorFlow names it (tf.abs)
    """|a|, e.g. for an L1 penalty."""

    def compute(self, a_value: Any, out: np.ndarray | None = None) -> Any:
        return np.absolute(a_value, out=out)


@RegisterGradient("abs")
def _abs_gradient(op: abs, grad: Any, out: np.ndarray | None = None) -> Any:
    # 0 at 0: a subgradient, as TensorFlow takes
    return np.multiply(grad, np.sign(op.inputs[0], out=out), out=out)


class _RowWise(_Unary):
    """An op over the last axis that keeps its working arrays between runs, for the last few
    shapes it met (the full batch, a last short batch, the points to classify, ...)."""

    _works: dict[tuple[Any, ...], tuple[np.ndarray, ...]] | None = None

    def _workspace(self, like: np.ndarray, count: int, rows: int = 1) -> tuple[np.ndarray, ...]:
        """`count` arrays shaped like `like`, then `rows` with one value per row (an axis of
        length 1)."""
        works = self._works
        if works is None:
            works = self._works = {}
        key = (like.shape, like.dtype)
        work = works.get(key)
        if work is None:
            if len(works) >= 4:
                del works[next(iter(works))]
            row_shape = (*like.shape[:-1], 1)
            work = works[key] = (
                *(np.empty_like(like) for _ in range(count)),
                *(np.empty(row_shape, like.dtype) for _ in range(rows)),
            )
        return work


class softmax(_RowWise):
    """Softmax over the last axis, shifted by the row maximum so large logits do not overflow.

    When a `log` consumes it, it computes the log-softmax first, keeps it for that log as
    (output, log-softmax), and exponentiates it: cheaper than a log of the output, and exact.
    """

    _feeds_log = False
    _log_parts: tuple[np.ndarray, np.ndarray] | None = None

    def compute(self, a_value: Any, out: np.ndarray | None = None) -> Any:
        z = as_float(a_value)
        shifted, rows = self._workspace(z, 1)
        e, total, shifted = exp_shifted(z, out, shifted, rows)
        if self._feeds_log:
            by_rows(np.subtract, shifted, np.log(total, out=total), out=shifted)
            self._log_parts = (np.exp(shifted, out=e), shifted)
            return e
        return by_rows(np.divide, e, total, out=e)


@RegisterGradient("softmax")
def _softmax_gradient(op: softmax, grad: Any, out: np.ndarray | None = None) -> Any:
    s = op.output
    result = np.multiply(grad, s, out=out)
    np.subtract(grad, row_sums(result), out=result)
    result *= s
    return result


@register_fused_gradient("log", "softmax")
def _log_softmax_gradient(op: log, grad: Any, out: np.ndarray | None = None) -> Any:
    """grad − softmax · Σ grad: the chain rule's grad / p overflows once p underflows."""
    s = op.input_nodes[0].output
    return np.subtract(grad, np.multiply(s, row_sums(grad), out=out), out=out)


class _Reduction(_Unary):
    """Shared wiring of reduce_sum and reduce_mean: an axis (int, tuple or None for all)."""

    def __init__(self, a: Any, axis: int | tuple[int, ...] | None = None, name: str | None = None):
        super().__init__(a, name)
        self.axis = axis
        self._layouts: dict[tuple[int, ...], tuple[tuple[int, ...], int]] = {}

    def _layout(self, shape: tuple[int, ...]) -> tuple[tuple[int, ...], int]:
        """The input shape with reduced axes set to 1, and how many values each result sums."""
        layout = self._layouts.get(shape)
        if layout is None:
            axes = range(len(shape)) if self.axis is None else np.atleast_1d(self.axis)
            reduced = {int(a) % len(shape) for a in axes} if shape else set()
            kept = tuple(1 if i in reduced else n for i, n in enumerate(shape))
            count = int(np.prod([shape[i] for i in reduced], dtype=np.int64))
            layout = self._layouts[shape] = (kept, count)
        return layout

    def _expand(self, grad: Any, out: np.ndarray | None) -> np.ndarray:
        """Repeat an output gradient over the reduced axes of the input."""
        x = self.inputs[0]
        dtype = getattr(x, "dtype", None)
        shape, dtype = shape_of(x), dtype if dtype is not None and dtype.kind == "f" else np.float64
        result = np.empty(shape, dtype) if out is None else out
        result[...] = grad.reshape(self._layout(shape)[0]) if type(grad) is np.ndarray else grad
        return result


class reduce_sum(_Reduction):
    """Sum over `axis` (all axes when None)."""

    def compute(self, a_value: Any, out: np.ndarray | None = None) -> Any:
        return fast_sum(a_value, self.axis, out)


@RegisterGradient("reduce_sum")
def _reduce_sum_gradient(op: reduce_sum, grad: Any, out: np.ndarray | None = None) -> Any:
    return op._expand(grad, out)


class reduce_mean(_Reduction):
    """Mean over `axis` (all axes when None)."""

    def compute(self, a_value: Any, out: np.ndarray | None = None) -> Any:
        count = self._layout(shape_of(a_value))[1]
        return np.divide(fast_sum(a_value, self.axis, out), count, out=out)


@RegisterGradient("reduce_mean")
def _reduce_mean_gradient(op: reduce_mean, grad: Any, out: np.ndarray | None = None) -> Any:
    result = op._expand(grad, out)
    result /= op._layout(result.shape)[1]
    return result


class softmax_cross_entropy(_RowWise):
    """Mean over rows of -Σ labels · log softmax(logits), via log-sum-exp so it stays finite.

    With z the logits shifted by their row maximum, log softmax = z - log Σ e^z, so the loss
    is (Σ_rows Σlabels · log Σe^z - Σ labels · z) / N. The softmax (`probabilities`, in an
    array the next run reuses), the labels' row sums and the log-sum-exp are kept for the
    gradient, the fused (softmax · Σlabels − labels) / N.
    """

    def __init__(self, logits: Any, labels: Any, name: str | None = None):
        Operation.__init__(self, [logits, labels], name)
        self.probabilities: np.ndarray | None = None
        self._parts: tuple[np.ndarray, np.ndarray, Any] | None = None

    def compute(self, logits: Any, labels: Any) -> Any:
        labels, z = np.asarray(labels), as_float(logits)
        if z.shape != labels.shape:
            raise _shape_error(self, "compare logits and labels of", logits, labels)
        e, shifted, rows, mass = self._workspace(z, 2, rows=2)
        e, total, shifted = exp_shifted(z, e, shifted, rows)
        by_rows(np.divide, e, total, out=e)
        log_total = np.log(total, out=total)
        mass = row_sums(labels, mass if mass.dtype == labels.dtype else None)
        self.probabilities, self._parts = e, (shifted, log_total, mass)
        count = z.shape[0] if z.ndim > 1 else 1
        return (np.vdot(mass, log_total) - sum_of_products(labels, shifted)) / count  # +0.0 at best

    @property
    def log_probabilities(self) -> np.ndarray | None:
        """log softmax of the last run's logits (a new array)."""
        if self._parts is None:
            return None
        shifted, log_total, _ = self._parts
        return shifted - log_total


@RegisterGradient("softmax_cross_entropy")
def _softmax_cross_entropy_gradient(
    op: softmax_cross_entropy, grad: Any, needed=(True, True), out: Buffers = NO_BUFFERS
) -> list[Any]:
    """d/dlogits = (softmax · Σlabels − labels) · grad / N; d/dlabels = −log softmax · grad / N."""
    labels = np.asarray(op.input_nodes[1].output)
    p, (shifted, log_total, mass) = op.probabilities, op._parts
    scale = grad / (p.shape[0] if p.ndim > 1 else 1)
    d_logits = d_labels = None
    if needed[0]:
        d_logits = by_rows(np.multiply, p, mass, out=out[0])
        d_logits -= labels
        d_logits *= scale
    if needed[1]:
        d_labels = np.subtract(shifted, log_total, out=out[1])
        d_labels *= -scale
    return [d_logits, d_labels]


# The operators, installed on Node as TensorFlow 1's math ops installed them on Tensor.
# Functions rather than the op classes themselves: only functions bind to the node as methods.
Node._override_operator("__add__", lambda a, b: add(a, b))
Node._override_operator("__radd__", lambda a, b: add(b, a))
Node._override_operator("__sub__", lambda a, b: subtract(a, b))
Node._override_operator("__rsub__", lambda a, b: subtract(b, a))
Node._override_operator("__mul__", lambda a, b: multiply(a, b))
Node._override_operator("__rmul__", lambda a, b: multiply(b, a))
Node._override_operator("__matmul__", lambda a, b: matmul(a, b))
Node._override_operator("__rmatmul__", lambda a, b: matmul(b, a))
Node._override_operator("__neg__", lambda a: negative(a))
