"""Check gradients: backpropagation's gradient beside finite differences, variable by variable.

A learner who writes an op and registers its gradient (`@RegisterGradient`) needs to see
whether the two agree: this nudges each checked weight by ±h, reruns the forward pass and
compares the slope it measures with what backprop said, entry by entry, as a relative error.

Only float64 can settle agreement to TOLERANCE: a central difference loses about
eps · |loss| / h to rounding, ~1e-10 in float64 but ~1e-1 in float32. `check_model_gradients`
therefore rebuilds the model in float64 whatever it trains in, and `check_gradients` refuses a
graph that is not float64.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

import engine as ts
from lab.core.model import Model, ModelSettings
from lab.core.points import Columns
from lab.core.settings import TrainingSettings

MAX_POINTS = 1000  # checked on a seeded sample of this many training points, at most
# Backprop and finite differences agree when every checked entry's relative error is at most this.
TOLERANCE = 1e-6
# The step h for a weight of size up to 1 (scaled by |w| beyond): in float64 the central
# difference's truncation error (~h²) stays far below TOLERANCE, and a relu's kink seldom
# falls within a few h of a weight.
STEP = 1e-6
# How far one evaluation of the loss may be off by rounding, relative to max(|loss|, 1):
# measured at up to 7 eps on the app's models with up to 100,000 points; 32 leaves a margin.
ROUNDING = 32 * float(np.finfo(np.float64).eps)


@dataclass(frozen=True, eq=False)
class VariableCheck:
    """One variable's check: the entries compared (all, or a seeded sample of a big variable),
    backprop's and the finite differences' gradient at each, and their relative errors."""

    name: str
    shape: tuple[int, ...]
    indices: np.ndarray  # flat (C-order) positions of the checked entries, ascending
    backprop: np.ndarray  # d loss / d entry from compute_gradients, one per checked entry
    numeric: np.ndarray  # the same from finite differences
    # |backprop - numeric| / max(|backprop| + |numeric|, floor), the floor being the smallest
    # gradient the differences resolve to TOLERANCE (see _relative_errors)
    errors: np.ndarray
    one_sided: np.ndarray  # True where the loss has a kink at the entry (see check_gradients)

    @property
    def size(self) -> int:
        """How many entries the variable has."""
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def checked(self) -> int:
        """How many of them were compared."""
        return len(self.indices)

    @property
    def max_error(self) -> float:
        """The worst entry's relative error (0 when nothing was checked)."""
        return float(self.errors.max(initial=0.0))

    @property
    def ok(self) -> bool:
        """Whether backprop agrees with the finite differences at every checked entry."""
        return self.max_error <= TOLERANCE


def check_gradients(
    loss: ts.Node,
    feed: Mapping[ts.Node, Any],
    variables: Mapping[str, ts.Variable],
    entries: int = 64,
    seed: int = 0,
) -> list[VariableCheck]:
    """Compare `compute_gradients(loss)` with finite differences for each named variable.

    Works on any engine graph whose loss is one float64 number: build it with float64
    variables (a float32 one raises ValueError, as its differences cannot reach TOLERANCE).
    A variable with more than `entries` entries has a sample of `entries` of them checked,
    drawn from `seed` and the variable's place in `variables`, so a check can be repeated.

    Each entry gets the central difference (L(w + h) - L(w - h)) / 2h, h = STEP · max(1, |w|),
    and the relative error |a - b| / max(|a| + |b|, floor). The floor is the smallest gradient
    the difference resolves to TOLERANCE under float64 rounding (~7e-3 for a loss up to 1):
    a converged model's tiny gradients, and zeros, are not flagged for noise; a wrong
    gradient still is. Where the central difference disagrees, the loss may have a kink
    within ±h (a relu whose input is 0 at some point, the L1 penalty's |w| at 0): backprop
    then gives the slope of one side, so the entry is compared with one-sided differences
    (from w to w ± h, or w ± 2h) too, and marked `one_sided` if one of those agrees. A
    wrongly registered gradient agrees with neither.

    Variables are nudged in place, so nothing else may run the graph meanwhile; they come
    back with their exact values, even on an error.
    """
    if entries < 1:
        raise ValueError(f"check at least one entry per variable, not {entries}")
    for name, variable in variables.items():
        dtype = np.asarray(variable.value).dtype
        if dtype != np.float64:
            raise ValueError(
                f"variable {name!r} is {dtype}: finite differences need float64 to check "
                f"gradients to {TOLERANCE:g}; build the graph with float64 variables"
            )
    session = ts.Session()
    feed = dict(feed)
    value = np.asarray(session.run(loss, feed))
    if value.size != 1 or value.dtype != np.float64:
        raise ValueError(
            f"the loss must be one float64 number to check gradients, not {value.dtype} "
            f"of shape {value.shape}"
        )
    gradients = ts.compute_gradients(loss)  # reads this forward pass: before any nudge
    backprop = {name: _gradient_of(name, v, gradients.get(v)) for name, v in variables.items()}

    differences = _Differences(session, loss, feed, value.item())
    saved = {name: np.array(v.value, copy=True) for name, v in variables.items()}
    try:
        checks = []
        for position, (name, variable) in enumerate(variables.items()):
            indices = _entries_to_check(variable.value.size, entries, seed, position)
            grad = backprop[name].reshape(-1)[indices]
            numeric, errors = np.empty(len(indices)), np.empty(len(indices))
            one_sided = np.zeros(len(indices), dtype=bool)
            for k, (flat, g) in enumerate(zip(indices, grad, strict=True)):
                numeric[k], errors[k], one_sided[k] = differences.compare(variable.value, flat, g)
            checks.append(VariableCheck(name, variable.value.shape, indices, grad, numeric,
                                        errors, one_sided))
        return checks
    finally:
        for name, variable in variables.items():
            np.copyto(variable.value, saved[name])


def check_model_gradients(
    settings: ModelSettings,
    weights: Mapping[str, np.ndarray],
    training: TrainingSettings,
    columns: Columns,
    entries: int = 64,
    points: int = MAX_POINTS,
) -> list[VariableCheck]:
    """Check the gradient of the loss training minimizes (penalty included) at `weights`, on
    the training points (test points are not trained on, so they are left out); on more
    than `points` of them, on a seeded sample of that many: the loss of any set of points
    checks the same backpropagation, and each checked entry costs two forward passes.

    The model is rebuilt in float64 whatever its precision, so the check can reach
    TOLERANCE (float32 weights convert exactly), in a graph of its own: it may run on a
    worker thread while training goes on. ValueError without training points.
    """
    train = ~np.asarray(columns.test, dtype=bool)
    if train.sum() > points:
        chosen = np.random.default_rng(0).choice(np.flatnonzero(train), points, replace=False)
        train = np.zeros_like(train)
        train[chosen] = True
    if not train.any():
        raise ValueError(
            "there are no training points to check the gradients on: add points, or make "
            "some test points training points"
        )
    labels = np.asarray(columns.labels)[train]
    if settings.task == "classification" and labels.max() >= settings.classes:
        raise ValueError(
            f"the points have {labels.max() + 1} classes but the model has "
            f"{settings.classes}; reset the model"
        )
    model = Model(replace(settings, precision="float64"), dict(weights),
                  training.regularization, training.regularization_rate)
    feed = {
        model.x: model.inputs(np.asarray(columns.xy)[train]),
        model.target: model.targets(labels, np.asarray(columns.values)[train]),
    }
    return check_gradients(model.loss, feed, model.variables, entries)


def _gradient_of(name: str, variable: ts.Variable, gradient: Any) -> np.ndarray:
    """Backprop's gradient for a variable as a float64 array of its shape (zeros when the
    loss does not depend on it)."""
    shape = variable.value.shape
    if gradient is None:
        return np.zeros(shape)
    result = np.array(gradient, dtype=np.float64)
    if result.shape != shape:
        raise ValueError(
            f"backprop gave variable {name!r} a gradient of shape {result.shape}, but the "
            f"variable has shape {shape}: a registered gradient returns the wrong shape"
        )
    return result


def _entries_to_check(size: int, entries: int, seed: int, position: int) -> np.ndarray:
    """Every flat position when there are at most `entries`, else a seeded sample of them."""
    if size <= entries:
        return np.arange(size)
    rng = np.random.default_rng([seed, position])
    return np.sort(rng.choice(size, entries, replace=False))


def _relative_errors(backprop: Any, numeric: Any, floor: Any) -> Any:
    """|a - b| / max(|a| + |b|, floor): scale-free, so big and small gradients are judged alike.

    The floor is the smallest gradient the finite difference resolves to TOLERANCE (the
    most rounding can move it, over TOLERANCE). Below it the two are held to that rounding
    error rather than to noise: a converged model's gradients of 1e-9 would never agree
    otherwise, and two zero gradients (a dead relu's weights) agree instead of giving 0 / 0.
    """
    return abs(backprop - numeric) / np.maximum(abs(backprop) + abs(numeric), floor)


class _Differences:
    """Finite differences of one loss, taken by nudging one variable entry at a time."""

    def __init__(self, session: ts.Session, loss: ts.Node, feed: dict, centre: float) -> None:
        self.session, self.loss, self.feed = session, loss, feed
        self.centre = centre  # the loss at the variables' own values
        self.rounding = ROUNDING * max(1.0, abs(centre))

    def compare(self, array: np.ndarray, flat: int, grad: float) -> tuple[float, float, bool]:
        """(finite difference, its relative error from `grad`, whether it is one-sided) for
        the entry at flat position `flat` of `array`, which is put back afterwards: the
        central difference, or the first one-sided one that agrees when it does not."""
        index = np.unravel_index(flat, array.shape)
        w = array[index]
        tried = []
        try:
            for slope, weights in self._estimates(array, index, w):
                error = _relative_errors(grad, slope, self._floor(weights))
                if error <= TOLERANCE:
                    return slope, error, bool(tried)
                tried.append((slope, error))
        finally:
            array[index] = w
        return (*tried[0], False)  # none agrees: show the central difference

    def _estimates(
        self, array: np.ndarray, index: tuple, w: float
    ) -> Iterator[tuple[float, float]]:
        """(slope, the sum of the sizes of its weights on the losses) for the central
        difference, then one-sided ones: lines from w to w ± h, parabolas through w ± 2h too
        (for when w ± h itself is near a kink). The loss is evaluated only as far as needed."""
        h = STEP * max(1.0, abs(float(w)))
        up, down = float(w + h - w), float(w - h - w)  # as represented: w + h - w need not be h
        above, below = self._at(array, index, w + h), self._at(array, index, w - h)
        yield (above - below) / (up - down), 2 / (up - down)
        yield (above - self.centre) / up, 2 / abs(up)
        yield (below - self.centre) / down, 2 / abs(down)
        for near, at_near, far_step in ((up, above, 2 * h), (down, below, -2 * h)):
            far = float(w + far_step - w)
            at_far = self._at(array, index, w + far_step)
            yield _parabola_slope(near, far, at_near - self.centre, at_far - self.centre)

    def _at(self, array: np.ndarray, index: tuple, entry: float) -> float:
        """The loss with the entry at `index` set to `entry`."""
        array[index] = entry
        return np.asarray(self.session.run(self.loss, self.feed)).item()  # a (1,) loss too

    def _floor(self, weights: float) -> float:
        """The smallest gradient a difference resolves to TOLERANCE, from the sum of the sizes
        of its weights on the losses."""
        return self.rounding * weights / TOLERANCE


def _parabola_slope(
    near: float, far: float, rise_near: float, rise_far: float
) -> tuple[float, float]:
    """The slope at 0 of the parabola through (0, 0), (near, rise_near) and (far, rise_far),
    error ~h² as the central difference's, and the sum of the sizes of its weights."""
    weight_near = far / (near * (far - near))
    weight_far = -near / (far * (far - near))
    slope = weight_near * rise_near + weight_far * rise_far
    return slope, abs(weight_near) + abs(weight_far) + abs(weight_near + weight_far)
