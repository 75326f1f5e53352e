"""The training thread: owns the TrainingRun, paces snapshots, waits while the GUI paints.

It is the GUI's runner (lab.core.runner.Runner): every engine call happens on this thread;
the workspace sends commands and gets Snapshots back. Pacing: the worker trains in ~5 ms
slices (so commands take effect promptly), sends at most one snapshot per ~0.1 s, and after
sending one waits until the GUI says it has handled it (or 0.25 s, should the GUI be stuck).
So nothing queues up however fast training runs; the only other snapshots are the few that
answer a user's command. Each snapshot carries the parts the views asked for (see
lab.core.parts) that are due at their own pace.

The GIL: the worker never sleeps to hand it over. Python's switch interval (5 ms) gives the
GUI thread the GIL when it asks, and each snapshot's wait releases it at least every ~0.1 s,
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
from typing import Any

from PySide6.QtCore import QThread, Signal
from threadpoolctl import threadpool_limits

from lab.core.parts import DEFAULT_PARTS, PARTS
from lab.core.points import Columns
from lab.core.runner import give_points
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

SLICE_SECONDS = 0.005
# Every snapshot costs the worker a round trip to the GUI thread, and those whose parts
# repaint a plot also wait for pyqtgraph's paint. 10 a second, the loss curves' pace, look
# live; more, in between, would carry only the numbers and slow training down.
SNAPSHOT_INTERVAL = 1 / 10
PAINT_TIMEOUT = 0.25


class TrainingWorker(QThread):
    """A long-lived thread with a command queue; see the module docstring for the pacing."""

    snapshotReady = Signal(object)  # Snapshot, while training or after a command
    # The final Snapshot, why the run ended (RunEnd), and the ticket the workspace gave the
    # run when it started it, so a late signal from an earlier run is recognisable as such.
    trainingFinished = Signal(object, object, int)
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
        self._wanted: dict[str, Any] = dict(DEFAULT_PARTS)  # part name -> its view's argument
        self._points: Columns | None = None
        self._ticket = 0

    # --- called from the GUI thread -------------------------------------------------------
    def configure(self, config: RunConfig) -> None:
        """Build a fresh run (Reset, new model, imported weights); ends any current run."""
        self._post(lambda: self._configure(config))

    def set_points(self, columns: Columns) -> None:
        """New points; the run trains on them from its next step."""
        self._post(lambda: self._set_points(columns))

    def set_training(self, training: TrainingSettings) -> None:
        """A new learning rate, penalty rate or batch size, from the next slice (~5 ms)."""
        self._post(lambda: self._run.adjust(training) if self._run is not None else None)

    def want(self, part: str, argument: Any = None, wanted: bool = True) -> None:
        """Send this part (lab.core.parts) from now on, made with `argument`, or stop sending
        it; a paused or idle run answers with a snapshot that shows the change."""
        if part not in PARTS:
            raise KeyError(f"no snapshot part {part!r}; there are {', '.join(PARTS)}")
        self._post(lambda: self._want(part, argument, wanted))

    def train(self, steps: int, ticket: int) -> None:
        """Start a run of `steps` steps; its trainingFinished carries `ticket`."""
        self._post(lambda: self._start(steps, ticket))

    def step_once(self, ticket: int, trace: bool = False) -> None:
        """Exactly one step, traced for "Step through" if asked; a paused run stays paused
        (and one step nearer its end)."""
        self._post(lambda: self._step_once(ticket, trace))

    def pause(self) -> None:
        self._post(self._pause)

    def resume(self) -> None:
        self._post(lambda: setattr(self, "_paused", False))

    def stop(self, reason: str = "stopped") -> None:
        """End the current run, if any, with this reason."""
        self._post(lambda: self._finish(RunEnd.stopped(reason)) if self._remaining else None)

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
        last_sent = 0.0
        last_part = dict.fromkeys(PARTS, 0.0)  # when each part was last sent
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
                self._finish(RunEnd(EndKind.DIVERGED, str(error)))
                continue
            except Exception:
                self._fail()
                continue
            if self._remaining == 0:
                self._finish(RunEnd.finished())
                continue
            now = time.perf_counter()
            if now - last_sent >= SNAPSHOT_INTERVAL and self._painted.is_set():
                costs = self._run.part_costs
                due = {
                    name: argument
                    for name, argument in self._wanted.items()
                    if now - last_part[name] >= PARTS[name].spacing(costs.get(name, 0.0))
                }
                self._painted.clear()
                self.snapshotReady.emit(self._run.snapshot(due))
                last_sent = now
                last_part.update(dict.fromkeys(due, now))
                if not self._painted.wait(PAINT_TIMEOUT):
                    self._painted.set()  # a busy GUI must not stop the run's snapshots for good

    def _send(self) -> None:
        """A snapshot outside the paced loop, with every wanted part: answering a command
        while idle or paused."""
        self.snapshotReady.emit(self._snapshot())

    def _snapshot(self) -> Snapshot:
        return self._run.snapshot(self._wanted)

    def _finish(self, end: RunEnd) -> None:
        self._remaining = 0
        self._paused = False
        if self._run is not None:
            self.trainingFinished.emit(self._snapshot(), end, self._ticket)

    def _fail(self) -> None:
        self._remaining = 0
        self._paused = False
        self.failed.emit(traceback.format_exc())

    def _configure(self, config: RunConfig) -> None:
        if self._remaining:
            self._finish(RunEnd.stopped())
        self._run = None  # should the new one fail to build, no stale run trains on
        self._run = TrainingRun.from_config(config)
        if self._points is not None:
            give_points(self._run, self._points)
        self._send()

    def _set_points(self, columns: Columns) -> None:
        self._points = columns
        if self._run is None:
            return
        give_points(self._run, columns)
        if self._remaining and not self._run.point_count:
            self._finish(RunEnd.stopped(NO_POINTS))
        elif not self._remaining or self._paused:
            self._send()

    def _pause(self) -> None:
        if self._remaining and not self._paused:
            self._paused = True
            self._send()

    def _want(self, part: str, argument: Any, wanted: bool) -> None:
        if wanted:
            self._wanted[part] = argument
        else:
            self._wanted.pop(part, None)
        if self._run is not None and (not self._remaining or self._paused):
            self._send()

    def _step_once(self, ticket: int, trace: bool) -> None:
        if not (self._remaining and self._paused):
            self._start(1, ticket)
            if not (trace and self._remaining):
                return  # the loop takes an untraced step; a traced one is taken here
        try:
            self._remaining -= self._run.traced_step() if trace else self._run.train(1)
        except Diverged as error:
            self._finish(RunEnd(EndKind.DIVERGED, str(error)))
            return
        if self._remaining:
            self._send()
        else:
            self._finish(RunEnd.finished())

    def _start(self, steps: int, ticket: int) -> None:
        if self._remaining:
            self._finish(RunEnd.stopped())
        self._ticket = ticket
        if self._run is None or self._run.point_count == 0:
            snapshot = self._snapshot() if self._run else None
            self.trainingFinished.emit(snapshot, RunEnd.stopped(NO_POINTS), ticket)
            return
        self._run.run_start_step = self._run.step
        self._paused = False
        self._remaining = steps
