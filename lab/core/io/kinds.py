"""Which of the lab's files a path names, by its extension: one table for the window's Open,
the command line and the savers."""

from pathlib import Path

from lab.core.io.reading import FileFormatError, PathLike

KINDS = {".tlab": "workspace", ".csv": "points", ".npz": "weights", ".json": "weights"}


def suffixes(kind: str | None = None) -> list[str]:
    """The extensions of a kind of file (e.g. [".npz", ".json"] for weights), or all."""
    return [suffix for suffix, named in KINDS.items() if kind in (None, named)]


def file_kind(path: PathLike, expected: str | None = None) -> str:
    """"workspace", "points" or "weights" by the extension; a FileFormatError naming the file
    when the extension is none of the lab's (or of the `expected` kind's)."""
    path = Path(path)
    kind = KINDS.get(path.suffix.lower())
    if kind is None or expected not in (None, kind):
        *others, last = suffixes(expected)
        listed = f"{', '.join(others)} or {last}" if others else last
        what = f"{expected} file" if expected else "file this app opens"
        raise FileFormatError(f"{path.name}: unsupported file type for a {what}; use {listed}")
    return kind
