import errno
import io
import json
import os
import stat
import zipfile
from pathlib import Path

import numpy as np
import pytest

from lab.core import files
from lab.core.files import (
    FileFormatError,
    atomic_write,
    load_points,
    load_weights,
    save_points,
    save_weights,
    validate_weights,
)


def leftovers(folder: Path, keep: str) -> list[str]:
    """Files other than ``keep``: a failed or finished save must leave no temp file behind."""
    return sorted(p.name for p in folder.iterdir() if p.name != keep)


def metadata_for(model: str = "mlp", layers: list[int] | None = None) -> dict:
    layers = layers or ([2, 3] if model == "perceptron" else [2, 8, 5, 3])
    classes = layers[-1]
    return {
        "format": "training-lab-weights",
        "format_version": 1,
        "model": model,
        "layers": layers,
        "activation": "tanh",
        "classes": classes,
        "class_colors": ["#0072B2", "#D55E00", "#009E73", "#cc79a7"][:classes],
        "step": 1234,
        "loss": 0.123456789,
        "learning_rate": 0.05,
        "optimizer": "adam",
        "engine_version": "0.1.0",
    }


def weights_for(layers: list[int], seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    weights = {}
    for i in range(1, len(layers)):
        weights[f"W{i}"] = rng.normal(size=(layers[i - 1], layers[i])) / 3
        weights[f"b{i}"] = rng.normal(size=layers[i]) * 1e-7
    return weights


def write_npz(path: Path, weights: dict, metadata: object) -> None:
    """Write an .npz the way save_weights does, but without its validation."""
    np.savez(path, metadata=np.array(json.dumps(metadata)), **weights)


def write_json(path: Path, weights: dict, metadata: object) -> None:
    doc = {"metadata": metadata, "weights": {k: np.asarray(v).tolist() for k, v in weights.items()}}
    path.write_text(json.dumps(doc))


# ---- atomic_write ---------------------------------------------------------------------------


def test_atomic_write_writes_and_leaves_no_temp(tmp_path):
    target = tmp_path / "out.bin"
    atomic_write(target, lambda f: f.write(b"hello"))
    assert target.read_bytes() == b"hello"
    assert leftovers(tmp_path, "out.bin") == []


def test_atomic_write_failing_writer_keeps_old_file(tmp_path):
    target = tmp_path / "keep.csv"
    target.write_bytes(b"old content")

    def broken(f):
        f.write(b"half of the new")
        raise RuntimeError("writer broke")

    with pytest.raises(OSError, match=r"keep\.csv") as info:
        atomic_write(target, broken)
    assert isinstance(info.value.__cause__, RuntimeError)
    assert target.read_bytes() == b"old content"
    assert leftovers(tmp_path, "keep.csv") == []


def test_atomic_write_disk_full_during_write_keeps_old_file(tmp_path):
    target = tmp_path / "keep.npz"
    target.write_bytes(b"old content")

    def disk_full(f):
        f.write(b"partial")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with pytest.raises(OSError, match=r"keep\.npz") as info:
        atomic_write(target, disk_full)
    assert info.value.errno == errno.ENOSPC
    assert target.read_bytes() == b"old content"
    assert leftovers(tmp_path, "keep.npz") == []


def test_atomic_write_failing_rename_keeps_old_file(tmp_path, monkeypatch):
    target = tmp_path / "keep.json"
    target.write_bytes(b"old content")

    def no_space(src, dst):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "replace", no_space)
    with pytest.raises(OSError, match=r"keep\.json") as info:
        atomic_write(target, lambda f: f.write(b"new content"))
    assert info.value.errno == errno.ENOSPC
    assert target.read_bytes() == b"old content"
    assert leftovers(tmp_path, "keep.json") == []


@pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0, reason="root ignores directory permissions"
)
@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_atomic_write_read_only_folder_keeps_old_file(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    target = folder / "keep.csv"
    target.write_bytes(b"old content")
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        with pytest.raises(OSError, match=r"keep\.csv"):
            atomic_write(target, lambda f: f.write(b"new content"))
        assert target.read_bytes() == b"old content"
    finally:
        folder.chmod(stat.S_IRWXU)
    assert leftovers(folder, "keep.csv") == []


def test_atomic_write_missing_folder_raises_oserror(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"new\.csv"):
        atomic_write(tmp_path / "nowhere" / "new.csv", lambda f: f.write(b"x"))


def test_atomic_write_interrupt_passes_through_and_cleans_up(tmp_path):
    def interrupted(f):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(tmp_path / "x.csv", interrupted)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_atomic_write_keeps_permissions_of_replaced_file(tmp_path):
    target = tmp_path / "shared.csv"
    target.write_bytes(b"old")
    target.chmod(0o640)
    atomic_write(target, lambda f: f.write(b"new"))
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_atomic_write_new_file_follows_umask(tmp_path):
    umask = os.umask(0o022)
    os.umask(umask)
    target = tmp_path / "new.csv"
    atomic_write(target, lambda f: f.write(b"x"))
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask


# ---- points CSV -----------------------------------------------------------------------------

TRICKY = [0.1, 1 / 3, -0.0, 5e-324, 1.7976931348623157e308, -2.5e-310, 123456789.123456789]


def test_points_round_trip_is_exact(tmp_path):
    rng = np.random.default_rng(0)
    xy = np.concatenate([rng.normal(size=(50, 2)) * 1e3, np.array(TRICKY).reshape(-1, 1) * [1, -1]])
    labels = rng.integers(0, 4, len(xy))
    path = tmp_path / "points.csv"
    save_points(path, xy, labels)
    loaded_xy, loaded_labels = load_points(path)
    assert loaded_xy.dtype == np.float64 and loaded_labels.dtype == np.int64
    assert loaded_xy.tobytes() == xy.tobytes()  # bit-exact, including -0.0
    np.testing.assert_array_equal(loaded_labels, labels)
    assert path.read_text().splitlines()[0] == "x,y,label"


def test_points_with_zero_rows_round_trip(tmp_path):
    path = tmp_path / "empty.csv"
    save_points(path, np.empty((0, 2)), np.empty(0, dtype=np.int64))
    xy, labels = load_points(path)
    assert xy.shape == (0, 2) and labels.shape == (0,)


def test_points_loader_tolerates_whitespace_crlf_blank_lines_and_bom(tmp_path):
    path = tmp_path / "messy.csv"
    path.write_bytes(b"\xef\xbb\xbf X , Y ,Label \r\n 1.5 , -2 , 3 \r\n\r\n2e3,0,0\r\n\r\n\n  \n")
    xy, labels = load_points(path)
    np.testing.assert_array_equal(xy, [[1.5, -2.0], [2000.0, 0.0]])
    np.testing.assert_array_equal(labels, [3, 0])


def test_loaded_points_are_writable_arrays(tmp_path):
    path = tmp_path / "p.csv"
    save_points(path, [[1.0, 2.0]], [1])
    xy, labels = load_points(path)
    xy[0, 0] = 5.0
    labels[0] = 2


@pytest.mark.parametrize(
    "content, expected",
    [
        (b"", "empty"),
        (b"\n\n  \n", "empty"),
        (b"1.0,2.0,0\n", "line 1.*header"),
        (b"x,y\n1,2\n", "line 1.*header"),
        (b"x,y,label,extra\n", "line 1.*header"),
        (b"x,y,label\n1.0,2.0\n", "line 2.*3 values"),
        (b"x,y,label\n1.0,2.0,0\n1.0,2.0,0,0\n", "line 3.*3 values"),
        (b"x,y,label\n1,2,0\n\n\n\nabc,2,0\n", "line 6: 'abc' is not a number"),
        (b"x,y,label\n1,,0\n", "line 2: '' is not a number"),
        (b"x,y,label\n1,nan,0\n", "line 2.*not a finite"),
        (b"x,y,label\n1,-inf,0\n", "line 2.*not a finite"),
        (b"x,y,label\n1,1e400,0\n", "line 2.*not a finite"),
        (b"x,y,label\n1,2,1.5\n", "line 2: label '1.5' is not a whole number"),
        (b"x,y,label\n1,2,one\n", "line 2.*not a whole number"),
        (b"x,y,label\n1,2,4\n", "line 2: label 4 is outside 0..3"),
        (b"x,y,label\n1,2,-1\n", "line 2: label -1 is outside"),
        (b"x,y,label\n1,\xff,0\n", "not UTF-8"),
        (b"\xfe\xff\x00x\x00,\x00y", "not UTF-8"),  # UTF-16 is not accepted
    ],
)
def test_malformed_points_file_names_file_and_problem(tmp_path, content, expected):
    path = tmp_path / "bad points.csv"
    path.write_bytes(content)
    with pytest.raises(FileFormatError, match=expected) as info:
        load_points(path)
    assert str(info.value).startswith("bad points.csv")


def test_points_file_over_size_limit_rejected_before_parsing(tmp_path, monkeypatch):
    monkeypatch.setattr(files, "MAX_POINTS_FILE_BYTES", 1000)
    path = tmp_path / "huge.csv"
    path.write_bytes(b"x,y,label\n" + b"0,0,0\n" * 200)
    with pytest.raises(FileFormatError, match=r"huge\.csv.*larger"):
        load_points(path)


def test_points_file_over_row_limit_rejected(tmp_path, monkeypatch):
    monkeypatch.setattr(files, "MAX_POINTS", 10)
    path = tmp_path / "many.csv"
    path.write_bytes(b"x,y,label\n" + b"0,0,0\n" * 10)
    assert len(load_points(path)[1]) == 10
    path.write_bytes(b"x,y,label\n" + b"0,0,0\n" * 11)
    with pytest.raises(FileFormatError, match=r"many\.csv.*more than 10 points"):
        load_points(path)


def test_save_points_rejects_invalid_data_without_touching_file(tmp_path):
    path = tmp_path / "p.csv"
    path.write_bytes(b"old")
    with pytest.raises(ValueError):
        save_points(path, [[0.0, np.nan]], [0])
    with pytest.raises(ValueError):
        save_points(path, [[0.0, 0.0]], [9])
    assert path.read_bytes() == b"old"


def test_missing_points_file_is_an_os_error_not_a_format_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_points(tmp_path / "absent.csv")


# ---- weights ----------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".npz", ".json", ".NPZ", ".Json"])
@pytest.mark.parametrize("model", ["perceptron", "mlp"])
def test_weights_round_trip_is_exact(tmp_path, suffix, model):
    metadata = metadata_for(model)
    weights = weights_for(metadata["layers"])
    weights["W1"][0, 0] = 5e-324  # subnormal survives too
    path = tmp_path / f"model{suffix}"
    save_weights(path, weights, metadata)
    loaded, loaded_metadata = load_weights(path)
    assert loaded_metadata == metadata
    assert list(loaded) == list(weights)
    for key, array in weights.items():
        assert loaded[key].dtype == np.float64
        assert loaded[key].tobytes() == array.tobytes(), key


@pytest.mark.parametrize("suffix", [".npz", ".json"])
def test_weights_round_trip_with_null_loss_and_float32(tmp_path, suffix):
    metadata = metadata_for("perceptron") | {"loss": None, "step": 0}
    weights = {k: v.astype(np.float32) for k, v in weights_for(metadata["layers"]).items()}
    path = tmp_path / f"w{suffix}"
    save_weights(path, weights, metadata)
    loaded, loaded_metadata = load_weights(path)
    assert loaded_metadata["loss"] is None
    for key, array in weights.items():
        np.testing.assert_array_equal(loaded[key], array.astype(np.float64))


def test_npz_stores_metadata_as_plain_json_string(tmp_path):
    path = tmp_path / "w.npz"
    metadata = metadata_for()
    save_weights(path, weights_for(metadata["layers"]), metadata)
    with np.load(path, allow_pickle=False) as archive:
        stored = archive["metadata"]
        assert stored.shape == () and stored.dtype.kind == "U"
        assert json.loads(str(stored)) == metadata
        assert sorted(archive.files) == ["W1", "W2", "W3", "b1", "b2", "b3", "metadata"]


def test_json_weights_are_indented_with_one_matrix_row_per_line(tmp_path):
    path = tmp_path / "w.json"
    metadata = metadata_for("mlp", [2, 4, 2])
    weights = weights_for(metadata["layers"])
    save_weights(path, weights, metadata)
    text = path.read_text()
    assert text.startswith('{\n  "metadata": {\n    "format": "training-lab-weights",')
    doc = json.loads(text)
    assert doc["metadata"] == metadata
    assert doc["weights"]["W2"] == weights["W2"].tolist()
    row_lines = [line.strip().rstrip(",") for line in text.splitlines()]
    for row in weights["W1"].tolist():
        assert json.dumps(row) in row_lines


@pytest.mark.parametrize("name", ["w.txt", "w", "w.npy", "w.json.bak"])
def test_weights_unsupported_suffix(tmp_path, name):
    path = tmp_path / name
    metadata = metadata_for()
    with pytest.raises(ValueError, match=r"unsupported"):
        save_weights(path, weights_for(metadata["layers"]), metadata)
    path.write_text("{}")
    with pytest.raises(FileFormatError, match=r"unsupported"):
        load_weights(path)


def mutated(changes: dict, model: str = "mlp") -> dict:
    metadata = metadata_for(model)
    for key, value in changes.items():
        if value is KeyError:
            del metadata[key]
        else:
            metadata[key] = value
    return metadata


BAD_METADATA = [
    ({"format": "other"}, "format"),
    ({"format_version": 2}, "format_version"),
    ({"format_version": True}, "format_version"),
    ({"format_version": "1"}, "format_version"),
    ({"model": "svm"}, "model"),
    ({"model": ["mlp"]}, "model"),
    ({"layers": [3, 8, 5, 3]}, "layers"),
    ({"layers": [2, 8, 5, 4]}, "layers"),
    ({"layers": [2, 0, 5, 3]}, "layers"),
    ({"layers": [2, 8.0, 5, 3]}, "layers"),
    ({"layers": [3]}, "layers"),
    ({"layers": "2,8,5,3"}, "layers"),
    ({"activation": "softplus"}, "activation"),
    ({"classes": 5, "layers": [2, 5], "class_colors": ["#000000"] * 5}, "classes"),
    ({"classes": 1, "layers": [2, 1], "class_colors": ["#000000"]}, "classes"),
    ({"class_colors": ["#0072B2", "#D55E00"]}, "class_colors"),
    ({"class_colors": ["#0072B2", "#D55E00", "red"]}, "class_colors"),
    ({"class_colors": ["#0072B2", "#D55E00", "#009E73\n"]}, "class_colors"),
    ({"step": -1}, "step"),
    ({"step": 1.0}, "step"),
    ({"loss": float("nan")}, "loss"),
    ({"loss": "0.5"}, "loss"),
    ({"learning_rate": 0}, "learning_rate"),
    ({"learning_rate": float("inf")}, "learning_rate"),
    ({"optimizer": "sgd"}, "optimizer"),
    ({"engine_version": 1}, "engine_version"),
    ({"step": KeyError}, "missing 'step'"),
    ({"engine_version": KeyError}, "missing 'engine_version'"),
]


@pytest.mark.parametrize("changes, message", BAD_METADATA)
def test_validate_weights_rejects_bad_metadata(changes, message):
    metadata = mutated(changes)
    with pytest.raises(ValueError, match=message):
        validate_weights(weights_for([2, 8, 5, 3]), metadata)


@pytest.mark.parametrize("layers", [[2, 3], [2, 5000, 3]])
def test_an_mlp_needs_hidden_layers_the_app_can_build(layers):
    metadata = mutated({"layers": layers})
    with pytest.raises(ValueError, match=r"for an MLP"):
        validate_weights(weights_for(layers), metadata)


def test_perceptron_must_have_no_hidden_layers():
    metadata = mutated({"layers": [2, 4, 3]}, model="perceptron")
    with pytest.raises(ValueError, match=r"perceptron"):
        validate_weights(weights_for([2, 4, 3]), metadata)


def test_activation_is_required_but_any_valid_one_for_perceptron():
    metadata = mutated({"activation": "relu"}, model="perceptron")
    validate_weights(weights_for(metadata["layers"]), metadata)


def bad_weights(case: str) -> dict:
    weights = weights_for([2, 8, 5, 3])
    if case == "missing":
        del weights["b2"]
    elif case == "extra":
        weights["W4"] = np.zeros((3, 3))
    elif case == "shape":
        weights["W2"] = np.zeros((5, 8))
    elif case == "nan":
        weights["b3"][1] = np.nan
    elif case == "inf":
        weights["W1"][0, 0] = -np.inf
    elif case == "int":
        weights["b1"] = np.zeros(8, dtype=np.int64)
    return weights


BAD_WEIGHTS = [
    ("missing", "missing weight 'b2'"),
    ("extra", "unexpected weight 'W4'"),
    ("shape", r"'W2' has shape \(5, 8\), expected \(8, 5\)"),
    ("nan", "'b3' contains NaN"),
    ("inf", "'W1' contains NaN"),
    ("int", "'b1' must be an array of floats"),
]


@pytest.mark.parametrize("case, message", BAD_WEIGHTS)
def test_validate_weights_rejects_bad_arrays(case, message):
    with pytest.raises(ValueError, match=message):
        validate_weights(bad_weights(case), metadata_for())


def test_save_weights_validates_before_writing(tmp_path):
    path = tmp_path / "w.npz"
    with pytest.raises(ValueError, match=r"shape"):
        save_weights(path, bad_weights("shape"), metadata_for())
    assert not path.exists()


@pytest.mark.parametrize("suffix", [".npz", ".json"])
@pytest.mark.parametrize("changes, message", BAD_METADATA)
def test_loaders_reject_bad_metadata_naming_file(tmp_path, suffix, changes, message):
    path = tmp_path / f"bad model{suffix}"
    (write_npz if suffix == ".npz" else write_json)(
        path, weights_for([2, 8, 5, 3]), mutated(changes)
    )
    with pytest.raises(FileFormatError, match=message) as info:
        load_weights(path)
    assert str(info.value).startswith(path.name)


@pytest.mark.parametrize(
    "suffix, case, message",
    # NaN/inf have their own tests below; JSON has one number type, so "int" is fine there.
    [(".npz", c, m) for c, m in BAD_WEIGHTS if c not in ("nan", "inf")]
    + [(".json", c, m) for c, m in BAD_WEIGHTS if c not in ("nan", "inf", "int")],
)
def test_loaders_reject_bad_arrays_naming_file(tmp_path, suffix, case, message):
    path = tmp_path / f"bad model{suffix}"
    (write_npz if suffix == ".npz" else write_json)(path, bad_weights(case), metadata_for())
    with pytest.raises(FileFormatError, match=message) as info:
        load_weights(path)
    assert str(info.value).startswith(path.name)


@pytest.mark.parametrize("case", ["nan", "inf"])
def test_npz_loader_rejects_non_finite_weights(tmp_path, case):
    path = tmp_path / "w.npz"
    write_npz(path, bad_weights(case), metadata_for())
    with pytest.raises(FileFormatError, match=r"w\.npz.*NaN or infinite"):
        load_weights(path)


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_json_loader_rejects_non_finite_weights(tmp_path, literal):
    path = tmp_path / "w.json"
    metadata = metadata_for("perceptron")
    doc = {"metadata": metadata, "weights": {"W1": [[0.0, 0.0, 0.0], [0, 0, 0]], "b1": [0, 0, 0]}}
    path.write_text(json.dumps(doc).replace("[0, 0, 0]}", f"[0, 0, {literal}]}}"))
    with pytest.raises(FileFormatError, match=r"w\.json.*'b1'.*not a finite number"):
        load_weights(path)


def test_npz_with_object_array_is_rejected_without_unpickling(tmp_path):
    path = tmp_path / "evil.npz"
    metadata = metadata_for("perceptron")
    weights = weights_for(metadata["layers"])
    weights["b1"] = np.array([object(), 1.0, 2.0], dtype=object)  # stored with pickle
    write_npz(path, weights, metadata)
    with pytest.raises(FileFormatError, match=r"evil\.npz"):
        load_weights(path)


def test_npz_metadata_must_be_a_json_string(tmp_path):
    metadata = metadata_for("perceptron")
    weights = weights_for(metadata["layers"])
    path = tmp_path / "m.npz"
    np.savez(path, **weights)
    with pytest.raises(FileFormatError, match=r"m\.npz.*no 'metadata'"):
        load_weights(path)
    np.savez(path, metadata=np.array([1.0, 2.0]), **weights)
    with pytest.raises(FileFormatError, match=r"m\.npz.*single JSON string"):
        load_weights(path)
    np.savez(path, metadata=np.array("{not json"), **weights)
    with pytest.raises(FileFormatError, match=r"m\.npz.*not valid JSON"):
        load_weights(path)
    np.savez(path, metadata=np.array("[1, 2]"), **weights)
    with pytest.raises(FileFormatError, match=r"m\.npz.*metadata must be"):
        load_weights(path)


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"not a zip",
        b"PK\x03\x04 truncated",
        np.lib.format.magic(1, 0) + b"npy file, not npz",
    ],
)
def test_npz_loader_rejects_non_archives(tmp_path, content):
    path = tmp_path / "junk.npz"
    path.write_bytes(content)
    with pytest.raises(FileFormatError, match=r"junk\.npz"):
        load_weights(path)


@pytest.mark.parametrize("shape", [(10**12,), (2**62,), (10**8, 2)])
def test_npz_entry_claiming_huge_array_is_rejected(tmp_path, shape):
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": shape}
    )
    path = tmp_path / "liar.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("W1.npy", header.getvalue() + bytes(64))
    with pytest.raises(FileFormatError, match=r"liar\.npz: damaged"):
        load_weights(path)


def test_npz_loader_rejects_truncated_valid_file(tmp_path):
    path = tmp_path / "cut.npz"
    metadata = metadata_for()
    save_weights(path, weights_for(metadata["layers"]), metadata)
    data = path.read_bytes()
    for cut in (len(data) // 3, len(data) - 30, len(data) - 1):
        path.write_bytes(data[:cut])
        with pytest.raises(FileFormatError, match=r"cut\.npz"):
            load_weights(path)


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "not valid JSON"),
        ("{", "not valid JSON"),
        ("[]", "expected an object"),
        ('{"metadata": {}}', "expected an object"),
        ('{"metadata": {}, "weights": []}', "expected an object"),
        ("[" * 100_000 + "]" * 100_000, "not valid JSON|expected an object"),
    ],
)
def test_json_loader_rejects_malformed_documents(tmp_path, text, message):
    path = tmp_path / "doc.json"
    path.write_text(text)
    with pytest.raises(FileFormatError, match=message) as info:
        load_weights(path)
    assert str(info.value).startswith("doc.json")


@pytest.mark.parametrize(
    "b1, message",
    [
        ('[0, "1", 2]', "not a finite number"),
        ("[0, true, 2]", "not a finite number"),
        ("[0, null, 2]", "not a finite number"),
        ("[0, {}, 2]", "not a finite number"),
        ("[[0, 1], [2]]", "not a rectangular array"),
        ("[0, 1e999999, 2]", "not a finite number"),
        (f"[0, 1{'0' * 400}, 2]", "not a finite number"),
        ("1.5", r"shape \(\)"),
    ],
)
def test_json_loader_rejects_non_numeric_weights(tmp_path, b1, message):
    path = tmp_path / "w.json"
    metadata = metadata_for("perceptron")
    text = json.dumps({"metadata": metadata, "weights": {"W1": [[0] * 3] * 2, "b1": "B1"}})
    path.write_text(text.replace('"B1"', b1))
    with pytest.raises(FileFormatError, match=message):
        load_weights(path)


def test_json_loader_rejects_non_utf8(tmp_path):
    path = tmp_path / "latin.json"
    path.write_bytes(b'{"metadata": "caf\xe9"}')
    with pytest.raises(FileFormatError, match=r"latin\.json.*not UTF-8"):
        load_weights(path)


@pytest.mark.parametrize("suffix", [".npz", ".json"])
def test_weights_file_over_size_limit_rejected(tmp_path, monkeypatch, suffix):
    path = tmp_path / f"big{suffix}"
    metadata = metadata_for()
    save_weights(path, weights_for(metadata["layers"]), metadata)
    monkeypatch.setattr(files, "MAX_WEIGHTS_FILE_BYTES", path.stat().st_size - 1)
    with pytest.raises(FileFormatError, match=r"larger"):
        load_weights(path)


def test_npz_that_unpacks_too_large_is_rejected(tmp_path, monkeypatch):
    path = tmp_path / "bomb.npz"
    metadata = metadata_for()
    weights = weights_for(metadata["layers"])
    np.savez_compressed(path, metadata=np.array(json.dumps(metadata)), **weights)
    monkeypatch.setattr(files, "MAX_WEIGHTS_UNPACKED_BYTES", 1000)
    with pytest.raises(FileFormatError, match=r"bomb\.npz.*unpacks to too much"):
        load_weights(path)


def test_compressed_npz_is_accepted(tmp_path):
    path = tmp_path / "small.npz"
    metadata = metadata_for()
    weights = weights_for(metadata["layers"])
    np.savez_compressed(path, metadata=np.array(json.dumps(metadata)), **weights)
    loaded, _ = load_weights(path)
    np.testing.assert_array_equal(loaded["W3"], weights["W3"])
