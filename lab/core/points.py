"""The user's points, with undo/redo and change listeners.

A point has a position, a class label (classification) and a value (regression), and is
either a training point or held out for testing. Every change builds new arrays and freezes
them, so an array handed out earlier never changes under its holder: the training worker
thread can keep a snapshot without copying or locking.
"""

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

MAX_CLASSES = 4
MAX_POINTS = 1_000_000  # what files, generators and the plots are made for
MAX_HISTORY_STEPS = 200
# Whole-array steps (replace, clear) dominate memory; with 100,000 points each costs ~3.3 MB.
MAX_HISTORY_BYTES = 128 * 2**20


class Columns(NamedTuple):
    """Every point's position (N, 2), class (N,), value (N,) and whether it is a test point."""

    xy: np.ndarray
    labels: np.ndarray
    values: np.ndarray
    test: np.ndarray

    @property
    def nbytes(self) -> int:
        return sum(column.nbytes for column in self)


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


def validate_columns(
    xy: object, labels: object, values: object = None, test: object = None
) -> Columns:
    """Checked copies of all four columns; values default to 0 and every point to training."""
    xy_array, label_array = validate_points(xy, labels)
    n = len(label_array)
    value_array = np.zeros(n) if values is None else np.array(values, dtype=np.float64)
    if value_array.shape != (n,) or not np.isfinite(value_array).all():
        raise ValueError(f"values must be {n} finite numbers")
    test_array = np.zeros(n, dtype=bool) if test is None else np.asarray(test)
    if test_array.shape != (n,) or test_array.dtype != bool:
        raise ValueError(f"test must be {n} true/false flags")
    return Columns(xy_array, label_array, value_array, test_array.copy())


def _frozen(columns: Columns) -> Columns:
    for column in columns:
        column.flags.writeable = False
    return columns


# History steps are immutable; applying one returns the new columns and the step that undoes
# it, so undo and redo share one code path. Single-point edits store one row, not whole arrays.


@dataclass(frozen=True, slots=True)
class _Insert:
    index: int
    row: tuple[float, float, int, float, bool]  # x, y, label, value, test
    nbytes = 0

    def apply(self, columns: Columns) -> tuple[Columns, "_Step"]:
        x, y, label, value, test = self.row
        inserted = Columns(
            np.insert(columns.xy, self.index, (x, y), axis=0),
            np.insert(columns.labels, self.index, label),
            np.insert(columns.values, self.index, value),
            np.insert(columns.test, self.index, test),
        )
        return inserted, _Delete(self.index, self.row)


@dataclass(frozen=True, slots=True)
class _Delete:
    index: int
    row: tuple[float, float, int, float, bool]
    nbytes = 0

    def apply(self, columns: Columns) -> tuple[Columns, "_Step"]:
        deleted = Columns(*(np.delete(column, self.index, axis=0) for column in columns))
        return deleted, _Insert(self.index, self.row)


@dataclass(frozen=True, slots=True)
class _Swap:
    """Whole-data change: holds the columns (with their task and source) that are not current;
    PointSet exchanges them."""

    columns: Columns
    task: str
    source: object

    @property
    def nbytes(self) -> int:
        return self.columns.nbytes


_Step = _Insert | _Delete | _Swap


def _check_label(label: object) -> int:
    if isinstance(label, bool) or not isinstance(label, numbers.Integral):
        raise ValueError(f"label must be a whole number, got {label!r}")
    if not 0 <= label < MAX_CLASSES:
        raise ValueError(f"label must be in 0..{MAX_CLASSES - 1}, got {label}")
    return int(label)


def _check_finite(*numbers_: float) -> tuple[float, ...]:
    checked = tuple(float(number) for number in numbers_)
    if not all(math.isfinite(number) for number in checked):
        raise ValueError(f"point {checked} is not finite")
    return checked


class PointSet:
    """Points edited by the user; every edit is one undoable step.

    History keeps at most MAX_HISTORY_STEPS steps and, counting the whole-array steps of
    replace/clear, at most MAX_HISTORY_BYTES; the oldest steps go first. Not thread-safe:
    mutate from one thread only and hand other threads the read-only arrays.
    """

    def __init__(
        self, xy: object = None, labels: object = None, values: object = None,
        test: object = None, task: str = "classification", source: object = None,
    ) -> None:
        if xy is None and labels is None:
            xy, labels = np.empty((0, 2)), np.empty(0, dtype=np.int64)
        self._columns = _frozen(validate_columns(xy, labels, values, test))
        # What the points are for: their labels are classes, or their values are targets.
        # It changes with whole new data only, and undo brings the old one back with it; so
        # does `source`, what made the data (the workspace keeps its generator settings there).
        self.task = task
        self.source = source
        self._undo: list[_Step] = []
        self._redo: list[_Step] = []
        self._listeners: list[Callable[[], None]] = []
        self._version = 0
        self._class_count = (-1, 0)  # (version, count)

    @property
    def columns(self) -> Columns:
        """All four read-only columns at once (consistent with each other)."""
        return self._columns

    @property
    def xy(self) -> np.ndarray:
        """Read-only (N, 2) float64; a view, so the holder cannot flip it back to writable."""
        return self._columns.xy.view()

    @property
    def labels(self) -> np.ndarray:
        """Read-only (N,) int64 view."""
        return self._columns.labels.view()

    @property
    def values(self) -> np.ndarray:
        """Read-only (N,) float64 view: the regression targets."""
        return self._columns.values.view()

    @property
    def test(self) -> np.ndarray:
        """Read-only (N,) bool view: True for the points held out for testing."""
        return self._columns.test.view()

    def __len__(self) -> int:
        return len(self._columns.labels)

    @property
    def version(self) -> int:
        """Bumped on every change so consumers can tell whether their copy is stale."""
        return self._version

    @property
    def class_count(self) -> int:
        """Number of distinct labels present (counted once per change: np.unique of a million
        labels takes milliseconds, and every click asks)."""
        if self._class_count[0] != self._version:
            count = int(np.count_nonzero(np.bincount(self._columns.labels, minlength=1)))
            self._class_count = (self._version, count)
        return self._class_count[1]

    def copy_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """Fresh writable copies of positions and labels, for callers that modify them."""
        return self._columns.xy.copy(), self._columns.labels.copy()

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

    def add(
        self, x: float, y: float, label: int = 0, value: float = 0.0, test: bool = False
    ) -> None:
        """A point of class `label` (classification) or with `value` (regression)."""
        x, y, value = _check_finite(x, y, value)
        self._do(_Insert(len(self), (x, y, _check_label(label), value, bool(test))))

    def nearest(self, x: float, y: float) -> int | None:
        """The index of the point closest to (x, y); None when there are none."""
        x, y = _check_finite(x, y)
        if not len(self):
            return None
        return int(np.argmin(((self._columns.xy - (x, y)) ** 2).sum(axis=1)))

    def remove_nearest(self, x: float, y: float) -> bool:
        """Remove the point closest to (x, y); False (and no history step) when empty."""
        index = self.nearest(x, y)
        if index is None:
            return False
        columns = self._columns
        px, py = columns.xy[index].tolist()
        row = (px, py, int(columns.labels[index]), float(columns.values[index]),
               bool(columns.test[index]))
        self._do(_Delete(index, row))
        return True

    def replace(
        self, xy: object, labels: object, values: object = None, test: object = None,
        task: str | None = None, source: object = None,
    ) -> None:
        """Swap in new data (Generate, Open points) as one undoable step; the task and the
        source stay unless others are given."""
        columns = _frozen(validate_columns(xy, labels, values, test))
        self._do(_Swap(columns, task or self.task, self.source if source is None else source))

    def set_test(self, test: np.ndarray, source: object = None) -> None:
        """Hold out these points for testing (a new split), as one undoable step."""
        columns = self._columns
        self.replace(columns.xy, columns.labels, columns.values, test, source=source)

    def reset(
        self, xy: object, labels: object, values: object = None, test: object = None,
        task: str = "classification", source: object = None,
    ) -> None:
        """Start over with these points and no undo history (a workspace opened or new)."""
        self._columns = _frozen(validate_columns(xy, labels, values, test))
        self.task, self.source = task, source
        self._version += 1
        self._undo.clear()
        self._redo.clear()
        self._finish()

    def clear(self) -> None:
        """Remove all points; clearing an empty set is not a change and leaves no step."""
        if len(self):
            self.replace(np.empty((0, 2)), np.empty(0, dtype=np.int64))

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
        if isinstance(step, _Swap):
            inverse: _Step = _Swap(self._columns, self.task, self.source)
            self._columns, self.task, self.source = step.columns, step.task, step.source
        else:
            columns, inverse = step.apply(self._columns)
            self._columns = _frozen(columns)
        self._version += 1
        return inverse

    def _finish(self) -> None:
        # Redo steps only ever come from undo steps, so bounding the undo count bounds both.
        del self._undo[:-MAX_HISTORY_STEPS]
        while sum(step.nbytes for step in (*self._undo, *self._redo)) > MAX_HISTORY_BYTES:
            del (self._undo or self._redo)[0]
        for callback in tuple(self._listeners):
            callback()
