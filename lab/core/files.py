"""File formats for points (CSV) and trained weights (.npz or .json).

Files come from anywhere, so loaders check everything and report problems as FileFormatError
naming the file and, where there is one, the line. Writers are atomic: a failed save leaves the
previous file as it was. Nothing here uses pickle or eval.
"""

import contextlib
import io
import json
import math
import os
import re
import tempfile
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import BinaryIO

import numpy as np

from lab.core.model import ACTIVATIONS, MAX_HIDDEN_UNITS, MODEL_KINDS, OPTIMIZERS, weight_shapes
from lab.core.points import MAX_CLASSES, validate_points

MAX_POINTS = 1_000_000
# Rows are at most ~50 bytes ("-1.2345678901234567e-05,...,3"), so MAX_POINTS always fits.
MAX_POINTS_FILE_BYTES = 64 * 2**20
MAX_WEIGHTS_FILE_BYTES = 64 * 2**20
# Caps what an .npz may unpack to, so a small compressed file cannot claim gigabytes.
MAX_WEIGHTS_UNPACKED_BYTES = 256 * 2**20

WEIGHTS_FORMAT = "training-lab-weights"
WEIGHTS_FORMAT_VERSION = 1
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
_COLOR = re.compile(r"#[0-9A-Fa-f]{6}")
_POINTS_HEADER = ["x", "y", "label"]

PathLike = str | os.PathLike[str]


class FileFormatError(ValueError):
    """A file's content is not what the format allows; the message is fit to show the user."""


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
    """Make the rename itself durable, so a power cut cannot bring the old file back."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _read_limited(path: Path, limit: int) -> bytes:
    """Read a whole file, refusing one over ``limit`` before reading it."""
    with open(path, "rb") as file:
        size = os.fstat(file.fileno()).st_size
        data = file.read(limit + 1) if size <= limit else b""
    if size > limit or len(data) > limit:  # the second test catches files that lie in stat
        raise FileFormatError(
            f"{path.name}: the file is larger than the {limit // 2**20} MB this app reads"
        )
    return data


def _decode(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8-sig")  # -sig: tolerate the BOM some spreadsheets write
    except UnicodeDecodeError as exc:
        raise FileFormatError(
            f"{name}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})"
        ) from None


def _clip(text: str, limit: int = 40) -> str:
    """Cut a piece of the file short, so the message quoting it stays readable."""
    return text if len(text) <= limit else text[:limit] + "…"


def _shown(text: str) -> str:
    return repr(_clip(text))


# ---- points CSV -----------------------------------------------------------------------------


def save_points(path: PathLike, xy: np.ndarray, labels: np.ndarray) -> None:
    """Write ``x,y,label`` CSV with repr floats, so loading gives back the exact values."""
    xy, labels = validate_points(xy, labels)
    if len(labels) > MAX_POINTS:
        raise ValueError(f"cannot save more than {MAX_POINTS:,} points")
    rows = [
        f"{x!r},{y!r},{label}\n" for (x, y), label in zip(xy.tolist(), labels.tolist(), strict=True)
    ]
    data = ("x,y,label\n" + "".join(rows)).encode("utf-8")
    atomic_write(path, lambda file: file.write(data))


def load_points(path: PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Read a points CSV into (xy float64 (N, 2), labels int64 (N,)); N may be 0.

    Tolerates surrounding whitespace, CRLF line ends, blank lines and a UTF-8 BOM.
    """
    path = Path(path)
    name = path.name
    text = _decode(_read_limited(path, MAX_POINTS_FILE_BYTES), name)
    header_seen = False
    xs: list[float] = []
    ys: list[float] = []
    labels: list[int] = []
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip()
        if not line:
            continue
        cells = [cell.strip() for cell in line.split(",")]
        where = f"{name}, line {number}"
        if not header_seen:
            if [cell.lower() for cell in cells] != _POINTS_HEADER:
                raise FileFormatError(
                    f"{where}: expected the header 'x,y,label', found {_shown(line)}"
                )
            header_seen = True
            continue
        if len(cells) != 3:
            raise FileFormatError(f"{where}: expected 3 values (x,y,label), found {len(cells)}")
        if len(labels) == MAX_POINTS:
            raise FileFormatError(f"{name}: more than {MAX_POINTS:,} points")
        xs.append(_coordinate(cells[0], where))
        ys.append(_coordinate(cells[1], where))
        labels.append(_label(cells[2], where))
    if not header_seen:
        raise FileFormatError(f"{name}: the file is empty; expected the header 'x,y,label'")
    xy = np.empty((len(xs), 2), dtype=np.float64)
    xy[:, 0], xy[:, 1] = xs, ys
    return xy, np.array(labels, dtype=np.int64)


def _coordinate(cell: str, where: str) -> float:
    try:
        value = float(cell)
    except ValueError:
        raise FileFormatError(f"{where}: {_shown(cell)} is not a number") from None
    if not math.isfinite(value):
        raise FileFormatError(f"{where}: {_shown(cell)} is not a finite number")
    return value


def _label(cell: str, where: str) -> int:
    try:
        value = int(cell)
    except ValueError:
        raise FileFormatError(f"{where}: label {_shown(cell)} is not a whole number") from None
    if not 0 <= value < MAX_CLASSES:
        raise FileFormatError(f"{where}: label {value} is outside 0..{MAX_CLASSES - 1}")
    return value


# ---- weights ----------------------------------------------------------------------------------


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_finite_number(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too big for a float
        return False


def _check_metadata(metadata: object) -> list[int]:
    """Check every metadata field; return the layer sizes."""
    if not isinstance(metadata, Mapping):
        raise ValueError("metadata must be a JSON object")
    for key in _METADATA_KEYS:
        if key not in metadata:
            raise ValueError(f"metadata is missing {key!r}")

    def need(ok: bool, key: str, what: str) -> None:
        if not ok:
            raise ValueError(f"metadata {key!r} must be {what}, got {_clip(repr(metadata[key]))}")

    file_format = metadata["format"]
    need(
        isinstance(file_format, str) and file_format == WEIGHTS_FORMAT,
        "format",
        repr(WEIGHTS_FORMAT),
    )
    version = metadata["format_version"]
    need(_is_int(version) and version == WEIGHTS_FORMAT_VERSION, "format_version", "1")
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
    need(_is_int(classes) and 2 <= classes <= MAX_CLASSES, "classes", f"2..{MAX_CLASSES}")
    layers = metadata["layers"]
    need(
        isinstance(layers, list)
        and len(layers) >= 2
        and all(_is_int(size) and size >= 1 for size in layers)
        and layers[0] == 2
        and layers[-1] == classes,
        "layers",
        "a list of sizes >= 1 from 2 (inputs) to 'classes' (outputs)",
    )
    need(model != "perceptron" or len(layers) == 2, "layers", "[2, classes] for a perceptron")
    need(
        model != "mlp"
        or (len(layers) >= 3 and all(size <= MAX_HIDDEN_UNITS for size in layers[1:-1])),
        "layers",
        f"[2, hidden sizes up to {MAX_HIDDEN_UNITS}, ..., classes] for an MLP",
    )
    colors = metadata["class_colors"]
    need(
        isinstance(colors, list)
        and len(colors) == classes
        and all(isinstance(c, str) and _COLOR.fullmatch(c) for c in colors),
        "class_colors",
        f"a list of {classes} colours like '#1f77b4'",
    )
    step = metadata["step"]
    need(_is_int(step) and step >= 0, "step", "a whole number >= 0")
    loss = metadata["loss"]
    need(loss is None or _is_finite_number(loss), "loss", "a finite number or null")
    rate = metadata["learning_rate"]
    need(_is_finite_number(rate) and rate > 0, "learning_rate", "a finite number > 0")
    optimizer = metadata["optimizer"]
    need(
        isinstance(optimizer, str) and optimizer in OPTIMIZERS,
        "optimizer",
        " or ".join(map(repr, OPTIMIZERS)),
    )
    need(isinstance(metadata["engine_version"], str), "engine_version", "a string")
    return layers


def validate_weights(weights: Mapping[str, np.ndarray], metadata: Mapping[str, object]) -> None:
    """Raise ValueError saying what is wrong unless weights and metadata form a valid model.

    Used by both loaders and by the app before export, so nothing invalid is written or read.
    """
    shapes = weight_shapes(_check_metadata(metadata))
    if not isinstance(weights, Mapping):
        raise ValueError("weights must map names to arrays")
    for key in weights:
        if key not in shapes:
            raise ValueError(f"unexpected weight {_shown(str(key))}")
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
    kind = path.suffix.lower()
    if kind not in (".npz", ".json"):
        raise FileFormatError(f"{path.name}: unsupported file type; use .npz or .json")
    return kind


def save_weights(
    path: PathLike, weights: Mapping[str, np.ndarray], metadata: Mapping[str, object]
) -> None:
    """Write weights and metadata as .npz or .json (by suffix), after validating them."""
    path = Path(path)
    kind = _weights_kind(path)
    validate_weights(weights, metadata)
    ordered = {
        key: np.asarray(weights[key], dtype=np.float64)
        for key in weight_shapes(metadata["layers"])
    }
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
    data = _read_limited(path, MAX_WEIGHTS_FILE_BYTES)
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
    if not data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        raise FileFormatError(f"{name}: not an .npz archive")
    arrays: dict[str, np.ndarray] = {}
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
            if sum(entry.file_size for entry in entries) > MAX_WEIGHTS_UNPACKED_BYTES:
                raise FileFormatError(f"{name}: the archive unpacks to too much data")
            for entry in entries:
                if not entry.filename.endswith(".npy"):
                    raise FileFormatError(f"{name}: unexpected entry {_shown(entry.filename)}")
                with archive.open(entry) as member:
                    arrays[entry.filename[:-4]] = np.lib.format.read_array(
                        member, allow_pickle=False
                    )
    except FileFormatError:
        raise
    except Exception as exc:
        # zipfile and numpy raise a wide, version-dependent range of exceptions on corrupt
        # input (BadZipFile, zlib.error, EOFError, NotImplementedError, MemoryError for an
        # absurd array shape...). The bytes are already in memory, so every failure here is
        # a problem with the file's content.
        raise FileFormatError(
            f"{name}: damaged or unreadable .npz ({_clip(str(exc), 80)})"
        ) from None
    meta = arrays.pop("metadata", None)
    if meta is None:
        raise FileFormatError(f"{name}: the archive has no 'metadata' entry")
    if meta.shape != () or meta.dtype.kind != "U":
        raise FileFormatError(f"{name}: 'metadata' must be a single JSON string")
    return arrays, _parse_json_text(str(meta[()]), name)


def _parse_json_text(text: str, name: str) -> object:
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise FileFormatError(f"{name}: not valid JSON ({exc})") from None


def _parse_json(data: bytes, name: str) -> tuple[dict[str, np.ndarray], object]:
    document = _parse_json_text(_decode(data, name), name)
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
        elif not _is_finite_number(item):
            raise FileFormatError(
                f"{name}: weight {_shown(key)} holds {_clip(repr(item))}, not a finite number"
            )
    try:
        return np.array(value, dtype=np.float64)
    except (ValueError, OverflowError) as exc:
        raise FileFormatError(
            f"{name}: weight {_shown(key)} is not a rectangular array ({_clip(str(exc), 80)})"
        ) from None
