"""Optimizers, reachable as `engine.train.X` the way tf.train.X was.

`minimize(loss)` returns an op whose input is the loss, so running it makes its own forward
pass with the given feed and then one update; `run([train_op, loss])` computes the loss once.
`learning_rate` (and the other settings) are read at every step, so they can change mid-run.
What an optimizer carries between steps is in per-variable slots (`get_slot`, `set_slot`),
as in TensorFlow 1, so a run can be saved and resumed exactly. Updates are made in place,
in the variable's dtype, for all variables at once through arrays they share
(engine.flat_update), or one by one through a scratch array each: a step allocates nothing.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from engine.flat_update import FlatState
from engine.gradients import BackwardPlan, GradientSlots, trainable_variables
from engine.graph import Node, Operation, Variable
from engine.plans import backward_kernels


class Optimizer:
    """Base of the optimizers, as tf.train.Optimizer: `minimize` builds the training op.

    The state an optimizer carries from step to step (momentum's velocity, Adam's moments)
    lives in per-variable slots, kept here and not in the graph so that it can be read and
    written: a saved run resumes exactly where it stopped by restoring the variables' values
    and these slots into a freshly built graph.
    """

    # The slots `_update` keeps per variable, and which of them are step counts (whole
    # numbers); the others are arrays shaped like the variable.
    _SLOT_NAMES: ClassVar[tuple[str, ...]] = ()
    _STEP_COUNT_SLOTS: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, learning_rate: float) -> None:
        self.learning_rate = learning_rate
        # One dict per variable for its whole life: minimization ops hold on to them.
        self._slots: dict[Variable, dict[str, Any]] = {}
        # Counts the times slots were set or cleared from outside an update (engine.flat_update).
        self._slot_changes = 0

    def minimize(self, loss: Node, var_list: list[Variable] | None = None) -> minimization:
        """An op that, when run, computes `loss` from the feed and takes one step downhill.

        Its `last_gradients()` gives the gradients its last step applied, for showing them.
        """
        variables = trainable_variables(loss) if var_list is None else list(var_list)
        return minimization(self, loss, variables)

    def get_slot_names(self) -> tuple[str, ...]:
        """The names of the state kept per variable: what a checkpoint must save."""
        return self._SLOT_NAMES

    def get_slot(self, var: Variable, name: str) -> np.ndarray | None:
        """A copy of `var`'s slot `name`, or None before the variable's first update.

        Step counts come as 0-d int64 arrays.
        """
        self._check_slot_name(name)
        value = self._slots.get(var, {}).get(name)
        if value is None:
            return None
        return np.array(value, dtype=np.int64 if name in self._STEP_COUNT_SLOTS else None)

    def set_slot(self, var: Variable, name: str, value: Any) -> None:
        """Store a private copy of `value` as `var`'s slot `name`, used from its next update.

        Arrays must have the variable's shape and are kept in its dtype; step counts must be
        whole numbers >= 0. Slots left unset start from zero, as on a first update.
        """
        self._check_slot_name(name)
        if not isinstance(var, Variable):
            raise TypeError(f"slots belong to Variables, got {var!r}")
        if name in self._STEP_COUNT_SLOTS:
            stored: Any = _step_count(name, value)
        else:
            stored = _slot_array(var, name, value)
        self._state(var)[name] = stored
        self._slot_changes += 1

    def _check_slot_name(self, name: str) -> None:
        if name not in self._SLOT_NAMES:
            valid = ", ".join(map(repr, self._SLOT_NAMES)) or "none"
            raise ValueError(f"{type(self).__name__} has no slot {name!r}; its slots: {valid}")

    def _state(self, variable: Variable) -> dict[str, Any]:
        """`variable`'s slots, the same dict for as long as this optimizer lives."""
        return self._slots.setdefault(variable, {})

    def _fill_missing_slots(self, value: np.ndarray, slots: dict[str, Any]) -> None:
        """Start the slots not yet set at zero: on a first update, or after a partial restore."""
        for name in self._SLOT_NAMES:
            if name not in slots:
                slots[name] = 0 if name in self._STEP_COUNT_SLOTS else np.zeros_like(value)

    def _update(
        self, value: np.ndarray, grad: Any, slots: dict[str, Any], scratch: np.ndarray
    ) -> None:
        """Update a variable's `value` in place from `grad`; `scratch` is an array like it.

        The arrays may also be all variables' values, gradients and slots laid end to end.
        """
        raise NotImplementedError


def _step_count(name: str, value: Any) -> int:
    count = np.asarray(value)
    if (
        count.shape != ()
        or count.dtype.kind not in "iuf"
        or not np.isfinite(count)
        or count != np.floor(count)
        or count < 0
    ):
        raise ValueError(f"slot {name!r} is a step count: a whole number >= 0, got {value!r}")
    return int(count)


def _slot_array(var: Variable, name: str, value: Any) -> np.ndarray:
    if var.value is None:
        raise ValueError(f"slot {name!r} of {var!r} needs the variable's value for its shape")
    shape, dtype = var.value.shape, var.value.dtype
    if np.shape(value) != shape:
        raise ValueError(
            f"slot {name!r} of {var!r} must have the variable's shape {shape}, "
            f"got {np.shape(value)}"
        )
    return np.array(value, dtype=dtype)  # a private copy: updates change it in place


class minimization(Operation):
    """One optimizer step; its only input is the loss, so its forward pass runs first.

    A session runs it as kernels of its own (`kernels`): the backward pass, then an update
    per variable. `last_gradients` reads back what the last update applied.
    """

    def __init__(self, optimizer: Optimizer, loss: Node, variables: list[Variable]) -> None:
        super().__init__([loss])
        self.optimizer = optimizer
        self.variables = variables
        self._plan = BackwardPlan(loss, wrt=variables)
        self._states = [optimizer._state(variable) for variable in variables]
        # (variable, where the sweep leaves its gradient, its slots); variables the loss
        # does not depend on get no gradient and are left alone.
        self._targets = [
            (variable, self._plan.slot(variable), slots)
            for variable, slots in zip(variables, self._states, strict=True)
            if self._plan.slot(variable) is not None
        ]
        # The gradient slots (GradientSlots.values) its last run updated from: each program
        # (a full batch, a short last one) has its own.
        self._last: list[Any] | None = None
        self._flat: FlatState | None = None
        self._flat_state()

    def reset_state(self) -> None:
        """Forget its variables' optimizer slots, e.g. after rolling the weights back.

        The next step starts its momentum or Adam moments from zero, as the first one did.
        """
        for slots in self._states:
            slots.clear()
        self.optimizer._slot_changes += 1

    def last_gradients(self) -> dict[Variable, np.ndarray]:
        """Copies of the gradients its last run applied, by variable, in each one's dtype.

        {} before its first run; variables the loss does not depend on are left out. For
        showing training as it goes at no cost to the steps, which only keep a reference to
        the gradients: call it between steps (a step rewrites them in place, and one that
        raised may have left them half done).
        """
        grads = self._last
        if grads is None:
            return {}
        return {
            variable: np.array(grads[slot], dtype=variable.output.dtype)
            for variable, slot, _ in self._targets
            if grads[slot] is not None
        }

    def kernels(self) -> list[Any]:
        """The step for a session's program (engine.plans): backward pass, then updates."""
        flat = self._flat_state()
        gradients = GradientSlots(self._plan, None if flat is None else flat.homes)
        return [
            *backward_kernels(self._plan, gradients),
            _UpdateKernel(self, gradients.values, flat),
        ]

    def _flat_state(self) -> FlatState | None:
        """The arrays its programs share for updating all variables at once, made for the
        variables as they are now; None if they cannot share them."""
        if self._flat is None or not self._flat.matches(self._targets):
            fits = FlatState.fits(self._targets)
            self._flat = FlatState(self.optimizer, self._targets) if fits else None
            if self._flat is not None:
                self._flat.bind(slots=False)
        return self._flat


class _UpdateKernel:
    """The updates of a training op's variables: all at once through `flat` when its arrays
    are in place, else one by one, each with a scratch array like it."""

    def __init__(self, op: minimization, grads: list[Any], flat: FlatState | None) -> None:
        self.op, self.grads, self.flat = op, grads, flat
        self.note = f"while updating the variables of {op!r}"

    def prepare(self) -> None:
        op, grads, flat = self.op, self.grads, self.flat
        update = op.optimizer._update
        targets = [
            (variable, slot, state, np.empty_like(variable.output))
            for variable, slot, state in op._targets
        ]

        def one_by_one() -> None:
            op._last = grads
            for variable, slot, state, scratch in targets:
                grad = grads[slot]
                if grad is not None:
                    update(variable.output, grad, state, scratch)

        if flat is None:
            self.run = one_by_one
        else:
            misses = 0  # updates in a row that could not go through `flat`

            def run() -> None:
                nonlocal misses
                if misses < 3 and flat.update(grads):
                    misses = 0
                else:  # a gradient not computed into its view, or slots that cannot be
                    # shared: from the third miss in a row on, one by one for good
                    misses += 1
                    one_by_one()
                    flat.stale()  # slots made by a first update are arrays of their own
                op._last = grads

            self.run = run
        one_by_one()
        if flat is not None:
            flat.stale()


class GradientDescentOptimizer(Optimizer):
    """value -= learning_rate · gradient; it keeps no slots."""

    def _update(
        self, value: np.ndarray, grad: Any, slots: dict[str, Any], scratch: np.ndarray
    ) -> None:
        value -= np.multiply(grad, self.learning_rate, out=scratch)


class MomentumOptimizer(Optimizer):
    """Heavy-ball momentum: v = momentum · v + gradient; value -= learning_rate · v.

    Slot: "velocity" (v).
    """

    _SLOT_NAMES = ("velocity",)

    def __init__(self, learning_rate: float, momentum: float = 0.9) -> None:
        super().__init__(learning_rate)
        self.momentum = momentum

    def _update(
        self, value: np.ndarray, grad: Any, slots: dict[str, Any], scratch: np.ndarray
    ) -> None:
        if not slots:
            self._fill_missing_slots(value, slots)
        velocity = slots["velocity"]
        velocity *= self.momentum
        velocity += grad
        value -= np.multiply(velocity, self.learning_rate, out=scratch)


class AdamOptimizer(Optimizer):
    """Adam (Kingma & Ba) with bias-corrected first and second moment estimates.

    Slots: "m" and "v", the moment estimates, and "t", the variable's step count, which the
    bias correction depends on.
    """

    _SLOT_NAMES = ("m", "v", "t")
    _STEP_COUNT_SLOTS = frozenset({"t"})

    def __init__(
        self,
        learning_rate: float = 0.001,
        beta1: float = 0.9,
        beta2: float = 0.999,
        epsilon: float = 1e-8,
    ) -> None:
        super().__init__(learning_rate)
        self.beta1, self.beta2, self.epsilon = beta1, beta2, epsilon

    def _update(
        self, value: np.ndarray, grad: Any, slots: dict[str, Any], scratch: np.ndarray
    ) -> None:
        if len(slots) < 3:  # a first update, or only some slots were set
            self._fill_missing_slots(value, slots)
        slots["t"] += 1
        t, m, v = slots["t"], slots["m"], slots["v"]
        m *= self.beta1
        m += np.multiply(grad, 1 - self.beta1, out=scratch)
        v *= self.beta2
        v += np.multiply(np.square(grad, out=scratch), 1 - self.beta2, out=scratch)
        step = self.learning_rate * math.sqrt(1 - self.beta2**t) / (1 - self.beta1**t)
        denominator = np.sqrt(v, out=scratch)
        denominator += self.epsilon
        value -= np.multiply(np.divide(m, denominator, out=scratch), step, out=scratch)
