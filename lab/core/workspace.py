"""The whole state of a session of the lab, and its rules. Qt-free.

A `Workspace` holds the points (with undo), the data, model and training settings, the
current weights with the optimizer's state and the loss history (a `Checkpoint`), and the
run state. Views and the CLI change it through its methods and learn of changes through
`events`; a `Runner` (the GUI's worker thread or the CLI's inline loop) trains its run and
reports back through `receive`, `run_finished` and `run_failed`.
"""

from __future__ import annotations

import enum
from dataclasses import replace
from pathlib import Path

import numpy as np

from lab.core.checkpoint import Checkpoint
from lab.core.datasets import DATASETS, generate, split_mask, tutorial_points
from lab.core.events import Change, Events
from lab.core.io.weights_file import model_settings, weights_metadata
from lab.core.io.workspace_file import WorkspaceData, load_workspace, save_workspace
from lab.core.model import ModelSettings, initial_weights
from lab.core.points import PointSet
from lab.core.runner import Runner
from lab.core.settings import DataSettings, TrainingSettings
from lab.core.training import RunConfig, RunEnd, Snapshot

NEEDS_TWO_CLASSES = "Training needs points of at least two classes: generate or click some."
NEEDS_TRAINING_POINTS = "Training needs training points: generate or click some."


class RunState(enum.Enum):
    IDLE = "idle"
    TRAINING = "training"
    PAUSED = "paused"


def classes_needed(labels: np.ndarray) -> int:
    """A model needs an output per class present, and at least two."""
    return max(2, int(labels.max()) + 1) if labels.size else 2


def other_class(selected: int, present: int) -> int:
    """The class a right- or Shift-click adds: the other of two, else the next one present."""
    if selected < 2:
        return 1 - selected
    return (selected + 1) % max(2, present, selected + 1)


def default_data() -> WorkspaceData:
    """A new workspace: the tutorial's blobs, its perceptron with fresh weights, at step 0."""
    model = ModelSettings()
    xy, labels = tutorial_points()
    return WorkspaceData(
        xy, labels, DataSettings(), model, TrainingSettings(), fresh_checkpoint(model)
    )


def fresh_checkpoint(model: ModelSettings) -> Checkpoint:
    return Checkpoint(0, initial_weights(model))


class Workspace:
    """One session of the lab; see the module docstring. Used from one thread."""

    def __init__(self, data: WorkspaceData | None = None) -> None:
        data = data or default_data()
        self.events = Events()
        self.points = PointSet(data.xy, data.labels, data.values, data.test, data.model.task,
                               data.data)
        self._points_source = self.points.source
        self.data = data.data
        self.model = data.model
        self.training = data.training
        self.checkpoint = data.checkpoint
        self.latest: Snapshot | None = None  # the run's newest snapshot
        self.state = RunState.IDLE
        self.run_steps = 0  # steps the current Train or Step takes, for "step k of N"
        self.path: Path | None = None  # the workspace file it was opened from or saved to
        self.modified = False  # changed since it was opened, saved or started anew
        self._runner: Runner | None = None
        self._ticket = 0  # which Train or Step a run_finished answers
        self._ended_ticket = 0  # the last one whose end was announced
        self._run_id = 0  # which run (model build) a snapshot comes from
        self.points.subscribe(self._points_changed)
        for change in (Change.POINTS, Change.DATA, Change.MODEL, Change.TRAINING):
            self.events.subscribe(change, self._set_modified)

    # --- the runner -------------------------------------------------------------------------
    def attach(self, runner: Runner) -> None:
        """Hand the run to `runner`: it gets the points and builds the run from the checkpoint."""
        self._runner = runner
        runner.set_points(self.points.columns)
        self._configure(self.checkpoint)

    def _configure(self, checkpoint: Checkpoint) -> None:
        """A new run of the current model from `checkpoint`. It replaces any run going (the
        runner ends it): that run's late snapshots and end are ignored, and the workspace is
        idle at once."""
        self._run_id += 1
        self.checkpoint = checkpoint
        self.latest = None
        self.run_steps = 0
        if self.state is not RunState.IDLE:
            self._ticket += 1
            self._set_state(RunState.IDLE)
        if self._runner is not None:
            config = RunConfig(self.model, self.training, checkpoint, self._run_id)
            self._runner.configure(config)

    def receive(self, snapshot: Snapshot) -> None:
        """A snapshot from the runner: the newest numbers, and a new checkpoint if it has one."""
        if snapshot.run_id != self._run_id:
            return
        self.latest = snapshot
        checkpoint = snapshot.parts.get("checkpoint")
        moved = checkpoint is not None and checkpoint.step != self.checkpoint.step
        if checkpoint is not None:
            self.checkpoint = checkpoint
        self.events.emit(Change.SNAPSHOT, snapshot)
        if moved:
            self._set_modified()
            self.events.emit(Change.CHECKPOINT)

    def run_finished(self, snapshot: Snapshot | None, end: RunEnd, ticket: int) -> None:
        """The runner ended a Train or Step (maybe one the user has since replaced)."""
        if snapshot is not None:
            self.receive(snapshot)
        if ticket != self._ticket or ticket == self._ended_ticket:
            return  # an earlier run, replaced by the one now going; or told already
        self._ended_ticket = ticket
        self._set_state(RunState.IDLE)
        self.events.emit(Change.FINISHED, end)

    def run_failed(self, details: str) -> None:
        """The runner hit an unexpected error (its traceback); it is ready for the next run."""
        self._ended_ticket = self._ticket
        self._set_state(RunState.IDLE)
        self.events.emit(Change.FINISHED, RunEnd.failed(details))

    # --- points -----------------------------------------------------------------------------
    def add_point(
        self, x: float, y: float, label: int = 0, alternate: bool = False, value: float = 0.0,
        test: bool = False,
    ) -> None:
        """Add a point of class `label`, or of the other class (a right- or Shift-click), or
        with a value (regression); a training point unless `test`."""
        if alternate:
            label = other_class(label, self.points.class_count)
        self.points.add(x, y, label, value, test)

    def generate(self, settings: DataSettings | None = None) -> None:
        """Replace the points by the generator's (undoable), split as the settings say; a
        regression data set makes the task regression, and a classification set
        classification (undo brings the old task back with the old points). New settings are
        kept."""
        if settings is not None:
            self.set_data(settings)
        data = self.data
        xy, targets = generate(data.dataset, data.count, data.noise, data.seed)
        task = DATASETS[data.dataset].task
        test = split_mask(len(xy), data.test_split, data.seed)
        if task == "regression":
            self.points.replace(xy, np.zeros(len(xy), dtype=np.int64), targets, test, task, data)
        else:
            self.points.replace(xy, targets, None, test, task, data)

    def open_points(self, xy: np.ndarray, labels: np.ndarray,
                    values: np.ndarray | None = None) -> None:
        """Replace the points by a file's (undoable), held out as the test split says; points
        with values make the task regression, points with classes classification."""
        task = "classification" if values is None else "regression"
        test = split_mask(len(xy), self.data.test_split, self.data.seed)
        self.points.replace(xy, labels, values, test, task, self.data)

    def set_task(self, task: str) -> None:
        """Classification or regression: the points become the task's first data set
        (undoably: undo brings back the old points and task), and the model follows."""
        if task == self.points.task:
            return
        dataset = next(name for name, kind in DATASETS.items() if kind.task == task)
        self.generate(DataSettings.for_dataset(dataset, self.data.seed, self.data.test_split))

    def classes_needed(self) -> int:
        return classes_needed(self.points.labels)

    def _points_changed(self) -> None:
        if self._runner is not None:
            self._runner.set_points(self.points.columns)
        source = self.points.source  # the settings that made the points: new after an undo
        if source is not self._points_source:
            self._points_source = source
            if isinstance(source, DataSettings) and source != self.data:
                self.data = source
                self.events.emit(Change.DATA)
        needed = classes_needed(self.points.labels)
        task = self.points.task
        # a new model replaces (and ends) any run going
        if task != self.model.task:  # new points of the other task, or an undo of them
            self._rebuild(replace(self.model, task=task, classes=needed))
        elif task == "classification" and needed > self.model.classes:
            self._rebuild(replace(self.model, classes=needed))
            self.say(f"The points now have {needed} classes: the model was rebuilt for them.")
        self.events.emit(Change.POINTS)
        self.events.emit(Change.STATE)

    # --- settings ---------------------------------------------------------------------------
    def set_data(self, settings: DataSettings) -> None:
        """New data settings; a new test split holds out other points (undoably)."""
        if settings == self.data:
            return
        old, self.data = self.data, settings
        self.events.emit(Change.DATA)
        if settings.test_split != old.test_split:
            mask = split_mask(len(self.points), settings.test_split, settings.seed)
            self.points.set_test(mask, settings)

    def set_model(self, settings: ModelSettings) -> None:
        """A different model (fresh weights) for the points; only while no run is going.

        The class count follows the points, whatever `settings` says.
        """
        if self.state is not RunState.IDLE and replace(settings, classes=self.model.classes) != (
            self.model
        ):
            raise RuntimeError("the model can change only while no run is going")
        self.set_task(settings.task)  # the points of another task come first
        settings = replace(settings, classes=self.classes_needed())
        if settings == self.model:
            return
        self._rebuild(settings)

    def _rebuild(self, settings: ModelSettings) -> None:
        self.model = settings
        self._configure(fresh_checkpoint(settings))
        self.events.emit(Change.MODEL)

    def set_training(self, settings: TrainingSettings) -> None:
        """New training settings. A learning rate, a penalty's rate and a batch size apply at
        once, even mid-run; another optimizer or another kind of penalty (only while no run
        is going) keeps the weights and the loss history, and another optimizer starts
        with no optimizer state."""
        old, self.training = self.training, settings
        rebuilt = (settings.optimizer, settings.regularization) != (old.optimizer,
                                                                    old.regularization)
        if rebuilt:
            if self.state is not RunState.IDLE:
                self.training = old
                raise RuntimeError("the optimizer and the penalty can change only while no run "
                                   "is going")
            state = {} if settings.optimizer != old.optimizer else self.checkpoint.optimizer_state
            self._configure(replace(self.checkpoint, optimizer_state=state))
        elif settings != old and self._runner is not None:
            self._runner.set_training(settings)
        if settings != old:
            self.events.emit(Change.TRAINING)

    # --- the run ----------------------------------------------------------------------------
    def train_blocker(self) -> str | None:
        """Why Train and Step cannot start now, or None when they can."""
        if self.model.task == "classification" and self.points.class_count < 2:
            return NEEDS_TWO_CLASSES
        if self.points.test.all():
            return NEEDS_TRAINING_POINTS
        return None

    def train(self) -> None:
        """Train the settings' number of steps; resumes a paused run."""
        blocker = self.train_blocker()
        if blocker:
            self.say(blocker)
            return
        if self.state is RunState.PAUSED:
            self.resume()
            return
        if self.state is RunState.TRAINING:
            return
        self.run_steps = self.training.steps
        self._ticket += 1
        self._set_state(RunState.TRAINING)
        self._runner.train(self.run_steps, self._ticket)

    def step(self, trace: bool = False) -> None:
        """Exactly one step; a paused run stays paused, one step nearer its end. A traced
        step's snapshot carries its trace (lab.core.step_trace), for "Step through"."""
        if self.state is RunState.TRAINING or self.train_blocker():
            return
        if self.state is RunState.IDLE:
            self._ticket += 1
            self.run_steps = 1
        self._runner.step_once(self._ticket, trace)

    def pause(self) -> None:
        if self.state is RunState.TRAINING:
            self._runner.pause()
            self._set_state(RunState.PAUSED)

    def resume(self) -> None:
        if self.state is RunState.PAUSED:
            self._runner.resume()
            self._set_state(RunState.TRAINING)

    def stop(self, reason: str = "stopped") -> None:
        """End the current Train, if any; the weights stay."""
        if self.state is not RunState.IDLE:
            self._runner.stop(reason)

    def reset(self) -> None:
        """New random weights and an empty loss history for the current model."""
        self._rebuild(replace(self.model, classes=self.classes_needed()))

    def _set_state(self, state: RunState) -> None:
        self.state = state
        self.events.emit(Change.STATE)

    # --- weights and files ------------------------------------------------------------------
    def current(self) -> tuple[int, dict[str, np.ndarray], float | None]:
        """(step, weights, loss) of the newest state known: the run's or the checkpoint's."""
        if self.latest is not None:
            return self.latest.step, dict(self.latest.weights), self.latest.loss
        return self.checkpoint.step, dict(self.checkpoint.weights), self.checkpoint.loss

    def weights_metadata(self) -> dict:
        """The metadata an exported weights file carries for the current weights."""
        step, _weights, loss = self.current()
        training = self.training
        return weights_metadata(self.model, training.optimizer, training.learning_rate, step, loss)

    def apply_weights(self, weights: dict[str, np.ndarray], metadata: dict) -> None:
        """Continue from a weights file's (validated) weights; the settings follow its metadata.

        ValueError if the weights are for the other task or fewer classes than the points have.
        """
        model = model_settings(metadata, self.model.seed, self.model.hidden)
        if model.task != self.points.task:
            raise ValueError(
                f"these weights are for {model.task} but the points are for {self.points.task}; "
                f"switch the task first"
            )
        needed = self.classes_needed()
        if model.task == "classification" and model.classes < needed:
            raise ValueError(
                f"these weights are for {model.classes} classes but the points have {needed}"
            )
        training = replace(self.training, optimizer=metadata["optimizer"])
        rate = float(metadata["learning_rate"])
        try:
            training = replace(training, learning_rate=rate)
        except ValueError:  # a file from elsewhere may have trained at a rate the app refuses
            self.say(f"The file's learning rate {rate:g} is out of the app's range; "
                     f"it stays at {training.learning_rate:g}.")
        self.model, self.training = model, training
        self._configure(Checkpoint(int(metadata["step"]), weights))
        self.events.emit(Change.MODEL)
        self.events.emit(Change.TRAINING)
        self.events.emit(Change.STATE)

    def to_data(self) -> WorkspaceData:
        """Everything a workspace file holds, as of the newest checkpoint."""
        columns = self.points.columns
        return WorkspaceData(columns.xy, columns.labels, self.data, self.model, self.training,
                             self.checkpoint, columns.values, columns.test)

    def load(self, data: WorkspaceData) -> None:
        """Become the given workspace (File → New or Open): its points start a new undo history."""
        self.data, self.model, self.training = data.data, data.model, data.training
        # Before the points, which announce themselves: what listeners then read as the
        # current weights must be the new model's, not the old run's latest snapshot.
        self.checkpoint, self.latest = data.checkpoint, None
        self._points_source = data.data
        self.points.reset(data.xy, data.labels, data.values, data.test, data.model.task,
                          data.data)
        self._configure(data.checkpoint)
        for change in (Change.DATA, Change.MODEL, Change.TRAINING, Change.STATE):
            self.events.emit(change)
        self.modified = False

    def new(self) -> None:
        """Start over: the tutorial's points, default settings, a fresh model, no file."""
        self.load(default_data())
        self._set_path(None)

    def open(self, path: str | Path) -> None:
        """Become the workspace in a .tlab file (validated first: a bad file changes nothing)."""
        self.load(load_workspace(path))
        self._set_path(Path(path))

    def save(self, path: str | Path) -> None:
        """Write the workspace as of its newest checkpoint, atomically; it now belongs there."""
        save_workspace(path, self.to_data())
        self._set_path(Path(path))

    def _set_path(self, path: Path | None) -> None:
        self.path = path
        self.modified = False
        self.events.emit(Change.FILE)

    def _set_modified(self) -> None:
        if not self.modified:
            self.modified = True
            self.events.emit(Change.FILE)

    def has_unsaved_work(self) -> bool:
        """Whether starting over or opening another workspace would lose something: changes
        since the file was saved or, without a file, anything but a new workspace's state."""
        if self.modified or self.path is not None:
            return self.modified
        new = default_data()
        return not (
            self.checkpoint.step == 0
            and (self.data, self.model, self.training) == (new.data, new.model, new.training)
            and np.array_equal(self.points.xy, new.xy)
            and np.array_equal(self.points.labels, new.labels)
        )

    def say(self, message: str) -> None:
        self.events.emit(Change.MESSAGE, message)
