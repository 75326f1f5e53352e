import dataclasses
import io
import json
import math
import zipfile
from pathlib import Path

import numpy as np
import pytest

from lab.core.checkpoint import Checkpoint
from lab.core.io import workspace_file
from lab.core.io.reading import FileFormatError
from lab.core.io.workspace_file import WorkspaceData, load_workspace, save_workspace
from lab.core.loss_history import LossHistory
from lab.core.model import ModelSettings, weight_shapes
from lab.core.optimizers import OPTIMIZER_SLOTS
from lab.core.settings import DataSettings, TrainingSettings

PERCEPTRON = ModelSettings()
MLP = ModelSettings(kind="mlp", hidden=(5, 4), activation="relu", classes=3, seed=7)


def make_workspace(
    optimizer: str = "gradient_descent",
    model: ModelSettings = PERCEPTRON,
    points: int = 20,
    losses: int = 30,
    first_step: int = 0,
    max_points: int = 2000,
) -> WorkspaceData:
    """A workspace as training leaves it: every variable has the optimizer's slots."""
    rng = np.random.default_rng(points + losses)
    shapes = weight_shapes(model.layers)
    state = {
        name: {
            slot: np.array(float(first_step + losses)) if slot == "t" else rng.normal(size=shape)
            for slot in OPTIMIZER_SLOTS[optimizer]
        }
        for name, shape in shapes.items()
        if OPTIMIZER_SLOTS[optimizer]
    }
    history = LossHistory(max_points, first_step)
    history.extend(np.exp(-np.arange(losses) / 1e4) + rng.random(losses) / 10)
    return WorkspaceData(
        xy=rng.normal(size=(points, 2)) * 3,
        labels=rng.integers(0, model.classes, points),
        data=DataSettings.for_dataset("moons", seed=3),
        model=model,
        training=TrainingSettings(optimizer, 0.03, 250),
        checkpoint=Checkpoint(
            step=first_step + losses,
            weights={name: rng.normal(size=shape) for name, shape in shapes.items()},
            optimizer_state=state,
            history=history.state(),
        ),
    )


def assert_bitwise(
    loaded: np.ndarray, saved: np.ndarray, dtype: type = np.float64, writeable: bool = False
) -> None:
    """Equal to the bit; points come writable, a checkpoint's arrays read-only (it is a record
    that nobody may change under another's hands)."""
    assert loaded.dtype == dtype and loaded.shape == np.shape(saved)
    assert loaded.tobytes() == np.asarray(saved, dtype=dtype).tobytes()
    assert loaded.flags.writeable == writeable


def assert_same(loaded: WorkspaceData, saved: WorkspaceData) -> None:
    assert (loaded.data, loaded.model, loaded.training) == (saved.data, saved.model, saved.training)
    assert_bitwise(loaded.xy, saved.xy, writeable=True)
    assert_bitwise(loaded.labels, saved.labels, np.int64, writeable=True)
    got, want = loaded.checkpoint, saved.checkpoint
    assert got.step == want.step
    assert list(got.weights) == list(want.weights)
    for name, array in want.weights.items():
        assert_bitwise(got.weights[name], array)
    assert {k: list(v) for k, v in got.optimizer_state.items()} == {
        k: list(v) for k, v in want.optimizer_state.items()
    }
    for name, slots in want.optimizer_state.items():
        for slot, array in slots.items():
            assert_bitwise(got.optimizer_state[name][slot], array)
    for field in dataclasses.fields(want.history):
        value, expected = getattr(got.history, field.name), getattr(want.history, field.name)
        if isinstance(expected, np.ndarray):
            assert_bitwise(value, expected)
        elif isinstance(expected, float) and math.isnan(expected):
            assert math.isnan(value)
        else:
            assert value == expected, field.name


def round_trip(tmp_path: Path, workspace: WorkspaceData) -> WorkspaceData:
    path = tmp_path / "session.tlab"
    save_workspace(path, workspace)
    loaded = load_workspace(path)
    assert_same(loaded, workspace)
    return loaded


@pytest.mark.parametrize("optimizer", ["gradient_descent", "momentum", "adam"])
@pytest.mark.parametrize("model", [PERCEPTRON, MLP], ids=["perceptron", "mlp"])
def test_round_trip_is_exact(tmp_path, optimizer, model):
    round_trip(tmp_path, make_workspace(optimizer, model))


def test_round_trip_of_folded_history_continues_the_same_curve(tmp_path):
    workspace = make_workspace("adam", MLP, losses=120_000, first_step=500)
    history = workspace.checkpoint.history
    assert history.mins.size and history.partial_count and history.bucket_size > 1
    loaded = round_trip(tmp_path, workspace)
    for original, restored in zip(
        LossHistory.from_state(history).curve(),
        LossHistory.from_state(loaded.checkpoint.history).curve(),
        strict=True,
    ):
        assert restored.tobytes() == original.tobytes()


def test_round_trip_of_empty_run_and_no_points(tmp_path):
    empty = make_workspace("momentum", points=0, losses=0, first_step=0)
    empty = dataclasses.replace(empty, checkpoint=Checkpoint(0, empty.checkpoint.weights))
    loaded = round_trip(tmp_path, empty)
    assert loaded.xy.shape == (0, 2) and loaded.labels.shape == (0,)
    assert loaded.checkpoint.optimizer_state == {} and loaded.checkpoint.history.last is None


def test_optimizer_state_may_cover_only_some_variables(tmp_path):
    workspace = make_workspace("adam", MLP)
    checkpoint = dataclasses.replace(
        workspace.checkpoint, optimizer_state={"W2": workspace.checkpoint.optimizer_state["W2"]}
    )
    round_trip(tmp_path, dataclasses.replace(workspace, checkpoint=checkpoint))


def test_other_float_and_integer_dtypes_are_saved_as_float64_and_int64(tmp_path):
    workspace = make_workspace("adam")
    checkpoint = workspace.checkpoint
    narrow = dataclasses.replace(
        workspace,
        xy=workspace.xy.astype(np.float32),
        labels=workspace.labels.astype(np.uint8),
        checkpoint=dataclasses.replace(
            checkpoint,
            weights={k: v.astype(np.float16) for k, v in checkpoint.weights.items()},
            optimizer_state={
                k: slots | {"t": np.array(30, dtype=np.int32)}
                for k, slots in checkpoint.optimizer_state.items()
            },
        ),
    )
    path = tmp_path / "narrow.tlab"
    save_workspace(path, narrow)
    loaded = load_workspace(path)
    assert_bitwise(loaded.xy, narrow.xy, writeable=True)
    assert_bitwise(loaded.labels, narrow.labels, np.int64, writeable=True)
    assert_bitwise(loaded.checkpoint.weights["W1"], narrow.checkpoint.weights["W1"])
    assert loaded.checkpoint.optimizer_state["b1"]["t"] == 30.0


def test_file_is_readable_with_plain_numpy_json_and_zipfile(tmp_path):
    path = tmp_path / "session.tlab"
    workspace = make_workspace("adam", MLP)
    save_workspace(path, workspace)
    with np.load(path, allow_pickle=False) as data:
        document = json.loads(data["workspace.json"])
        np.testing.assert_array_equal(data["weights/W1"], workspace.checkpoint.weights["W1"])
        np.testing.assert_array_equal(data["points/labels"], workspace.labels)
        assert data["optimizer/b2/t"] == 30.0
        assert set(data.files) >= {"points/xy", "history/mins", "history/maxs", "history/raw"}
    assert document["format"] == "training-lab-workspace" and document["format_version"] == 1
    assert document["task"] == {
        "kind": "classification",
        "classes": 3,
        "class_colors": ["#0072B2", "#D55E00", "#009E73"],
    }
    assert document["model"] == {"kind": "mlp", "hidden": [5, 4], "activation": "relu", "seed": 7,
                                 "features": ["x", "y"], "precision": "float32"}
    assert document["run"]["step"] == 30 and document["run"]["history"]["partial_min"] is None
    with zipfile.ZipFile(path) as archive:
        kinds = {info.filename: info.compress_type for info in archive.infolist()}
    assert kinds.pop("workspace.json") == zipfile.ZIP_DEFLATED
    assert set(kinds.values()) == {zipfile.ZIP_STORED}


# ---- bad files --------------------------------------------------------------------------------


def saved(tmp_path: Path, workspace: WorkspaceData | None = None) -> Path:
    path = tmp_path / "session.tlab"
    save_workspace(path, workspace or make_workspace("adam"))
    return path


def npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)  # a hostile writer may pickle
    return buffer.getvalue()


def rewrite(path: Path, changes: dict[str, object | None]) -> None:
    """Replace, add (bytes or array) or drop (None) members of a saved file, unchecked."""
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    for name, value in changes.items():
        if value is None:
            del members[name]
        else:
            members[name] = npy(value) if isinstance(value, np.ndarray) else value
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def edit_json(path: Path, key_path: str, value: object = KeyError) -> None:
    """Set (or with KeyError delete) a dotted key of workspace.json."""
    with zipfile.ZipFile(path) as archive:
        document = json.loads(archive.read("workspace.json"))
    *parents, last = key_path.split(".")
    section = document
    for key in parents:
        section = section[key]
    if value is KeyError:
        del section[last]
    else:
        section[last] = value
    rewrite(path, {"workspace.json": json.dumps(document).encode()})


def expect_error(path: Path, message: str | None) -> None:
    with pytest.raises(FileFormatError, match=message) as info:
        load_workspace(path)
    assert str(info.value).startswith(f"{path.name}: ")


def test_truncated_file(tmp_path):
    path = saved(tmp_path)
    data = path.read_bytes()
    for cut in (0, 3, 100, len(data) // 2, len(data) - 22, len(data) - 1):
        path.write_bytes(data[:cut])
        expect_error(path, None)


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", r"not a workspace file \(not a ZIP archive\)"),
        (b"x,y,label\n", r"not a workspace file \(not a ZIP archive\)"),
        (b"PK\x05\x06" + bytes(18), r"not a workspace file \(it has no workspace\.json\)"),
    ],
)
def test_not_a_workspace_file(tmp_path, content, message):
    path = tmp_path / "session.tlab"
    path.write_bytes(content)
    expect_error(path, message)


def test_weights_npz_is_not_a_workspace(tmp_path):
    path = tmp_path / "session.tlab"
    np.savez(path, metadata=np.array("{}"))
    path.with_suffix(".tlab.npz").rename(path)
    expect_error(path, r"not a workspace file \(it has no workspace\.json\)")


@pytest.mark.parametrize(
    "key_path, value, message",
    [
        ("format", "training-lab-weights", r"not a workspace file \('format' is"),
        ("format_version", 2, "written by a newer Training Lab"),
        ("format_version", 0, "unsupported 'format_version' 0"),
        ("format_version", "1", "unsupported 'format_version' '1'"),
        ("format_version", 1.0, "unsupported 'format_version' 1.0"),
        ("format_version", True, "unsupported 'format_version' True"),
        ("task.colour", "red", "unknown key 'colour' in 'task'"),
        ("run.history.extra", 1, "unknown key 'extra' in 'run.history'"),
        ("comment", "hi", "unknown key 'comment' in workspace.json"),
        ("model.seed", KeyError, "missing key 'seed' in 'model'"),
        ("run.history.folded_last", KeyError, "missing key 'folded_last' in 'run.history'"),
        ("app_version", KeyError, "missing key 'app_version' in workspace.json"),
        ("format_version", KeyError, "missing key 'format_version'"),
        ("data", [], "'data' must be a JSON object"),
        ("app_version", 2, "'app_version' must be a string"),
        ("task.kind", "ranking", "'task.kind' must be 'classification' or 'regression'"),
        ("task.classes", 5, "'task.classes' must be a whole number from 2 to 4"),
        ("task.classes", True, "'task.classes' must be a whole number"),
        ("task.class_colors", ["#0072B2"], "'task.class_colors' must be a list of 2 colours"),
        ("task.class_colors", ["red", "blue"], "'task.class_colors' must be a list of 2"),
        ("model.hidden", "8,8", "'model.hidden' must be a list of whole numbers"),
        ("model.hidden", [8, 8.0], "'model.hidden' must be a list of whole numbers"),
        ("model.hidden", [1] * 101, "at most 100 hidden layers"),
        ("model.seed", 1.0, "'model.seed' must be a whole number"),
        ("model.kind", ["mlp"], "'model.kind' must be a string"),
        ("model.kind", "svm", "in 'model', unknown model kind 'svm'"),
        ("model.seed", -1, "in 'model', the seed must be"),
        ("data.count", 100.0, "'data.count' must be a whole number"),
        ("data.noise", "1", "'data.noise' must be a finite number"),
        ("data.noise", -1, "in 'data', the noise must be"),
        ("data.dataset", "nope", "in 'data', unknown data set 'nope'"),
        ("training.learning_rate", None, "'training.learning_rate' must be a finite number"),
        ("training.learning_rate", 100, "in 'training', the learning rate must be"),
        ("training.optimizer", "sgd", "in 'training', unknown optimizer 'sgd'"),
        ("training.steps", 0, "in 'training', steps must be"),
        ("run.step", "30", "'run.step' must be a whole number"),
        ("run.step", -1, "'run.step' must be a whole number >= 0"),
        ("run.step", 31, "'run.step' is 31, but the loss history ends at step 30"),
        ("run.history.first_step", 1, "'run.step' is 30, but the loss history ends at step 31"),
        ("run.history.bucket_size", 3, "in 'run.history', bucket_size must be a power of two"),
        ("run.history.max_points", 10**9, "'run.history.max_points' must be a whole number up"),
        ("run.history.max_points", 8, "in 'run.history', max_points must be"),
        ("run.history.partial_min", 0.5, "'partial_max' must be null while 'partial_count' is 0"),
        ("run.history.folded_last", "0.5", "'run.history.folded_last' must be a finite number"),
    ],
)
def test_bad_workspace_json(tmp_path, key_path, value, message):
    path = saved(tmp_path)
    edit_json(path, key_path, value)
    expect_error(path, message)


@pytest.mark.parametrize(
    "key_path, literal",
    [
        ("training.learning_rate", "NaN"),
        ("data.noise", "Infinity"),
        ("data.noise", "1e999"),
        ("run.history.folded_last", "-Infinity"),
        ("run.history.partial_min", "NaN"),
    ],
)
def test_non_finite_json_numbers(tmp_path, key_path, literal):
    workspace = make_workspace("adam", losses=29, max_points=16)
    assert workspace.checkpoint.history.partial_count
    path = saved(tmp_path, workspace)
    edit_json(path, key_path, "SENTINEL")
    with zipfile.ZipFile(path) as archive:
        text = archive.read("workspace.json").decode()
    rewrite(path, {"workspace.json": text.replace('"SENTINEL"', literal).encode()})
    expect_error(path, f"'{key_path}' must be a finite number")


@pytest.mark.parametrize(
    "content, message",
    [
        (b"\xff{}", r"workspace\.json: not UTF-8"),
        (b"{", r"workspace\.json: not valid JSON"),
        (b"[" * 100_000, r"workspace\.json: not valid JSON"),
        (b"[]", r"workspace\.json must be a JSON object"),
    ],
)
def test_workspace_json_that_is_not_a_json_object(tmp_path, content, message):
    path = saved(tmp_path)
    rewrite(path, {"workspace.json": content})
    expect_error(path, message)


def test_workspace_json_over_its_size_limit(tmp_path, monkeypatch):
    path = saved(tmp_path)
    monkeypatch.setattr(workspace_file, "MAX_WORKSPACE_JSON_BYTES", 100)
    expect_error(path, r"workspace\.json is too large")


@pytest.mark.parametrize(
    "member, value, message",
    [
        ("weights/W1.npy", np.zeros((2, 3)), r"weights/W1 has shape \(2, 3\), expected \(2, 2\)"),
        ("weights/b1.npy", np.zeros((1, 2)), r"weights/b1 has shape \(1, 2\), expected \(2,\)"),
        ("weights/b1.npy", np.zeros(2, dtype=np.int64), r"weights/b1 must be an array of floats"),
        ("weights/b1.npy", np.zeros(2, dtype=np.complex128), r"weights/b1 must be an array of fl"),
        ("weights/b1.npy", None, r"weights/b1 is missing"),
        ("weights/W2.npy", np.zeros((2, 2)), r"unexpected weights/W2"),
        ("optimizer/W1/m.npy", np.zeros((2, 1)), r"optimizer/W1/m has shape \(2, 1\), expected"),
        ("optimizer/b1/v.npy", None, r"optimizer/b1/v is missing"),
        ("optimizer/W1/velocity.npy", np.zeros((2, 2)), r"unexpected optimizer/W1/velocity"),
        ("optimizer/W3/m.npy", np.zeros((2, 2)), r"unexpected optimizer/W3: the model has no"),
        ("optimizer/b1/t.npy", np.zeros(1), r"optimizer/b1/t has shape \(1,\), expected \(\)"),
        ("optimizer/b1/t.npy", np.array(0.0), r"optimizer/b1/t must be a whole number >= 1"),
        ("optimizer/b1/t.npy", np.array(2.5), r"optimizer/b1/t must be a whole number >= 1"),
        ("points/xy.npy", np.zeros((20, 3)), r"points/xy has shape \(20, 3\), expected \(N, 2\)"),
        ("points/xy.npy", np.zeros(40), r"points/xy has shape \(40,\), expected \(N, 2\)"),
        ("points/xy.npy", np.zeros((20, 2), dtype=int), r"points/xy must be an array of floats"),
        ("points/xy.npy", None, r"points/xy is missing"),
        ("points/labels.npy", np.zeros(19, dtype=int), r"points/labels has shape \(19,\), expe"),
        ("points/labels.npy", np.zeros(20), r"points/labels must be an array of whole numbers"),
        ("points/labels.npy", np.full(20, 2), r"points/labels holds 2, outside the classes 0\.\.1"),
        ("points/labels.npy", np.full(20, -1), r"points/labels holds -1, outside"),
        ("history/raw.npy", None, r"history/raw is missing"),
        ("history/raw.npy", np.zeros((30, 1)), r"history/raw has shape \(30, 1\), expected \(N,\)"),
        ("history/raw.npy", np.zeros(29), r"'run.step' is 30, but the loss history ends at st"),
        ("history/mins.npy", np.zeros(3), r"in 'run.history', mins and maxs must be"),
        ("extra.npy", np.zeros(1), r"unexpected entry 'extra\.npy'"),
        ("optimizer/x.npy", np.zeros(1), r"unexpected entry 'optimizer/x\.npy'"),
        ("notes.txt", b"hello", r"unexpected entry 'notes\.txt'"),
        ("weights/W1.npy", np.array([None, 1.0]), r"'weights/W1\.npy' has data type object"),
        ("weights/W1.npy", b"\x93NUMPY garbage", r"'weights/W1\.npy' uses \.npy version"),
        ("weights/W1.npy", b"\x93NUMPY\x01\x00garbage", r"damaged or unreadable workspace file"),
    ],
)
def test_bad_members(tmp_path, member, value, message):
    path = saved(tmp_path)
    rewrite(path, {member: value})
    expect_error(path, message)


@pytest.mark.parametrize(
    "member, index",
    [
        ("points/xy", (3, 1)),
        ("weights/W1", (0, 1)),
        ("weights/b1", (1,)),
        ("optimizer/W1/m", (1, 0)),
        ("optimizer/b1/t", ()),
        ("history/raw", (29,)),
    ],
)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_arrays(tmp_path, member, index, bad):
    path = saved(tmp_path)
    with np.load(path) as data:
        array = data[member]
    array[index] = bad
    rewrite(path, {f"{member}.npy": array})
    expect_error(path, f"{member} contains NaN or infinite values")


def test_non_finite_folded_history(tmp_path):
    workspace = make_workspace("momentum", losses=29, max_points=16)
    path = saved(tmp_path, workspace)
    maxs = workspace.checkpoint.history.maxs.copy()
    maxs[0] = np.inf
    rewrite(path, {"history/maxs.npy": maxs})
    expect_error(path, "history/maxs contains NaN or infinite values")


def test_long_double_too_big_for_float64_is_not_finite(tmp_path):
    path = saved(tmp_path)
    rewrite(path, {"weights/b1.npy": np.array([1.0, 1e4000], dtype=np.longdouble)})
    expect_error(path, "weights/b1 contains NaN or infinite values")


def test_gradient_descent_keeps_no_optimizer_state(tmp_path):
    path = saved(tmp_path, make_workspace("gradient_descent"))
    rewrite(path, {"optimizer/W1/velocity.npy": np.zeros((2, 2))})
    expect_error(path, r"unexpected optimizer/W1: Gradient descent keeps no state")


def test_member_claiming_a_huge_shape(tmp_path):
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (10**12, 2)}
    )
    path = saved(tmp_path)
    rewrite(path, {"weights/W1.npy": header.getvalue() + bytes(32)})
    expect_error(path, r"damaged or unreadable workspace file \('weights/W1\.npy' claims")


def test_file_over_size_limit(tmp_path, monkeypatch):
    path = saved(tmp_path)
    monkeypatch.setattr(workspace_file, "MAX_WORKSPACE_FILE_BYTES", path.stat().st_size - 1)
    expect_error(path, r"larger than")


def test_archive_unpacking_to_too_much(tmp_path, monkeypatch):
    path = saved(tmp_path)
    rewrite(path, {"points/xy.npy": None})
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("points/xy.npy", npy(np.zeros((20_000, 2))))  # 320 kB in ~1 kB
    monkeypatch.setattr(workspace_file, "MAX_WORKSPACE_UNPACKED_BYTES", 100_000)
    expect_error(path, r"unpacks to too much data")


def test_too_many_members(tmp_path):
    path = saved(tmp_path)
    rewrite(path, {f"weights/W{i}.npy": b"" for i in range(3, 1000)})
    expect_error(path, r"more than \d+ entries")


def test_missing_file_is_an_os_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_workspace(tmp_path / "absent.tlab")


# ---- saving refuses what loading would -----------------------------------------------------


def with_checkpoint(workspace: WorkspaceData, **changes) -> WorkspaceData:
    return dataclasses.replace(
        workspace, checkpoint=dataclasses.replace(workspace.checkpoint, **changes)
    )


def invalid(case: str) -> WorkspaceData:
    workspace = make_workspace("adam")
    checkpoint = workspace.checkpoint
    weights = dict(checkpoint.weights)
    state = {k: dict(v) for k, v in checkpoint.optimizer_state.items()}
    if case == "nan weight":
        weights["W1"] = np.full((2, 2), np.nan)
        return with_checkpoint(workspace, weights=weights)
    if case == "wrong shape":
        weights["b1"] = np.zeros(3)
        return with_checkpoint(workspace, weights=weights)
    if case == "missing slot":
        del state["W1"]["m"]
        return with_checkpoint(workspace, optimizer_state=state)
    if case == "step":
        return with_checkpoint(workspace, step=checkpoint.step + 1)
    if case == "label":
        return dataclasses.replace(workspace, labels=np.full(20, 3))
    if case == "float labels":
        return dataclasses.replace(workspace, labels=workspace.labels.astype(float))
    if case == "history":
        return with_checkpoint(
            workspace, history=dataclasses.replace(checkpoint.history, bucket_size=3)
        )
    assert case == "hidden layers"
    model = ModelSettings(kind="mlp", hidden=(1,) * 101)
    return dataclasses.replace(workspace, model=model)


@pytest.mark.parametrize(
    "case, message",
    [
        ("nan weight", "weights/W1 contains NaN"),
        ("wrong shape", r"weights/b1 has shape \(3,\)"),
        ("missing slot", "optimizer/W1/m is missing"),
        ("step", "'run.step' is 31"),
        ("label", "points/labels holds 3"),
        ("float labels", "points/labels must be an array of whole numbers"),
        ("history", "bucket_size must be a power of two"),
        ("hidden layers", "at most 100 hidden layers"),
    ],
)
def test_save_refuses_invalid_workspace_without_touching_the_file(tmp_path, case, message):
    path = tmp_path / "keep.tlab"
    path.write_bytes(b"old")
    with pytest.raises(ValueError, match=message):
        save_workspace(path, invalid(case))
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.tlab"]


def test_save_refuses_what_would_exceed_the_file_size_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(workspace_file, "MAX_WORKSPACE_FILE_BYTES", 2000)
    path = tmp_path / "big.tlab"
    with pytest.raises(ValueError, match="MB a workspace file may hold"):
        save_workspace(path, make_workspace(points=1000))
    assert not path.exists()
