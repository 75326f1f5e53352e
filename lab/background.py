"""Slow work (reading a big file) on a thread of its own, its result handed back to the GUI
thread, so the window keeps painting and answering meanwhile."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from PySide6.QtCore import QObject, Signal


class Background(QObject):
    """One job at a time; `busy` tells whether one is running."""

    _finished = Signal(object, object, object)  # the future, then, failed

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="background")
        self._running: Future | None = None
        self._finished.connect(self._deliver)  # queued: it is emitted on the pool's thread

    @property
    def busy(self) -> bool:
        return self._running is not None

    def run(
        self,
        job: Callable[[], Any],
        then: Callable[[Any], None],
        failed: Callable[[Exception], None],
    ) -> None:
        """Run `job` on the background thread; `then(result)` or `failed(error)` follow on
        this thread."""
        self._running = self._pool.submit(job)
        self._running.add_done_callback(lambda future: self._finished.emit(future, then, failed))

    def _deliver(self, future: Future, then: Callable, failed: Callable) -> None:
        self._running = None
        error = future.exception()
        if error is None:
            then(future.result())
        elif isinstance(error, Exception):
            failed(error)

    def close(self) -> None:
        """Wait for a running job and end the thread."""
        self._pool.shutdown(wait=True)
