"""Operations: each one's forward (`compute`) and its gradient side by side.

Class names are the tutorial's op names (`add`, `matmul`, ...): calling the class builds the
node, and the gradient registry is keyed by that name. Importing this module also installs
the arithmetic operators on `Node` (`a + b` is `add(a, b)`), as TensorFlow 1's math ops did.

Hot ops write large results into a buffer they keep between runs, because allocating big
temporaries every step costs more than the arithmetic. On small data the per-call cost of
numpy dominates: Python-level helpers (np.shape, np.reshape, np.mean) and the matmul ufunc
cost twice what array attributes, methods and `dot` do, so hot paths use those, and the
helpers the ops share are in `engine.kernels`.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from engine.gradients import RegisterGradient, register_fused_gradient
from engine.graph import Node, Operation
from engine.kernels import (
    exp_shifted,
    fast_sum,
    reusable_buffer,
    shape_of,
    smallest_normal,
    unbroadcast,
)


def _shape_error(op: Operation, what: str, *values: Any) -> ValueError:
    shapes = " and ".join(str(np.shape(v)) for v in values)
    return ValueError(f"{op!r}: cannot {what} shapes {shapes}")


class _BufferedOperation(Operation):
    """An element-wise op that computes large results into a buffer reused across runs."""

    _buffer: np.ndarray | None = None

    def _into(self, ufunc: np.ufunc, a: Any, *rest: Any) -> np.ndarray:
        buffer = self._buffer
        if (
            buffer is not None
            and type(a) is np.ndarray
            and buffer.shape == a.shape
            and buffer.dtype == a.dtype
        ):
            return ufunc(a, *rest, out=buffer)
        result = np.asarray(ufunc(a, *rest))
        self._buffer = reusable_buffer(result)
        return result


class _Elementwise(Operation):
    """A binary ufunc with numpy broadcasting; large results go into a buffer kept between runs.

    The buffer is used only when both inputs are arrays of its dtype, so the result's dtype
    is what numpy would give; a shape that no longer fits makes numpy refuse, and a new
    buffer is made.
    """

    ufunc: ClassVar[np.ufunc]
    verb: ClassVar[str]
    _buffer: np.ndarray | None = None

    def __init__(self, a: Any, b: Any, name: str | None = None):
        super().__init__([a, b], name)

    def compute(self, a_value: Any, b_value: Any) -> Any:
        out = self._buffer
        if (
            out is not None
            and type(a_value) is np.ndarray
            and type(b_value) is np.ndarray
            and (a_value.shape == out.shape or b_value.shape == out.shape)
            and a_value.dtype == out.dtype
            and b_value.dtype == out.dtype
        ):
            try:
                return self.ufunc(a_value, b_value, out=out)
            except ValueError:
                pass
        try:
            result = self.ufunc(a_value, b_value)
        except ValueError:
            raise _shape_error(self, self.verb, a_value, b_value) from None
        self._buffer = reusable_buffer(result)
        return result


class add(_Elementwise):
    """a + b, with numpy broadcasting."""

    ufunc = np.add
    verb = "add"


@RegisterGradient("add")
def _add_gradient(op: add, grad: Any, needed: tuple[bool, ...] = (True, True)) -> list[Any]:
    a, b = op.inputs
    return [
        unbroadcast(grad, shape_of(a)) if needed[0] else None,
        unbroadcast(grad, shape_of(b)) if needed[1] else None,
    ]


class subtract(_Elementwise):
    """a - b, with numpy broadcasting."""

    ufunc = np.subtract
    verb = "subtract"


@RegisterGradient("subtract")
def _subtract_gradient(
    op: subtract, grad: Any, needed: tuple[bool, ...] = (True, True)
) -> list[Any]:
    a, b = op.inputs
    return [
        unbroadcast(grad, shape_of(a)) if needed[0] else None,
        unbroadcast(-grad, shape_of(b)) if needed[1] else None,
    ]


class multiply(_Elementwise):
    """Element-wise a * b, with numpy broadcasting."""

    ufunc = np.multiply
    verb = "multiply"


@RegisterGradient("multiply")
def _multiply_gradient(
    op: multiply, grad: Any, needed: tuple[bool, ...] = (True, True)
) -> list[Any]:
    a, b = op.inputs
    return [
        unbroadcast(grad * b, shape_of(a)) if needed[0] else None,
        unbroadcast(grad * a, shape_of(b)) if needed[1] else None,
    ]


class matmul(Operation):
    """Matrix product a @ b."""

    _buffer: np.ndarray | None = None

    def __init__(self, a: Any, b: Any, name: str | None = None):
        super().__init__([a, b], name)

    def compute(self, a_value: Any, b_value: Any) -> Any:
        if (
            type(a_value) is np.ndarray
            and type(b_value) is np.ndarray
            and a_value.ndim == 2
            and b_value.ndim == 2
        ):
            # For matrices `dot` is matmul at half the per-call cost on small ones.
            out = self._buffer
            if out is not None and out.shape == (a_value.shape[0], b_value.shape[1]):
                try:
                    return np.dot(a_value, b_value, out=out)
                except ValueError:  # another dtype: dot refuses rather than casts
                    pass
            if a_value.shape[1] == b_value.shape[0]:
                result = a_value.dot(b_value)
                self._buffer = reusable_buffer(result)
                return result
        try:
            result = np.matmul(a_value, b_value)
        except ValueError:
            raise _shape_error(self, "matmul", a_value, b_value) from None
        self._buffer = reusable_buffer(result)
        return result


@RegisterGradient("matmul")
def _matmul_gradient(op: matmul, grad: Any, needed: tuple[bool, ...] = (True, True)) -> list[Any]:
    a, b = op.inputs
    if (
        type(a) is np.ndarray
        and type(b) is np.ndarray
        and type(grad) is np.ndarray
        and a.ndim == 2
        and b.ndim == 2
    ):
        return [grad.dot(b.T) if needed[0] else None, a.T.dot(grad) if needed[1] else None]
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


class negative(Operation):
    """-a."""

    def __init__(self, a: Any, name: str | None = None):
        super().__init__([a], name)

    def compute(self, a_value: Any) -> Any:
        return -a_value


@RegisterGradient("negative")
def _negative_gradient(op: negative, grad: Any) -> Any:
    return -grad


class square(Operation):
    """a²."""

    def __init__(self, a: Any, name: str | None = None):
        super().__init__([a], name)

    def compute(self, a_value: Any) -> Any:
        return np.square(a_value)


@RegisterGradient("square")
def _square_gradient(op: square, grad: Any) -> Any:
    return grad * 2 * op.inputs[0]


class exp(Operation):
    """e to the a."""

    def __init__(self, a: Any, name: str | None = None):
        super().__init__([a], name)

    def compute(self, a_value: Any) -> Any:
        return np.exp(a_value)


@RegisterGradient("exp")
def _exp_gradient(op: exp, grad: Any) -> Any:
    return grad * op.output


class log(Operation):
    """Natural log; inputs are clamped at the smallest normal float so log(0) stays finite.

    The log of a softmax is the log-softmax the softmax computed from its logits, so it
    stays exact where the probabilities underflow.
    """

    def __init__(self, a: Any, name: str | None = None):
        super().__init__([a], name)
        source = self.input_nodes[0]
        self._softmax = source if isinstance(source, softmax) else None
        if self._softmax is not None:
            self._softmax._feeds_log = True

    def compute(self, a_value: Any) -> Any:
        if self._softmax is not None:
            parts = self._softmax._log_parts
            if parts is not None and parts[0] is a_value:
                return parts[1]
        return np.log(np.maximum(a_value, smallest_normal(a_value)))


@RegisterGradient("log")
def _log_gradient(op: log, grad: Any) -> Any:
    x = op.inputs[0]
    return grad / np.maximum(x, smallest_normal(x))


class sigmoid(_BufferedOperation):
    """1 / (1 + e^-a), computed without overflow for large |a|."""

    def __init__(self, a: Any, name: str | None = None):
        super().__init__([a], name)

    def compute(self, a_value: Any) -> Any:
        # sigmoid(a) = (1 + tanh(a/2)) / 2 never overflows and needs no branches.
        out = self._into(np.tanh, np.multiply(a_value, 0.5))
        out += 1
        out *= 0.5
        return out


@RegisterGradient("sigmoid")
def _sigmoid_gradient(op: sigmoid, grad: Any) -> Any:
    s = op.output
    return grad * s * (1 - s)


class tanh(_BufferedOperation):
    """Hyperbolic tangent."""

    def __init__(self, a: Any, name: str | None = None):
        super().__init__([a], name)

    def compute(self, a_value: Any) -> Any:
        return self._into(np.tanh, a_value)


@RegisterGradient("tanh")
def _tanh_gradient(op: tanh, grad: Any) -> Any:
    t = op.output
    result = np.multiply(t, t)
    np.subtract(1, result, out=result)
    result *= grad
    return result


class relu(_BufferedOperation):
    """max(a, 0)."""

    def __init__(self, a: Any, name: str | None = None):
        super().__init__([a], name)

    def compute(self, a_value: Any) -> Any:
        return self._into(np.maximum, a_value, 0)


@RegisterGradient("relu")
def _relu_gradient(op: relu, grad: Any) -> Any:
    return grad * (op.inputs[0] > 0)


class abs(_BufferedOperation):  # named as TensorFlow names it (tf.abs)
    """|a|, e.g. for an L1 penalty."""

    def __init__(self, a: Any, name: str | None = None):
        super().__init__([a], name)

    def compute(self, a_value: Any) -> Any:
        return self._into(np.absolute, a_value)


@RegisterGradient("abs")
def _abs_gradient(op: abs, grad: Any) -> Any:
    return grad * np.sign(op.inputs[0])  # 0 at 0: a subgradient, as TensorFlow takes


class softmax(Operation):
    """Softmax over the last axis, shifted by the row maximum so large logits do not overflow.

    When a `log` consumes it, it computes the log-softmax first, keeps it for that log as
    (output, log-softmax), and exponentiates it: cheaper than a log of the output, and exact.
    """

    _feeds_log = False
    _log_parts: tuple[np.ndarray, np.ndarray] | None = None

    def __init__(self, a: Any, name: str | None = None):
        super().__init__([a], name)

    def compute(self, a_value: Any) -> Any:
        e, total, shifted = exp_shifted(a_value)
        if self._feeds_log:
            shifted -= np.log(total)
            self._log_parts = (np.exp(shifted, out=e), shifted)
            return e
        e /= total
        return e


@RegisterGradient("softmax")
def _softmax_gradient(op: softmax, grad: Any) -> Any:
    s = op.output
    result = grad - fast_sum(grad * s, -1, keepdims=True)
    result *= s
    return result


@register_fused_gradient("log", "softmax")
def _log_softmax_gradient(op: log, grad: Any) -> Any:
    """grad − softmax · Σ grad: the chain rule's grad / p overflows once p underflows."""
    s = op.input_nodes[0].output
    return grad - s * fast_sum(grad, -1, keepdims=True)


class _Reduction(Operation):
    """Shared wiring of reduce_sum and reduce_mean: an axis (int, tuple or None for all)."""

    def __init__(self, a: Any, axis: int | tuple[int, ...] | None = None, name: str | None = None):
        super().__init__([a], name)
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

    def _expand(self, grad: Any) -> np.ndarray:
        """Repeat an output gradient over the reduced axes of the input (a fresh array)."""
        x = self.inputs[0]
        if type(x) is np.ndarray and x.dtype.kind == "f":
            shape, dtype = x.shape, x.dtype
        else:
            shape, dtype = np.shape(x), np.float64
        kept = self._layout(shape)[0]
        result = np.empty(shape, dtype)
        result[...] = grad.reshape(kept) if type(grad) is np.ndarray else grad
        return result


class reduce_sum(_Reduction):
    """Sum over `axis` (all axes when None)."""

    def compute(self, a_value: Any) -> Any:
        return fast_sum(a_value, self.axis)


@RegisterGradient("reduce_sum")
def _reduce_sum_gradient(op: reduce_sum, grad: Any) -> Any:
    return op._expand(grad)


class reduce_mean(_Reduction):
    """Mean over `axis` (all axes when None)."""

    def compute(self, a_value: Any) -> Any:
        _, count = self._layout(shape_of(a_value))
        return fast_sum(a_value, self.axis) / count


@RegisterGradient("reduce_mean")
def _reduce_mean_gradient(op: reduce_mean, grad: Any) -> Any:
    result = op._expand(grad)
    result /= op._layout(result.shape)[1]
    return result


class softmax_cross_entropy(Operation):
    """Mean over rows of -Σ labels · log softmax(logits), via log-sum-exp so it stays finite.

    The softmax is kept from the forward pass, so the gradient is the fused (softmax − labels)/N.
    """

    def __init__(self, logits: Any, labels: Any, name: str | None = None):
        super().__init__([logits, labels], name)
        self.probabilities: np.ndarray | None = None
        self.log_probabilities: np.ndarray | None = None

    def compute(self, logits: Any, labels: Any) -> Any:
        labels = np.asarray(labels)
        if np.shape(logits) != labels.shape:
            raise _shape_error(self, "compare logits and labels of", logits, labels)
        e, total, shifted = exp_shifted(logits)
        e /= total
        shifted -= np.log(total)
        self.probabilities, self.log_probabilities = e, shifted
        rows = shifted.shape[0] if shifted.ndim > 1 else 1
        return 0.0 - np.vdot(labels, shifted) / rows  # 0.0 - x: a perfect fit is 0.0, not -0.0


@RegisterGradient("softmax_cross_entropy")
def _softmax_cross_entropy_gradient(
    op: softmax_cross_entropy, grad: Any, needed: tuple[bool, ...] = (True, True)
) -> list[Any]:
    _logits, labels = op.inputs
    labels = np.asarray(labels)
    p = op.probabilities
    rows = p.shape[0] if p.ndim > 1 else 1
    label_mass = fast_sum(labels, -1, keepdims=True)
    d_logits = p * label_mass
    d_logits -= labels
    d_logits *= grad / rows
    return [d_logits, op.log_probabilities * (-grad / rows) if needed[1] else None]


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
