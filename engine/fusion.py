"""Patterns every model of the lab contains, fused into one kernel each.

Dense layers, activation(matmul(h, W) + b): forward in one array (dot, += bias and the
activation in place), gradients in one kernel. The tutorial's cross-entropy,
-Σ labels · log softmax(z) summed to a number: its gradient w.r.t. z in one kernel.
On small batches the per-op overhead of several ops and gradient steps costs more than the
arithmetic.

The fused kernels compute what the ops and their gradient functions compute, from the same
values. They are used only where nothing else reads the intermediate values (no other
consumer, not fetched) and the ops have their built-in gradients: a gradient of the user's
for any of them turns the fusion off, as it does for log of softmax
(gradients.register_fused_gradient). Each falls back to the ops' own kernels when the
values turn out not to fit (a 3-D input, say).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from engine import kernels
from engine.gradients import GradientSlots, GradientStep, gradient_function
from engine.graph import Node, Operation
from engine.kernels import (
    Columns,
    by_rows,
    column_major,
    in_columns,
    ones_vector,
    row_adder,
    row_sums,
    subtracter,
)
from engine.ops import (
    _add_gradient,
    _log_softmax_gradient,
    _matmul_gradient,
    _multiply_gradient,
    _reduce_sum_gradient,
    _relu_gradient,
    _sigmoid_gradient,
    _tanh_gradient,
    add,
    log,
    matmul,
    multiply,
    reduce_sum,
    relu,
    sigmoid,
    tanh,
)

# The activations a layer may end in, with their built-in gradients.
ACTIVATIONS: dict[type, Callable[..., Any]] = {
    tanh: _tanh_gradient,
    sigmoid: _sigmoid_gradient,
    relu: _relu_gradient,
}


class DenseLayer(NamedTuple):
    """matmul(h, W) + b, then maybe an activation: the ops, in order, and h, W, b."""

    ops: tuple[Operation, ...]
    inputs: tuple[Node, Node, Node]

    @property
    def last(self) -> Operation:
        return self.ops[-1]


def _builtin(op: Operation, function: Callable[..., Any]) -> bool:
    try:
        return gradient_function(op) is function
    except LookupError:
        return False


def dense_layers(ops: list[Operation], fetched: set[int]) -> list[DenseLayer]:
    """The dense layers among `ops` whose intermediate values only the layer reads."""
    readers = Counter(id(node) for op in ops for node in op.input_nodes)

    def private(node: Node) -> bool:  # read once, by the next op of the layer
        return readers[id(node)] == 1 and id(node) not in fetched

    consumer = {id(node): op for op in ops for node in op.input_nodes}
    layers = []
    for op in ops:
        if type(op) is not add or not _builtin(op, _add_gradient):
            continue
        products = [
            (side, node)
            for side, node in enumerate(op.input_nodes)
            if type(node) is matmul and private(node) and _builtin(node, _matmul_gradient)
        ]
        if not products:
            continue
        side, product = products[0]
        h, w = product.input_nodes
        parts: tuple[Operation, ...] = (product, op)
        activation = consumer.get(id(op))
        gradient = ACTIVATIONS.get(type(activation))
        if private(op) and gradient is not None and _builtin(activation, gradient):
            parts += (activation,)
        layers.append(DenseLayer(parts, (h, w, op.input_nodes[1 - side])))
    return layers


class _FusedKernel:
    """A kernel doing the work of several ops or gradient steps (`parts`, their own kernels,
    which it runs instead when the values do not fit). `op` is named in errors' notes."""

    def __init__(self, op: Operation, parts: list[Any], what: str = "") -> None:
        self.op, self.parts = op, parts
        self.note = f"while computing {what}{op!r}"

    def prepare(self) -> None:
        run = self._fused()
        if run is None:
            for part in self.parts:
                part.prepare()
            runs = [part.run for part in self.parts]

            def run() -> None:
                for part in runs:
                    part()

        else:
            run()
        self.run = run

    def _fused(self) -> Callable[[], None] | None:
        """The fused kernel for the values now in the graph, or None if they do not fit."""
        raise NotImplementedError


def _fits(h: Any, w: Any, b: Any) -> bool:
    """2-D h and W and a 1-D bias of W's width, all floats of one dtype."""
    return (
        type(h) is np.ndarray
        and type(w) is np.ndarray
        and type(b) is np.ndarray
        and h.ndim == 2
        and w.ndim == 2
        and b.ndim == 1
        and h.shape[1] == w.shape[0]
        and b.shape[0] == w.shape[1]
        and h.dtype.kind == "f"
        and h.dtype == w.dtype == b.dtype
    )


class DenseKernel(_FusedKernel):
    """A layer forward: dot into the layer's array, then += bias and the activation in place
    (its own `compute`, with the array as `out`)."""

    def __init__(self, layer: DenseLayer, parts: list[Any]) -> None:
        super().__init__(layer.last, parts)
        self.layer = layer

    def _fused(self) -> Callable[[], None] | None:
        ops, (h, w, b) = self.layer.ops, self.layer.inputs
        if not _fits(h.output, w.output, b.output):
            return None
        (rows, fan_in), width = h.output.shape, w.output.shape[1]
        order = "F" if column_major(rows, fan_in, width) else "C"
        out = np.empty((rows, width), h.output.dtype, order=order)
        activation = ops[2].compute if len(ops) == 3 else None
        add_bias = row_adder(out)
        # A column-major `out` is the transpose of W.T · h.T, which is C-contiguous.
        into = out.T if in_columns(out) else None

        def run() -> None:
            if into is None:
                z = h.output.dot(w.output, out)
            else:
                np.dot(w.output.T, h.output.T, into)
                z = out
            add_bias(b.output)
            if activation is not None:
                activation(z, z)
            for op in ops:
                op.output = z

        return run


class DenseGradient(NamedTuple):
    """A layer's gradient steps (indexes into the sweep, top first) and where values go."""

    steps: tuple[int, ...]
    matmul: Operation
    activation: Operation | None
    top: int  # the slot of the layer's output gradient
    bias: tuple[Node, int | None]  # the bias and its slot (None: it needs no gradient)
    h: int | None  # the slots of h's and W's gradients
    w: int | None

    def kernel(self, slots: GradientSlots, parts: list[Any]) -> DenseGradientKernel:
        return DenseGradientKernel(self, slots, parts)


def fused_gradients(steps: list[GradientStep], counts: list[int]) -> dict[int, Any]:
    """The groups of steps in a sweep that can run as one kernel, by their top (first) step.

    Below the top, each op of a group feeds only the next one (a single gradient arrives at
    its slot), so its step may run as soon as the top one.
    """
    return {**dense_gradients(steps, counts), **cross_entropy_gradients(steps, counts)}


def dense_gradients(steps: list[GradientStep], counts: list[int]) -> dict[int, DenseGradient]:
    """The dense layers in a sweep whose gradient steps can run as one, by their top step."""
    index_of = {id(step.op): i for i, step in enumerate(steps)}
    feeding = {step.targets[0][1]: i for i, step in enumerate(steps) if step.single}
    layers = {}
    for i, step in enumerate(steps):
        op = step.op
        if type(op) is not add or step.function is not _add_gradient:
            continue
        found = [
            (side, node)
            for side, node in enumerate(op.input_nodes)
            if type(node) is matmul and id(node) in index_of
        ]
        if not found:
            continue
        side, product = found[0]
        below = steps[index_of[id(product)]]
        slots = dict(step.targets)
        if below.function is not _matmul_gradient or counts[slots[side]] != 1:
            continue
        product_slots = dict(below.targets)
        layer_steps: tuple[int, ...] = (i, index_of[id(product)])
        activation, top = None, step.slot
        above = feeding.get(step.slot)
        if above is not None and counts[step.slot] == 1:
            candidate = steps[above]
            builtin = ACTIVATIONS.get(type(candidate.op))
            if builtin is not None and candidate.function is builtin:
                activation, top, layer_steps = candidate.op, candidate.slot, (above, *layer_steps)
        layers[layer_steps[0]] = DenseGradient(
            layer_steps,
            product,
            activation,
            top,
            (op.input_nodes[1 - side], slots.get(1 - side)),
            product_slots.get(0),
            product_slots.get(1),
        )
    return layers


class DenseGradientKernel(_FusedKernel):
    """A layer's gradients in one kernel: through the activation (its built-in gradient), then
    the bias's column sums, W's and h's products, as _add_gradient and _matmul_gradient
    compute them."""

    def __init__(self, layer: DenseGradient, slots: GradientSlots, parts: list[Any]) -> None:
        super().__init__(layer.activation or layer.matmul, parts, "the gradient of ")
        self.layer, self.slots = layer, slots

    def _fused(self) -> Callable[[], None] | None:
        layer, slots = self.layer, self.slots
        values, top = slots.values, layer.top
        h_node, w_node = layer.matmul.input_nodes
        h, w, grad = h_node.output, w_node.output, values[top]
        if not (
            _fits(h, w, layer.bias[0].output)
            and type(grad) is np.ndarray
            and grad.shape == (h.shape[0], w.shape[1])
            and grad.dtype == h.dtype
        ):
            return None
        activation = layer.activation
        activation_gradient = ACTIVATIONS[type(activation)] if activation is not None else None
        dz = slots.scratch(grad) if activation is not None else None
        ones = ones_vector(grad.shape[0], grad.dtype)
        d_bias = slots.buffer(layer.bias[1], layer.bias[0].output)
        d_w = slots.buffer(layer.w, w)
        d_h = slots.buffer(layer.h, h) if layer.h is not None else None
        # Column-major values (kernels.NARROW) are summed and multiplied along their columns:
        # h's gradient as the transpose of W · g.T. Row-major: W transposed into an array of
        # its own, as BLAS multiplies by a transposed small W through a slow path (10,000 x 8
        # by 8 x 8: 47 us, copy and product 31 us).
        g_columns, h_columns = in_columns(grad), d_h is not None and in_columns(d_h)
        w_t = None if h_columns else np.empty((w.shape[1], w.shape[0]), w.dtype)
        put_bias, put_h, put_w = (
            None if slot is None else slots.putter(slot)
            for slot in (layer.bias[1], layer.h, layer.w)
        )

        def run() -> None:
            g = values[top]
            if g is None:
                return
            if activation_gradient is not None:
                g = activation_gradient(activation, g, dz)
            if put_bias is not None:
                put_bias(np.dot(g.T, ones, d_bias) if g_columns else ones.dot(g, d_bias))
            if put_w is not None:
                put_w(h_node.output.T.dot(g, d_w))
            if put_h is None:
                return
            if h_columns:
                np.dot(w_node.output, g.T, d_h.T)
            else:
                np.copyto(w_t, w_node.output.T)
                g.dot(w_t, d_h)
            put_h(d_h)

        return run


class CrossEntropyGradient(NamedTuple):
    """Σ labels · log softmax(z) to a number: its gradient steps (top first), the ops whose
    values the gradient needs and where it goes."""

    steps: tuple[int, ...]
    top: int  # the slot of the number's gradient
    log: Operation  # log(softmax(z)), the softmax's log-softmax
    labels: Node
    z: int  # the slots of z's gradient and the labels' (None: they need none)
    labels_slot: int | None

    def kernel(self, slots: GradientSlots, parts: list[Any]) -> CrossEntropyGradientKernel:
        return CrossEntropyGradientKernel(self, slots, parts)


def cross_entropy_gradients(
    steps: list[GradientStep], counts: list[int]
) -> dict[int, CrossEntropyGradient]:
    """reduce_sum(multiply(labels, log(softmax(z)))), with or without a reduce_sum over the
    last axis in between, in a sweep: by the outer sum's step."""
    index_of = {id(step.op): i for i, step in enumerate(steps)}

    def step_of(node: Node, function: Callable[..., Any]) -> int | None:
        i = index_of.get(id(node))
        if i is None or steps[i].function is not function or counts[steps[i].slot] != 1:
            return None
        return i

    groups = {}
    for i, step in enumerate(steps):
        if type(step.op) is not reduce_sum or step.op.axis is not None:
            continue
        chain, node = [i], step.op.input_nodes[0]
        if type(node) is reduce_sum and node.axis in (-1, 1):
            chain.append(step_of(node, _reduce_sum_gradient))
            node = node.input_nodes[0]
        if step.function is not _reduce_sum_gradient or type(node) is not multiply:
            continue
        logs = [side for side, n in enumerate(node.input_nodes) if type(n) is log and n._softmax]
        if not logs:
            continue
        chain.append(step_of(node, _multiply_gradient))
        chain.append(step_of(node.input_nodes[logs[0]], _log_softmax_gradient))
        if None in chain:
            continue
        targets = dict(steps[chain[-2]].targets)
        groups[i] = CrossEntropyGradient(
            tuple(chain),
            step.slot,
            node.input_nodes[logs[0]],
            node.input_nodes[1 - logs[0]],
            steps[chain[-1]].targets[0][1],
            targets.get(1 - logs[0]),
        )
    return groups


class CrossEntropyGradientKernel(_FusedKernel):
    """g · (labels − softmax · Σlabels) for z, g · log softmax for the labels: the gradients
    of g · Σ labels · log softmax(z), where the ops' steps spread g over every element,
    multiply it by the labels and take the log-softmax's gradient of that."""

    def __init__(self, group: CrossEntropyGradient, slots: GradientSlots, parts: list[Any]):
        super().__init__(group.log, parts, "the gradient of ")
        self.group, self.slots = group, slots

    def _fused(self) -> Callable[[], None] | None:
        group, values = self.group, self.slots.values
        top, log_op, labels_node = group.top, group.log, group.labels
        softmax_op = log_op.input_nodes[0]
        p, labels = softmax_op.output, labels_node.output
        if not (
            np.ndim(values[top]) == 0
            and type(p) is np.ndarray
            and type(labels) is np.ndarray
            and p.shape == labels.shape
        ):
            return None
        mass = np.empty((*labels.shape[:-1], 1), labels.dtype)
        d_z = np.empty_like(p, np.result_type(p, labels))
        put_z = self.slots.putter(group.z)
        put_labels = None if group.labels_slot is None else self.slots.putter(group.labels_slot)
        d_labels = np.empty_like(log_op.output) if put_labels is not None else None
        # Few classes: the softmax times the labels' sums a column at a time (kernels.Columns).
        narrow = p.ndim == 2 and p.shape[1] <= kernels.FEW_COLUMNS and d_z.dtype == p.dtype
        probabilities, d_columns, sums = Columns(), Columns().of(d_z) if narrow else [], mass[:, 0]
        subtract_labels = subtracter(d_z) if narrow else None

        def run() -> None:
            g = values[top]
            if g is None:
                return
            c, p = labels_node.output, softmax_op.output
            row_sums(c, mass)
            if subtract_labels is not None and p.shape == d_z.shape == c.shape:
                for column, into in zip(probabilities.of(p), d_columns, strict=True):
                    np.multiply(column, sums, out=into)
                subtract_labels(c)
                d = d_z
            else:
                d = by_rows(np.multiply, p, mass, out=d_z)
                np.subtract(d, c, out=d)
            d *= -g
            put_z(d)
            if put_labels is not None:
                put_labels(np.multiply(log_op.output, g, out=d_labels))

        return run
