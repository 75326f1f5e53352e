"""A training run: a model, its optimizer and the points, stepped and snapshotted.

Qt-free. The worker thread owns a run while it trains and hands the GUI `Snapshot`s: copies
that stay valid whatever the run does next.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

import engine as ts
from lab.core.boundary import Rect, grid_points
from lab.core.colors import CLASS_COLORS
from lab.core.files import WEIGHTS_FORMAT, WEIGHTS_FORMAT_VERSION
from lab.core.loss_history import LossHistory
from lab.core.model import OPTIMIZERS, Model, ModelSettings

GRID_SIZE = 96


@dataclass(frozen=True)
class Grid:
    """Class probabilities on a regular grid over `rect`: shape (ny, nx, classes)."""

    rect: Rect
    probabilities: np.ndarray


@dataclass(frozen=True)
class Snapshot:
    """What the GUI shows of a run at one moment; every array is a private copy."""

    step: int
    loss: float | None
    accuracy: float | None
    weights: dict[str, np.ndarray]
    settings: ModelSettings
    optimizer: str
    learning_rate: float
    run_start_step: int = 0  # where the current Train or Step began, for "step k of N"
    curve: tuple[np.ndarray, np.ndarray] | None = None
    grid: Grid | None = None
    created: float = field(default_factory=time.perf_counter)  # to measure how stale it is


class Diverged(ArithmeticError):
    """The loss or a weight stopped being finite; the run has rolled back."""


def make_optimizer(name: str, learning_rate: float):
    """The engine optimizer for a name in OPTIMIZERS."""
    if name == "gradient_descent":
        return ts.GradientDescentOptimizer(learning_rate)
    if name == "momentum":
        return ts.MomentumOptimizer(learning_rate, momentum=0.9)
    if name == "adam":
        return ts.AdamOptimizer(learning_rate)
    raise ValueError(f"unknown optimizer {name!r}; choose from {list(OPTIMIZERS)}")


class TrainingRun:
    """One model being trained; not thread-safe: one thread at a time uses it."""

    def __init__(
        self,
        settings: ModelSettings,
        optimizer: str = "gradient_descent",
        learning_rate: float = 0.1,
        weights: dict[str, np.ndarray] | None = None,
        step: int = 0,
    ) -> None:
        self.model = Model(settings, weights)
        self.optimizer_name = optimizer
        self._optimizer = make_optimizer(optimizer, learning_rate)
        with self.model.graph:
            self._train_op = self._optimizer.minimize(self.model.loss)
        self._fetches = [self._train_op, self.model.loss]
        self._session = ts.Session()
        self._feed: dict = {}
        self._labels = np.zeros(0, dtype=np.int64)
        self.step = step
        self.run_start_step = step
        self.history = LossHistory()
        self._history_start = step  # the history numbers its entries from 1
        self._last_good = (step, self.model.current_weights())

    @property
    def settings(self) -> ModelSettings:
        return self.model.settings

    @property
    def learning_rate(self) -> float:
        return self._optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, value: float) -> None:
        """Takes effect on the next step: the optimizer reads it every step."""
        self._optimizer.learning_rate = float(value)

    def set_points(self, xy: np.ndarray, labels: np.ndarray) -> None:
        """Train on these points from the next step on."""
        labels = np.asarray(labels, dtype=np.int64)
        if labels.size and labels.max() >= self.settings.classes:
            raise ValueError(
                f"the points have {labels.max() + 1} classes but the model has "
                f"{self.settings.classes}; reset the model"
            )
        one_hot = np.zeros((labels.size, self.settings.classes))
        one_hot[np.arange(labels.size), labels] = 1.0
        self._feed = {self.model.x: np.asarray(xy, dtype=np.float64), self.model.one_hot: one_hot}
        self._labels = labels
        self.model.loss.probabilities = None  # the accuracy of old points says nothing now

    @property
    def point_count(self) -> int:
        return self._labels.size

    def train(self, max_steps: int, seconds: float = math.inf) -> int:
        """Up to `max_steps` steps, stopping early after `seconds`; returns the steps taken.

        Raises Diverged (after rolling back to the last good weights) when the loss is no
        longer finite.
        """
        if not self._labels.size:
            raise ValueError("there are no points to train on")
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return self._steps(max_steps, time.perf_counter() + seconds)

    def _steps(self, max_steps: int, deadline: float) -> int:
        """The hot loop; a non-finite loss is caught here, so numpy need not warn about it."""
        run, fetches, feed = self._session.run, self._fetches, self._feed
        append = self.history.append
        done = 0
        while done < max_steps:
            loss = run(fetches, feed)[1]
            if not math.isfinite(loss):
                good_step = self._roll_back()
                raise Diverged(
                    f"The loss became {loss} at step {self.step + 1}; the weights were rolled "
                    f"back to those of step {good_step}. Try a smaller learning rate "
                    f"(now {self.learning_rate:g})."
                )
            append(loss)
            done += 1
            self.step += 1
            if time.perf_counter() >= deadline:
                break
        return done

    def _roll_back(self) -> int:
        """Restore the last finite weights seen by `snapshot`; returns their step."""
        step, weights = self._last_good
        self.model.assign(weights)
        self._train_op.reset_state()  # momentum and Adam moments hold the diverged step
        return step

    def snapshot(self, curve: bool = True, grid_rect: Rect | None = None) -> Snapshot:
        """Copies of the run's state; the loss curve and decision grid only when asked."""
        weights = self.model.current_weights()  # private copies, shared with the snapshot
        for array in weights.values():
            array.flags.writeable = False
        if all(np.isfinite(w).all() for w in weights.values()):
            self._last_good = (self.step, weights)
        grid = None
        if grid_rect is not None:
            points = grid_points(grid_rect, GRID_SIZE, GRID_SIZE)
            probabilities = self._session.run(self.model.probabilities, {self.model.x: points})
            grid = Grid(grid_rect, probabilities.reshape(GRID_SIZE, GRID_SIZE, -1))
        return Snapshot(
            step=self.step,
            loss=self.history.last,
            accuracy=self.accuracy(),
            weights=weights,
            settings=self.settings,
            optimizer=self.optimizer_name,
            learning_rate=self.learning_rate,
            run_start_step=self.run_start_step,
            curve=self._curve() if curve else None,
            grid=grid,
        )

    def _curve(self) -> tuple[np.ndarray, np.ndarray]:
        steps, losses = self.history.curve()
        return steps + self._history_start, losses

    def accuracy(self) -> float | None:
        """Share of points classified right by the last forward pass (before its update)."""
        probabilities = self.model.loss.probabilities
        if probabilities is None or probabilities.shape[0] != self._labels.size:
            return None
        return float(np.mean(probabilities.argmax(axis=1) == self._labels))


def weights_metadata(snapshot: Snapshot) -> dict:
    """The metadata written next to exported weights (lab.core.files validates its schema)."""
    settings = snapshot.settings
    return {
        "format": WEIGHTS_FORMAT,
        "format_version": WEIGHTS_FORMAT_VERSION,
        "model": settings.kind,
        "layers": settings.layers,
        "activation": settings.activation,
        "classes": settings.classes,
        "class_colors": list(CLASS_COLORS[: settings.classes]),
        "step": snapshot.step,
        "loss": snapshot.loss,
        "learning_rate": snapshot.learning_rate,
        "optimizer": snapshot.optimizer,
        "engine_version": ts.__version__,
    }
