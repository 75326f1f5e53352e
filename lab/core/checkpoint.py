"""A run's resumable state: what continuing exactly where training stopped needs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from lab.core.curves import SampledState
from lab.core.loss_history import HistoryState

OptimizerState = Mapping[str, Mapping[str, np.ndarray]]
"""The optimizer's slots by variable name, then slot name (e.g. {"W1": {"m": ..., "v": ...}})."""


@dataclass(frozen=True)
class Checkpoint:
    """Weights, optimizer state, loss history and where the mini-batches stand, at one step;
    every array a private, read-only copy.

    A fresh model has no optimizer state (slots start at zero on the first step), an empty
    history that starts at its step, and its first epoch ahead of it. `epoch` and `position`
    say which shuffled order of the training points the batches come from and how far into
    it they are; `evaluations` are the losses measured on all training and test points now
    and then.
    """

    step: int
    weights: Mapping[str, np.ndarray]
    optimizer_state: OptimizerState = field(default_factory=dict)
    history: HistoryState | None = None
    epoch: int = 0
    position: int = 0
    evaluations: SampledState = field(default_factory=SampledState)

    def __post_init__(self) -> None:
        if self.history is None:
            object.__setattr__(self, "history", HistoryState(first_step=self.step))
        # Read-only, so a checkpoint handed to another thread (the autosave's writer, the
        # worker) cannot change under it.
        arrays = [*self.weights.values(), self.history.mins, self.history.maxs, self.history.raw,
                  self.evaluations.steps, self.evaluations.train, self.evaluations.test]
        arrays += [array for slots in self.optimizer_state.values() for array in slots.values()]
        for array in arrays:
            if isinstance(array, np.ndarray):
                array.flags.writeable = False

    @property
    def loss(self) -> float | None:
        """The loss of the last step taken, if any was recorded."""
        return self.history.last
