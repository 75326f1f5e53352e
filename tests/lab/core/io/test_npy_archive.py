import io
import warnings
import zipfile

import numpy as np
import pytest

from lab.core.io.npy_archive import is_zip, read_npy_archive
from lab.core.io.reading import FileFormatError


def npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)  # the writer may pickle; the reader must refuse
    return buffer.getvalue()


def zipped(members: dict[str, bytes] | list[tuple[str, bytes]]) -> bytes:
    entries = members.items() if isinstance(members, dict) else members
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate names some tests want
        for name, data in entries:
            archive.writestr(name, data)
    return buffer.getvalue()


def read(data: bytes, **limits) -> tuple[dict, dict]:
    options = {"max_unpacked_bytes": 2**20, "max_members": 10} | limits
    return read_npy_archive(data, "test.zip", kind="test archive", **options)


def header_only(descr: str, shape: tuple, data: bytes) -> bytes:
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": descr, "fortran_order": False, "shape": shape}
    )
    return header.getvalue() + data


def test_reads_numbers_and_text_as_fresh_writable_arrays():
    arrays = {
        "a": np.arange(6.0).reshape(2, 3),
        "fortran": np.asfortranarray(np.arange(6.0).reshape(2, 3)),
        "big_endian": np.arange(4, dtype=">i4"),
        "scalar": np.array(7.0),
        "empty": np.empty((0, 2)),
        "text": np.array("{}"),
    }
    data = zipped({f"dir/{k}.npy": npy(v) for k, v in arrays.items()} | {"notes.json": b"{}"})
    loaded, others = read(data, other_members={"notes.json": 100})
    assert others == {"notes.json": b"{}"}
    assert sorted(loaded) == sorted(f"dir/{k}" for k in arrays)
    for key, array in arrays.items():
        got = loaded[f"dir/{key}"]
        np.testing.assert_array_equal(got, array)
        assert got.dtype == array.dtype and got.shape == array.shape
        assert got.flags.writeable


@pytest.mark.parametrize(
    "array",
    [
        np.array([object(), 1.0], dtype=object),
        np.zeros(2, dtype=[("a", "<f8"), ("b", "<i4")]),
        np.zeros(2, dtype="M8[s]"),
        np.zeros(2, dtype="V8"),
    ],
)
def test_refuses_objects_records_and_other_non_numbers(array):
    with pytest.raises(FileFormatError, match=r"test\.zip: 'x\.npy' has data type .*only numbers"):
        read(zipped({"x.npy": npy(array)}))


@pytest.mark.parametrize(
    "shape, data",
    [((10**12,), bytes(64)), ((2**62,), bytes(64)), ((10**8, 2), bytes(64)), ((9,), bytes(64))],
)
def test_header_must_claim_exactly_the_bytes_that_follow(shape, data):
    with pytest.raises(FileFormatError, match=r"test\.zip: damaged or unreadable test archive"):
        read(zipped({"x.npy": header_only("<f8", shape, data)}))


def test_refuses_unexpected_duplicate_and_too_many_entries():
    with pytest.raises(FileFormatError, match=r"unexpected entry 'notes\.txt'"):
        read(zipped({"a.npy": npy(np.zeros(2)), "notes.txt": b"hi"}))
    twice = zipped([("a.npy", npy(np.zeros(2))), ("a.npy", npy(np.ones(2)))])
    with pytest.raises(FileFormatError, match=r"'a\.npy' appears twice"):
        read(twice)
    many = zipped({f"{i}.npy": npy(np.zeros(1)) for i in range(11)})
    with pytest.raises(FileFormatError, match=r"more than 10 entries"):
        read(many)


def test_refuses_archive_unpacking_to_more_than_the_cap():
    data = zipped({"a.npy": npy(np.zeros(1000))})
    with pytest.raises(FileFormatError, match=r"unpacks to too much"):
        read(data, max_unpacked_bytes=8000)
    assert read(data, max_unpacked_bytes=9000)[0]["a"].shape == (1000,)


@pytest.mark.parametrize("data", [b"PK\x03\x04", b"PK\x03\x04" + bytes(40), b"garbage"])
def test_broken_archives_are_format_errors(data):
    with pytest.raises(FileFormatError, match=r"test\.zip: damaged or unreadable test archive"):
        read(data)


def test_is_zip():
    assert is_zip(zipped({})) and is_zip(zipped({"a.npy": b""}))
    assert not is_zip(b"") and not is_zip(npy(np.zeros(1)))
