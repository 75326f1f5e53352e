"""Points as ``x,y,label`` CSV: exact floats out, strict checks in."""

import math
from pathlib import Path

import numpy as np

from lab.core.io.atomic import atomic_write
from lab.core.io.reading import FileFormatError, PathLike, decode_utf8, read_limited, shown
from lab.core.points import MAX_CLASSES, MAX_POINTS, validate_points

# Rows are at most ~50 bytes ("-1.2345678901234567e-05,...,3"), so MAX_POINTS always fits.
MAX_POINTS_FILE_BYTES = 64 * 2**20
_HEADER = ["x", "y", "label"]


def save_points(path: PathLike, xy: np.ndarray, labels: np.ndarray) -> None:
    """Write ``x,y,label`` CSV with repr floats, so loading gives back the exact values."""
    xy, labels = validate_points(xy, labels)
    if len(labels) > MAX_POINTS:
        raise ValueError(f"cannot save more than {MAX_POINTS:,} points")
    rows = [
        f"{x!r},{y!r},{label}\n" for (x, y), label in zip(xy.tolist(), labels.tolist(), strict=True)
    ]
    data = ("x,y,label\n" + "".join(rows)).encode("utf-8")
    atomic_write(path, lambda file: file.write(data))


def load_points(path: PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Read a points CSV into (xy float64 (N, 2), labels int64 (N,)); N may be 0.

    Tolerates surrounding whitespace, CRLF line ends, blank lines and a UTF-8 BOM.
    """
    path = Path(path)
    name = path.name
    text = decode_utf8(read_limited(path, MAX_POINTS_FILE_BYTES), name)
    header_seen = False
    xs: list[float] = []
    ys: list[float] = []
    labels: list[int] = []
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip()
        if not line:
            continue
        cells = [cell.strip() for cell in line.split(",")]
        where = f"{name}, line {number}"
        if not header_seen:
            if [cell.lower() for cell in cells] != _HEADER:
                raise FileFormatError(
                    f"{where}: expected the header 'x,y,label', found {shown(line)}"
                )
            header_seen = True
            continue
        if len(cells) != 3:
            raise FileFormatError(f"{where}: expected 3 values (x,y,label), found {len(cells)}")
        if len(labels) == MAX_POINTS:
            raise FileFormatError(f"{name}: more than {MAX_POINTS:,} points")
        xs.append(_coordinate(cells[0], where))
        ys.append(_coordinate(cells[1], where))
        labels.append(_label(cells[2], where))
    if not header_seen:
        raise FileFormatError(f"{name}: the file is empty; expected the header 'x,y,label'")
    xy = np.empty((len(xs), 2), dtype=np.float64)
    xy[:, 0], xy[:, 1] = xs, ys
    return xy, np.array(labels, dtype=np.int64)


def _coordinate(cell: str, where: str) -> float:
    try:
        value = float(cell)
    except ValueError:
        raise FileFormatError(f"{where}: {shown(cell)} is not a number") from None
    if not math.isfinite(value):
        raise FileFormatError(f"{where}: {shown(cell)} is not a finite number")
    return value


def _label(cell: str, where: str) -> int:
    try:
        value = int(cell)
    except ValueError:
        raise FileFormatError(f"{where}: label {shown(cell)} is not a whole number") from None
    if not 0 <= value < MAX_CLASSES:
        raise FileFormatError(f"{where}: label {value} is outside 0..{MAX_CLASSES - 1}")
    return value
