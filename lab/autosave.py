"""Autosave: the points and the latest weights, written shortly after they change.

A crash or a kill -9 then loses at most a couple of seconds of work. The files are the
app's own formats (points CSV, weights .npz), so restoring goes through the same validating
loaders as File → Open. Writes happen on a background thread so that an fsync never stalls
the GUI while it is painting a training run.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QStandardPaths, QTimer, Signal

from lab.core import files
from lab.core.training import Snapshot, weights_metadata

DELAY_MS = 1000


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
        self.points_path = self.folder / "points.csv"
        self.weights_path = self.folder / "weights.npz"
        self._points: tuple[np.ndarray, np.ndarray] | None = None
        self._snapshot: Snapshot | None = None
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="autosave")
        self._last_write: Future | None = None
        self._closed = False
        self._timer = QTimer(self, singleShot=True, interval=DELAY_MS)
        self._timer.timeout.connect(self.flush)

    def points_changed(self, xy: np.ndarray, labels: np.ndarray) -> None:
        """Remember the points (read-only arrays that never change) and schedule a save."""
        self._points = (xy, labels)
        self._schedule()

    def weights_changed(self, snapshot: Snapshot) -> None:
        """Remember the run's latest snapshot (private copies) and schedule a save."""
        self._snapshot = snapshot
        self._schedule()

    def _schedule(self) -> None:
        if not self._timer.isActive():
            self._timer.start()

    def flush(self) -> None:
        """Hand what changed to the writer thread now (nothing, once closed)."""
        self._timer.stop()
        if self._closed:
            return
        points, snapshot = self._points, self._snapshot
        self._points = self._snapshot = None
        if points is not None or snapshot is not None:
            self._last_write = self._writer.submit(self._write, points, snapshot)

    def _write(self, points, snapshot: Snapshot | None) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            if points is not None:
                files.save_points(self.points_path, *points)
            if snapshot is not None:
                files.save_weights(self.weights_path, snapshot.weights, weights_metadata(snapshot))
        except Exception as error:  # whatever it was, say so; the next save tries again
            self.failed.emit(str(error))

    def wait(self) -> None:
        """Block until everything handed over so far is on disk."""
        if self._last_write is not None:
            self._last_write.result()

    def close(self) -> None:
        """Write what is pending and stop the writer thread."""
        self.flush()
        self._closed = True
        self._writer.shutdown(wait=True)

    def restore(self):
        """(points or None, (weights, metadata) or None, problems): what the last session left."""
        problems: list[str] = []
        points = weights = None
        if self.points_path.exists():
            try:
                points = files.load_points(self.points_path)
            except (OSError, ValueError) as error:
                problems.append(str(error))
        if self.weights_path.exists():
            try:
                weights = files.load_weights(self.weights_path)
            except (OSError, ValueError) as error:
                problems.append(str(error))
        return points, weights, problems

    def discard(self) -> None:
        """Forget the autosave (File → New)."""
        self._timer.stop()
        self._points = self._snapshot = None
        self.wait()
        for path in (self.points_path, self.weights_path):
            path.unlink(missing_ok=True)
