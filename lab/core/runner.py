"""Who trains a workspace's run: the protocol, and a runner that trains on the calling thread.

The GUI's runner is a worker thread (lab.worker); the CLI and the core's tests use
`InlineRunner`. Either reports back to the workspace through `receive`, `run_finished` and
`run_failed`, so the rules in between are the same whoever trains.
"""

from __future__ import annotations

import math
import traceback
from typing import Any, Protocol

import numpy as np

from lab.core.parts import PARTS
from lab.core.points import Columns, validate_columns
from lab.core.settings import TrainingSettings
from lab.core.training import (
    NO_POINTS,
    Diverged,
    EndKind,
    RunConfig,
    RunEnd,
    Snapshot,
    TrainingRun,
)


class Runner(Protocol):
    """The commands a workspace gives; a Train or Step ends with `run_finished(ticket)`."""

    def configure(self, config: RunConfig) -> None: ...
    def set_points(self, columns: Columns) -> None: ...
    def set_training(self, training: TrainingSettings) -> None: ...
    def train(self, steps: int, ticket: int) -> None: ...
    def step_once(self, ticket: int, trace: bool = False) -> None: ...
    def pause(self) -> None: ...
    def resume(self) -> None: ...
    def stop(self, reason: str = "stopped") -> None: ...


class Receiver(Protocol):
    """What a runner reports to (the workspace)."""

    def receive(self, snapshot: Snapshot) -> None: ...
    def run_finished(self, snapshot: Snapshot | None, end: RunEnd, ticket: int) -> None: ...
    def run_failed(self, details: str) -> None: ...


class InlineRunner:
    """Trains on the calling thread: `train` returns when the run has ended.

    While it trains it sends a snapshot every `interval` seconds and, with `report_every`,
    also at every multiple of that many steps of the run (the CLI prints those). Pausing
    makes no sense when nothing else runs meanwhile, so pause and resume do nothing.
    """

    def __init__(
        self,
        receiver: Receiver,
        interval: float = math.inf,
        report_every: int | None = None,
        parts: tuple[str, ...] = ("checkpoint",),
    ) -> None:
        self._receiver = receiver
        self._interval = interval
        self._report_every = report_every
        unknown = set(parts) - set(PARTS)
        if unknown:
            raise KeyError(f"no snapshot part {', '.join(sorted(unknown))}; there are "
                           f"{', '.join(PARTS)}")
        self._parts: dict[str, Any] = dict.fromkeys(parts)
        self._run: TrainingRun | None = None
        self._points: Columns | None = None

    def configure(self, config: RunConfig) -> None:
        self._run = TrainingRun.from_config(config)
        if self._points is not None:
            give_points(self._run, self._points)
        self._receiver.receive(self._run.snapshot(self._parts))

    def set_points(self, columns: Columns) -> None:
        self._points = columns
        if self._run is not None:
            give_points(self._run, columns)

    def set_training(self, training: TrainingSettings) -> None:
        if self._run is not None:
            self._run.adjust(training)

    def train(self, steps: int, ticket: int, trace: bool = False) -> None:
        run = self._run
        if run is None or not run.point_count:
            snapshot = run.snapshot(self._parts) if run else None
            self._receiver.run_finished(snapshot, RunEnd.stopped(NO_POINTS), ticket)
            return
        run.run_start_step = run.step
        end = run.step + steps
        try:
            if trace:
                run.traced_step()
            else:
                self._train_until(run, end)
        except Diverged as error:
            self._receiver.run_finished(
                run.snapshot(self._parts), RunEnd(EndKind.DIVERGED, str(error)), ticket
            )
            return
        except Exception:
            self._receiver.run_failed(traceback.format_exc())
            return
        self._receiver.run_finished(run.snapshot(self._parts), RunEnd.finished(), ticket)

    def _train_until(self, run: TrainingRun, end: int) -> None:
        every = self._report_every
        while run.step < end:
            target = end if every is None else min(end, (run.step // every + 1) * every)
            while run.step < target:
                run.train(target - run.step, self._interval)
                if run.step < end:
                    self._receiver.receive(run.snapshot())

    def step_once(self, ticket: int, trace: bool = False) -> None:
        """One step; traced (lab.core.step_trace) for "Step through"."""
        self.train(1, ticket, trace)

    def pause(self) -> None:
        """Nothing to pause: the run ends before control returns."""

    def resume(self) -> None:
        """Nothing to resume."""

    def stop(self, reason: str = "stopped") -> None:
        """Nothing to stop."""



def give_points(run: TrainingRun, columns: Columns) -> None:
    """Hand a run new points; with more classes than its model has, none (the workspace
    builds a model for them)."""
    try:
        run.set_points(columns)
    except ValueError:
        run.set_points(validate_columns(np.empty((0, 2)), np.empty(0, dtype=np.int64)))
