"""Saving that never leaves a half-written file: write a temp file, then rename it over."""

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from lab.core.io.reading import PathLike


def _read_umask() -> int:
    # os.umask can only be read by setting it; do that once at import, before any threads run.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()


def atomic_write(path: PathLike, write: Callable[[BinaryIO], None]) -> None:
    """Have ``write`` fill a temp file next to ``path``, then move it over ``path`` in one step.

    Any failure removes the temp file, leaves the old file intact and raises OSError naming
    the file. The new file keeps the old one's permissions (a new file follows the umask),
    because temp files are created private.
    """
    path = Path(path)
    temp_name = None
    try:
        mode = path.stat().st_mode & 0o777 if path.exists() else 0o666 & ~_UMASK
        with tempfile.NamedTemporaryFile(
            dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False
        ) as temp:
            temp_name = temp.name
            write(temp)
            temp.flush()
            os.fsync(temp.fileno())
        os.chmod(temp_name, mode)
        os.replace(temp_name, path)
        _sync_folder(path.parent)
    except BaseException as exc:
        if temp_name is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp_name)
        if not isinstance(exc, Exception):  # KeyboardInterrupt and the like pass unchanged
            raise
        if isinstance(exc, OSError):
            raise OSError(exc.errno, f"Could not save {path.name}: {exc.strerror or exc}") from exc
        raise OSError(f"Could not save {path.name}: {exc}") from exc


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable, so a power cut cannot bring the old file back.

    Best effort: the file is already in place, and some systems cannot open a folder
    (Windows) or fsync one (some network file systems); the save has not failed there.
    """
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
