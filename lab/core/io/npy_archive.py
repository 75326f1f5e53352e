"""Safe reading of a ZIP of ``.npy`` members: the weights ``.npz`` and the workspace file.

A small file must not be able to claim gigabytes, so the archive's unpacked size is capped
and each member's header is checked against the bytes that follow before any data is read.
Arrays are rebuilt from raw bytes with a numbers-or-text dtype, so nothing is ever unpickled.
"""

import io
import math
import zipfile
from collections.abc import Mapping

import numpy as np

from lab.core.io.reading import FileFormatError, clip, shown

# Numbers and text; object (pickled), structured and datetime members are refused.
_ALLOWED_KINDS = "biufcSU"
_HEADER_READERS = {
    (1, 0): np.lib.format.read_array_header_1_0,
    (2, 0): np.lib.format.read_array_header_2_0,
}


def is_zip(data: bytes) -> bool:
    """Whether ``data`` starts like a ZIP archive (or an empty one)."""
    return data.startswith((b"PK\x03\x04", b"PK\x05\x06"))


def read_npy_archive(
    data: bytes,
    name: str,
    *,
    kind: str,
    max_unpacked_bytes: int,
    max_members: int,
    other_members: Mapping[str, int] | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, bytes]]:
    """The arrays of a ZIP's ``.npy`` members (keyed without ``.npy``) and the raw bytes of
    ``other_members`` found in it (name: the most bytes it may hold); any other member is an
    error.

    ``name`` is the file's name and ``kind`` what to call it ("workspace file") in messages.
    Every array is a fresh writable copy.
    """
    arrays: dict[str, np.ndarray] = {}
    others: dict[str, bytes] = {}
    seen: set[str] = set()
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
            if len(entries) > max_members:
                raise FileFormatError(f"{name}: the archive has more than {max_members} entries")
            if sum(entry.file_size for entry in entries) > max_unpacked_bytes:
                raise FileFormatError(f"{name}: the archive unpacks to too much data")
            for entry in entries:
                member = entry.filename
                if member in seen:
                    raise FileFormatError(f"{name}: the entry {shown(member)} appears twice")
                seen.add(member)
                if member in (other_members or {}):
                    if entry.file_size > other_members[member]:
                        raise FileFormatError(f"{name}: {clip(member)} is too large")
                    others[member] = archive.read(entry)
                elif member.endswith(".npy"):
                    with archive.open(entry) as stream:
                        arrays[member[:-4]] = _read_npy(stream, entry, name, kind)
                else:
                    raise FileFormatError(f"{name}: unexpected entry {shown(member)}")
    except FileFormatError:
        raise
    except Exception as exc:
        # zipfile and numpy raise a wide, version-dependent range of exceptions on corrupt
        # input (BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError for an
        # encrypted member...). The bytes are already in memory, so every failure here is
        # a problem with the file's content.
        raise FileFormatError(
            f"{name}: damaged or unreadable {kind} ({clip(str(exc), 80)})"
        ) from None
    return arrays, others


def _read_npy(
    stream: zipfile.ZipExtFile, entry: zipfile.ZipInfo, name: str, kind: str
) -> np.ndarray:
    """One ``.npy`` member: its header checked first, then exactly the data it announces."""
    member = entry.filename
    version = np.lib.format.read_magic(stream)
    if version not in _HEADER_READERS:  # 3.0 only adds UTF-8 names of structured fields
        raise FileFormatError(f"{name}: {shown(member)} uses .npy version {version}")
    shape, fortran_order, dtype = _HEADER_READERS[version](stream)
    if dtype.kind not in _ALLOWED_KINDS or dtype.itemsize == 0 or dtype.subdtype is not None:
        raise FileFormatError(
            f"{name}: {shown(member)} has data type {dtype}; only numbers and text are allowed"
        )
    if any(length < 0 for length in shape):
        raise FileFormatError(
            f"{name}: damaged or unreadable {kind} ({shown(member)} has shape {shape})"
        )
    claimed = math.prod(shape) * dtype.itemsize
    present = entry.file_size - stream.tell()
    if claimed != present:
        raise FileFormatError(
            f"{name}: damaged or unreadable {kind} ({shown(member)} claims shape {shape} "
            f"of {dtype}, {claimed:,} bytes, but holds {present:,})"
        )
    raw = stream.read(claimed)
    if len(raw) != claimed or stream.read(1):  # reading to the end also checks the CRC
        raise FileFormatError(f"{name}: damaged or unreadable {kind} ({shown(member)} is cut)")
    order = "F" if fortran_order else "C"
    return np.frombuffer(raw, dtype=dtype).reshape(shape, order=order).copy()
