"""Plain callbacks by topic: how the Qt-free core tells whoever listens that something changed.

The GUI's views and the CLI's progress printer subscribe to the same workspace this way.
Callbacks run at once, on the thread that made the change.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Callable
from typing import Any


class Change(enum.Enum):
    """What a workspace announces; the arguments each callback gets are in brackets."""

    POINTS = "points"  # the points changed (), e.g. a click, Generate, undo
    DATA = "data"  # the data settings changed ()
    MODEL = "model"  # the model settings changed and a new model was built ()
    TRAINING = "training"  # the training settings changed ()
    STATE = "state"  # idle / training / paused, or whether Train is possible ()
    SNAPSHOT = "snapshot"  # the run sent what it looks like now (Snapshot)
    CHECKPOINT = "checkpoint"  # training moved the checkpoint on (weights, curve, ...) ()
    FINISHED = "finished"  # a Train or Step ended (RunEnd)
    MESSAGE = "message"  # something to tell the user (str)
    FILE = "file"  # its file, or whether it has changes not saved there, changed ()


Callback = Callable[..., Any]


class Events:
    """A callback list per Change."""

    def __init__(self) -> None:
        self._listeners: defaultdict[Change, list[Callback]] = defaultdict(list)

    def subscribe(self, change: Change, callback: Callback) -> Callable[[], None]:
        """Call ``callback`` on every ``change``; returns a function that unsubscribes."""
        self._listeners[change].append(callback)
        return lambda: self._listeners[change].remove(callback)

    def emit(self, change: Change, *args: Any) -> None:
        for callback in tuple(self._listeners[change]):
            callback(*args)
