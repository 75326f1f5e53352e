"""A training run: a model, its optimizer and the points, stepped and snapshotted.

Qt-free. A runner (the GUI's worker thread, or the CLI's loop) owns a run while it trains and
hands out `Snapshot`s: copies that stay valid whatever the run does next.
"""

from __future__ import annotations

import enum
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import engine as ts
from lab.core.boundary import Rect, grid_points
from lab.core.checkpoint import Checkpoint, OptimizerState
from lab.core.loss_history import LossHistory
from lab.core.model import Model, ModelSettings
from lab.core.optimizers import OPTIMIZER_SLOTS, make_optimizer
from lab.core.parts import PARTS

GRID_SIZE = 96


@dataclass(frozen=True)
class RunConfig:
    """Everything needed to (re)build a run: the model, how it trains, where it starts.

    Without a checkpoint the run starts from fresh weights (the model's seed) at step 0.
    `run_id` tells this run's snapshots from those of the run before it.
    """

    model: ModelSettings
    optimizer: str = "gradient_descent"
    learning_rate: float = 0.1
    checkpoint: Checkpoint | None = None
    run_id: int = 0


@dataclass(frozen=True)
class Grid:
    """Class probabilities on a regular grid over `rect`: shape (ny, nx, classes)."""

    rect: Rect
    probabilities: np.ndarray


@dataclass(frozen=True)
class Snapshot:
    """What the GUI shows of a run at one moment; every array is a private copy."""

    run_id: int
    step: int
    loss: float | None
    accuracy: float | None
    weights: Mapping[str, np.ndarray]
    settings: ModelSettings
    learning_rate: float  # the one in effect (it may change mid-run)
    run_start_step: int = 0  # where the current Train or Step began, for "step k of N"
    parts: Mapping[str, Any] = field(default_factory=dict)  # by name, see lab.core.parts
    created: float = field(default_factory=time.perf_counter)  # to measure how stale it is


class EndKind(enum.Enum):
    FINISHED = "finished"
    STOPPED = "stopped"
    DIVERGED = "diverged"
    FAILED = "failed"


@dataclass(frozen=True)
class RunEnd:
    """Why a Train or Step ended, and what to tell the user about it."""

    kind: EndKind
    message: str

    @classmethod
    def finished(cls) -> RunEnd:
        return cls(EndKind.FINISHED, "finished")

    @classmethod
    def stopped(cls, reason: str = "stopped") -> RunEnd:
        return cls(EndKind.STOPPED, reason)

    @classmethod
    def failed(cls, details: str) -> RunEnd:
        """An unexpected error, from its traceback: the message is its last line."""
        return cls(EndKind.FAILED, f"failed: {details.strip().splitlines()[-1]}")


NO_POINTS = "stopped: there are no points to train on"


class Diverged(ArithmeticError):
    """The loss stopped being finite; the run has rolled back to its last good weights."""


class TrainingRun:
    """One model being trained; not thread-safe: one thread at a time uses it."""

    def __init__(
        self,
        settings: ModelSettings,
        optimizer: str = "gradient_descent",
        learning_rate: float = 0.1,
        checkpoint: Checkpoint | None = None,
        run_id: int = 0,
    ) -> None:
        self.run_id = run_id
        self.model = Model(settings, checkpoint.weights if checkpoint else None)
        self.optimizer_name = optimizer
        self._optimizer = make_optimizer(optimizer, learning_rate)
        with self.model.graph:
            self._train_op = self._optimizer.minimize(self.model.loss)
        self._fetches = [self._train_op, self.model.loss]
        self._session = ts.Session()
        self._feed: dict = {}
        self._labels = np.zeros(0, dtype=np.int64)
        if checkpoint is None:
            self.step, self.history = 0, LossHistory()
        else:
            self.step = checkpoint.step
            self.history = LossHistory.from_state(checkpoint.history)
            self._load_optimizer_state(checkpoint.optimizer_state)
        self.run_start_step = self.step
        self._weights: tuple[int, dict[str, np.ndarray]] | None = None  # (step, copies)
        self._last_good = (self.step, self.weights(), self.history.state())

    @classmethod
    def from_config(cls, config: RunConfig) -> TrainingRun:
        return cls(
            config.model, config.optimizer, config.learning_rate, config.checkpoint, config.run_id
        )

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
                bad_step = self.step + 1
                good_step = self._roll_back()
                raise Diverged(
                    f"The loss became {loss} at step {bad_step}; the weights were rolled "
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
        """Go back to the last finite weights a snapshot saw, their step and loss history;
        returns that step."""
        step, weights, history = self._last_good
        self.model.assign(weights)
        self.step = step
        self.history = LossHistory.from_state(history)
        self._weights = None
        self._train_op.reset_state()  # momentum and Adam moments hold the diverged step
        return step

    def weights(self) -> dict[str, np.ndarray]:
        """Read-only copies of the weights, made once per step and shared by what asks."""
        if self._weights is None or self._weights[0] != self.step:
            copies = self.model.current_weights()
            for array in copies.values():
                array.flags.writeable = False
            self._weights = (self.step, copies)
        return self._weights[1]

    def snapshot(self, parts: Mapping[str, Any] | None = None) -> Snapshot:
        """The numbers and weights now, plus the named parts (lab.core.parts), each made from
        what its view asked for (a rectangle for the regions, say)."""
        weights = self.weights()
        if all(np.isfinite(w).all() for w in weights.values()):
            self._last_good = (self.step, weights, self.history.state())
        made = {name: PARTS[name].make(self, wanted) for name, wanted in (parts or {}).items()}
        accuracy = self.accuracy()
        loss = self.history.last
        if loss is None and accuracy is not None:  # weights that came without a history
            loss = float(self.model.loss.output)
        return Snapshot(
            run_id=self.run_id,
            step=self.step,
            loss=loss,
            accuracy=accuracy,
            weights=weights,
            settings=self.settings,
            learning_rate=self.learning_rate,
            run_start_step=self.run_start_step,
            parts=made,
        )

    def curve(self) -> tuple[np.ndarray, np.ndarray]:
        """(steps, losses) of the whole run so far, in bounded size."""
        return self.history.curve()

    def regions(self, rect: Rect) -> Grid:
        """Class probabilities over `rect`, for the decision regions."""
        points = grid_points(rect, GRID_SIZE, GRID_SIZE)
        probabilities = self._session.run(self.model.probabilities, {self.model.x: points})
        return Grid(rect, probabilities.reshape(GRID_SIZE, GRID_SIZE, -1))

    def checkpoint(self) -> Checkpoint:
        """What continuing exactly from this step needs (copies)."""
        return Checkpoint(self.step, self.weights(), self._optimizer_state(), self.history.state())

    def accuracy(self) -> float | None:
        """Share of points classified right by the current weights.

        Every step computes the probabilities (before its update); without a step since the
        points or the weights came, one forward pass does (and leaves the loss it computed).
        """
        probabilities = self.model.loss.probabilities
        if probabilities is None or probabilities.shape[0] != self._labels.size:
            if not self._labels.size:
                return None
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                self._session.run(self.model.loss, self._feed)
            probabilities = self.model.loss.probabilities
        return float(np.mean(probabilities.argmax(axis=1) == self._labels))

    def _optimizer_state(self) -> dict[str, dict[str, np.ndarray]]:
        state: dict[str, dict[str, np.ndarray]] = {}
        for name, variable in self.model.variables.items():
            slots = {
                slot: self._optimizer.get_slot(variable, slot)
                for slot in self._optimizer.get_slot_names()
            }
            if all(value is not None for value in slots.values()) and slots:
                state[name] = slots
        return state

    def _load_optimizer_state(self, state: OptimizerState) -> None:
        names = OPTIMIZER_SLOTS[self.optimizer_name]
        for variable_name, slots in state.items():
            variable = self.model.variables.get(variable_name)
            if variable is None or set(slots) != set(names):
                raise ValueError(
                    f"optimizer state for {variable_name!r} does not fit a "
                    f"{self.optimizer_name} run of this model"
                )
            for slot, value in slots.items():
                self._optimizer.set_slot(variable, slot, value)
