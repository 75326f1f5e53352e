"""Autosave: the workspace, written shortly after it changes.

A crash or a kill -9 then loses at most a couple of seconds of work, and the next launch
continues the run the user was watching: points, settings, weights, optimizer state and loss
curve. The file is a workspace file (.tlab), so restoring goes through the same validating
loader as File → Open. Writes happen on a background thread so that an fsync never stalls
the GUI while it is painting a training run.
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from PySide6.QtCore import QObject, QStandardPaths, QTimer, Signal

from lab.core.events import Change
from lab.core.io.workspace_file import WorkspaceData, load_workspace, save_workspace
from lab.core.workspace import Workspace

DELAY_MS = 1000  # after an edit
TRAINING_DELAY_MS = 5000  # after training moved on: a crash loses at most a few seconds of it
# A big workspace (a million points) takes a while to write: the writer is kept busy at most
# this share of the time, however often the workspace changes.
MAX_BUSY_SHARE = 0.1
EDITS = (Change.POINTS, Change.DATA, Change.MODEL, Change.TRAINING)


def default_folder() -> Path:
    """Under the platform's per-user data folder (a test location under test mode).

    Named explicitly rather than via AppDataLocation, which depends on the QApplication's
    name: a test process and the app must find the same folder.
    """
    location = QStandardPaths.StandardLocation.GenericDataLocation
    return Path(QStandardPaths.writableLocation(location)) / "training-lab" / "autosave"


class Autosave(QObject):
    """Saves at most DELAY_MS after the first unsaved change, however often things change."""

    failed = Signal(str)  # a write failed (emitted from the writer thread); the next one retries

    def __init__(self, folder: Path | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.folder = folder or default_folder()
        self.path = self.folder / "workspace.tlab"
        self._workspace: Workspace | None = None
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="autosave")
        self._last_write: Future | None = None
        self._write_seconds = 0.0
        self._closed = False
        self._timer = QTimer(self, singleShot=True, interval=DELAY_MS)
        self._timer.timeout.connect(self.flush)

    def watch(self, workspace: Workspace) -> None:
        """Save `workspace` shortly after each of its changes."""
        self._workspace = workspace
        for change in EDITS:
            workspace.events.subscribe(change, lambda: self._schedule(DELAY_MS))
        workspace.events.subscribe(Change.CHECKPOINT, lambda: self._schedule(TRAINING_DELAY_MS))

    def _schedule(self, delay_ms: int) -> None:
        """Save within `delay_ms` (sooner if a save is due sooner already)."""
        if self._closed:
            return
        delay = max(delay_ms, round(self._write_seconds / MAX_BUSY_SHARE * 1000))
        if not self._timer.isActive() or delay < self._timer.remainingTime():
            self._timer.start(delay)

    def flush(self) -> None:
        """Hand the workspace as it is now to the writer thread (nothing, once closed)."""
        self._timer.stop()
        if self._closed or self._workspace is None:
            return
        # The data is frozen settings and read-only arrays: safe to write from another thread.
        self._last_write = self._writer.submit(self._write, self._workspace.to_data())

    def _write(self, data: WorkspaceData) -> None:
        started = time.perf_counter()
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            save_workspace(self.path, data)
        except Exception as error:  # whatever it was, say so; the next save tries again
            self.failed.emit(str(error))
        self._write_seconds = time.perf_counter() - started

    def wait(self) -> None:
        """Block until everything handed over so far is on disk."""
        if self._last_write is not None:
            self._last_write.result()

    def close(self) -> None:
        """Write what is pending and stop the writer thread."""
        if self._timer.isActive():
            self.flush()
        self._closed = True
        self._writer.shutdown(wait=True)

    def restore(self) -> tuple[WorkspaceData | None, list[str]]:
        """(the last session's workspace or None, problems met reading it)."""
        if not self.path.exists():
            return None, []
        try:
            return load_workspace(self.path), []
        except (OSError, ValueError) as error:
            return None, [str(error)]

    def discard(self) -> None:
        """Forget the autosave (File → New)."""
        self._timer.stop()
        self.wait()
        self.path.unlink(missing_ok=True)
