"""The user's labelled points, with undo/redo and change listeners.

Every change builds new arrays and freezes them, so an array handed out earlier never changes
under its holder: the training worker thread can keep a snapshot without copying or locking.
"""

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

MAX_CLASSES = 4
MAX_POINTS = 1_000_000  # what files, generators and the plots are made for
MAX_HISTORY_STEPS = 200
# Whole-array steps (replace, clear) dominate memory; with 100,000 points each costs ~2.4 MB.
MAX_HISTORY_BYTES = 128 * 2**20


def validate_points(xy: object, labels: object) -> tuple[np.ndarray, np.ndarray]:
    """Return checked float64 (N, 2) and int64 (N,) copies, or raise ValueError saying why.

    Shared by PointSet and the file code so every way data comes in obeys the same rules.
    """
    try:
        xy_array = np.array(xy, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"xy must be an (N, 2) array of numbers: {exc}") from None
    if xy_array.size == 0:
        xy_array = xy_array.reshape(0, 2)
    if xy_array.ndim != 2 or xy_array.shape[1] != 2:
        raise ValueError(f"xy must have shape (N, 2), got {xy_array.shape}")
    if not np.isfinite(xy_array).all():
        raise ValueError("xy contains NaN or infinite values")

    label_array = np.asarray(labels)
    if label_array.size == 0:
        label_array = np.empty(0, dtype=np.int64)
    if label_array.ndim != 1 or len(label_array) != len(xy_array):
        raise ValueError(
            f"labels must have shape ({len(xy_array)},) to match xy, got {label_array.shape}"
        )
    if label_array.dtype.kind not in "iu":
        raise ValueError(f"labels must be integers, got dtype {label_array.dtype}")
    if len(label_array) and (label_array.min() < 0 or label_array.max() >= MAX_CLASSES):
        raise ValueError(f"labels must be in 0..{MAX_CLASSES - 1}")
    return xy_array, label_array.astype(np.int64)


def _frozen(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


# History steps are immutable; applying one returns the new arrays and the step that undoes it,
# so undo and redo share one code path. Single-point edits store one row, not whole arrays.


@dataclass(frozen=True, slots=True)
class _Insert:
    index: int
    x: float
    y: float
    label: int
    nbytes = 0

    def apply(self, xy: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, "_Step"]:
        return (
            np.insert(xy, self.index, (self.x, self.y), axis=0),
            np.insert(labels, self.index, self.label),
            _Delete(self.index, self.x, self.y, self.label),
        )


@dataclass(frozen=True, slots=True)
class _Delete:
    index: int
    x: float
    y: float
    label: int
    nbytes = 0

    def apply(self, xy: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, "_Step"]:
        return (
            np.delete(xy, self.index, axis=0),
            np.delete(labels, self.index),
            _Insert(self.index, self.x, self.y, self.label),
        )


@dataclass(frozen=True, slots=True)
class _Swap:
    """Whole-data change: holds the arrays that are not current; applying exchanges them."""

    xy: np.ndarray
    labels: np.ndarray

    @property
    def nbytes(self) -> int:
        return self.xy.nbytes + self.labels.nbytes

    def apply(self, xy: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, "_Step"]:
        return self.xy, self.labels, _Swap(xy, labels)


_Step = _Insert | _Delete | _Swap


def _check_label(label: object) -> int:
    if isinstance(label, bool) or not isinstance(label, numbers.Integral):
        raise ValueError(f"label must be a whole number, got {label!r}")
    if not 0 <= label < MAX_CLASSES:
        raise ValueError(f"label must be in 0..{MAX_CLASSES - 1}, got {label}")
    return int(label)


def _check_position(x: float, y: float) -> tuple[float, float]:
    x, y = float(x), float(y)
    if not (math.isfinite(x) and math.isfinite(y)):
        raise ValueError(f"point ({x}, {y}) is not finite")
    return x, y


class PointSet:
    """Labelled 2-D points edited by the user; every edit is one undoable step.

    History keeps at most MAX_HISTORY_STEPS steps and, counting the whole-array steps of
    replace/clear, at most MAX_HISTORY_BYTES; the oldest steps go first. Not thread-safe:
    mutate from one thread only and hand other threads the read-only arrays.
    """

    def __init__(self, xy: object = None, labels: object = None) -> None:
        if xy is None and labels is None:
            xy, labels = np.empty((0, 2)), np.empty(0, dtype=np.int64)
        xy_array, label_array = validate_points(xy, labels)
        self._xy = _frozen(xy_array)
        self._labels = _frozen(label_array)
        self._undo: list[_Step] = []
        self._redo: list[_Step] = []
        self._listeners: list[Callable[[], None]] = []
        self._version = 0
        self._class_count = (-1, 0)  # (version, count)

    @property
    def xy(self) -> np.ndarray:
        """Read-only (N, 2) float64; a view, so the holder cannot flip it back to writable."""
        return self._xy.view()

    @property
    def labels(self) -> np.ndarray:
        """Read-only (N,) int64 view."""
        return self._labels.view()

    def __len__(self) -> int:
        return len(self._labels)

    @property
    def version(self) -> int:
        """Bumped on every change so consumers can tell whether their copy is stale."""
        return self._version

    @property
    def class_count(self) -> int:
        """Number of distinct labels present (counted once per change: np.unique of a million
        labels takes milliseconds, and every click asks)."""
        if self._class_count[0] != self._version:
            count = int(np.count_nonzero(np.bincount(self._labels, minlength=1)))
            self._class_count = (self._version, count)
        return self._class_count[1]

    def copy_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """Fresh writable copies, for callers that need to modify the data."""
        return self._xy.copy(), self._labels.copy()

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    def subscribe(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback()`` after every change; returns a function that unsubscribes."""
        self._listeners.append(callback)
        return lambda: self._listeners.remove(callback)

    def add(self, x: float, y: float, label: int) -> None:
        x, y = _check_position(x, y)
        self._do(_Insert(len(self), x, y, _check_label(label)))

    def remove_nearest(self, x: float, y: float) -> bool:
        """Remove the point closest to (x, y); False (and no history step) when empty."""
        x, y = _check_position(x, y)
        if not len(self):
            return False
        index = int(np.argmin(((self._xy - (x, y)) ** 2).sum(axis=1)))
        px, py = self._xy[index].tolist()
        self._do(_Delete(index, px, py, int(self._labels[index])))
        return True

    def replace(self, xy: object, labels: object) -> None:
        """Swap in new data (Generate, Open points) as one undoable step."""
        xy_array, label_array = validate_points(xy, labels)
        self._do(_Swap(_frozen(xy_array), _frozen(label_array)))

    def reset(self, xy: object, labels: object) -> None:
        """Start over with these points and no undo history (a workspace opened or new)."""
        xy_array, label_array = validate_points(xy, labels)
        self._xy, self._labels = _frozen(xy_array), _frozen(label_array)
        self._version += 1
        self._undo.clear()
        self._redo.clear()
        self._finish()

    def clear(self) -> None:
        """Remove all points; clearing an empty set is not a change and leaves no step."""
        if len(self):
            self._do(_Swap(_frozen(np.empty((0, 2))), _frozen(np.empty(0, dtype=np.int64))))

    def undo(self) -> bool:
        if not self._undo:
            return False
        self._redo.append(self._apply(self._undo.pop()))
        self._finish()
        return True

    def redo(self) -> bool:
        if not self._redo:
            return False
        self._undo.append(self._apply(self._redo.pop()))
        self._finish()
        return True

    def _do(self, step: _Step) -> None:
        self._undo.append(self._apply(step))
        self._redo.clear()
        self._finish()

    def _apply(self, step: _Step) -> _Step:
        xy, labels, inverse = step.apply(self._xy, self._labels)
        self._xy, self._labels = _frozen(xy), _frozen(labels)
        self._version += 1
        return inverse

    def _finish(self) -> None:
        # Redo steps only ever come from undo steps, so bounding the undo count bounds both.
        del self._undo[:-MAX_HISTORY_STEPS]
        while sum(step.nbytes for step in (*self._undo, *self._redo)) > MAX_HISTORY_BYTES:
            del (self._undo or self._redo)[0]
        for callback in tuple(self._listeners):
            callback()
