"""The training thread: owns the TrainingRun, paces snapshots, waits while the GUI paints.

Every engine call happens on this thread; the GUI sends commands and gets Snapshots back.
Pacing: the worker trains in ~5 ms slices (so commands take effect promptly), sends at most
one snapshot per ~50 ms, and after sending one waits until the GUI says it has handled it
(or 0.25 s, should the GUI be stuck). So nothing queues up however fast training runs; the
only other snapshots are the few that answer a user's command.

The GIL: the worker never sleeps to hand it over. Python's switch interval (5 ms) gives the
GUI thread the GIL when it asks, and each snapshot's wait releases it at least every ~50 ms,
which bounds the worst case should numpy's brief GIL releases keep the GUI from taking it.
Measured here, a `time.sleep(0)` after every slice cost ~2% of the worker's time and made
the next slice slower too, while the GUI's timer lateness stayed at p99 1-5 ms without it.
"""

from __future__ import annotations

import queue
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QThread, Signal
from threadpoolctl import threadpool_limits

from lab.core.boundary import Rect
from lab.core.model import ModelSettings
from lab.core.training import Diverged, Snapshot, TrainingRun

SLICE_SECONDS = 0.005
# Every snapshot costs the worker a round trip to the GUI thread, and curve and grid ones
# also wait for pyqtgraph's paint. 20 snapshots a second (the loss curve in every other
# one, decision regions and weights in every fifth) still look live and leave the worker
# ~1% more of its time than 30/10/5 did.
SNAPSHOT_INTERVAL = 1 / 20
CURVE_INTERVAL = 0.1
GRID_INTERVAL = 0.25
PAINT_TIMEOUT = 0.25


@dataclass(frozen=True)
class RunConfig:
    """Everything needed to (re)build a run."""

    settings: ModelSettings
    optimizer: str
    learning_rate: float
    weights: dict[str, np.ndarray] | None = None
    step: int = 0


class TrainingWorker(QThread):
    """A long-lived thread with a command queue; see the module docstring for the pacing."""

    snapshotReady = Signal(object)  # Snapshot, while training or after a command
    # The final Snapshot, why the run ended, and the ticket the GUI gave the run when it
    # started it, so a late signal from an earlier run is recognisable as such.
    trainingFinished = Signal(object, str, int)
    failed = Signal(str)  # an unexpected error, with its traceback

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._commands: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._painted = threading.Event()
        self._painted.set()
        self._run: TrainingRun | None = None
        self._remaining = 0
        self._paused = False
        self._alive = True
        self._view: Rect | None = None
        self._points: tuple[np.ndarray, np.ndarray] | None = None
        self._ticket = 0

    # --- called from the GUI thread -------------------------------------------------------
    def configure(self, config: RunConfig) -> None:
        """Build a fresh run (Reset, new model, imported weights); ends any current run."""
        self._post(lambda: self._configure(config))

    def set_points(self, xy: np.ndarray, labels: np.ndarray) -> None:
        """New points; the run trains on them from its next step."""
        self._post(lambda: self._set_points(xy, labels))

    def set_learning_rate(self, learning_rate: float) -> None:
        """Takes effect from the next training slice (~5 ms)."""
        self._post(lambda: self._set_learning_rate(learning_rate))

    def set_view(self, rect: Rect | None) -> None:
        """Where the decision grid should be evaluated (None: no grid wanted)."""
        self._post(lambda: self._set_view(rect))

    def train(self, steps: int, ticket: int) -> None:
        """Start a run of `steps` steps; its trainingFinished carries `ticket`."""
        self._post(lambda: self._start(steps, ticket))

    def step_once(self, ticket: int) -> None:
        """Exactly one step; a paused run stays paused (and one step nearer its end)."""
        self._post(lambda: self._step_once(ticket))

    def pause(self) -> None:
        self._post(self._pause)

    def resume(self) -> None:
        self._post(lambda: setattr(self, "_paused", False))

    def stop(self, reason: str = "stopped") -> None:
        """End the current run, if any, with this reason."""
        self._post(lambda: self._finish(reason) if self._remaining else None)

    def painted(self) -> None:
        """The GUI has shown the last snapshot: the worker may send the next."""
        self._painted.set()

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Stop training and end the thread; True when it ended in time."""
        self._alive = False
        self._post(lambda: None)
        self._painted.set()
        return self.wait(timeout_ms)

    def _post(self, command: Callable[[], None]) -> None:
        self._commands.put(command)

    # --- the worker thread ----------------------------------------------------------------
    def run(self) -> None:
        # OpenBLAS threads busy-wait for work; on two cores they fight the GUI thread for
        # the CPU. Training on one BLAS thread is as fast here and leaves the GUI a core.
        with threadpool_limits(limits=1, user_api="blas"):
            self._loop()

    def _loop(self) -> None:
        last_sent = last_curve = last_grid = 0.0
        while self._alive:
            try:
                training = self._remaining > 0 and not self._paused
                command = self._commands.get_nowait() if training else self._commands.get()
                command()
                continue
            except queue.Empty:
                pass
            except Exception:
                self._fail()
                continue
            # A slice ends early when a snapshot falls due, so snapshots keep their pace.
            due = last_sent + SNAPSHOT_INTERVAL - time.perf_counter()
            try:
                self._remaining -= self._run.train(self._remaining, min(SLICE_SECONDS, due))
            except Diverged as error:
                self._finish(str(error))
                continue
            except Exception:
                self._fail()
                continue
            if self._remaining == 0:
                self._finish("finished")
                continue
            now = time.perf_counter()
            if now - last_sent >= SNAPSHOT_INTERVAL and self._painted.is_set():
                curve = now - last_curve >= CURVE_INTERVAL
                grid = now - last_grid >= GRID_INTERVAL
                self._painted.clear()
                self.snapshotReady.emit(self._snapshot(curve, grid))
                last_sent = now
                last_curve = now if curve else last_curve
                last_grid = now if grid else last_grid
                if not self._painted.wait(PAINT_TIMEOUT):
                    self._painted.set()  # a busy GUI must not stop the run's snapshots for good

    def _send(self, curve: bool = True) -> None:
        """A snapshot outside the paced loop: answering a command while idle or paused."""
        self.snapshotReady.emit(self._snapshot(curve))

    def _snapshot(self, curve: bool = True, grid: bool = True) -> Snapshot:
        rect = self._view if grid else None
        return self._run.snapshot(curve=curve, grid_rect=rect)

    def _finish(self, reason: str) -> None:
        self._remaining = 0
        self._paused = False
        if self._run is not None:
            self.trainingFinished.emit(self._snapshot(), reason, self._ticket)

    def _fail(self) -> None:
        self._remaining = 0
        self._paused = False
        self.failed.emit(traceback.format_exc())

    def _configure(self, config: RunConfig) -> None:
        if self._remaining:
            self._finish("stopped")
        self._run = TrainingRun(
            config.settings, config.optimizer, config.learning_rate, config.weights, config.step
        )
        if self._points is not None:
            self._run.set_points(*self._points)
        self._send()

    def _set_points(self, xy: np.ndarray, labels: np.ndarray) -> None:
        self._points = (xy, labels)
        if self._run is None:
            return
        try:
            self._run.set_points(xy, labels)
        except ValueError:  # more classes than the model has: the GUI rebuilds the model
            self._run.set_points(np.empty((0, 2)), np.empty(0, dtype=np.int64))
        if self._remaining and not self._run.point_count:
            self._finish("stopped: there are no points to train on")
        elif not self._remaining or self._paused:
            self._send(curve=False)

    def _set_learning_rate(self, learning_rate: float) -> None:
        if self._run is not None:
            self._run.learning_rate = learning_rate

    def _pause(self) -> None:
        if self._remaining and not self._paused:
            self._paused = True
            self._send()

    def _set_view(self, rect: Rect | None) -> None:
        self._view = rect
        if self._run is not None and (not self._remaining or self._paused):
            self._send(curve=False)

    def _step_once(self, ticket: int) -> None:
        if not (self._remaining and self._paused):
            self._start(1, ticket)
            return
        try:
            self._remaining -= self._run.train(1)
        except Diverged as error:
            self._finish(str(error))
            return
        if self._remaining:
            self._send()
        else:
            self._finish("finished")

    def _start(self, steps: int, ticket: int) -> None:
        if self._remaining:
            self._finish("stopped")
        self._ticket = ticket
        if self._run is None or self._run.point_count == 0:
            snapshot = self._snapshot() if self._run else None
            self.trainingFinished.emit(snapshot, "no points to train on", ticket)
            return
        self._run.run_start_step = self._run.step
        self._paused = False
        self._remaining = steps
