"""Backpropagation: the gradient registry and reverse-mode differentiation.

Gradients flow in reverse topological order over the nodes the loss depends on, so a node
reached along several paths (shared subexpressions, L2 terms) is finished before it is
propagated, and consumers that do not lead to the loss (an accuracy op) are ignored.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any, NamedTuple

import numpy as np

from engine.graph import Node, Operation, Variable, topological_order
from engine.kernels import accumulate, in_columns, one_like

GradientFunction = Callable[..., Any]

_gradient_registry: dict[str, GradientFunction] = {}
_fused_gradients: dict[tuple[GradientFunction, GradientFunction], GradientFunction] = {}


class RegisterGradient:
    """Decorator: `@RegisterGradient("op_name")` registers the gradient of ops of that class name.

    The function gets `(op, grad)` and returns the gradient for the op's single input, or a list
    with one gradient per input (None where an input needs none). A function with a parameter
    `needed` also gets a tuple of flags saying which inputs' gradients are wanted, so it can
    skip the others (the gradient of a matmul w.r.t. the data, say). One with a parameter
    `out` may be given arrays to write its results into: a session's training step passes,
    from its second run on, arrays shaped like the last results (one per input, or one for a
    single input), so that big steps allocate nothing; the function may ignore them.
    """

    # How many gradients were registered: sessions rebuild their programs when it changes,
    # dropping fusions that a new gradient for one of the fused ops rules out.
    registrations = 0

    def __init__(self, op_type: str) -> None:
        if not isinstance(op_type, str) or not op_type:
            raise TypeError(f"RegisterGradient needs an op class name, got {op_type!r}")
        self._op_type = op_type

    def __call__(self, function: GradientFunction) -> GradientFunction:
        _gradient_registry[self._op_type] = function
        RegisterGradient.registrations += 1
        return function


def register_fused_gradient(
    outer: str, inner: str
) -> Callable[[GradientFunction], GradientFunction]:
    """Decorator: the gradient of `outer(inner(x))` w.r.t. x, used instead of the chain rule.

    For pairs where the chain rule through the intermediate is numerically poor: log of a
    softmax divides by probabilities that may have underflowed to 0. The function gets
    `(outer_op, grad)`. It is keyed by the two registered gradients, so registering another
    gradient for either op turns the fusion off.
    """

    def register(function: GradientFunction) -> GradientFunction:
        _fused_gradients[(_gradient_registry[outer], _gradient_registry[inner])] = function
        return function

    return register


def gradient_function(op: Operation) -> GradientFunction:
    """The registered gradient of `op`, looked up by its class name (then its base classes')."""
    for cls in type(op).__mro__:
        function = _gradient_registry.get(cls.__name__)
        if function is not None:
            return function
    raise LookupError(
        f"no gradient registered for {op!r} (op type {type(op).__name__!r}); "
        f"register one with @RegisterGradient({type(op).__name__!r})"
    )


class GradientStep(NamedTuple):
    """One op's share of the reverse sweep: its gradient function and where values go."""

    op: Operation
    function: GradientFunction
    needed: tuple[bool, ...] | None  # passed to functions that take it
    slot: int  # where the op's own gradient is
    targets: tuple[tuple[int, int], ...]  # (input index, slot) for each input that gets one
    single: bool  # the op has one input: the function returns one gradient, not a list

    def call(self, grad: Any) -> list[Any]:
        """The function's gradients, a list with one per input."""
        function, op = self.function, self.op
        result = function(op, grad) if self.needed is None else function(op, grad, self.needed)
        return [result] if self.single and type(result) not in (list, tuple) else result


# Called by BackwardPlan.sweep for each step: (step, its gradient, its function's results).
StepRecorder = Callable[[GradientStep, Any, list[Any] | None], None]


class GradientFlow(NamedTuple):
    """What one op's step of the reverse sweep received and sent on (trace_gradients)."""

    op: Operation
    gradient: Any  # of the loss w.r.t. the op's output; None if none reached it
    passed: tuple[tuple[Node, Any], ...]  # (input node, the gradient sent to it), input order


class BackwardPlan:
    """The reverse sweep for one loss, worked out once and replayed every step.

    `wrt` limits the sweep to nodes that lie on a path from one of those nodes to the loss,
    so no gradient is computed for inputs such as data placeholders. Gradients live in a
    list indexed by slot rather than a dict: the sweep runs every training step.
    """

    def __init__(self, loss: Node, wrt: Iterable[Node] | None = None) -> None:
        order = topological_order([loss])
        if wrt is None:
            needed = {id(n) for n in order}
        else:
            needed = {id(n) for n in wrt}
            for node in order:  # inputs come first, so one pass marks every descendant
                if any(id(i) in needed for i in node.input_nodes):
                    needed.add(id(node))
        self.loss = loss
        self._slots: dict[Node, int] = {loss: 0}
        self.steps: list[GradientStep] = []
        # (outer op, inner node, outer's own gradient): the inner node's share of the loss
        # gradient that the fused step skipped, added back when all gradients are reported.
        self._fused: list[tuple[Operation, Node, GradientFunction]] = []
        for node in reversed(order):
            if isinstance(node, Operation) and id(node) in needed:
                self._add_step(node, needed)

    def _slot(self, node: Node) -> int:
        return self._slots.setdefault(node, len(self._slots))

    def _add_step(self, op: Operation, needed: set[int]) -> None:
        targets = [(i, n) for i, n in enumerate(op.input_nodes) if id(n) in needed]
        if not targets:
            return
        function = gradient_function(op)
        if len(op.input_nodes) == 1:
            inner = op.input_nodes[0]
            if isinstance(inner, Operation) and len(inner.input_nodes) == 1:
                fused = _fused_gradients.get((function, gradient_function(inner)))
                source = inner.input_nodes[0]
                if fused is not None and id(source) in needed:
                    target = ((0, self._slot(source)),)
                    self.steps.append(GradientStep(op, fused, None, self._slot(op), target, True))
                    self._fused.append((op, inner, function))
                    return
            mask = (True,) if "needed" in _parameters(function) else None
            target = ((0, self._slot(inner)),)
            self.steps.append(GradientStep(op, function, mask, self._slot(op), target, True))
            return
        wanted = {i for i, _ in targets}
        mask = tuple(i in wanted for i in range(len(op.input_nodes)))
        slots = tuple((i, self._slot(n)) for i, n in targets)
        if "needed" not in _parameters(function):
            mask = None
        self.steps.append(GradientStep(op, function, mask, self._slot(op), slots, False))

    def slot(self, node: Node) -> int | None:
        """Where `node`'s gradient is in the list `sweep` returns; None if it gets none."""
        return self._slots.get(node)

    def sweep(self, record: StepRecorder | None = None) -> list[Any]:
        """Gradients by slot, from the values of the latest forward pass (None: no gradient).

        A node fed by a fused pair (the softmax under a log) holds only the gradient from its
        other consumers; `run` reports the full one. `record`, if given, sees each step as it
        runs, with its gradient and its function's results (None for both when no gradient
        reached it): trace_gradients shares this loop rather than repeating it.
        """
        grads: list[Any] = [None] * len(self._slots)
        grads[0] = one_like(self.loss_value())
        for step in self.steps:
            grad = grads[step.slot]
            result = None if grad is None else step.call(grad)
            if record is not None:
                record(step, grad, result)
            if result is None:
                continue
            for index, target in step.targets:
                g = result[index]
                if g is not None:
                    previous = grads[target]
                    grads[target] = g if previous is None else previous + g
        return grads

    def loss_value(self) -> Any:
        """The loss of the latest forward pass; an error before the first."""
        value = self.loss.output
        if value is None:
            raise RuntimeError(f"{self.loss!r} has no value yet: run a forward pass first")
        return value

    def contributions(self) -> list[int]:
        """How many gradients each slot receives in a sweep (1 for the loss, its seed)."""
        counts = [0] * len(self._slots)
        counts[0] = 1
        for step in self.steps:
            for _, target in step.targets:
                counts[target] += 1
        return counts

    def run(self) -> dict[Node, Any]:
        """Gradients of the loss w.r.t. each node, from the values of the latest forward pass.

        A variable's gradient is in the variable's dtype.
        """
        grads = self.sweep()
        result = {
            node: _in_dtype_of(node, grads[i])
            for node, i in self._slots.items()
            if grads[i] is not None
        }
        for outer, inner, function in self._fused:
            grad = grads[self._slots[outer]]
            if grad is None:
                continue
            part = function(outer, grad)
            if type(part) in (list, tuple):
                part = part[0]
            previous = result.get(inner)
            result[inner] = part if previous is None else previous + part
        return result


def _in_dtype_of(node: Node, grad: Any) -> Any:
    """A variable's gradient in the variable's dtype; other nodes' as they come."""
    if isinstance(node, Variable) and getattr(grad, "dtype", None) != node.output.dtype:
        return np.asarray(grad, dtype=node.output.dtype)
    return grad


_PARAMETERS: dict[GradientFunction, frozenset[str]] = {}


def _parameters(function: GradientFunction) -> frozenset[str]:
    """The names of a gradient function's parameters, looked up once per function."""
    names = _PARAMETERS.get(function)
    if names is None:
        names = _PARAMETERS[function] = frozenset(inspect.signature(function).parameters)
    return names


def _backward_plan(loss: Node) -> BackwardPlan:
    """The full reverse sweep for `loss`, worked out on first use and kept on the node."""
    plan = getattr(loss, "_backward_plan", None)
    if plan is None:
        plan = loss._backward_plan = BackwardPlan(loss)
    return plan


def compute_gradients(loss: Node) -> dict[Node, Any]:
    """Gradient of `loss` w.r.t. every node it depends on, using the last forward pass's values."""
    return _backward_plan(loss).run()


def trace_gradients(loss: Node) -> list[GradientFlow]:
    """How the gradient of `loss` flows through the graph, op by op, in the last forward pass.

    For showing backpropagation (a graph view), where compute_gradients gives only each
    node's total. One GradientFlow per op the loss depends on through an input, in the order
    the reverse sweep runs them (reverse topological: an op comes before the ops producing
    its inputs): the op's gradient as the sweep had it, every consumer's part summed, and
    what the op's gradient function sent to each input that got one. A node's gradient is
    the sum of what its consumers passed to it. An op no gradient reached has gradient None
    and passes nothing.

    Where the sweep fuses log(softmax(z)) into one step, the log passes its gradient
    straight to z, not to the softmax: the softmax's flow then holds only its other
    consumers' parts (compute_gradients reports its full gradient). Arrays may be shared
    between flows (an add passes its gradient on as it is): read them, do not change them.
    Like compute_gradients it reads the values of the latest forward pass: run the loss
    first (a training step would have moved the variables since).
    """
    plan = _backward_plan(loss)
    nodes = list(plan._slots)  # in slot order: slot i holds the gradient of nodes[i]
    flows: list[GradientFlow] = []

    def record(step: GradientStep, grad: Any, result: list[Any] | None) -> None:
        edges = () if result is None else step.targets
        passed = tuple((nodes[t], result[i]) for i, t in edges if result[i] is not None)
        flows.append(GradientFlow(step.op, grad, passed))

    plan.sweep(record)
    return flows


def trainable_variables(loss: Node) -> list[Variable]:
    """The variables `loss` depends on, in graph order."""
    return [n for n in topological_order([loss]) if isinstance(n, Variable)]


class GradientSlots:
    """Where a prepared backward pass (engine.plans) keeps each node's gradient during a run.

    A node with several consumers gets the sum of their gradients, written into an array
    kept from the first run for that sum: never one a gradient function handed over, which
    may be another node's gradient too.
    """

    def __init__(self, plan: BackwardPlan, homes: dict[int, np.ndarray] | None = None) -> None:
        self.counts = plan.contributions()
        self.values: list[Any] = [None] * len(self.counts)
        # Arrays some slots' gradients are to end up in (a training op's views of one array
        # for all its variables, engine.flat_update): a sum is made there, and kernels
        # computing a slot's only gradient ask for it (`buffer`).
        self._homes = homes or {}
        self._sums: list[Any] = [
            self._homes.get(slot) if count > 1 else None for slot, count in enumerate(self.counts)
        ]
        self._scratch: np.ndarray | None = None

    def home(self, slot: int | None, like: Any) -> np.ndarray | None:
        """`slot`'s home, for a kernel to compute its only gradient into run after run, if
        it has one of `like`'s shape and dtype (`like` may be a numpy scalar)."""
        home = self._homes.get(slot) if slot is not None and self.counts[slot] == 1 else None
        if home is None or np.shape(like) != home.shape:
            return None
        return home if getattr(like, "dtype", None) == home.dtype else None

    def buffer(self, slot: int | None, like: np.ndarray) -> np.ndarray:
        """An array like `like` for a kernel to compute `slot`'s only gradient into: its
        home if it has one that fits, else a new array."""
        home = self.home(slot, like)
        return np.empty_like(like) if home is None else home

    def scratch(self, like: np.ndarray) -> np.ndarray:
        """An array shaped and ordered like `like` for values a kernel uses only while it
        runs (never hands on). The kernels of a sweep share it: fewer big arrays compete for
        the processor's caches."""
        kept = self._scratch
        if kept is None or kept.size < like.size or kept.dtype != like.dtype:
            kept = self._scratch = np.empty(like.size, like.dtype)
        order = "F" if like.ndim == 2 and in_columns(like) else "C"
        return kept[: like.size].reshape(like.shape, order=order)

    def putter(self, slot: int) -> Callable[[Any], None]:
        """A function giving `slot` a gradient: setting it, or adding to it when several
        consumers' gradients arrive there."""
        if self.counts[slot] == 1:
            return partial(self.values.__setitem__, slot)
        return partial(self._add, slot)

    def _add(self, slot: int, grad: Any) -> None:
        values = self.values
        total = values[slot]
        if total is None:
            values[slot] = grad
            return
        kept = self._sums[slot]
        values[slot] = result = accumulate(total, grad, kept)
        if result is not kept and type(result) is np.ndarray:
            self._sums[slot] = result

    def seed_kernel(self, plan: BackwardPlan) -> _SeedKernel:
        """The kernel starting a sweep: no gradients yet but the loss's own (ones)."""
        return _SeedKernel(plan, self.values)


class _SeedKernel:
    """Empties the slots but the loss's, which gets ones in the loss's dtype (made once)."""

    def __init__(self, plan: BackwardPlan, values: list[Any]) -> None:
        self.op, self.plan, self.values = plan.loss, plan, values
        self.note = f"while starting the gradient of {plan.loss!r}"

    def prepare(self) -> None:
        seed = one_like(self.plan.loss_value())
        if type(seed) is np.ndarray:
            seed.flags.writeable = False  # handed to gradient functions, never written
        values = self.values
        blank = [seed] + [None] * (len(values) - 1)

        def run() -> None:
            values[:] = blank

        self.run = run
        run()
