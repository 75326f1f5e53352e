"""Optimizers, reachable as `engine.train.X` the way tf.train.X was.

`minimize(loss)` returns an op whose input is the loss, so running it makes its own forward
pass with the given feed and then one update; `run([train_op, loss])` computes the loss once.
`learning_rate` (and the other settings) are read at every step, so they can change mid-run.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.gradients import BackwardPlan, trainable_variables
from engine.graph import Node, Operation, Variable


class _Optimizer:
    """Shared wiring: find the variables, build the backward plan, apply `_update` per variable."""

    def __init__(self, learning_rate: float) -> None:
        self.learning_rate = learning_rate

    def minimize(self, loss: Node, var_list: list[Variable] | None = None) -> Operation:
        """An op that, when run, computes `loss` from the feed and takes one step downhill."""
        variables = trainable_variables(loss) if var_list is None else list(var_list)
        return minimization(self, loss, variables)

    def _update(self, variable: Variable, grad: np.ndarray, slots: dict[str, Any]) -> None:
        raise NotImplementedError


class minimization(Operation):
    """One optimizer step; its only input is the loss, so its forward pass runs first."""

    def __init__(self, optimizer: _Optimizer, loss: Node, variables: list[Variable]) -> None:
        super().__init__([loss])
        self.optimizer = optimizer
        self.variables = variables
        self._plan = BackwardPlan(loss, wrt=variables)
        self._slots: list[dict[str, Any]] = [{} for _ in variables]
        # (variable, where the sweep leaves its gradient, its optimizer state); variables the
        # loss does not depend on get no gradient and are left alone.
        self._targets = [
            (variable, self._plan.slot(variable), slots)
            for variable, slots in zip(variables, self._slots, strict=True)
            if self._plan.slot(variable) is not None
        ]

    def reset_state(self) -> None:
        """Forget momentum and Adam moments, e.g. after rolling the weights back."""
        for slots in self._slots:
            slots.clear()

    def compute(self, loss_value: Any) -> None:
        grads = self._plan.sweep()
        update = self.optimizer._update
        for variable, slot, slots in self._targets:
            grad = grads[slot]
            if grad is not None:
                update(variable, grad, slots)


class GradientDescentOptimizer(_Optimizer):
    """value -= learning_rate · gradient."""

    def _update(self, variable: Variable, grad: np.ndarray, slots: dict[str, Any]) -> None:
        variable.value -= self.learning_rate * grad


class MomentumOptimizer(_Optimizer):
    """Heavy-ball momentum: v = momentum · v + gradient; value -= learning_rate · v."""

    def __init__(self, learning_rate: float, momentum: float = 0.9) -> None:
        super().__init__(learning_rate)
        self.momentum = momentum

    def _update(self, variable: Variable, grad: np.ndarray, slots: dict[str, Any]) -> None:
        velocity = slots.get("velocity")
        if velocity is None:
            velocity = slots["velocity"] = np.zeros_like(variable.value)
        velocity *= self.momentum
        velocity += grad
        variable.value -= self.learning_rate * velocity


class AdamOptimizer(_Optimizer):
    """Adam (Kingma & Ba) with bias-corrected first and second moment estimates."""

    def __init__(
        self,
        learning_rate: float = 0.001,
        beta1: float = 0.9,
        beta2: float = 0.999,
        epsilon: float = 1e-8,
    ) -> None:
        super().__init__(learning_rate)
        self.beta1, self.beta2, self.epsilon = beta1, beta2, epsilon

    def _update(self, variable: Variable, grad: np.ndarray, slots: dict[str, Any]) -> None:
        if not slots:
            slots.update(m=np.zeros_like(variable.value), v=np.zeros_like(variable.value), t=0)
        slots["t"] += 1
        t, m, v = slots["t"], slots["m"], slots["v"]
        m *= self.beta1
        m += (1 - self.beta1) * grad
        v *= self.beta2
        v += (1 - self.beta2) * np.square(grad)
        step = self.learning_rate * np.sqrt(1 - self.beta2**t) / (1 - self.beta1**t)
        variable.value -= step * m / (np.sqrt(v) + self.epsilon)
