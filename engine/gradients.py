"""Backpropagation: the gradient registry and reverse-mode differentiation.

Gradients flow in reverse topological order over the nodes the loss depends on, so a node
reached along several paths (shared subexpressions, L2 terms) is finished before it is
propagated, and consumers that do not lead to the loss (an accuracy op) are ignored.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from engine.graph import Node, Operation, Variable, topological_order

GradientFunction = Callable[..., Any]

_gradient_registry: dict[str, GradientFunction] = {}
_fused_gradients: dict[tuple[GradientFunction, GradientFunction], GradientFunction] = {}


class RegisterGradient:
    """Decorator: `@RegisterGradient("op_name")` registers the gradient of ops of that class name.

    The function gets `(op, grad)` and returns the gradient for the op's single input, or a list
    with one gradient per input (None where an input needs none). A function with a third
    parameter `needed` also gets a tuple of flags saying which inputs' gradients are wanted,
    so it can skip the others (the gradient of a matmul w.r.t. the data, say).
    """

    def __init__(self, op_type: str) -> None:
        if not isinstance(op_type, str) or not op_type:
            raise TypeError(f"RegisterGradient needs an op class name, got {op_type!r}")
        self._op_type = op_type

    def __call__(self, function: GradientFunction) -> GradientFunction:
        _gradient_registry[self._op_type] = function
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
        # (op, gradient function, needed mask or None, op's slot, input slot or None, targets):
        # a single-input op has its input's slot and no targets, others a (index, slot) each.
        self._steps: list[tuple[Any, ...]] = []
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
                    self._steps.append((op, fused, None, self._slot(op), self._slot(source), ()))
                    self._fused.append((op, inner, function))
                    return
            mask = (True,) if _takes_mask(function) else None
            self._steps.append((op, function, mask, self._slot(op), self._slot(inner), ()))
            return
        wanted = {i for i, _ in targets}
        mask = tuple(i in wanted for i in range(len(op.input_nodes)))
        slots = tuple((i, self._slot(n)) for i, n in targets)
        if not _takes_mask(function):
            mask = None
        self._steps.append((op, function, mask, self._slot(op), None, slots))

    def slot(self, node: Node) -> int | None:
        """Where `node`'s gradient is in the list `sweep` returns; None if it gets none."""
        return self._slots.get(node)

    def sweep(self) -> list[Any]:
        """Gradients by slot, from the values of the latest forward pass (None: no gradient).

        A node fed by a fused pair (the softmax under a log) holds only the gradient from its
        other consumers; `run` reports the full one.
        """
        loss_value = self.loss.output
        if loss_value is None:
            raise RuntimeError(f"{self.loss!r} has no value yet: run a forward pass first")
        grads: list[Any] = [None] * len(self._slots)
        grads[0] = np.ones_like(loss_value) if isinstance(loss_value, np.ndarray) else 1.0
        for op, function, mask, slot, input_slot, targets in self._steps:
            grad = grads[slot]
            if grad is None:
                continue
            result = function(op, grad) if mask is None else function(op, grad, mask)
            if input_slot is not None:
                if type(result) in (list, tuple):
                    result = result[0]
                if result is not None:
                    previous = grads[input_slot]
                    grads[input_slot] = result if previous is None else previous + result
                continue
            for index, target in targets:
                g = result[index]
                if g is not None:
                    previous = grads[target]
                    grads[target] = g if previous is None else previous + g
        return grads

    def run(self) -> dict[Node, Any]:
        """Gradients of the loss w.r.t. each node, from the values of the latest forward pass."""
        grads = self.sweep()
        result = {node: grads[i] for node, i in self._slots.items() if grads[i] is not None}
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


def _takes_mask(function: GradientFunction) -> bool:
    return "needed" in inspect.signature(function).parameters


def compute_gradients(loss: Node) -> dict[Node, Any]:
    """Gradient of `loss` w.r.t. every node it depends on, using the last forward pass's values."""
    plan = getattr(loss, "_backward_plan", None)
    if plan is None:
        plan = loss._backward_plan = BackwardPlan(loss)
    return plan.run()


def trainable_variables(loss: Node) -> list[Variable]:
    """The variables `loss` depends on, in graph order."""
    return [n for n in topological_order([loss]) if isinstance(n, Variable)]
