"""softmax_cross_entropy's forward and gradient as kernels bound to column views.

With few classes (a handful of columns), numpy's broadcasting of one value per row costs
a microsecond on 32 rows and several times the arithmetic on 10,000: it loops over the
rows. These kernels make their arrays and the views of their columns once, then subtract,
divide and multiply a column at a time. They compute what `softmax_cross_entropy.compute`
and `_softmax_cross_entropy_gradient` compute, the same numpy operations on the same values
(so the results are the same bits), and the op's gradient function reads the arrays they
leave on the op. Used when the op has its built-in gradient; any other values (3-D, many
classes, mixed dtypes) get the op's own kernel.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from engine.fusion import _FusedKernel
from engine.gradients import GradientSlots, GradientStep
from engine.graph import Operation
from engine.kernels import ones_vector
from engine.ops import _softmax_cross_entropy_gradient, softmax_cross_entropy

# Up to this many classes, a column at a time beats broadcasting at every batch size.
MAX_COLUMNS = 4


def _columns(a: np.ndarray) -> list[np.ndarray]:
    return [a[:, j] for j in range(a.shape[1])]


def _fits(logits: Any, labels: Any) -> bool:
    return (
        type(logits) is np.ndarray
        and type(labels) is np.ndarray
        and logits.ndim == 2
        and logits.shape == labels.shape
        and 1 < logits.shape[1] <= MAX_COLUMNS
        and logits.dtype.kind == "f"
        and labels.dtype == logits.dtype
    )


class SoftmaxCrossEntropyKernel(_FusedKernel):
    """The op's forward pass: row maximum, shifted logits, softmax and loss, column-wise."""

    def _fused(self) -> Callable[[], None] | None:
        op = self.op
        logits_node, labels_node = op.input_nodes
        z = logits_node.output
        if not _fits(z, labels_node.output):
            return None
        rows, width = z.shape
        shifted, e = np.empty_like(z), np.empty_like(z)
        most, total, mass = (np.empty(rows, z.dtype) for _ in range(3))
        shifted_columns, e_columns = _columns(shifted), _columns(e)
        ones = ones_vector(width, z.dtype)
        parts = (shifted, total[:, None], mass[:, None])
        bound: list[Any] = [None, None]  # the logits array and its columns

        def run() -> None:
            z, c = logits_node.output, labels_node.output
            if z is not bound[0]:
                if not (_fits(z, c) and z.shape == shifted.shape and z.dtype == shifted.dtype):
                    op.output = op.compute(z, c)
                    return
                bound[:] = z, _columns(z)
            columns = bound[1]
            np.maximum(columns[0], columns[1], out=most)
            for column in columns[2:]:
                np.maximum(most, column, out=most)
            for column, into in zip(columns, shifted_columns, strict=True):
                np.subtract(column, most, out=into)
            np.exp(shifted, out=e)
            e.dot(ones, total)
            for column in e_columns:
                np.divide(column, total, out=column)
            np.log(total, out=total)
            c.dot(ones, mass)
            op.probabilities, op._parts = e, parts
            op.output = (np.vdot(mass, total) - np.vdot(c, shifted)) / rows

        return run


class SoftmaxCrossEntropyGradient(NamedTuple):
    """The op's one gradient step (the logits' gradient only), as a group of engine.fusion."""

    steps: tuple[int, ...]
    step: GradientStep

    def kernel(self, slots: GradientSlots, parts: list[Any]) -> SoftmaxCrossEntropyGradientKernel:
        return SoftmaxCrossEntropyGradientKernel(self.step, slots, parts)


def softmax_cross_entropy_gradients(
    steps: list[GradientStep],
) -> dict[int, SoftmaxCrossEntropyGradient]:
    """The steps of softmax_cross_entropy with its built-in gradient, where only the logits
    need one (labels are data)."""
    return {
        i: SoftmaxCrossEntropyGradient((i,), step)
        for i, step in enumerate(steps)
        if type(step.op) is softmax_cross_entropy
        and step.function is _softmax_cross_entropy_gradient
        and [index for index, _ in step.targets] == [0]
    }


class SoftmaxCrossEntropyGradientKernel(_FusedKernel):
    """(softmax · Σlabels − labels) · grad / N, the softmax and the sums multiplied a column
    at a time."""

    def __init__(self, step: GradientStep, slots: GradientSlots, parts: list[Any]) -> None:
        super().__init__(step.op, parts, "the gradient of ")
        self.step, self.slots = step, slots

    def _fused(self) -> Callable[[], None] | None:
        op: Operation = self.op
        values, slot = self.slots.values, self.step.slot
        labels_node = op.input_nodes[1]
        p = op.probabilities
        if not (
            _fits(p, labels_node.output)
            and np.ndim(values[slot]) == 0
            and op._parts[0].shape == p.shape
        ):
            return None
        d = np.empty_like(p)
        d_columns = _columns(d)
        put = self.slots.putter(self.step.targets[0][1])
        rows = p.shape[0]
        bound: list[Any] = [None, None, None]  # the softmax, its columns, the labels' sums

        def run() -> None:
            g = values[slot]
            if g is None:
                return
            p = op.probabilities
            if p is not bound[0]:
                if p.shape != d.shape or p.dtype != d.dtype:
                    put(self.step.call(g)[0])
                    return
                bound[:] = p, _columns(p), op._parts[2][:, 0]
            mass = bound[2]
            for column, into in zip(bound[1], d_columns, strict=True):
                np.multiply(column, mass, out=into)
            np.subtract(d, labels_node.output, out=d)
            np.multiply(d, g / rows, out=d)
            put(d)

        return run
