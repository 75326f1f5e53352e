"""Fuzz the workspace loader: whatever the bytes, it returns a valid workspace or raises
FileFormatError naming the file; anything else would reach the user as a crash.
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

from lab.core.checkpoint import Checkpoint
from lab.core.io.reading import FileFormatError
from lab.core.io.workspace_file import WorkspaceData, load_workspace, save_workspace
from lab.core.loss_history import LossHistory
from lab.core.model import ModelSettings, weight_shapes
from lab.core.settings import DataSettings, TrainingSettings

FUZZ = settings(deadline=None)
# numpy's .npy header parser warns about some of the garbage it is fed; the warning is noise here.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")


def valid_workspace() -> WorkspaceData:
    """Small, but with every kind of member: an MLP, Adam slots and a folded history."""
    rng = np.random.default_rng(0)
    model = ModelSettings(kind="mlp", hidden=(3,), activation="tanh", classes=3)
    shapes = weight_shapes(model.layers)
    history = LossHistory(max_points=16, first_step=4)
    history.extend(rng.random(29))
    return WorkspaceData(
        xy=rng.normal(size=(5, 2)),
        labels=np.array([0, 1, 2, 1, 0]),
        data=DataSettings(),
        model=model,
        training=TrainingSettings("adam", 0.01, 100),
        checkpoint=Checkpoint(
            step=33,
            weights={name: rng.normal(size=shape) for name, shape in shapes.items()},
            optimizer_state={
                name: {"m": rng.normal(size=shape), "v": rng.random(shape), "t": np.array(29.0)}
                for name, shape in shapes.items()
            },
            history=history.state(),
        ),
    )


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("workspace_fuzz")


@pytest.fixture(scope="module")
def valid_file(folder) -> bytes:
    save_workspace(folder / "valid.tlab", valid_workspace())
    return (folder / "valid.tlab").read_bytes()


def members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def zipped(entries: dict[str, bytes]) -> bytes:
    """A well-formed archive (CRCs right), so the changes reach the loader's own checks."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def check(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    try:
        workspace = load_workspace(path)
    except FileFormatError as exc:
        assert str(exc).startswith(f"{path.name}: ")
        return
    save_workspace(path, workspace)  # what loads is valid: saving checks it all again


# ---- 1,250 inputs -----------------------------------------------------------------------------


@settings(FUZZ, max_examples=100)
@given(data=st.binary(max_size=500) | st.binary(max_size=200).map(lambda b: b"PK\x03\x04" + b))
def test_random_bytes(folder, data):
    check(folder / "random.tlab", data)


@settings(FUZZ, max_examples=100)
@given(cut=st.integers(min_value=0, max_value=10**6))
def test_truncated_file(folder, valid_file, cut):
    check(folder / "cut.tlab", valid_file[: cut % len(valid_file)])


@settings(FUZZ, max_examples=300)
@given(operations=st.lists(edits, min_size=1, max_size=4))
def test_mutated_file(folder, valid_file, operations):
    check(folder / "mutated.tlab", mutate(valid_file, operations))


@settings(FUZZ, max_examples=300)
@given(member=st.integers(0, 10**3), operations=st.lists(edits, min_size=1, max_size=4))
def test_mutated_member(folder, valid_file, member, operations):
    """Corrupt one member (JSON or .npy) inside a well-formed archive."""
    entries = members(valid_file)
    name = sorted(entries)[member % len(entries)]
    entries[name] = mutate(entries[name], operations)
    check(folder / "member.tlab", zipped(entries))


@settings(FUZZ, max_examples=300)
@given(changes=swaps)
def test_json_value_swaps(folder, valid_file, changes):
    entries = members(valid_file)
    document = swap_values(json.loads(entries["workspace.json"]), changes)
    entries["workspace.json"] = json.dumps(document).encode()
    check(folder / "swapped.tlab", zipped(entries))


array_changes = st.sampled_from(
    ["drop", "float32", "int", "bool", "object", "text", "transpose", "shorter", "nan", "scalar"]
)


def changed(array: np.ndarray, change: str) -> np.ndarray | None:
    return {
        "drop": None,
        "float32": array.astype(np.float32),
        "int": array.astype(np.int64),
        "bool": array.astype(bool),
        "object": array.astype(object),
        "text": array.astype(str),
        "transpose": array.T.copy(),
        "shorter": array.ravel()[:-1],
        "nan": np.full_like(array, np.nan, dtype=np.float64),
        "scalar": np.array(1.0),
    }[change]


@settings(FUZZ, max_examples=150)
@given(
    changes=st.dictionaries(st.integers(0, 10**3), array_changes, max_size=3),
    extra=st.sampled_from([None, "weights/W9.npy", "optimizer/W1/x.npy", "points/z.npy"]),
    json_swaps=st.lists(st.tuples(st.integers(0, 10**6), json_values, st.booleans()), max_size=1),
)
def test_structural_changes(folder, valid_file, changes, extra, json_swaps):
    original = members(valid_file)
    entries = dict(original)
    arrays = sorted(name for name in original if name.endswith(".npy"))
    for index, change in changes.items():
        name = arrays[index % len(arrays)]
        new = changed(np.load(io.BytesIO(original[name])), change)
        if new is None:
            entries.pop(name, None)  # two indexes may pick the same member
        else:
            buffer = io.BytesIO()
            np.save(buffer, new, allow_pickle=True)  # a hostile writer may pickle
            entries[name] = buffer.getvalue()
    if extra:
        entries[extra] = original["weights/b1.npy"]
    document = swap_values(json.loads(original["workspace.json"]), json_swaps)
    entries["workspace.json"] = json.dumps(document).encode()
    check(folder / "structure.tlab", zipped(entries))
