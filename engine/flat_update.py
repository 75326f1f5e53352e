"""A training op's variables, gradients and optimizer slots as views of one array each.

An update is a few numpy calls per variable; on a small step (a mini-batch of 32, say) those
calls cost more than the arithmetic. With every variable's value a view of one array, its
gradient a view of another (the backward pass computes into them: GradientSlots' homes),
and each optimizer slot likewise, the optimizer updates all variables with the calls it
makes for one. The result is the same, element by element, as updating them one by one.

Values stay where users see them: `variable.value` is the view, from `minimize` on (its
array stays the same, updated in place, until something replaces it). Anything that puts another
array in their place (assigning a variable, `set_slot`, `reset_state`, another training op
over the same variables) is noticed before the next update, which copies it in and views
it again, or, when it does not fit, updates variable by variable.
"""

from __future__ import annotations

from operator import is_
from typing import Any

import numpy as np

from engine.graph import Variable


class FlatState:
    """One array each for a training op's values, gradients, scratch and optimizer slots."""

    def __init__(self, optimizer: Any, targets: list[tuple[Variable, int, dict[str, Any]]]):
        self.optimizer, self.targets = optimizer, targets
        values = [variable.output for variable, _, _ in targets]
        self.shapes = [v.shape for v in values]
        self.dtype = values[0].dtype
        size = sum(v.size for v in values)
        self._values, self._value_views = _split(size, self.dtype, self.shapes)
        self._grads, grad_views = _split(size, self.dtype, self.shapes)
        self.homes = {slot: view for (_, slot, _), view in zip(targets, grad_views, strict=True)}
        self._grad_views = grad_views
        self._scratch = np.empty(size, self.dtype)
        self._counts = frozenset(optimizer._STEP_COUNT_SLOTS)
        self._slots: dict[str, Any] = {}
        self._slot_views: dict[str, list[np.ndarray]] = {}
        for name in optimizer._SLOT_NAMES:
            if name not in self._counts:
                self._slots[name], self._slot_views[name] = _split(size, self.dtype, self.shapes)
        self._seen: tuple[int, int] | None = None  # (Variable.assignments, slot changes)

    @staticmethod
    def fits(targets: list[tuple[Variable, int, dict[str, Any]]]) -> bool:
        """Whether these variables can share arrays: two or more, float arrays of one dtype."""
        values = [variable.output for variable, _, _ in targets]
        return (
            len(values) > 1
            and all(type(v) is np.ndarray and v.dtype.kind == "f" for v in values)
            and len({v.dtype for v in values}) == 1
        )

    def matches(self, targets: list[tuple[Variable, int, dict[str, Any]]]) -> bool:
        """Whether the variables still have the shapes and dtype it was made for."""
        return [np.shape(variable.output) for variable, _, _ in targets] == self.shapes and all(
            getattr(variable.output, "dtype", None) == self.dtype for variable, _, _ in targets
        )

    def update(self, grads: list[Any]) -> bool:
        """Update every variable at once if all is in place; False (nothing done) if not."""
        if self._seen != (Variable.assignments, self.optimizer._slot_changes) and not self.bind():
            return False
        if not all(map(is_, [grads[slot] for _, slot, _ in self.targets], self._grad_views)):
            return False
        slots = self._slots
        self.optimizer._update(self._values, self._grads, slots, self._scratch)
        for name in self._counts:
            for _, _, state in self.targets:
                state[name] = slots[name]
        return True

    def stale(self) -> None:
        """Check and bind the arrays again before the next update (something replaced some)."""
        self._seen = None

    def bind(self, slots: bool = True) -> bool:
        """Make the variables' values (and slots) views of the shared arrays, copying in
        whatever replaced them; False if it does not fit. Slots are left alone before the
        first update, where they do not exist yet."""
        rebound = False
        for (variable, _, _), view in zip(self.targets, self._value_views, strict=True):
            value = variable.output
            if value is view:
                continue
            if not (
                type(value) is np.ndarray
                and value.shape == view.shape
                and value.dtype == view.dtype
            ):
                return False
            view[...] = value
            variable.output, rebound = view, True
        if rebound:  # other programs' checks, and another training op over these variables
            Variable.assignments += 1
        if not slots:
            return True
        counts = {
            name: {state.get(name, 0) for _, _, state in self.targets} for name in self._counts
        }
        if any(len(values) > 1 for values in counts.values()):
            return False  # the variables have taken different numbers of steps
        for name, views in self._slot_views.items():
            for (_, _, state), view in zip(self.targets, views, strict=True):
                value = state.get(name)
                if value is not view:
                    view[...] = 0 if value is None else value
                    state[name] = view
        for name, (count,) in counts.items():
            self._slots[name] = count
        self._seen = (Variable.assignments, self.optimizer._slot_changes)
        return True


def _split(size: int, dtype: np.dtype, shapes: list[tuple[int, ...]]) -> tuple[Any, list[Any]]:
    """An array of `size` elements and views of consecutive parts of it shaped as `shapes`."""
    whole = np.zeros(size, dtype)
    views, start = [], 0
    for shape in shapes:
        n = int(np.prod(shape))
        views.append(whole[start : start + n].reshape(shape))
        start += n
    return whole, views
