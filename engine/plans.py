"""What Session.run executes: for each fetch set a plan, and for each fed shape a program.

A plan holds the ops a fetch set needs, in order. For each combination of fed shapes and
dtypes it builds a program: a flat list of kernels, each a small function bound to the nodes
it reads. A kernel's first run is an ordinary one (each op allocates its results, as numpy
does) after which it keeps arrays shaped like those results; later runs write into them. So
a training step allocates nothing big, and a small step costs little more than its numpy
calls. A kernel is an op's `compute`, a dense layer fused (engine.fusion), an op bound to
views of its columns (engine.row_kernels), or, for a training op, a step of its backward
pass or an optimizer's update.

A kernel has `prepare()`, its first run, which sets `run`, its fast form; `op` and `note`
say what it computes in the note an error gets.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from engine import fusion, row_kernels
from engine.gradients import BackwardPlan, GradientSlots, GradientStep, RegisterGradient
from engine.graph import Node, Operation, Variable, placeholder, topological_order


class Plan:
    """The ops one fetch set needs, in order, and a program for each fed shape and dtype."""

    # Programs kept per plan: the full batch, a last short batch, a test split, ... Each holds
    # arrays as large as its results, so a plan fed ever new shapes keeps only the latest.
    MAX_PROGRAMS = 4

    def __init__(self, fetches: list[Node]) -> None:
        for node in fetches:
            if not isinstance(node, Node):
                raise TypeError(f"can only fetch graph nodes, got {node!r}")
        # Holding the fetched nodes keeps their ids, the session's cache key, from being reused.
        self.fetches = fetches
        order = topological_order(fetches)
        self.feeds = tuple((n, n.dtype) for n in order if isinstance(n, placeholder))
        self.ops = [n for n in order if isinstance(n, Operation)]
        self.variables = [n for n in order if isinstance(n, Variable)]
        self._programs: dict[tuple[Any, ...], Program] = {}

    def run(self, feed_dict: dict) -> None:
        """Feed the placeholders and run the program for the fed shapes, built on first use."""
        key = self._feed(feed_dict)
        program = self._programs.get(key)
        if program is not None and program.fits():
            program.run()
            return
        program = Program(self.ops, self.fetches, self.variables)
        program.run()  # only a program whose first run went through is kept
        self._programs.pop(key, None)
        if len(self._programs) >= self.MAX_PROGRAMS:
            del self._programs[next(iter(self._programs))]
        self._programs[key] = program

    def _feed(self, feed_dict: dict) -> tuple[Any, ...]:
        """Set each placeholder's value; returns their shapes (and dtypes, if not fixed)."""
        key: list[Any] = []
        for node, dtype in self.feeds:
            try:
                value = feed_dict[node]
            except KeyError:
                message = f"placeholder {node.name!r} needs a value: pass it in feed_dict"
                raise KeyError(message) from None
            if type(value) is not np.ndarray or (dtype is not None and value.dtype != dtype):
                value = np.asarray(value, dtype=dtype)
            node.output = value
            key.append(value.shape if dtype is not None else (value.shape, value.dtype))
        return tuple(key)


class Program:
    """The kernels of one plan for one set of fed shapes, run in order."""

    def __init__(self, ops: list[Operation], fetches: list[Node], variables: list[Variable]):
        self.kernels = forward_kernels(ops, {id(n) for n in fetches})
        self._variables = variables
        self._shapes: list[tuple[Any, ...]] = []
        self._assignments = -1
        self._registrations = RegisterGradient.registrations
        self._runs: tuple[Callable[[], Any], ...] | None = None

    def run(self) -> None:
        runs = self._runs
        if runs is not None:
            _run_kernels(self.kernels, runs)
            return
        _run_kernels(self.kernels, tuple(kernel.prepare for kernel in self.kernels))
        self._runs = tuple(kernel.run for kernel in self.kernels)
        self._shapes = [_shape_and_dtype(v.output) for v in self._variables]
        self._assignments = Variable.assignments

    def fits(self) -> bool:
        """Whether the variables still have the shapes its arrays were made for (checked
        only after some variable was given a new array) and no gradient was registered
        since it was built."""
        if self._registrations != RegisterGradient.registrations:
            return False
        if self._assignments != Variable.assignments:
            if [_shape_and_dtype(v.output) for v in self._variables] != self._shapes:
                return False
            self._assignments = Variable.assignments
        return True


def _run_kernels(kernels: list[Any], runs: tuple[Callable[[], Any], ...]) -> None:
    index = 0
    try:
        for index, run in enumerate(runs):  # noqa: B007 (the index names the failing op)
            run()
    except Exception as error:
        kernel = kernels[index]
        if kernel.op.name not in str(error):
            error.add_note(kernel.note)
        raise


def _shape_and_dtype(value: Any) -> tuple[Any, ...]:
    return (np.shape(value), getattr(value, "dtype", None))


def forward_kernels(ops: list[Operation], fetched: set[int]) -> list[Any]:
    """The kernels computing `ops` in order; dense layers fused where nothing else reads
    their intermediate values.

    A layer's kernel runs where its last op would: only the layer reads the others' results.
    """
    layers = {id(layer.last): layer for layer in fusion.dense_layers(ops, fetched)}
    covered = {id(op) for layer in layers.values() for op in layer.ops[:-1]}
    unstable: set[int] = set()  # ops whose output shape the fed shapes may not fix

    def op_kernel(op: Operation) -> OpKernel:
        kernel = OpKernel(op, any(id(n) in unstable for n in op.input_nodes))
        if not kernel.reuses:
            unstable.add(id(op))
        return kernel

    kernels: list[Any] = []
    for op in ops:
        if id(op) in covered:
            continue
        own_kernels = getattr(op, "kernels", None)  # a training op: backward pass, updates
        layer = layers.get(id(op))
        if own_kernels is not None:
            kernels += own_kernels()
        elif layer is None:
            kernel = op_kernel(op)
            column_wise = row_kernels.FORWARD.get(type(op))
            if column_wise is not None and not any(id(n) in unstable for n in op.input_nodes):
                kernel = column_wise(op, [kernel])
            kernels.append(kernel)
        elif any(id(n) in unstable for n in layer.inputs):
            kernels += [op_kernel(part) for part in layer.ops]
        else:
            kernels.append(fusion.DenseKernel(layer, [op_kernel(part) for part in layer.ops]))
    return kernels


def _takes_out(function: Callable[..., Any]) -> bool:
    return "out" in inspect.signature(function).parameters


class OpKernel:
    """One op's `compute` on its inputs' values, into an array kept from its first run.

    Only for ops whose `compute` takes `out` and whose inputs' shapes are fixed by the fed
    shapes (an op of the user's downstream of which shapes may change allocates as before).
    """

    def __init__(self, op: Operation, after_unstable: bool = False) -> None:
        self.op = op
        self.note = f"while computing {op!r}"
        self.reuses = not after_unstable and _takes_out(type(op).compute)

    def prepare(self) -> None:
        op = self.op
        values = [node.output for node in op.input_nodes]
        op.output = result = op.compute(*values)
        out = _fresh_buffer(result, values) if self.reuses else None
        self.run = _compute_kernel(op, out)


def _fresh_buffer(result: Any, *taken: Any) -> np.ndarray | None:
    """An array like `result` to compute into next time, if `result` was an array of its own
    (not one of `taken`, the values it was computed from, nor a view of anything)."""
    if type(result) is not np.ndarray or result.base is not None:
        return None
    if any(result is value for group in taken for value in group):
        return None
    return np.empty_like(result)


def _compute_kernel(op: Operation, out: np.ndarray | None) -> Callable[[], None]:
    compute, nodes = op.compute, op.input_nodes
    if out is None:
        if len(nodes) == 1:
            (a,) = nodes

            def run() -> None:
                op.output = compute(a.output)

        elif len(nodes) == 2:
            a, b = nodes

            def run() -> None:
                op.output = compute(a.output, b.output)

        else:

            def run() -> None:
                op.output = compute(*[n.output for n in nodes])

        return run
    if len(nodes) == 1:
        (a,) = nodes

        def run_into() -> None:
            op.output = compute(a.output, out)

    elif len(nodes) == 2:
        a, b = nodes

        def run_into() -> None:
            op.output = compute(a.output, b.output, out)

    else:

        def run_into() -> None:
            op.output = compute(*[n.output for n in nodes], out=out)

    return run_into


def backward_kernels(plan: BackwardPlan, slots: GradientSlots) -> list[Any]:
    """The reverse sweep of `plan` as kernels, its gradients left in `slots`; the patterns of
    engine.fusion fused where they get the built-in gradient functions. A group's kernel runs
    where its top step would."""
    steps = plan.steps
    groups = {
        **fusion.fused_gradients(steps, slots.counts),
        **row_kernels.softmax_cross_entropy_gradients(steps),
    }
    covered = {index for group in groups.values() for index in group.steps[1:]}
    kernels: list[Any] = [slots.seed_kernel(plan)]
    for index, step in enumerate(steps):
        group = groups.get(index)
        if group is not None:
            kernels.append(
                group.kernel(slots, [GradientKernel(steps[i], slots) for i in group.steps])
            )
        elif index not in covered and slots.counts[step.slot]:
            kernels.append(GradientKernel(step, slots))
    return kernels


class GradientKernel:
    """One step of the reverse sweep; its results go into arrays kept from its first run
    (when its gradient function takes `out`)."""

    def __init__(self, step: GradientStep, slots: GradientSlots) -> None:
        self.op, self.step, self.slots = step.op, step, slots
        self.note = f"while computing the gradient of {step.op!r}"

    def prepare(self) -> None:
        step, values = self.step, self.slots.values
        grad = values[step.slot]
        out: Any = None
        if grad is not None:
            result = step.call(grad)
            for index, slot in step.targets:
                if result[index] is not None:
                    self.slots.putter(slot)(result[index])
            if _takes_out(step.function):
                slot_of, buffers = dict(step.targets), []
                for i, r in enumerate(result):
                    # A variable's gradient goes into its shared view (engine.flat_update).
                    into = None if r is None else self.slots.home(slot_of.get(i), r)
                    if into is None:
                        into = _fresh_buffer(r, [grad], result[:i])
                    buffers.append(into)
                if any(b is not None for b in buffers):
                    out = buffers[0] if step.single else tuple(buffers)
        self.run = _gradient_kernel(step, self.slots, out)


def _gradient_kernel(step: GradientStep, slots: GradientSlots, out: Any) -> Callable[[], None]:
    op, function, needed, slot, values = (
        step.op,
        step.function,
        step.needed,
        step.slot,
        slots.values,
    )
    puts = [(index, slots.putter(target)) for index, target in step.targets]
    if out is None:
        call = step.call
    elif needed is None:
        call = partial(function, op, out=out)
    else:

        def call(grad: Any) -> Any:
            return function(op, grad, needed, out=out)

    if step.single:
        put = puts[0][1]

        def run_single() -> None:
            grad = values[slot]
            if grad is not None:
                result = call(grad)
                if type(result) in (list, tuple):
                    result = result[0]
                if result is not None:
                    put(result)

        return run_single

    def run() -> None:
        grad = values[slot]
        if grad is not None:
            result = call(grad)
            for index, put in puts:
                if result[index] is not None:
                    put(result[index])

    return run
