"""The workspace file (``.tlab``): a whole session, so training continues where it stopped.

A ZIP (numpy's ``.npz`` layout) holding ``workspace.json`` (settings and run counters) and one
``.npy`` per array: ``points/xy``, ``points/labels``, ``weights/W1``..., ``optimizer/W1/m``...
and ``history/mins``, ``history/maxs``, ``history/raw``. ``np.load(path)`` reads it without
the app. Saving checks everything the loader checks, so a file that saves always opens.
"""

import dataclasses
import io
import json
import math
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import engine
import lab
from lab.core.checkpoint import Checkpoint, OptimizerState
from lab.core.colors import CLASS_COLORS
from lab.core.curves import SampledCurves, SampledState
from lab.core.io.atomic import atomic_write
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
from lab.core.loss_history import HistoryState, LossHistory
from lab.core.model import TASKS, ModelSettings, weight_shapes, whole
from lab.core.optimizers import OPTIMIZER_SLOTS, OPTIMIZERS
from lab.core.points import MAX_CLASSES, MAX_POINTS
from lab.core.settings import DataSettings, TrainingSettings

WORKSPACE_FORMAT = "training-lab-workspace"
WORKSPACE_FORMAT_VERSION = 1
MAX_WORKSPACE_FILE_BYTES = 64 * 2**20
# Caps what the archive may unpack to, so a small compressed file cannot claim gigabytes.
MAX_WORKSPACE_UNPACKED_BYTES = 256 * 2**20
MAX_WORKSPACE_JSON_BYTES = 2**20  # a real one is a few kB; json.loads of more costs memory
MAX_HIDDEN_LAYERS = 100  # bounds the member count; far beyond what trains in the app
MAX_HISTORY_POINTS = 100_000  # LossHistory allocates buffers of about this many floats

_JSON_MEMBER = "workspace.json"
_POINTS_MEMBERS = ("points/xy", "points/labels", "points/values", "points/test")
_HISTORY_ARRAYS = ("mins", "maxs", "raw")
_EVALUATION_ARRAYS = ("steps", "train", "test")
_COUNT_SLOTS = {"t"}  # Adam's step count: a whole number of shape (), not weight-shaped
_MAX_MEMBERS = (
    1
    + len(_POINTS_MEMBERS)
    + len(_HISTORY_ARRAYS)
    + len(_EVALUATION_ARRAYS)
    + 2 * (MAX_HIDDEN_LAYERS + 1) * (1 + max(map(len, OPTIMIZER_SLOTS.values())))
)


@dataclass(frozen=True)
class WorkspaceData:
    """Everything a .tlab file holds."""

    xy: np.ndarray  # (N, 2) float64, N may be 0
    labels: np.ndarray  # (N,) int64, each < model.classes (all 0 for regression)
    data: DataSettings
    model: ModelSettings  # model.classes is the task's class count (2 for regression)
    training: TrainingSettings
    checkpoint: Checkpoint
    values: np.ndarray | None = None  # (N,) float64, the regression targets; None: zeros
    test: np.ndarray | None = None  # (N,) bool, the held-out points; None: none


def save_workspace(path: PathLike, workspace: WorkspaceData) -> None:
    """Write ``workspace`` to ``path`` after checking it as the loader would.

    Raises ValueError saying what is wrong (the old file stays as it was) or OSError.
    """
    checked = _checked(workspace)
    data = _zip_bytes(checked)
    if len(data) > MAX_WORKSPACE_FILE_BYTES:
        raise ValueError(
            f"the workspace takes {len(data) / 2**20:.0f} MB, more than the "
            f"{MAX_WORKSPACE_FILE_BYTES // 2**20} MB a workspace file may hold"
        )
    atomic_write(path, lambda file: file.write(data))


def load_workspace(path: PathLike) -> WorkspaceData:
    """Read a .tlab file; every problem is a FileFormatError naming the file and the problem."""
    path = Path(path)
    name = path.name
    data = read_limited(path, MAX_WORKSPACE_FILE_BYTES)
    if not is_zip(data):
        raise FileFormatError(f"{name}: not a workspace file (not a ZIP archive)")
    arrays, others = read_npy_archive(
        data,
        name,
        kind="workspace file",
        max_unpacked_bytes=MAX_WORKSPACE_UNPACKED_BYTES,
        max_members=_MAX_MEMBERS,
        other_members={_JSON_MEMBER: MAX_WORKSPACE_JSON_BYTES},
    )
    if _JSON_MEMBER not in others:
        raise FileFormatError(f"{name}: not a workspace file (it has no {_JSON_MEMBER})")
    text = others[_JSON_MEMBER]
    where = f"{name}: {_JSON_MEMBER}"
    document = parse_json(decode_utf8(text, where), where)
    try:
        return _checked(_from_parts(document, arrays))
    except ValueError as exc:
        raise FileFormatError(f"{name}: {exc}") from None


# ---- checks shared by save and load -----------------------------------------------------------


def _checked(workspace: WorkspaceData) -> WorkspaceData:
    """A checked copy with float64/int64 arrays; ValueError naming the first problem."""
    model = workspace.model
    if not whole(model.classes, 2, MAX_CLASSES):  # ModelSettings does not check the type
        raise ValueError(f"the class count must be a whole number from 2 to {MAX_CLASSES}")
    if len(model.hidden) > MAX_HIDDEN_LAYERS:
        raise ValueError(f"a workspace holds at most {MAX_HIDDEN_LAYERS} hidden layers")
    xy, labels = _checked_points(workspace.xy, workspace.labels, model.classes)
    values, test = _checked_columns(workspace.values, workspace.test, len(xy))
    checkpoint = workspace.checkpoint
    shapes = weight_shapes(model.layers)
    weights = _checked_weights(checkpoint.weights, shapes)
    state = _checked_optimizer_state(checkpoint.optimizer_state, shapes, workspace.training)
    history = _checked_history(checkpoint.history, checkpoint.step)
    evaluations = _checked_evaluations(checkpoint.evaluations, checkpoint.step)
    for key in ("epoch", "position"):
        if not whole(getattr(checkpoint, key), 0, math.inf):
            raise ValueError(f"'run.{key}' must be a whole number >= 0")
    return WorkspaceData(
        xy,
        labels,
        workspace.data,
        model,
        workspace.training,
        Checkpoint(int(checkpoint.step), weights, state, history, int(checkpoint.epoch),
                   int(checkpoint.position), evaluations),
        values,
        test,
    )


def _checked_columns(values: object, test: object, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Each point's value (finite) and test flag."""
    values = np.zeros(count) if values is None else values
    test = np.zeros(count, dtype=bool) if test is None else test
    values = _checked_array(values, "points/values", (count,))
    if not isinstance(test, np.ndarray) or test.dtype != bool:
        raise ValueError("points/test must be an array of true/false flags")
    _check_shape(test, "points/test", (count,))
    return values, test


def _checked_evaluations(state: SampledState, step: int) -> SampledState:
    """The losses measured now and then: steps that increase up to the next step, losses
    finite or NaN (not measured)."""
    steps = state.steps
    if not isinstance(steps, np.ndarray) or steps.dtype.kind not in "iu":
        raise ValueError("evaluations/steps must be an array of whole numbers")
    _check_shape(steps, "evaluations/steps", (None,))
    count = len(steps)
    losses = {}
    for key in ("train", "test"):
        array = getattr(state, key)
        if not isinstance(array, np.ndarray) or array.dtype.kind != "f":
            raise ValueError(f"evaluations/{key} must be an array of floats")
        _check_shape(array, f"evaluations/{key}", (count,))
        if np.isinf(array).any():
            raise ValueError(f"evaluations/{key} contains infinite values")
        losses[key] = array.astype(np.float64)
    if count and (steps.min() < 1 or steps.max() > step + 1):
        raise ValueError(f"evaluations/steps must lie between 1 and the next step, {step + 1}")
    checked = SampledState(steps.astype(np.int64), losses["train"], losses["test"],
                           state.arrived, state.stride)
    for key in ("arrived", "stride"):
        if not whole(getattr(state, key), 0, math.inf):
            raise ValueError(f"'run.evaluations.{key}' must be a whole number >= 0")
    try:
        SampledCurves(checked)
    except ValueError as exc:
        raise ValueError(f"in 'run.evaluations', {exc}") from None
    return checked


def _checked_array(
    array: object, member: str, shape: tuple[int | None, ...], kinds: str = "f"
) -> np.ndarray:
    """``array`` as float64, if its dtype is of ``kinds``, its shape is ``shape`` (None: any
    length) and its values are finite."""
    if not isinstance(array, np.ndarray) or array.dtype.kind not in kinds:
        held = array.dtype if isinstance(array, np.ndarray) else type(array).__name__
        what = "floats" if kinds == "f" else "numbers"
        raise ValueError(f"{member} must be an array of {what}, not {held}")
    _check_shape(array, member, shape)
    with np.errstate(over="ignore"):  # an out-of-range long double becomes inf, rejected below
        array = array.astype(np.float64, copy=False)
    if not np.isfinite(array).all():
        raise ValueError(f"{member} contains NaN or infinite values")
    return array


def _check_shape(array: np.ndarray, member: str, shape: tuple[int | None, ...]) -> None:
    fits = array.ndim == len(shape) and all(
        want is None or have == want for have, want in zip(array.shape, shape, strict=True)
    )
    if not fits:
        dims = ["N" if want is None else str(want) for want in shape]
        expected = f"({', '.join(dims)}{',' if len(dims) == 1 else ''})"
        raise ValueError(f"{member} has shape {array.shape}, expected {expected}")


def _checked_points(xy: object, labels: object, classes: int) -> tuple[np.ndarray, np.ndarray]:
    xy = _checked_array(xy, "points/xy", (None, 2))
    if len(xy) > MAX_POINTS:
        raise ValueError(f"more than {MAX_POINTS:,} points")
    if not isinstance(labels, np.ndarray) or labels.dtype.kind not in "iu":
        raise ValueError("points/labels must be an array of whole numbers")
    _check_shape(labels, "points/labels", (len(xy),))
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        wrong = labels.min() if labels.min() < 0 else labels.max()
        raise ValueError(f"points/labels holds {wrong}, outside the classes 0..{classes - 1}")
    return xy, labels.astype(np.int64, copy=False)


def _checked_weights(
    weights: Mapping[str, object], shapes: dict[str, tuple[int, ...]]
) -> dict[str, np.ndarray]:
    for key in weights:
        if key not in shapes:
            raise ValueError(f"unexpected weights/{clip(str(key))}: the model has no such weight")
    missing = [key for key in shapes if key not in weights]
    if missing:
        raise ValueError(f"weights/{missing[0]} is missing")
    return {key: _checked_array(weights[key], f"weights/{key}", shapes[key]) for key in shapes}


def _checked_optimizer_state(
    state: OptimizerState, shapes: dict[str, tuple[int, ...]], training: TrainingSettings
) -> dict[str, dict[str, np.ndarray]]:
    """Variables with state must have every slot the optimizer keeps, and nothing else."""
    slots = OPTIMIZER_SLOTS[training.optimizer]
    optimizer = OPTIMIZERS[training.optimizer]
    for variable, variable_slots in state.items():
        member = f"optimizer/{clip(str(variable))}"
        if variable not in shapes:
            raise ValueError(f"unexpected {member}: the model has no such variable")
        if not slots:
            raise ValueError(f"unexpected {member}: {optimizer} keeps no state")
        for slot in variable_slots:
            if slot not in slots:
                raise ValueError(
                    f"unexpected {member}/{clip(str(slot))}: {optimizer} keeps {', '.join(slots)}"
                )
    return {
        variable: {
            slot: _checked_slot(state[variable], f"optimizer/{variable}/{slot}", slot, shape)
            for slot in slots
        }
        for variable, shape in shapes.items()
        if variable in state
    }


def _checked_slot(
    slots: Mapping[str, object], member: str, slot: str, shape: tuple[int, ...]
) -> np.ndarray:
    if slot not in slots:
        raise ValueError(f"{member} is missing; each variable with state needs all its slots")
    if slot not in _COUNT_SLOTS:
        return _checked_array(slots[slot], member, shape)
    count = _checked_array(slots[slot], member, (), kinds="fiu")
    if count < 1 or count != math.floor(count):
        raise ValueError(f"{member} must be a whole number >= 1, not {count}")
    return count


def _checked_history(state: HistoryState, step: object) -> HistoryState:
    """The loss history, consistent in itself and ending at ``step``."""
    if not whole(step, 0, math.inf):
        raise ValueError(f"'run.step' must be a whole number >= 0, not {clip(repr(step))}")
    if not whole(state.max_points, 0, MAX_HISTORY_POINTS):
        raise ValueError(
            f"'run.history.max_points' must be a whole number up to {MAX_HISTORY_POINTS:,}"
        )
    arrays = {
        key: _checked_array(getattr(state, key), f"history/{key}", (None,))
        for key in _HISTORY_ARRAYS
    }
    envelope = (state.partial_min, state.partial_max)
    if state.partial_count and not all(map(is_finite_number, envelope)):
        raise ValueError("'run.history.partial_min' and 'partial_max' must be finite numbers")
    if not state.partial_count and not all(map(_is_unset, envelope)):
        raise ValueError(
            "'run.history.partial_min' and 'partial_max' must be null while 'partial_count' is 0"
        )
    if state.folded_last is not None and not is_finite_number(state.folded_last):
        raise ValueError("'run.history.folded_last' must be a finite number or null")
    try:
        LossHistory.from_state(dataclasses.replace(state, **arrays))
    except ValueError as exc:
        raise ValueError(f"in 'run.history', {exc}") from None
    history = _history(state, arrays)
    if step != history.first_step + history.count:
        raise ValueError(
            f"'run.step' is {step}, but the loss history ends at step "
            f"{history.first_step + history.count}"
        )
    return history


def _history(state: HistoryState, arrays: dict[str, np.ndarray]) -> HistoryState:
    """``state`` with ``arrays`` and its scalars as plain Python numbers."""
    return HistoryState(
        first_step=int(state.first_step),
        max_points=int(state.max_points),
        bucket_size=int(state.bucket_size),
        mins=arrays["mins"],
        maxs=arrays["maxs"],
        partial_count=int(state.partial_count),
        partial_min=math.nan if _is_unset(state.partial_min) else float(state.partial_min),
        partial_max=math.nan if _is_unset(state.partial_max) else float(state.partial_max),
        folded_last=None if state.folded_last is None else float(state.folded_last),
        raw=arrays["raw"],
    )


def _is_unset(value: object) -> bool:
    """None or NaN: how a HistoryState says "no partial bucket"."""
    return value is None or (isinstance(value, float) and math.isnan(value))


# ---- reading --------------------------------------------------------------------------------

_TOP_KEYS = (
    "format",
    "format_version",
    "app_version",
    "engine_version",
    "task",
    "data",
    "model",
    "training",
    "run",
)
_TASK_KEYS = ("kind", "classes", "class_colors")
_DATA_KEYS = ("dataset", "count", "noise", "seed", "test_split")
_MODEL_KEYS = ("kind", "hidden", "activation", "seed", "features", "precision")
_TRAINING_KEYS = (
    "optimizer", "learning_rate", "steps", "batch_size", "regularization", "regularization_rate"
)
_RUN_KEYS = ("step", "epoch", "position", "history", "evaluations")
_EVALUATION_KEYS = ("arrived", "stride")
_HISTORY_KEYS = (
    "first_step",
    "max_points",
    "bucket_size",
    "partial_count",
    "partial_min",
    "partial_max",
    "folded_last",
)
_FIXED_MEMBERS = (
    *_POINTS_MEMBERS,
    *(f"history/{key}" for key in _HISTORY_ARRAYS),
    *(f"evaluations/{key}" for key in _EVALUATION_ARRAYS),
)

# JSON types, checked before any settings object sees a value: (test, what it must be).
_TEXT = (lambda value: isinstance(value, str), "a string")
_WHOLE = (is_int, "a whole number")
_NUMBER = (is_finite_number, "a finite number")
_NUMBER_OR_NULL = (
    lambda value: value is None or is_finite_number(value),
    "a finite number or null",
)
_NAMES = (
    lambda value: isinstance(value, list) and all(isinstance(name, str) for name in value),
    "a list of names",
)
_SIZES = (
    lambda value: isinstance(value, list) and all(map(is_int, value)),
    "a list of whole numbers",
)


class _Section:
    """One JSON object of workspace.json: exactly ``keys``, each read with a type check."""

    def __init__(self, value: object, path: str, keys: tuple[str, ...]) -> None:
        where = f"{path!r}" if path else _JSON_MEMBER
        if not isinstance(value, dict):
            raise ValueError(f"{where} must be a JSON object")
        for key in value:
            if key not in keys:
                raise ValueError(f"unknown key {shown(key)} in {where}")
        for key in keys:
            if key not in value:
                raise ValueError(f"missing key {key!r} in {where}")
        self._values = value
        self._prefix = f"{path}." if path else ""

    def get(self, key: str, valid: Callable[[object], bool], what: str) -> Any:
        value = self._values[key]
        if not valid(value):
            raise ValueError(f"'{self._prefix}{key}' must be {what}, not {clip(repr(value))}")
        return value

    def section(self, key: str, keys: tuple[str, ...]) -> "_Section":
        return _Section(self._values[key], self._prefix + key, keys)


def _from_parts(document: object, arrays: dict[str, np.ndarray]) -> WorkspaceData:
    """The workspace that workspace.json and the arrays describe (not yet ``_checked``)."""
    if not isinstance(document, dict):
        raise ValueError(f"{_JSON_MEMBER} must be a JSON object")
    _check_format(document)
    top = _Section(document, "", _TOP_KEYS)
    top.get("app_version", *_TEXT)
    top.get("engine_version", *_TEXT)
    task = top.section("task", _TASK_KEYS)
    kind = task.get("kind", lambda kind: isinstance(kind, str) and kind in TASKS,
                    " or ".join(map(repr, TASKS)))
    low = 2 if kind == "classification" else 0
    high = MAX_CLASSES if kind == "classification" else 0
    classes = task.get(
        "classes",
        lambda count: is_int(count) and low <= count <= high,
        f"a whole number from 2 to {MAX_CLASSES}" if low else "0 for regression",
    )
    task.get(
        "class_colors",
        lambda colors: (
            isinstance(colors, list) and len(colors) == classes and all(map(is_color, colors))
        ),
        f"a list of {classes} colours like '#1f77b4'",
    )
    data = top.section("data", _DATA_KEYS)
    model = top.section("model", _MODEL_KEYS)
    training = top.section("training", _TRAINING_KEYS)
    run = top.section("run", _RUN_KEYS)
    history = run.section("history", _HISTORY_KEYS)
    evaluations = run.section("evaluations", _EVALUATION_KEYS)
    fixed, weights, optimizer_state = _grouped(arrays)
    return WorkspaceData(
        xy=fixed["points/xy"],
        labels=fixed["points/labels"],
        values=fixed["points/values"],
        test=fixed["points/test"],
        data=_settings(
            DataSettings,
            "data",
            dataset=data.get("dataset", *_TEXT),
            count=data.get("count", *_WHOLE),
            noise=float(data.get("noise", *_NUMBER)),
            seed=data.get("seed", *_WHOLE),
            test_split=data.get("test_split", *_WHOLE),
        ),
        model=_settings(
            ModelSettings,
            "model",
            kind=model.get("kind", *_TEXT),
            hidden=tuple(model.get("hidden", *_SIZES)),
            activation=model.get("activation", *_TEXT),
            classes=classes or 2,
            seed=model.get("seed", *_WHOLE),
            task=kind,
            features=tuple(model.get("features", *_NAMES)),
            precision=model.get("precision", *_TEXT),
        ),
        training=_settings(
            TrainingSettings,
            "training",
            optimizer=training.get("optimizer", *_TEXT),
            learning_rate=float(training.get("learning_rate", *_NUMBER)),
            steps=training.get("steps", *_WHOLE),
            batch_size=training.get("batch_size", *_WHOLE),
            regularization=training.get("regularization", *_TEXT),
            regularization_rate=float(training.get("regularization_rate", *_NUMBER)),
        ),
        checkpoint=Checkpoint(
            step=run.get("step", *_WHOLE),
            weights=weights,
            optimizer_state=optimizer_state,
            history=HistoryState(
                first_step=history.get("first_step", *_WHOLE),
                max_points=history.get("max_points", *_WHOLE),
                bucket_size=history.get("bucket_size", *_WHOLE),
                mins=fixed["history/mins"],
                maxs=fixed["history/maxs"],
                partial_count=history.get("partial_count", *_WHOLE),
                partial_min=history.get("partial_min", *_NUMBER_OR_NULL),
                partial_max=history.get("partial_max", *_NUMBER_OR_NULL),
                folded_last=history.get("folded_last", *_NUMBER_OR_NULL),
                raw=fixed["history/raw"],
            ),
            epoch=run.get("epoch", *_WHOLE),
            position=run.get("position", *_WHOLE),
            evaluations=SampledState(
                fixed["evaluations/steps"],
                fixed["evaluations/train"],
                fixed["evaluations/test"],
                evaluations.get("arrived", *_WHOLE),
                evaluations.get("stride", *_WHOLE),
            ),
        ),
    )


def _check_format(document: dict) -> None:
    """Format and version come first: a newer file may have keys this version does not know."""
    file_format = document.get("format")
    if file_format != WORKSPACE_FORMAT:
        raise ValueError(f"not a workspace file ('format' is {clip(repr(file_format))})")
    if "format_version" not in document:
        return  # reported with the other missing keys
    version = document["format_version"]
    if is_int(version) and version > WORKSPACE_FORMAT_VERSION:
        raise ValueError(
            f"written by a newer Training Lab (format version {clip(str(version))}); this one "
            f"reads version {WORKSPACE_FORMAT_VERSION}, so update the app to open it"
        )
    if version != WORKSPACE_FORMAT_VERSION or not is_int(version):
        raise ValueError(
            f"unsupported 'format_version' {clip(repr(version))}; this Training Lab reads "
            f"version {WORKSPACE_FORMAT_VERSION}"
        )


def _settings(make: Callable[..., Any], where: str, /, **fields: object) -> Any:
    """``make(**fields)``, its own ValueError naming the section."""
    try:
        return make(**fields)
    except ValueError as exc:
        raise ValueError(f"in {where!r}, {exc}") from None


def _grouped(
    arrays: dict[str, np.ndarray],
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, dict[str, np.ndarray]]]:
    """The archive's arrays sorted into fixed members, weights and optimizer slots."""
    fixed: dict[str, np.ndarray] = {}
    weights: dict[str, np.ndarray] = {}
    state: dict[str, dict[str, np.ndarray]] = {}
    for member, array in arrays.items():
        group, _, rest = member.partition("/")
        if member in _FIXED_MEMBERS:
            fixed[member] = array
        elif group == "weights" and rest:
            weights[rest] = array
        elif group == "optimizer" and rest.count("/") == 1:
            variable, slot = rest.split("/")
            state.setdefault(variable, {})[slot] = array
        else:
            raise ValueError(f"unexpected entry {shown(member + '.npy')}")
    for member in _FIXED_MEMBERS:
        if member not in fixed:
            raise ValueError(f"{member} is missing")
    return fixed, weights, state


# ---- writing --------------------------------------------------------------------------------


def _zip_bytes(workspace: WorkspaceData) -> bytes:
    """The file: workspace.json deflated, then each array stored (floats barely compress)."""
    document = json.dumps(_document(workspace), indent=2, allow_nan=False).encode("utf-8")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(_entry(_JSON_MEMBER, zipfile.ZIP_DEFLATED), document)
        for member, array in _arrays(workspace).items():
            with archive.open(_entry(f"{member}.npy", zipfile.ZIP_STORED), "w") as stream:
                np.lib.format.write_array(stream, array, allow_pickle=False)
    return buffer.getvalue()


def _entry(member: str, compression: int) -> zipfile.ZipInfo:
    """A member with a fixed date, so the same workspace always gives the same bytes."""
    entry = zipfile.ZipInfo(member, date_time=(1980, 1, 1, 0, 0, 0))
    entry.compress_type = compression
    entry.external_attr = 0o644 << 16  # -rw-r--r-- when unzipped
    return entry


def _arrays(workspace: WorkspaceData) -> dict[str, np.ndarray]:
    checkpoint = workspace.checkpoint
    return {
        "points/xy": workspace.xy,
        "points/labels": workspace.labels,
        "points/values": workspace.values,
        "points/test": workspace.test,
        **{f"weights/{key}": array for key, array in checkpoint.weights.items()},
        **{
            f"optimizer/{variable}/{slot}": array
            for variable, slots in checkpoint.optimizer_state.items()
            for slot, array in slots.items()
        },
        **{f"history/{key}": getattr(checkpoint.history, key) for key in _HISTORY_ARRAYS},
        **{f"evaluations/{key}": getattr(checkpoint.evaluations, key)
           for key in _EVALUATION_ARRAYS},
    }


def _document(workspace: WorkspaceData) -> dict[str, object]:
    """workspace.json of a ``_checked`` workspace, in plain Python numbers."""
    data, model, training = workspace.data, workspace.model, workspace.training
    checkpoint = workspace.checkpoint
    history, evaluations = checkpoint.history, checkpoint.evaluations
    partial = history.partial_count > 0
    classes = model.classes if model.task == "classification" else 0
    return {
        "format": WORKSPACE_FORMAT,
        "format_version": WORKSPACE_FORMAT_VERSION,
        "app_version": lab.__version__,
        "engine_version": engine.__version__,
        "task": {
            "kind": model.task,
            "classes": int(classes),
            "class_colors": list(CLASS_COLORS[:classes]),
        },
        "data": {
            "dataset": data.dataset,
            "count": int(data.count),
            "noise": float(data.noise),
            "seed": int(data.seed),
            "test_split": int(data.test_split),
        },
        "model": {
            "kind": model.kind,
            "hidden": [int(size) for size in model.hidden],
            "activation": model.activation,
            "seed": int(model.seed),
            "features": list(model.features),
            "precision": model.precision,
        },
        "training": {
            "optimizer": training.optimizer,
            "learning_rate": float(training.learning_rate),
            "steps": int(training.steps),
            "batch_size": int(training.batch_size),
            "regularization": training.regularization,
            "regularization_rate": float(training.regularization_rate),
        },
        "run": {
            "step": checkpoint.step,
            "epoch": checkpoint.epoch,
            "position": checkpoint.position,
            "evaluations": {"arrived": evaluations.arrived, "stride": evaluations.stride},
            "history": {
                "first_step": history.first_step,
                "max_points": history.max_points,
                "bucket_size": history.bucket_size,
                "partial_count": history.partial_count,
                "partial_min": history.partial_min if partial else None,
                "partial_max": history.partial_max if partial else None,
                "folded_last": history.folded_last,
            },
        },
    }
