"""Points as ``x,y,label`` CSV (or ``x,y,value`` for regression): exact floats out, strict
checks in.

Files come from spreadsheets and from numpy (``np.savetxt``) as well as from this app, so the
loader takes a header or none, ``,``, ``;`` or tab between the values (when the first line
tells which unambiguously) and labels written as integral floats (``1.0e+00``). It refuses
what Python's ``float`` would take but a CSV reader should not: ``1_0`` and digits other than
ASCII's. A well-formed file is parsed by numpy's C reader, as fast as ``np.loadtxt``; any
other is read again line by line, which finds the line at fault and says what is wrong.
"""

import math
import os
import re
import warnings
from pathlib import Path
from typing import NamedTuple

import numpy as np

from lab.core.io.atomic import atomic_write
from lab.core.io.reading import FileFormatError, PathLike, decode_utf8, read_limited, shown
from lab.core.points import MAX_CLASSES, MAX_POINTS, validate_points

# Rows are at most ~50 bytes ("-1.2345678901234567e-05,...,3"), so MAX_POINTS always fits.
MAX_POINTS_FILE_BYTES = 64 * 2**20
DELIMITERS = {",": "','", ";": "';'", "\t": "a tab"}
_HEADER = ["x", "y", "label"]
_VALUE_HEADER = ["x", "y", "value"]  # a regression's points: the third column is any number


class PointsFile(NamedTuple):
    """A points file's columns; `values` is None for a classification file (x,y,label)."""

    xy: np.ndarray
    labels: np.ndarray
    values: np.ndarray | None


def save_points(
    path: PathLike, xy: np.ndarray, labels: np.ndarray, values: np.ndarray | None = None
) -> None:
    """Write ``x,y,label`` CSV, or ``x,y,value`` when values are given, with repr floats, so
    loading gives back the exact numbers."""
    xy, labels = validate_points(xy, labels)
    if len(labels) > MAX_POINTS:
        raise ValueError(f"cannot save more than {MAX_POINTS:,} points")
    if values is None:
        header, third = _HEADER, labels.tolist()
    else:
        values = np.asarray(values, dtype=np.float64)
        if values.shape != labels.shape or not np.isfinite(values).all():
            raise ValueError("values must be one finite number per point")
        header, third = _VALUE_HEADER, [repr(value) for value in values.tolist()]
    rows = [f"{x!r},{y!r},{last}\n" for (x, y), last in zip(xy.tolist(), third, strict=True)]
    data = (",".join(header) + "\n" + "".join(rows)).encode("utf-8")
    atomic_write(path, lambda file: file.write(data))


def load_points(path: PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Read a classification points CSV into (xy float64 (N, 2), labels int64 (N,))."""
    xy, labels, values = read_points(path)
    if values is not None:
        raise FileFormatError(f"{Path(path).name}: holds values (x,y,value), not classes")
    return xy, labels


def read_points(path: PathLike) -> PointsFile:
    """Read a points CSV: x,y,label (classes) or, under the header x,y,value, a regression's
    points; N may be 0.

    Tolerates surrounding whitespace, CRLF or CR line ends, blank lines and a UTF-8 BOM.
    """
    name = Path(path).name
    data = read_limited(Path(path), MAX_POINTS_FILE_BYTES)
    plain = data.isascii() and b"_" not in data  # what numpy's reader may take on its own
    if not data.isascii():
        data = decode_utf8(data, name).encode("utf-8")  # checked, and without a BOM
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    first, line_number = _first_line(data, name)
    delimiter = _delimiter(first, f"{name}, line {line_number}")
    cells = _cells(first, delimiter)
    named = [cell.lower() for cell in cells]
    values = named == _VALUE_HEADER
    header = values or named == _HEADER
    if not header:
        _check_first_row(cells, f"{name}, line {line_number}")
    skipped = line_number if header else line_number - 1
    start = _line_start(data, skipped + 1)
    rows = _fast_rows(path, skipped, delimiter, values) if plain else None
    if rows is None:  # numpy did not take it all: read it line by line to say why
        rows = _checked_rows(data[start:].decode("utf-8"), delimiter, name, skipped + 1, values)
    if len(rows) > MAX_POINTS:
        raise FileFormatError(f"{name}: more than {MAX_POINTS:,} points")
    xy = np.ascontiguousarray(rows[:, :2])
    if values:
        return PointsFile(xy, np.zeros(len(rows), dtype=np.int64), rows[:, 2].copy())
    return PointsFile(xy, rows[:, 2].astype(np.int64), None)


def _first_line(data: bytes, name: str) -> tuple[str, int]:
    """The first line with anything on it, and its number."""
    start = re.match(rb"\s*", data).end()  # no copy of a file of many MB
    if start == len(data):
        raise FileFormatError(f"{name}: the file is empty; expected points as x,y,label")
    end = data.find(b"\n", start)
    line = data[start : len(data) if end < 0 else end]
    return line.strip().decode("utf-8"), data.count(b"\n", 0, start) + 1


def _delimiter(line: str, where: str) -> str:
    """The one delimiter that cuts the first line into three values."""
    fitting = [d for d in DELIMITERS if len(line.split(d)) == 3]
    if len(fitting) == 1:
        return fitting[0]
    if fitting:
        options = " or ".join(DELIMITERS[d] for d in fitting)
        raise FileFormatError(f"{where}: cannot tell whether {options} separates the values")
    raise FileFormatError(
        f"{where}: expected the header 'x,y,label' or three values, found {shown(line)}"
    )


def _cells(line: str, delimiter: str) -> list[str]:
    return [cell.strip() for cell in line.split(delimiter)]


def _check_first_row(cells: list[str], where: str) -> None:
    """A first line that is not the header must be a row of numbers."""
    if not all(_is_number(cell) for cell in cells):
        line = ",".join(cells)
        raise FileFormatError(
            f"{where}: expected the header 'x,y,label' or three numbers, found {shown(line)}"
        )


def _line_start(data: bytes, number: int) -> int:
    """Where line `number` (from 1) starts."""
    position = 0
    for _ in range(number - 1):
        position = data.find(b"\n", position) + 1
        if position == 0:
            return len(data)
    return position


def _fast_rows(path: PathLike, skipped: int, delimiter: str, values: bool) -> np.ndarray | None:
    """numpy's parse of the rows after the first `skipped` lines when they are all valid,
    else None. numpy reads the file itself: its fastest way, and it lets other threads run
    while it waits for the disk."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "input contained no data"
            rows = np.loadtxt(os.fspath(path), delimiter=delimiter, comments=None,
                              skiprows=skipped, dtype=np.float64, ndmin=2, encoding="utf-8")
    except ValueError:
        return None
    if rows.size == 0:
        return np.empty((0, 3))
    if rows.shape[1] != 3 or not np.isfinite(rows).all():
        return None
    if values:
        return rows
    labels = rows[:, 2]
    if (
        not (np.floor(labels) == labels).all()
        or labels.min() < 0
        or labels.max() >= MAX_CLASSES
    ):
        return None
    return rows


def _checked_rows(
    chunk: str, delimiter: str, name: str, first_line: int, values: bool
) -> np.ndarray:
    """The rows of a chunk, checked one by one; a FileFormatError names the first bad line."""
    rows = []
    for number, raw in enumerate(chunk.split("\n"), start=first_line):
        line = raw.strip()
        if not line:
            continue
        cells = _cells(line, delimiter)
        where = f"{name}, line {number}"
        if len(cells) != 3:
            columns = "x,y,value" if values else "x,y,label"
            raise FileFormatError(f"{where}: expected 3 values ({columns}), found {len(cells)}")
        third = _finite(cells[2], where) if values else _label(cells[2], where)
        rows.append((_finite(cells[0], where), _finite(cells[1], where), third))
    return np.array(rows, dtype=np.float64).reshape(-1, 3)


def _is_number(cell: str) -> bool:
    try:
        _number(cell)
    except ValueError:
        return False
    return True


def _number(cell: str) -> float:
    """float(cell), without what float takes but a CSV file should not have."""
    if not cell.isascii() or "_" in cell:
        raise ValueError(cell)
    return float(cell)


def _finite(cell: str, where: str) -> float:
    try:
        value = _number(cell)
    except ValueError:
        raise FileFormatError(f"{where}: {shown(cell)} is not a number") from None
    if not math.isfinite(value):
        raise FileFormatError(f"{where}: {shown(cell)} is not a finite number")
    return value


def _label(cell: str, where: str) -> int:
    """A whole number, written as one (2) or as a float that is one (2.0, 2e0)."""
    try:
        value = _number(cell)
    except ValueError:
        raise FileFormatError(f"{where}: label {shown(cell)} is not a whole number") from None
    if not (math.isfinite(value) and value == math.floor(value)):
        raise FileFormatError(f"{where}: label {shown(cell)} is not a whole number")
    if not 0 <= value < MAX_CLASSES:
        raise FileFormatError(f"{where}: label {int(value)} is outside 0..{MAX_CLASSES - 1}")
    return int(value)
