"""Losses measured now and then (every epoch, or every step a test set is held out), each at
its step, in bounded memory: when the record fills up, every other sample goes."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

CAPACITY = 2048  # samples kept; a full record keeps every other one and doubles its spacing


@dataclass(frozen=True)
class SampledState:
    """A SampledCurves' contents (for a checkpoint): the kept samples' steps and losses (NaN
    where one was not measured), how many samples came, and one in how many is kept."""

    steps: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    train: np.ndarray = field(default_factory=lambda: np.empty(0))
    test: np.ndarray = field(default_factory=lambda: np.empty(0))
    arrived: int = 0
    stride: int = 1


class SampledCurves:
    """(step, train loss, test loss) samples, thinned out evenly as they accumulate: sample
    number k (from 0) is kept while k is a multiple of the stride."""

    def __init__(self, state: SampledState | None = None) -> None:
        state = state or SampledState()
        n = len(state.steps)
        stride, arrived = int(state.stride), int(state.arrived)
        if not len(state.train) == len(state.test) == n <= CAPACITY:
            raise ValueError(f"sampled curves must be equally long, at most {CAPACITY}")
        if stride < 1 or stride & (stride - 1) or n != -(-arrived // stride):
            raise ValueError("the sampled curves' count does not fit their stride")
        if n > 1 and np.any(np.diff(state.steps) <= 0):
            raise ValueError("the sampled curves' steps must increase")
        self._steps = np.zeros(CAPACITY, dtype=np.int64)
        self._losses = np.full((CAPACITY, 2), np.nan)
        self._steps[:n] = state.steps
        self._losses[:n, 0], self._losses[:n, 1] = state.train, state.test
        self._count, self._arrived, self._stride = n, arrived, stride

    def add(self, step: int, train: float = np.nan, test: float = np.nan) -> None:
        """Record the losses measured at `step` (NaN: not measured)."""
        number = self._arrived
        self._arrived += 1
        if number % self._stride:
            return
        if self._count == CAPACITY:  # keep every other sample from now on
            self._steps[: CAPACITY // 2] = self._steps[::2]
            self._losses[: CAPACITY // 2] = self._losses[::2]
            self._count = CAPACITY // 2
            self._stride *= 2
            if number % self._stride:
                return
        self._steps[self._count] = step
        self._losses[self._count] = (train, test)
        self._count += 1

    def due(self) -> bool:
        """Whether the next `add` is kept: measuring what it would drop is wasted."""
        number = self._arrived
        stride = self._stride * (2 if self._count == CAPACITY else 1)
        return number % self._stride == 0 and number % stride == 0

    @property
    def last(self) -> tuple[float, float]:
        """The latest (train, test) losses kept (NaN where not measured)."""
        return tuple(self._losses[self._count - 1]) if self._count else (np.nan, np.nan)

    def curve(self, which: str) -> tuple[np.ndarray, np.ndarray]:
        """(steps, losses) of "train" or "test", leaving out samples where it was not measured."""
        losses = self._losses[: self._count, 0 if which == "train" else 1]
        kept = np.isfinite(losses)
        return self._steps[: self._count][kept].astype(np.float64), losses[kept].copy()

    def state(self) -> SampledState:
        n = self._count
        return SampledState(self._steps[:n].copy(), self._losses[:n, 0].copy(),
                            self._losses[:n, 1].copy(), self._arrived, self._stride)
