"""Trained weights as ``.npz`` (numpy) or ``.json`` (readable), with metadata saying what
model they belong to. The loader checks every field; nothing invalid is written or read.
"""

import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np

import engine
from lab.core.colors import CLASS_COLORS
from lab.core.features import DEFAULT_FEATURES, FEATURES, check_features
from lab.core.io.atomic import atomic_write
from lab.core.io.kinds import file_kind
from lab.core.io.npy_archive import is_zip, read_npy_archive
from lab.core.io.reading import (
    FileFormatError,
    PathLike,
    clip,
    decode_utf8,
    is_color,
    is_finite_number,
    is_int,
    parse_json,
    read_limited,
    shown,
)
from lab.core.model import (
    ACTIVATIONS,
    MAX_HIDDEN_UNITS,
    MODEL_KINDS,
    PRECISIONS,
    TASKS,
    ModelSettings,
    weight_shapes,
)
from lab.core.optimizers import OPTIMIZERS
from lab.core.points import MAX_CLASSES

MAX_WEIGHTS_FILE_BYTES = 64 * 2**20
# Caps what an .npz may unpack to, so a small compressed file cannot claim gigabytes.
MAX_WEIGHTS_UNPACKED_BYTES = 256 * 2**20
MAX_WEIGHTS_MEMBERS = 10_000  # two per layer: far beyond any model the app builds

WEIGHTS_FORMAT = "training-lab-weights"
# Version 2 adds the task and the input features; a version 1 file is a classifier on x, y.
# "precision" (the arrays' float type) may be in either; without it, float64.
WEIGHTS_FORMAT_VERSION = 2
_VERSION_2_KEYS = ("task", "features")
_METADATA_KEYS = (
    "format",
    "format_version",
    "model",
    "layers",
    "activation",
    "classes",
    "class_colors",
    "step",
    "loss",
    "learning_rate",
    "optimizer",
    "engine_version",
)


def weights_metadata(
    settings: ModelSettings, optimizer: str, learning_rate: float, step: int, loss: float | None
) -> dict:
    """The metadata the app writes next to exported weights (``validate_weights`` checks it).

    A regression model has no classes (0, no colours) and one output."""
    classes = settings.classes if settings.task == "classification" else 0
    return {
        "format": WEIGHTS_FORMAT,
        "format_version": WEIGHTS_FORMAT_VERSION,
        "task": settings.task,
        "features": list(settings.features),
        "precision": settings.precision,
        "model": settings.kind,
        "layers": settings.layers,
        "activation": settings.activation,
        "classes": classes,
        "class_colors": list(CLASS_COLORS[:classes]),
        "step": step,
        "loss": loss,
        "learning_rate": learning_rate,
        "optimizer": optimizer,
        "engine_version": engine.__version__,
    }


def _check_metadata(metadata: object) -> list[int]:
    """Check every metadata field; return the layer sizes."""
    if not isinstance(metadata, Mapping):
        raise ValueError("metadata must be a JSON object")
    for key in _METADATA_KEYS:
        if key not in metadata:
            raise ValueError(f"metadata is missing {key!r}")

    def need(ok: bool, key: str, what: str) -> None:
        if not ok:
            raise ValueError(f"metadata {key!r} must be {what}, got {clip(repr(metadata[key]))}")

    file_format = metadata["format"]
    need(
        isinstance(file_format, str) and file_format == WEIGHTS_FORMAT,
        "format",
        repr(WEIGHTS_FORMAT),
    )
    version = metadata["format_version"]
    need(is_int(version) and version in (1, 2), "format_version", "1 or 2")
    for key in _VERSION_2_KEYS:
        if (key in metadata) != (version == 2):
            raise ValueError(f"metadata {key!r} belongs to format version 2 files only")
    task = metadata.get("task", "classification")
    need(version == 1 or task in TASKS, "task", " or ".join(map(repr, TASKS)))
    features = metadata.get("features", list(DEFAULT_FEATURES))
    need(
        isinstance(features, list)
        and all(isinstance(name, str) for name in features)
        and _valid_features(features),
        "features",
        f"a list of some of {', '.join(FEATURES)}, each once, in that order",
    )
    precision = metadata.get("precision", "float64")
    need(isinstance(precision, str) and precision in PRECISIONS, "precision",
         " or ".join(map(repr, PRECISIONS)))
    model = metadata["model"]
    need(
        isinstance(model, str) and model in MODEL_KINDS,
        "model",
        " or ".join(map(repr, MODEL_KINDS)),
    )
    activation = metadata["activation"]
    need(
        isinstance(activation, str) and activation in ACTIVATIONS,
        "activation",
        " or ".join(map(repr, ACTIVATIONS)),
    )
    classes = metadata["classes"]
    if task == "regression":
        need(classes == 0 and is_int(classes), "classes", "0 for a regression model")
    else:
        need(is_int(classes) and 2 <= classes <= MAX_CLASSES, "classes", f"2..{MAX_CLASSES}")
    layers = metadata["layers"]
    need(
        isinstance(layers, list)
        and len(layers) >= 2
        and all(is_int(size) and size >= 1 for size in layers)
        and layers[0] == len(features)
        and layers[-1] == (classes or 1),
        "layers",
        "a list of sizes >= 1 from the number of features (inputs) to the number of classes, "
        "or 1 for regression (outputs)",
    )
    need(model != "perceptron" or len(layers) == 2, "layers", "[inputs, outputs] for a perceptron")
    need(
        model != "mlp"
        or (len(layers) >= 3 and all(size <= MAX_HIDDEN_UNITS for size in layers[1:-1])),
        "layers",
        f"[inputs, hidden sizes up to {MAX_HIDDEN_UNITS}, ..., outputs] for an MLP",
    )
    colors = metadata["class_colors"]
    need(
        isinstance(colors, list) and len(colors) == classes and all(map(is_color, colors)),
        "class_colors",
        f"a list of {classes} colours like '#1f77b4'",
    )
    step = metadata["step"]
    need(is_int(step) and step >= 0, "step", "a whole number >= 0")
    loss = metadata["loss"]
    need(loss is None or is_finite_number(loss), "loss", "a finite number or null")
    rate = metadata["learning_rate"]
    need(is_finite_number(rate) and rate > 0, "learning_rate", "a finite number > 0")
    optimizer = metadata["optimizer"]
    need(
        isinstance(optimizer, str) and optimizer in OPTIMIZERS,
        "optimizer",
        " or ".join(map(repr, OPTIMIZERS)),
    )
    need(isinstance(metadata["engine_version"], str), "engine_version", "a string")
    return layers


def _valid_features(features: list[str]) -> bool:
    try:
        return tuple(features) == check_features(tuple(features))
    except ValueError:
        return False


def model_settings(
    metadata: Mapping[str, object], seed: int, hidden: tuple[int, ...]
) -> ModelSettings:
    """The model a (validated) weights file's metadata describes; `seed` and, for a
    perceptron, `hidden` are not in the file."""
    layers = list(metadata["layers"])
    task = metadata.get("task", "classification")
    return ModelSettings(
        kind=metadata["model"],
        hidden=tuple(layers[1:-1]) or hidden,
        activation=metadata["activation"],
        classes=metadata["classes"] if task == "classification" else 2,
        seed=seed,
        task=task,
        features=tuple(metadata.get("features", DEFAULT_FEATURES)),
        precision=metadata.get("precision", "float64"),
    )


def validate_weights(weights: Mapping[str, np.ndarray], metadata: Mapping[str, object]) -> None:
    """Raise ValueError saying what is wrong unless weights and metadata form a valid model.

    Used by both loaders and by the app before export, so nothing invalid is written or read.
    """
    shapes = weight_shapes(_check_metadata(metadata))
    if not isinstance(weights, Mapping):
        raise ValueError("weights must map names to arrays")
    for key in weights:
        if key not in shapes:
            raise ValueError(f"unexpected weight {shown(str(key))}")
    for key, shape in shapes.items():
        if key not in weights:
            raise ValueError(f"missing weight {key!r}")
        array = weights[key]
        if not isinstance(array, np.ndarray) or array.dtype.kind != "f":
            raise ValueError(f"weight {key!r} must be an array of floats")
        if array.shape != shape:
            raise ValueError(f"weight {key!r} has shape {array.shape}, expected {shape}")
        if not np.isfinite(array).all():
            raise ValueError(f"weight {key!r} contains NaN or infinite values")


def _weights_kind(path: Path) -> str:
    file_kind(path, "weights")
    return path.suffix.lower()


def save_weights(
    path: PathLike, weights: Mapping[str, np.ndarray], metadata: Mapping[str, object]
) -> None:
    """Write weights and metadata as .npz or .json (by suffix), after validating them."""
    path = Path(path)
    kind = _weights_kind(path)
    validate_weights(weights, metadata)
    dtype = np.dtype(metadata.get("precision", "float64"))  # float32 weights stay float32
    ordered = {key: np.asarray(weights[key], dtype) for key in weight_shapes(metadata["layers"])}
    # Serialise before opening the file, so unserialisable metadata fails as itself.
    if kind == ".npz":
        meta = np.array(json.dumps(dict(metadata), allow_nan=False))
        atomic_write(path, lambda file: np.savez(file, metadata=meta, **ordered))
    else:
        data = _weights_json(ordered, metadata).encode("utf-8")
        atomic_write(path, lambda file: file.write(data))


def _weights_json(weights: dict[str, np.ndarray], metadata: Mapping[str, object]) -> str:
    """Indented JSON with one matrix row per line, readable by a person."""
    meta = json.dumps(dict(metadata), indent=2, allow_nan=False).replace("\n", "\n  ")
    entries = []
    for key, array in weights.items():
        if array.ndim == 1:
            body = json.dumps(array.tolist())
        else:
            rows = ",\n      ".join(json.dumps(row) for row in array.tolist())
            body = f"[\n      {rows}\n    ]"
        entries.append(f"    {json.dumps(key)}: {body}")
    return f'{{\n  "metadata": {meta},\n  "weights": {{\n' + ",\n".join(entries) + "\n  }\n}\n"


def load_weights(path: PathLike) -> tuple[dict[str, np.ndarray], dict[str, object]]:
    """Read weights (float64 arrays W1, b1, ...) and metadata from .npz or .json, validated."""
    path = Path(path)
    kind = _weights_kind(path)
    data = read_limited(path, MAX_WEIGHTS_FILE_BYTES)
    parse = _parse_npz if kind == ".npz" else _parse_json
    weights, metadata = parse(data, path.name)
    with np.errstate(over="ignore"):  # an out-of-range long double becomes inf, rejected below
        weights = {
            key: value.astype(np.float64) if value.dtype.kind == "f" else value
            for key, value in weights.items()
        }
    try:
        validate_weights(weights, metadata)
    except ValueError as exc:
        raise FileFormatError(f"{path.name}: {exc}") from None
    return weights, metadata


def _parse_npz(data: bytes, name: str) -> tuple[dict[str, np.ndarray], object]:
    if not is_zip(data):
        raise FileFormatError(f"{name}: not an .npz archive")
    arrays, _ = read_npy_archive(
        data,
        name,
        kind=".npz",
        max_unpacked_bytes=MAX_WEIGHTS_UNPACKED_BYTES,
        max_members=MAX_WEIGHTS_MEMBERS,
    )
    meta = arrays.pop("metadata", None)
    if meta is None:
        raise FileFormatError(f"{name}: the archive has no 'metadata' entry")
    if meta.shape != () or meta.dtype.kind != "U":
        raise FileFormatError(f"{name}: 'metadata' must be a single JSON string")
    return arrays, parse_json(str(meta[()]), name)


def _parse_json(data: bytes, name: str) -> tuple[dict[str, np.ndarray], object]:
    document = parse_json(decode_utf8(data, name), name)
    if not isinstance(document, dict) or not isinstance(document.get("weights"), dict):
        raise FileFormatError(f"{name}: expected an object with 'metadata' and 'weights'")
    return (
        {key: _json_array(value, key, name) for key, value in document["weights"].items()},
        document.get("metadata"),
    )


def _json_array(value: object, key: str, name: str) -> np.ndarray:
    """Turn nested JSON lists into a float array, accepting nothing but numbers."""
    pending = [value]
    while pending:  # a loop, not recursion: nesting depth comes from the file
        item = pending.pop()
        if isinstance(item, list):
            pending.extend(item)
        elif not is_finite_number(item):
            raise FileFormatError(
                f"{name}: weight {shown(key)} holds {clip(repr(item))}, not a finite number"
            )
    try:
        return np.array(value, dtype=np.float64)
    except (ValueError, OverflowError) as exc:
        raise FileFormatError(
            f"{name}: weight {shown(key)} is not a rectangular array ({clip(str(exc), 80)})"
        ) from None
