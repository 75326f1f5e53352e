"""Fuzz the loaders: whatever the bytes, they return valid data or raise FileFormatError.

Any other exception would reach the user as a crash instead of a readable message.
"""

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from fuzzing import edits, json_values, mutate, swap_values, swaps
from hypothesis import given, settings
from hypothesis import strategies as st

from lab.core.io.points_csv import load_points, save_points
from lab.core.io.reading import FileFormatError
from lab.core.io.weights_file import load_weights, save_weights, validate_weights
from lab.core.points import validate_points

FUZZ = settings(deadline=None)

METADATA = {
    "format": "training-lab-weights",
    "format_version": 1,
    "model": "mlp",
    "layers": [2, 4, 3],
    "activation": "relu",
    "classes": 3,
    "class_colors": ["#0072B2", "#D55E00", "#009E73"],
    "step": 17,
    "loss": 0.25,
    "learning_rate": 0.1,
    "optimizer": "momentum",
    "engine_version": "0.1.0",
}
_rng = np.random.default_rng(0)
WEIGHTS = {
    "W1": _rng.normal(size=(2, 4)),
    "b1": _rng.normal(size=4),
    "W2": _rng.normal(size=(4, 3)),
    "b2": _rng.normal(size=3),
}


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@pytest.fixture(scope="module")
def valid_files(folder) -> dict[str, bytes]:
    xy = np.array([[0.1, -2.5], [1e-300, 3.0], [-0.0, 7.25], [1 / 3, 2.0]])
    save_points(folder / "valid.csv", xy, np.array([0, 1, 3, 2]))
    save_weights(folder / "valid.npz", WEIGHTS, METADATA)
    save_weights(folder / "valid.json", WEIGHTS, METADATA)
    return {
        suffix: (folder / f"valid{suffix}").read_bytes() for suffix in (".csv", ".npz", ".json")
    }


def check_points(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    try:
        xy, labels = load_points(path)
    except FileFormatError as exc:
        assert path.name in str(exc)
        return
    assert xy.dtype == np.float64 and labels.dtype == np.int64
    validate_points(xy, labels)


def check_weights(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    try:
        weights, metadata = load_weights(path)
    except FileFormatError as exc:
        assert path.name in str(exc)
        return
    assert all(array.dtype == np.float64 for array in weights.values())
    validate_weights(weights, metadata)


# ---- strategies -------------------------------------------------------------------------------

CSV_ALPHABET = "0123456789.,-+eEinfaxylbl_ \t\r\n"
interesting_cells = st.sampled_from(
    ["", " ", "nan", "-inf", "1e400", "-0", "0x10", "1_0", "١٢", "1.5", "3", "4", "-1", "a,b"]
)
cells = st.one_of(
    interesting_cells,
    st.floats().map(repr),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.text(max_size=8),
)


# ---- points CSV: 1,800 inputs -----------------------------------------------------------------


@settings(FUZZ, max_examples=400)
@given(data=st.binary(max_size=1000))
def test_points_random_bytes(folder, data):
    check_points(folder / "random.csv", data)


@settings(FUZZ, max_examples=400)
@given(header=st.booleans(), body=st.text(alphabet=CSV_ALPHABET, max_size=300) | st.text())
def test_points_random_text(folder, header, body):
    check_points(folder / "text.csv", (("x,y,label\n" if header else "") + body).encode())


@settings(FUZZ, max_examples=500)
@given(operations=st.lists(edits, min_size=1, max_size=6))
def test_points_mutated_file(folder, valid_files, operations):
    check_points(folder / "mutated.csv", mutate(valid_files[".csv"], operations))


@settings(FUZZ, max_examples=500)
@given(replacements=st.lists(st.tuples(st.integers(0, 100), st.integers(0, 3), cells), max_size=4))
def test_points_replaced_cells(folder, valid_files, replacements):
    rows = [line.split(",") for line in valid_files[".csv"].decode().splitlines()]
    for row_index, column, cell in replacements:
        row = rows[1 + row_index % (len(rows) - 1)]  # data rows; the header has its own tests
        if column < len(row):
            row[column] = cell
        else:
            row.append(cell)
    text = "\n".join(",".join(row) for row in rows)
    check_points(folder / "cells.csv", text.encode("utf-8", "surrogatepass"))


# ---- weights .npz: 1,400 inputs -----------------------------------------------------------------


@settings(FUZZ, max_examples=200)
@given(data=st.binary(max_size=1000) | st.binary(max_size=200).map(lambda b: b"PK\x03\x04" + b))
def test_npz_random_bytes(folder, data):
    check_weights(folder / "random.npz", data)


@settings(FUZZ, max_examples=500)
@given(operations=st.lists(edits, min_size=1, max_size=4))
def test_npz_mutated_file(folder, valid_files, operations):
    check_weights(folder / "mutated.npz", mutate(valid_files[".npz"], operations))


array_changes = st.sampled_from(
    ["keep", "drop", "float32", "int", "complex", "object", "text", "transpose", "flat", "nan"]
)


def changed_array(array: np.ndarray, change: str) -> np.ndarray | None:
    return {
        "keep": array,
        "drop": None,
        "float32": array.astype(np.float32),
        "int": array.astype(np.int64),
        "complex": array.astype(np.complex128),
        "object": array.astype(object),
        "text": array.astype(str),
        "transpose": array.T.copy() if array.ndim == 2 else array[:-1],
        "flat": array.ravel()[:-1],
        "nan": np.full_like(array, np.nan),
    }[change]


@settings(FUZZ, max_examples=400)
@given(
    metadata_swaps=st.lists(
        st.tuples(st.integers(0, 10**6), json_values, st.booleans()), max_size=2
    ),
    # Mostly unchanged arrays, so the other changes are not always masked by a broken one.
    changes=st.fixed_dictionaries({key: st.just("keep") | array_changes for key in WEIGHTS}),
    extra=st.booleans(),
    metadata_form=st.just("json") | st.sampled_from(["bytes", "array", "missing"]),
)
def test_npz_structural_changes(folder, metadata_swaps, changes, extra, metadata_form):
    metadata = swap_values(json.loads(json.dumps(METADATA)), metadata_swaps)
    arrays = {k: changed_array(WEIGHTS[k], c) for k, c in changes.items()}
    arrays = {key: array for key, array in arrays.items() if array is not None}
    if extra:
        arrays["W3"] = np.zeros((3, 3))
    text = json.dumps(metadata)
    stored = {
        "json": np.array(text),
        "bytes": np.array(text.encode()),
        "array": np.array([text, text]),
        "missing": None,
    }[metadata_form]
    if stored is not None:
        arrays["metadata"] = stored
    path = folder / "structure.npz"
    np.savez(path, **arrays)
    check_weights(path, path.read_bytes())


@settings(FUZZ, max_examples=300)
@given(member=st.integers(0, 4), operations=st.lists(edits, min_size=1, max_size=4))
def test_npz_mutated_member(folder, valid_files, member, operations):
    """Corrupt one .npy inside a well-formed zip (CRC fixed up), reaching numpy's parser."""
    with zipfile.ZipFile(io.BytesIO(valid_files[".npz"])) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    name = sorted(entries)[member]
    entries[name] = mutate(entries[name], operations)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for entry_name, content in entries.items():
            archive.writestr(entry_name, content)
    check_weights(folder / "member.npz", buffer.getvalue())


# ---- weights .json: 1,000 inputs ----------------------------------------------------------------


@settings(FUZZ, max_examples=200)
@given(
    data=st.binary(max_size=500)
    | st.text().map(str.encode)
    | json_values.map(json.dumps).map(str.encode)
)
def test_json_random_input(folder, data):
    check_weights(folder / "random.json", data)


@settings(FUZZ, max_examples=300)
@given(operations=st.lists(edits, min_size=1, max_size=4))
def test_json_mutated_file(folder, valid_files, operations):
    check_weights(folder / "mutated.json", mutate(valid_files[".json"], operations))


@settings(FUZZ, max_examples=500)
@given(changes=swaps)
def test_json_value_swaps(folder, valid_files, changes):
    document = swap_values(json.loads(valid_files[".json"]), changes)
    check_weights(folder / "swapped.json", json.dumps(document).encode())
