import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

import engine
from lab.core.io import weights_file
from lab.core.io.reading import FileFormatError
from lab.core.io.weights_file import (
    load_weights,
    save_weights,
    validate_weights,
    weights_metadata,
)
from lab.core.model import ModelSettings


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
    ({"format_version": 3}, "format_version"),
    ({"task": "classification"}, "'task' belongs to format version 2"),
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


def version_2(task: str = "classification", features: list | None = None) -> dict:
    features = features or ["x", "y", "x2"]
    metadata = metadata_for(layers=[len(features), 8, 5, 3 if task == "classification" else 1])
    metadata.update(format_version=2, task=task, features=features)
    if task == "regression":
        metadata.update(classes=0, class_colors=[])
    return metadata


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_version_2_files_say_their_task_and_features(tmp_path, task):
    metadata = version_2(task)
    weights = weights_for(metadata["layers"])
    validate_weights(weights, metadata)
    save_weights(tmp_path / "w.json", weights, metadata)
    _weights, loaded = load_weights(tmp_path / "w.json")
    assert loaded["task"] == task and loaded["features"] == ["x", "y", "x2"]


@pytest.mark.parametrize(("changes", "message"), [
    ({"task": "ranking"}, "task"),
    ({"features": ["x", "z"]}, "features"),
    ({"features": ["y", "x", "x2"]}, "features"),  # not in the inputs' order
    ({"features": ["x", "y"]}, "layers"),  # 2 features, 3 inputs
    ({"classes": 2}, "classes"),  # regression has none
])
def test_version_2_metadata_is_checked(changes, message):
    metadata = version_2("regression" if "classes" in changes else "classification") | changes
    with pytest.raises(ValueError, match=message):
        validate_weights(weights_for(version_2()["layers"]), metadata)


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
    monkeypatch.setattr(weights_file, "MAX_WEIGHTS_FILE_BYTES", path.stat().st_size - 1)
    with pytest.raises(FileFormatError, match=r"larger"):
        load_weights(path)


def test_npz_that_unpacks_too_large_is_rejected(tmp_path, monkeypatch):
    path = tmp_path / "bomb.npz"
    metadata = metadata_for()
    weights = weights_for(metadata["layers"])
    np.savez_compressed(path, metadata=np.array(json.dumps(metadata)), **weights)
    monkeypatch.setattr(weights_file, "MAX_WEIGHTS_UNPACKED_BYTES", 1000)
    with pytest.raises(FileFormatError, match=r"bomb\.npz.*unpacks to too much"):
        load_weights(path)


def test_compressed_npz_is_accepted(tmp_path):
    path = tmp_path / "small.npz"
    metadata = metadata_for()
    weights = weights_for(metadata["layers"])
    np.savez_compressed(path, metadata=np.array(json.dumps(metadata)), **weights)
    loaded, _ = load_weights(path)
    np.testing.assert_array_equal(loaded["W3"], weights["W3"])


@pytest.mark.parametrize("loss", [0.25, None])
def test_weights_metadata_describes_the_model_and_passes_validation(tmp_path, loss):
    settings = ModelSettings(kind="mlp", hidden=(8, 5), activation="relu", classes=3)
    metadata = weights_metadata(settings, "momentum", 0.05, 1234, loss)
    assert metadata == {
        "format": "training-lab-weights",
        "format_version": 2,
        "task": "classification",
        "features": ["x", "y"],
        "precision": "float32",
        "model": "mlp",
        "layers": [2, 8, 5, 3],
        "activation": "relu",
        "classes": 3,
        "class_colors": ["#0072B2", "#D55E00", "#009E73"],
        "step": 1234,
        "loss": loss,
        "learning_rate": 0.05,
        "optimizer": "momentum",
        "engine_version": engine.__version__,
    }
    path = tmp_path / "w.json"
    save_weights(path, weights_for(settings.layers), metadata)
    assert load_weights(path)[1] == metadata
