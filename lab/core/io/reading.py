"""What every loader shares: the error it raises and careful first steps with untrusted bytes."""

import json
import math
import os
import re
from pathlib import Path

PathLike = str | os.PathLike[str]

_COLOR = re.compile(r"#[0-9A-Fa-f]{6}")


class FileFormatError(ValueError):
    """A file's content is not what the format allows; the message is fit to show the user."""


def read_limited(path: Path, limit: int) -> bytes:
    """Read a whole file, refusing one over ``limit`` before reading it."""
    with open(path, "rb") as file:
        size = os.fstat(file.fileno()).st_size
        data = file.read(limit + 1) if size <= limit else b""
    if size > limit or len(data) > limit:  # the second test catches files that lie in stat
        raise FileFormatError(
            f"{path.name}: the file is larger than the {limit // 2**20} MB this app reads"
        )
    return data


def decode_utf8(data: bytes, name: str) -> str:
    """The text in ``data``, or a FileFormatError pointing at the first bad byte."""
    try:
        return data.decode("utf-8-sig")  # -sig: tolerate the BOM some spreadsheets write
    except UnicodeDecodeError as exc:
        raise FileFormatError(
            f"{name}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})"
        ) from None


def parse_json(text: str, name: str) -> object:
    """The JSON value in ``text``; NaN and huge numbers pass, so callers check values."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise FileFormatError(f"{name}: not valid JSON ({exc})") from None


def clip(text: str, limit: int = 40) -> str:
    """Cut a piece of the file short, so the message quoting it stays readable."""
    return text if len(text) <= limit else text[:limit] + "…"


def shown(text: str) -> str:
    """A piece of the file quoted for a message."""
    return repr(clip(text))


def is_int(value: object) -> bool:
    """A JSON whole number: an int, not a bool (True == 1 in Python) nor a float."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_finite_number(value: object) -> bool:
    """An int or float (not a bool) that is neither NaN nor infinite."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too big for a float
        return False


def is_color(value: object) -> bool:
    """A colour written like '#1f77b4'."""
    return isinstance(value, str) and _COLOR.fullmatch(value) is not None
