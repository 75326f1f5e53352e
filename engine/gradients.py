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

from engine.graph import Node, Operation, Variable

GradientFunction = Callable[[Operation, Any], Any]

_gradient_registry: dict[str, GradientFunction] = {}


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


def topological_order(fetches: Iterable[Node]) -> list[Node]:
    """Every node the fetches depend on, each after all of its inputs (iterative DFS)."""
    order: list[Node] = []
    visited: set[int] = set()
    for root in fetches:
        if id(root) in visited:
            continue
        stack: list[tuple[Node, int]] = [(root, 0)]
        visited.add(id(root))
        while stack:
            node, index = stack.pop()
            if index < len(node.input_nodes):
                stack.append((node, index + 1))
                child = node.input_nodes[index]
                if id(child) not in visited:
                    visited.add(id(child))
                    stack.append((child, 0))
            else:
                order.append(node)
    return order


class BackwardPlan:
    """The reverse sweep for one loss, worked out once and replayed every step.

    `wrt` limits the sweep to nodes that lie on a path from one of those nodes to the loss,
    so no gradient is computed for inputs such as data placeholders.
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
        self.steps: list[tuple[Operation, Callable, list[tuple[int, Node]]]] = []
        for node in reversed(order):
            if not isinstance(node, Operation) or id(node) not in needed:
                continue
            targets = [(i, n) for i, n in enumerate(node.input_nodes) if id(n) in needed]
            if targets:
                self.steps.append((node, _bind_mask(node, targets), targets))

    def run(self) -> dict[Node, Any]:
        """Gradients of the loss w.r.t. each node, from the values of the latest forward pass."""
        loss_value = self.loss.output
        if loss_value is None:
            raise RuntimeError(f"{self.loss!r} has no value yet: run a forward pass first")
        seed = np.ones_like(loss_value) if isinstance(loss_value, np.ndarray) else 1.0
        grads: dict[Node, Any] = {self.loss: seed}
        for op, function, targets in self.steps:
            grad = grads.get(op)
            if grad is None:
                continue
            input_grads = function(op, grad)
            if len(op.input_nodes) == 1:
                input_grads = (input_grads,)
            for index, node in targets:
                g = input_grads[index]
                if g is None:
                    continue
                previous = grads.get(node)
                grads[node] = g if previous is None else previous + g
        return grads


def _bind_mask(op: Operation, targets: list[tuple[int, Node]]) -> Callable:
    """The op's gradient function, told which inputs need gradients if it can use that."""
    function = gradient_function(op)
    if "needed" not in inspect.signature(function).parameters:
        return function
    mask = tuple(any(i == t for t, _ in targets) for i in range(len(op.input_nodes)))
    return lambda op, grad: function(op, grad, mask)


def compute_gradients(loss: Node) -> dict[Node, Any]:
    """Gradient of `loss` w.r.t. every node it depends on, using the last forward pass's values."""
    plan = getattr(loss, "_backward_plan", None)
    if plan is None:
        plan = loss._backward_plan = BackwardPlan(loss)
    return plan.run()


def trainable_variables(loss: Node) -> list[Variable]:
    """The variables `loss` depends on, in graph order."""
    return [n for n in topological_order([loss]) if isinstance(n, Variable)]
