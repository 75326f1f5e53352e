"""softmax and softmax_cross_entropy as kernels working a column at a time.

With few classes (a handful of columns), numpy's broadcasting of one value per row costs
a microsecond on 32 rows and several times the arithmetic on 10,000: it loops over the
rows. These kernels make their arrays and the views of their columns once, then subtract,
divide and multiply a column at a time. They compute what the ops' `compute` and
`_softmax_cross_entropy_gradient` compute, the same numpy operations on the same values
(so the results are the same bits), and leave on the op what its gradient (and a `log` of
a softmax) reads. Any other values (3-D, many classes, mixed dtypes) get the op's own kernel.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from engine import kernels
from engine.fusion import _FusedKernel
from engine.gradients import GradientSlots, GradientStep
from engine.graph import Operation
from engine.kernels import Columns, ones_vector, subtracter, sum_of_products
from engine.ops import _softmax_cross_entropy_gradient, softmax, softmax_cross_entropy


def _narrow(a: Any) -> bool:
    return type(a) is np.ndarray and a.ndim == 2 and 1 < a.shape[1] <= kernels.FEW_COLUMNS


def _shifted(columns: list[np.ndarray], most: np.ndarray, into: list[np.ndarray]) -> None:
    """Each column minus the rows' maximum, into `into`: the stable softmax's exponents."""
    np.maximum(columns[0], columns[1], out=most)
    for column in columns[2:]:
        np.maximum(most, column, out=most)
    for column, out in zip(columns, into, strict=True):
        np.subtract(column, most, out=out)


class SoftmaxKernel(_FusedKernel):
    """softmax.compute: e^(z − max z) over its row sums, or, when a log reads it, the
    log-softmax first (kept for the log) and its exponential."""

    def _fused(self) -> Callable[[], None] | None:
        op = self.op
        (node,) = op.input_nodes
        z = node.output
        if not (_narrow(z) and z.dtype.kind == "f"):
            return None
        rows, width = z.shape
        shifted, e, most, total = np.empty_like(z), np.empty_like(z), *np.empty((2, rows), z.dtype)
        shifted_columns, e_columns = Columns().of(shifted), Columns().of(e)
        ones, logits, feeds_log = ones_vector(width, z.dtype), Columns(), op._feeds_log

        def run() -> None:
            z = node.output
            if z is not logits.array and not (
                type(z) is np.ndarray and z.shape == e.shape and z.dtype == e.dtype
            ):
                op.output = op.compute(z)
                return
            _shifted(logits.of(z), most, shifted_columns)
            np.exp(shifted, out=e)
            e.dot(ones, total)
            if feeds_log:
                np.log(total, out=total)
                for column in shifted_columns:
                    np.subtract(column, total, out=column)
                op._log_parts = (np.exp(shifted, out=e), shifted)
            else:
                for column in e_columns:
                    np.divide(column, total, out=column)
            op.output = e

        return run


def _fits(logits: Any, labels: Any) -> bool:
    return (
        _narrow(logits)
        and type(labels) is np.ndarray
        and logits.shape == labels.shape
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
        shifted_columns, e_columns = Columns().of(shifted), Columns().of(e)
        ones, logits = ones_vector(width, z.dtype), Columns()
        parts = (shifted, total[:, None], mass[:, None])

        def run() -> None:
            z, c = logits_node.output, labels_node.output
            if z is not logits.array and not (
                _fits(z, c) and z.shape == shifted.shape and z.dtype == shifted.dtype
            ):  # the program's shapes fix the labels' shape and dtype; the logits are checked
                op.output = op.compute(z, c)
                return
            _shifted(logits.of(z), most, shifted_columns)
            np.exp(shifted, out=e)
            e.dot(ones, total)
            for column in e_columns:
                np.divide(column, total, out=column)
            np.log(total, out=total)
            c.dot(ones, mass)
            op.probabilities, op._parts = e, parts
            op.output = (np.vdot(mass, total) - sum_of_products(c, shifted)) / rows

        return run


# The forward kernels, by the op they compute (engine.plans wraps the op's own kernel).
FORWARD: dict[type, type[_FusedKernel]] = {
    softmax: SoftmaxKernel,
    softmax_cross_entropy: SoftmaxCrossEntropyKernel,
}


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
        d_columns, subtract_labels = Columns().of(d), subtracter(d)
        put = self.slots.putter(self.step.targets[0][1])
        rows, probabilities, sums = p.shape[0], Columns(), Columns()

        def run() -> None:
            g = values[slot]
            if g is None:
                return
            p = op.probabilities
            if p.shape != d.shape or p.dtype != d.dtype:
                put(self.step.call(g)[0])
                return
            mass = sums.of(op._parts[2])[0]
            for column, into in zip(probabilities.of(p), d_columns, strict=True):
                np.multiply(column, mass, out=into)
            subtract_labels(labels_node.output)
            np.multiply(d, g / rows, out=d)
            put(d)

        return run
