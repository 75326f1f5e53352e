"""A training run: a model, its optimizer and the points, stepped and snapshotted.

Qt-free. A runner (the GUI's worker thread, or the CLI's loop) owns a run while it trains and
hands out `Snapshot`s: copies that stay valid whatever the run does next.

A step trains on all training points (the tutorial's full batch) or on the next mini-batch
of a shuffled order of them, one order per epoch drawn from the model's seed. Held-out test
points never train; their loss, and the loss on all training points when steps see only
batches, are measured at the start of every epoch (every step with the full batch).
"""

from __future__ import annotations

import enum
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

import engine as ts
from lab.core.boundary import Rect, decision_contour, grid_points
from lab.core.checkpoint import Checkpoint, OptimizerState
from lab.core.curves import SampledCurves
from lab.core.graph_values import GraphValues, measure_graph, record_backward, record_forward
from lab.core.loss_history import LossHistory
from lab.core.model import Model, ModelSettings, straight_boundary
from lab.core.node_summary import summarize_all
from lab.core.optimizers import OPTIMIZER_SLOTS, make_optimizer
from lab.core.parts import PARTS
from lab.core.points import Columns
from lab.core.settings import TrainingSettings
from lab.core.step_trace import StepTrace, UpdateStage

GRID_SIZE = 96
THUMBNAIL_STRIDE = 3  # a unit's small map takes every third grid point: 32 x 32
NO_POINTS = "stopped: there are no points to train on"


@dataclass(frozen=True)
class RunConfig:
    """Everything needed to (re)build a run: the model, how it trains, where it starts.

    Without a checkpoint the run starts from fresh weights (the model's seed) at step 0.
    `run_id` tells this run's snapshots from those of the run before it.
    """

    model: ModelSettings
    training: TrainingSettings = field(default_factory=TrainingSettings)
    checkpoint: Checkpoint | None = None
    run_id: int = 0


@dataclass(frozen=True)
class Grid:
    """What the model says over `rect`, on a regular grid (row 0 at the bottom): class
    probabilities (ny, nx, classes) or predicted values (ny, nx), and the segments where
    the predicted class changes (empty where the window draws exact lines instead)."""

    rect: Rect
    probabilities: np.ndarray | None = None
    values: np.ndarray | None = None
    contour: np.ndarray = field(default_factory=lambda: np.empty((0, 2, 2)))


@dataclass(frozen=True)
class NeuronMaps:
    """What the units of one hidden layer compute over `rect`: a small map of each (for the
    thumbnails) and the full map of the selected unit, if one is."""

    layer: int  # hidden layer, from 0
    rect: Rect
    maps: np.ndarray  # (units, ny, nx) activations, coarse
    selected: int | None = None
    selected_map: np.ndarray | None = None  # (ny, nx), as fine as the decision regions


@dataclass(frozen=True)
class Score:
    """How the current weights do on a set of points."""

    count: int
    loss: float | None = None
    accuracy: float | None = None  # classification
    r2: float | None = None  # regression: 1 - residual / total sum of squares
    confusion: np.ndarray | None = None  # classification: counts, true class by predicted


def measure_text(score: Score, task: str) -> str:
    """"accuracy 95.0%" or "R² 0.997" ("–" while unknown), in the app's and the CLI's words."""
    if task == "regression":
        return "R² –" if score.r2 is None else f"R² {score.r2:.3f}"
    return "accuracy –" if score.accuracy is None else f"accuracy {score.accuracy:.1%}"


@dataclass(frozen=True)
class Scores:
    train: Score
    test: Score | None  # None without held-out points


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
    epoch: int = 0  # epochs completed
    batched: bool = False  # whether steps see mini-batches (then an epoch spans steps)
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


class Diverged(ArithmeticError):
    """The loss stopped being finite; the run has rolled back to its last good weights."""


@dataclass(frozen=True)
class _Points:
    """Training or test points as the graph takes them."""

    features: np.ndarray
    targets: np.ndarray
    labels: np.ndarray
    values: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, rows: np.ndarray) -> _Points:
        fed = ts.in_layer_order  # the order the engine's layers keep their values in
        return _Points(fed(self.features[rows]), fed(self.targets[rows]), self.labels[rows],
                       self.values[rows])


def _finite_or_nan(loss: float) -> float:
    loss = float(loss)
    return loss if math.isfinite(loss) else math.nan


class TrainingRun:
    """One model being trained; not thread-safe: one thread at a time uses it."""

    def __init__(
        self,
        settings: ModelSettings,
        training: TrainingSettings | None = None,
        checkpoint: Checkpoint | None = None,
        run_id: int = 0,
    ) -> None:
        self.run_id = run_id
        self.training = training = training or TrainingSettings()
        self.model = Model(settings, checkpoint.weights if checkpoint else None,
                           training.regularization, training.regularization_rate)
        self._optimizer = make_optimizer(training.optimizer, training.learning_rate)
        with self.model.graph:
            self._train_op = self._optimizer.minimize(self.model.loss)
        self._fetches = [self._train_op, self.model.loss]
        self._session = ts.Session()
        checkpoint = checkpoint or Checkpoint(0, self.model.current_weights())
        self.step = checkpoint.step
        self.history = LossHistory.from_state(checkpoint.history)
        self.evaluations = SampledCurves(checkpoint.evaluations)
        self.epoch, self.position = checkpoint.epoch, checkpoint.position
        self._load_optimizer_state(checkpoint.optimizer_state)
        empty = np.empty(0)
        self._train = self._test = _Points(np.empty((0, len(settings.features))),
                                           np.empty((0, settings.outputs)),
                                           empty.astype(np.int64), empty)
        self._has_test = False
        self._feed: dict = {}
        self._points_set = False
        self._order: np.ndarray | None = None  # this epoch's shuffled order of the points
        self._scores: tuple[int, Scores] | None = None  # (step, scores)
        # Whether the data loss holds the probabilities of the last full-batch step.
        self._step_probabilities = False
        self.run_start_step = self.step
        self._weights: tuple[int, dict[str, np.ndarray]] | None = None  # (step, copies)
        self.part_costs: dict[str, float] = {}  # seconds the last making of each part took
        self._trace: StepTrace | None = None  # the last traced step, until a snapshot has it
        self._last_good = self._good_state()

    @classmethod
    def from_config(cls, config: RunConfig) -> TrainingRun:
        return cls(config.model, config.training, config.checkpoint, config.run_id)

    @property
    def settings(self) -> ModelSettings:
        return self.model.settings

    @property
    def optimizer_name(self) -> str:
        return self.training.optimizer

    @property
    def learning_rate(self) -> float:
        return self._optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, value: float) -> None:
        """Takes effect on the next step: the optimizer reads it every step."""
        self._optimizer.learning_rate = float(value)

    def adjust(self, training: TrainingSettings) -> None:
        """What can change mid-run, from the next step on: the learning rate, the penalty's
        rate and the batch size (another optimizer or penalty needs a new run). Switching
        between mini-batches and the full batch starts the epoch's order afresh."""
        was_batched = self.batched
        self.training = training
        if self.batched != was_batched:
            self.position, self._order = 0, None
        self.learning_rate = training.learning_rate
        self.model.set_penalty_rate(training.regularization_rate)

    # --- points -------------------------------------------------------------------------------
    def set_points(self, columns: Columns) -> None:
        """Train on these points from the next step on (new points start a new epoch's order;
        the first points a run gets continue the epoch it was saved in)."""
        settings = self.settings
        labels = np.asarray(columns.labels, dtype=np.int64)
        if settings.task == "classification" and labels.size and labels.max() >= settings.classes:
            raise ValueError(
                f"the points have {labels.max() + 1} classes but the model has "
                f"{settings.classes}; reset the model"
            )
        every = _Points(self.model.inputs(columns.xy),
                        self.model.targets(labels, columns.values), labels,
                        np.asarray(columns.values, dtype=np.float64))
        test = np.asarray(columns.test, dtype=bool)
        self._train = every.subset(~test)
        self._test = every.subset(test)
        self._has_test = bool(test.any())
        self._feed = {self.model.x: self._train.features, self.model.target: self._train.targets}
        self._order = None
        if self._points_set:
            self.position = 0
        self._points_set = True
        self._scores = None
        self._step_probabilities = False

    @property
    def point_count(self) -> int:
        """Training points (held-out test points do not count)."""
        return len(self._train)

    @property
    def batched(self) -> bool:
        """Whether steps see mini-batches rather than all training points."""
        return 0 < self.training.batch_size < len(self._train)

    # --- training -----------------------------------------------------------------------------
    def train(self, max_steps: int, seconds: float = math.inf) -> int:
        """Up to `max_steps` steps, stopping early after `seconds`; returns the steps taken.

        Raises Diverged (after rolling back to the last good weights) when the loss is no
        longer finite.
        """
        if not len(self._train):
            raise ValueError("there are no points to train on")
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return self._steps(max_steps, time.perf_counter() + seconds)

    def _steps(self, max_steps: int, deadline: float) -> int:
        """The hot loop; a non-finite loss is caught here, so numpy need not warn about it."""
        run, fetches, feed = self._session.run, self._fetches, self._feed
        append = self.history.append
        batched = self.batched
        measured = batched or self._has_test  # else the step's own loss is the whole story
        done = 0
        while done < max_steps:
            if measured and (not batched or self.position == 0):
                self._measure()
            if batched:
                feed = self._next_batch()
            else:
                self.epoch += 1
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
        self._step_probabilities = not batched  # what the last forward pass left behind
        return done

    def traced_step(self) -> int:
        """One step as `train(1)` takes it, recorded node by node (lab.core.step_trace) for
        "Step through"; the next snapshot carries the trace as its part "trace"."""
        if not len(self._train):
            raise ValueError("there are no points to train on")
        feed = self._upcoming_feed()
        weights = self.model.current_weights()
        state = self._optimizer_state()
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            forward = record_forward(self._session, self.model, feed)
            backward = record_backward(self.model)
            done = self._steps(1, math.inf)
        gradients = {v.name: g for v, g in self._train_op.last_gradients().items()}
        after = self._optimizer_state()
        update = tuple(
            UpdateStage(name, weights[name], gradients[name], variable.value.copy(),
                        state.get(name, {}), after.get(name, {}))
            for name, variable in self.model.variables.items()
            if name in gradients
        )
        hyper = {name: getattr(self._optimizer, name)
                 for name in ("momentum", "beta1", "beta2", "epsilon")
                 if hasattr(self._optimizer, name)}
        trace = StepTrace(self.step, self.optimizer_name, self.learning_rate,
                          len(feed[self.model.x]), self.model.outline(), forward, backward,
                          update, hyper)
        self._trace = replace(trace, summaries=summarize_all(trace.values(), trace.gradients()))
        return done

    def _upcoming_feed(self) -> dict:
        """What the next step trains on, without moving on to it."""
        if not self.batched:
            return self._feed
        kept = self.epoch, self.position, self._order
        feed = self._next_batch()
        self.epoch, self.position, self._order = kept
        return feed

    def _next_batch(self) -> dict:
        """The next mini-batch of this epoch's shuffled order, starting a new epoch (and
        order) when the last one is used up; its last batch may be smaller."""
        count, size = len(self._train), self.training.batch_size
        if self.position >= count:  # a checkpoint from the end of an epoch
            self.epoch, self.position, self._order = self.epoch + 1, 0, None
        if self._order is None:
            rng = np.random.default_rng([self.settings.seed, self.epoch])
            self._order = rng.permutation(count)
        rows = self._order[self.position : self.position + size]
        self.position += len(rows)
        if self.position >= count:  # that was the epoch's last batch
            self.epoch, self.position, self._order = self.epoch + 1, 0, None
        return {self.model.x: ts.in_layer_order(self._train.features[rows]),
                self.model.target: ts.in_layer_order(self._train.targets[rows])}

    def _measure(self) -> None:
        """The loss on all training points (when steps see batches) and on the test points,
        recorded at the step about to be taken, as the history records its loss. A loss that
        is not finite (float32 overflow) is recorded as not measured, as is one the sampled
        curves would drop anyway, which is then not computed at all."""
        if not self.evaluations.due():
            self.evaluations.add(self.step + 1)
            return
        run, loss = self._session.run, self.model.loss
        train = run(loss, self._feed) if self.batched else math.nan
        test = math.nan
        if self._has_test:
            test = run(loss, {self.model.x: self._test.features,
                              self.model.target: self._test.targets})
        self.evaluations.add(self.step + 1, _finite_or_nan(train), _finite_or_nan(test))

    def _good_state(self) -> tuple:
        return (self.step, self.weights(), self.history.state(), self.epoch, self.position,
                self.evaluations.state())

    def _roll_back(self) -> int:
        """Go back to the last finite weights a snapshot saw, their step, loss history and
        batch order; returns that step."""
        step, weights, history, epoch, position, evaluations = self._last_good
        self.model.assign(weights)
        self.step, self.epoch, self.position, self._order = step, epoch, position, None
        self.history = LossHistory.from_state(history)
        self.evaluations = SampledCurves(evaluations)
        self._weights = self._scores = None
        self._step_probabilities = False
        self._train_op.reset_state()  # momentum and Adam moments hold the diverged step
        return step

    # --- what a snapshot shows ----------------------------------------------------------------
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
            self._last_good = self._good_state()
        loss, accuracy = self._numbers()  # first: the parts' forward passes would replace
        # the last step's own, which gives the loss at this step as the history records it
        made = {} if self._trace is None else {"trace": self._trace}
        self._trace = None
        for name, wanted in (parts or {}).items():
            started = time.perf_counter()
            made[name] = PARTS[name].make(self, wanted)
            self.part_costs[name] = time.perf_counter() - started
        return Snapshot(
            run_id=self.run_id,
            step=self.step,
            loss=loss,
            accuracy=accuracy,
            weights=weights,
            settings=self.settings,
            learning_rate=self.learning_rate,
            run_start_step=self.run_start_step,
            epoch=self.epoch,
            batched=self.batched,
            parts=made,
        )

    def _numbers(self) -> tuple[float | None, float | None]:
        """The loss and accuracy on the training points, as cheaply as they are known: from
        the last full-batch step's own forward pass, else from the latest scores (with
        batches, the loss measured at the epoch's start)."""
        if not self.batched and self._step_probabilities and self.history.count:
            probabilities = getattr(self.model.data_loss, "probabilities", None)
            right = None if probabilities is None else probabilities.argmax(1) == self._train.labels
            return self.history.last, None if right is None else float(np.mean(right))
        if not len(self._train):
            return self.history.last, None
        if not self.batched or self._scores is None:  # no step since the points or weights came
            train = self.scores().train
            return train.loss, train.accuracy
        measured = self.evaluations.last[0]
        loss = measured if math.isfinite(measured) else self.history.last
        return loss, self._scores[1].train.accuracy

    def accuracy(self) -> float | None:
        """Share of training points classified right by the current weights."""
        return self.scores().train.accuracy

    def curves(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """The loss curves so far, in bounded size: "train" (every step's loss, or with
        batches the loss on all training points now and then), "batch" (each batch's loss,
        with batches) and "test"."""
        step_curve = self.history.curve()
        curves = {"train": self.evaluations.curve("train") if self.batched else step_curve}
        if self.batched:
            curves["batch"] = step_curve
        if self._has_test:
            curves["test"] = self.evaluations.curve("test")
        return curves

    def scores(self) -> Scores:
        """Loss, accuracy or R², and the confusion matrix on the training and test points
        (one forward pass each, at most once per step)."""
        if self._scores is None or self._scores[0] != self.step:
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                test = self._score(self._test) if self._has_test else None
                scores = Scores(self._score(self._train), test)
            self._scores = (self.step, scores)
        return self._scores[1]

    def _score(self, points: _Points) -> Score:
        if not len(points):
            return Score(0)
        self._step_probabilities = False
        output, loss = self._session.run(
            [self.model.output, self.model.loss],
            {self.model.x: points.features, self.model.target: points.targets},
        )
        if self.settings.task == "regression":
            residual = float(np.sum((points.values - output[:, 0]) ** 2))
            spread = float(np.sum((points.values - points.values.mean()) ** 2))
            return Score(len(points), float(loss), r2=1 - residual / spread if spread else None)
        classes = self.settings.classes
        predicted = output.argmax(axis=1)
        confusion = np.bincount(points.labels * classes + predicted, minlength=classes**2)
        return Score(len(points), float(loss), float(np.mean(predicted == points.labels)),
                     confusion=confusion.reshape(classes, classes))

    def regions(self, rect: Rect) -> Grid:
        """What the model says over `rect`: class probabilities and where the class changes,
        or predicted values."""
        points = self.model.inputs(grid_points(rect, GRID_SIZE, GRID_SIZE))
        if self.settings.task == "regression":
            values = self._session.run(self.model.output, {self.model.x: points})
            return Grid(rect, values=values.reshape(GRID_SIZE, GRID_SIZE))
        probabilities = self._session.run(self.model.probabilities, {self.model.x: points})
        probabilities = probabilities.reshape(GRID_SIZE, GRID_SIZE, -1)
        straight = straight_boundary(self.settings)
        contour = np.empty((0, 2, 2)) if straight else decision_contour(probabilities, rect)
        return Grid(rect, probabilities=probabilities, contour=contour)

    def neurons(self, wanted: tuple[int, int | None, Rect]) -> NeuronMaps | None:
        """Every unit's activation over the rect for hidden layer `layer`, and the selected
        unit's finely: one forward pass over the grid. None when there is no such layer."""
        layer, unit, rect = wanted
        if not 0 <= layer < len(self.model.hidden_layers):
            return None
        points = self.model.inputs(grid_points(rect, GRID_SIZE, GRID_SIZE))
        activations = self._session.run(self.model.hidden_layers[layer], {self.model.x: points})
        maps = activations.T.reshape(-1, GRID_SIZE, GRID_SIZE)
        selected = unit if unit is not None and 0 <= unit < len(maps) else None
        return NeuronMaps(layer, rect, maps[:, 1::THUMBNAIL_STRIDE, 1::THUMBNAIL_STRIDE].copy(),
                          selected, None if selected is None else maps[selected].copy())

    def graph_values(self) -> GraphValues:
        """Every node's value and gradient on all training points at the current weights."""
        self._step_probabilities = False
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return measure_graph(self._session, self.model, self._feed, self.step)

    def checkpoint(self) -> Checkpoint:
        """What continuing exactly from this step needs (copies)."""
        return Checkpoint(self.step, self.weights(), self._optimizer_state(), self.history.state(),
                          self.epoch, self.position, self.evaluations.state())

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
