"""The workspace's state and rules, without Qt: an inline runner trains, a recording one waits."""

from dataclasses import replace

import numpy as np
import pytest

from lab.core.datasets import generate, tutorial_points
from lab.core.events import Change
from lab.core.io.weights_file import weights_metadata
from lab.core.model import ModelSettings
from lab.core.runner import InlineRunner
from lab.core.settings import DataSettings, TrainingSettings
from lab.core.training import EndKind, RunEnd, TrainingRun
from lab.core.workspace import (
    NEEDS_TWO_CLASSES,
    RunState,
    Workspace,
    classes_needed,
    other_class,
)


class Recorder:
    """A runner that only records commands, so a test decides when a run ends."""

    def __init__(self):
        self.calls = []
        self.config = None

    def __getattr__(self, name):
        return lambda *args: self.calls.append((name, *args))

    def configure(self, config):
        self.config = config
        self.calls.append(("configure", config))

    def commands(self, name):
        return [call[1:] for call in self.calls if call[0] == name]


def inline(workspace=None, **options):
    workspace = workspace or Workspace()
    workspace.attach(InlineRunner(workspace, parts=("curves", "weights", "checkpoint"), **options))
    return workspace


def recorded(workspace=None):
    workspace = workspace or Workspace()
    runner = Recorder()
    workspace.attach(runner)
    return workspace, runner


def listen(workspace, change):
    heard = []
    workspace.events.subscribe(change, lambda *args: heard.append(args))
    return heard


def test_a_new_workspace_is_the_tutorial_perceptron_at_step_zero():
    ws = Workspace()
    xy, labels = tutorial_points()
    assert np.array_equal(ws.points.xy, xy) and np.array_equal(ws.points.labels, labels)
    assert ws.model == ModelSettings() and ws.training == TrainingSettings()
    assert ws.data == DataSettings()
    assert ws.checkpoint.step == 0 and ws.checkpoint.history.count == 0
    assert ws.state is RunState.IDLE and ws.train_blocker() is None


def test_train_runs_the_settings_steps_and_ends_idle_with_a_checkpoint():
    ws = inline()
    ws.set_training(replace(ws.training, steps=120))
    finished = listen(ws, Change.FINISHED)
    ws.train()
    assert finished == [(RunEnd.finished(),)]
    assert ws.state is RunState.IDLE
    assert ws.checkpoint.step == 120 == ws.latest.step
    assert ws.checkpoint.history.count == 120
    assert ws.latest.accuracy >= 0.95
    steps, losses = ws.latest.parts["curves"]["train"]
    assert steps[-1] == 120 and losses[-1] < losses[0]


@pytest.mark.parametrize("case", ["empty", "one class"])
def test_train_needs_two_classes_and_says_so(case):
    ws, runner = recorded()
    labels = ws.points.labels
    if case == "empty":
        ws.points.clear()
    else:
        ws.points.replace(ws.points.xy[labels == 0], labels[labels == 0])
    messages = listen(ws, Change.MESSAGE)
    ws.train()
    ws.step()
    assert ws.train_blocker() == NEEDS_TWO_CLASSES
    assert messages == [(NEEDS_TWO_CLASSES,)]
    assert ws.state is RunState.IDLE
    assert not runner.commands("train") and not runner.commands("step_once")


def test_a_third_class_rebuilds_the_model_for_it():
    ws, runner = recorded()
    messages = listen(ws, Change.MESSAGE)
    models = listen(ws, Change.MODEL)
    ws.add_point(0.0, 4.0, 2)
    assert ws.model.classes == 3
    assert ws.checkpoint.weights["W1"].shape == (2, 3)
    assert runner.config.model.classes == 3
    assert models and "3 classes" in messages[-1][0]


def test_points_go_to_the_runner_with_every_change():
    ws, runner = recorded()
    ws.add_point(1.0, 2.0, 1)
    (columns,) = runner.commands("set_points")[-1]
    assert len(columns.labels) == 101 and tuple(columns.xy[-1]) == (1.0, 2.0)
    assert columns.labels[-1] == 1
    ws.points.undo()
    assert len(runner.commands("set_points")[-1][0].labels) == 100


@pytest.mark.parametrize(("selected", "present", "other"),
                         [(0, 2, 1), (1, 2, 0), (2, 3, 0), (2, 4, 3), (3, 4, 0), (0, 4, 1)])
def test_the_other_class_of_a_right_click(selected, present, other):
    assert other_class(selected, present) == other


def test_classes_needed_counts_the_highest_label_and_at_least_two():
    assert classes_needed(np.array([], dtype=np.int64)) == 2
    assert classes_needed(np.array([0, 0])) == 2
    assert classes_needed(np.array([0, 3])) == 4


def test_a_new_model_gets_fresh_weights_but_the_same_one_keeps_them():
    ws, runner = recorded()
    before = runner.config
    ws.set_model(ModelSettings())  # what the panel says after an edit that changed nothing
    assert runner.config is before
    ws.set_model(ModelSettings("mlp", (4,), "relu", seed=3))
    assert ws.model == ModelSettings("mlp", (4,), "relu", classes=2, seed=3)
    assert runner.config.checkpoint.step == 0
    assert set(runner.config.checkpoint.weights) == {"W1", "b1", "W2", "b2"}


def test_the_model_cannot_change_mid_run():
    ws, _runner = recorded()
    ws.train()
    assert ws.state is RunState.TRAINING
    with pytest.raises(RuntimeError, match="no run"):
        ws.set_model(ModelSettings("mlp"))
    assert ws.model == ModelSettings()


def test_a_learning_rate_reaches_the_run_at_once():
    ws, runner = recorded()
    ws.train()
    ws.set_training(replace(ws.training, learning_rate=0.02))
    assert [t.learning_rate for (t,) in runner.commands("set_training")] == [0.02]


def test_another_optimizer_keeps_the_weights_and_history_but_not_the_optimizer_state():
    ws = inline()
    ws.set_training(TrainingSettings("momentum", 0.1, 50))
    ws.train()
    trained = ws.checkpoint
    assert set(trained.optimizer_state["W1"]) == {"velocity"}
    ws.set_training(replace(ws.training, optimizer="adam"))
    assert ws.checkpoint.optimizer_state == {}
    assert ws.checkpoint.step == 50 and ws.checkpoint.history.count == 50
    for name, value in trained.weights.items():
        assert np.array_equal(ws.checkpoint.weights[name], value)


def test_pause_resume_and_stop_follow_the_run():
    ws, runner = recorded()
    states = listen(ws, Change.STATE)
    ws.train()
    ws.pause()
    assert ws.state is RunState.PAUSED
    ws.train()  # Train on a paused run resumes it
    assert ws.state is RunState.TRAINING
    ws.stop()
    assert runner.commands("stop") == [("stopped",)]
    assert ws.state is RunState.TRAINING  # until the runner says the run ended
    ticket = runner.commands("train")[0][1]
    ws.run_finished(None, RunEnd.stopped(), ticket)
    assert ws.state is RunState.IDLE
    assert len(states) == 4


def test_a_late_finish_of_an_earlier_step_does_not_end_the_next_run():
    ws, runner = recorded()
    ws.step()
    ws.train()
    step_ticket = runner.commands("step_once")[0][0]
    ws.run_finished(None, RunEnd.finished(), step_ticket)
    assert ws.state is RunState.TRAINING


def test_snapshots_of_an_earlier_run_are_ignored():
    ws = inline()
    ws.train()
    old = TrainingRun(ModelSettings(), run_id=ws.latest.run_id - 1)
    heard = listen(ws, Change.SNAPSHOT)
    ws.receive(old.snapshot({"checkpoint": None}))
    assert heard == [] and ws.checkpoint.step == 300


def test_step_takes_exactly_one_step():
    ws = inline()
    ws.step()
    assert ws.checkpoint.step == 1 and ws.run_steps == 1


def test_diverging_runs_end_with_the_reason_and_good_weights():
    ws = inline()
    ws.points.replace(ws.points.xy * 1e306, ws.points.labels)
    finished = listen(ws, Change.FINISHED)
    ws.train()
    (end,), = finished
    assert end.kind is EndKind.DIVERGED and "smaller learning rate" in end.message
    assert all(np.isfinite(w).all() for w in ws.checkpoint.weights.values())
    assert ws.state is RunState.IDLE


def test_weights_from_a_file_set_the_model_and_training_settings():
    ws, runner = recorded()
    model = ModelSettings("mlp", (5, 3), "sigmoid", classes=3)
    weights = TrainingRun(model).weights()
    metadata = weights_metadata(model, "adam", 0.003, 42, 0.5)
    ws.apply_weights(dict(weights), metadata)
    assert ws.model == replace(model, seed=0)
    assert ws.training.optimizer == "adam" and ws.training.learning_rate == 0.003
    assert runner.config.checkpoint.step == 42
    assert np.array_equal(runner.config.checkpoint.weights["W2"], weights["W2"])
    assert ws.weights_metadata()["layers"] == [2, 5, 3, 3]


def test_weights_for_fewer_classes_than_the_points_are_refused():
    ws, _runner = recorded()
    ws.add_point(0.0, 0.0, 2)
    metadata = weights_metadata(ModelSettings(), "gradient_descent", 0.1, 0, None)
    with pytest.raises(ValueError, match="2 classes but the points have 3"):
        ws.apply_weights(dict(TrainingRun(ModelSettings()).weights()), metadata)
    assert ws.model.classes == 3


def test_generate_keeps_its_settings_and_is_undoable():
    ws, _runner = recorded()
    ws.generate(DataSettings("moons", 60, 0.1, 5))
    assert ws.data == DataSettings("moons", 60, 0.1, 5)
    assert np.array_equal(ws.points.xy, generate("moons", 60, 0.1, 5)[0])
    ws.points.undo()
    assert len(ws.points) == 100


def test_opening_replaces_everything_and_starts_a_new_undo_history(tmp_path):
    ws = inline()
    ws.generate(DataSettings("xor", 80, 0.2, 2))
    ws.set_model(ModelSettings("mlp", (6,), "tanh"))
    ws.set_training(TrainingSettings("adam", 0.01, 40))
    ws.train()
    ws.save(tmp_path / "a.tlab")
    other = inline()
    files = listen(other, Change.FILE)
    other.open(tmp_path / "a.tlab")
    assert other.path == tmp_path / "a.tlab" and files
    assert other.model == ws.model and other.training == ws.training and other.data == ws.data
    assert np.array_equal(other.points.xy, ws.points.xy)
    assert not other.points.can_undo
    assert other.latest.step == 40 and other.latest.accuracy is not None
    assert other.latest.loss == pytest.approx(ws.checkpoint.loss, rel=0.05)  # the weights' own


def test_new_starts_over_without_a_file(tmp_path):
    ws = inline()
    ws.points.clear()
    ws.save(tmp_path / "w.tlab")
    ws.new()
    assert ws.path is None and len(ws.points) == 100 and ws.checkpoint.step == 0


@pytest.mark.parametrize("optimizer", ["gradient_descent", "momentum", "adam"])
def test_training_resumes_exactly_from_a_workspace_file(tmp_path, optimizer):
    """500 steps, save, open elsewhere, 500 more: the same as 1,000 without stopping."""
    def workspace(steps):
        ws = inline()
        ws.generate(DataSettings("moons", 200, 0.1, 3))
        ws.set_model(ModelSettings("mlp", (8, 8), "tanh"))
        ws.set_training(TrainingSettings(optimizer, 0.05, steps))
        return ws

    straight = workspace(1000)
    straight.train()
    first = workspace(500)
    first.train()
    first.save(tmp_path / "half.tlab")
    second = inline()
    second.open(tmp_path / "half.tlab")
    second.train()
    resumed, expected = second.checkpoint, straight.checkpoint
    assert resumed.step == expected.step == 1000
    for name, value in expected.weights.items():
        np.testing.assert_allclose(resumed.weights[name], value, rtol=0, atol=1e-12)
    for curve_resumed, curve_straight in zip(second.latest.parts["curves"]["train"],
                                             straight.latest.parts["curves"]["train"], strict=True):
        assert np.array_equal(curve_resumed, curve_straight)


def test_unsaved_work_is_what_new_or_open_would_lose(tmp_path):
    ws = inline()
    assert not ws.modified and not ws.has_unsaved_work()  # a new workspace loses nothing
    ws.add_point(1.0, 1.0, 0)
    assert ws.modified and ws.has_unsaved_work()
    ws.save(tmp_path / "w.tlab")
    assert not ws.modified and not ws.has_unsaved_work()
    ws.train()
    assert ws.modified
    other = inline()
    other.open(tmp_path / "w.tlab")
    assert not other.modified and not other.has_unsaved_work()
    restored = Workspace(ws.to_data())  # an autosave brings it back without its file
    assert not restored.modified and restored.has_unsaved_work()


def test_weights_trained_at_a_rate_the_app_refuses_still_import_whole():
    """A file from elsewhere may say learning rate 50: the weights come in, the model and
    its settings agree, and the rate stays as it was."""
    ws, runner = recorded()
    messages = listen(ws, Change.MESSAGE)
    model = ModelSettings("mlp", (4,), "relu")
    metadata = weights_metadata(model, "momentum", 50.0, 7, None)
    ws.apply_weights(dict(TrainingRun(model).weights()), metadata)
    assert ws.model.kind == "mlp" and ws.training.optimizer == "momentum"
    assert ws.training.learning_rate == 0.1
    assert set(runner.config.checkpoint.weights) == {"W1", "b1", "W2", "b2"}
    assert "learning rate 50" in messages[-1][0]


@pytest.mark.parametrize("replace_run", ["reset", "third class", "new", "model"])
def test_a_run_replaced_mid_training_ends_at_once_and_its_late_end_is_ignored(replace_run):
    ws, runner = recorded()
    finished = listen(ws, Change.FINISHED)
    ws.train()
    ticket = runner.commands("train")[0][1]
    if replace_run == "reset":
        ws.reset()
    elif replace_run == "third class":
        ws.add_point(0.0, 4.0, 2)
    elif replace_run == "new":
        ws.new()
    else:
        ws.load(replace(ws.to_data(), model=ModelSettings("mlp")))
    assert ws.state is RunState.IDLE
    ws.run_finished(None, RunEnd.stopped(), ticket)  # what the runner says of the old run
    assert finished == []


def test_a_run_end_is_announced_once():
    ws, runner = recorded()
    finished = listen(ws, Change.FINISHED)
    ws.train()
    ticket = runner.commands("train")[0][1]
    ws.run_finished(None, RunEnd.finished(), ticket)
    ws.run_finished(None, RunEnd.finished(), ticket)  # a Step that raced the run's end
    assert finished == [(RunEnd.finished(),)]


def test_a_checkpoint_cannot_change_under_its_holders():
    ws = inline()
    ws.set_training(TrainingSettings("adam", 0.1, 5))
    ws.train()
    checkpoint = ws.checkpoint
    arrays = [checkpoint.weights["W1"], checkpoint.optimizer_state["W1"]["m"],
              checkpoint.history.raw]
    for array in arrays:
        with pytest.raises(ValueError, match="read-only"):
            array[...] = 0


def test_the_task_goes_with_the_points_through_undo_and_redo():
    ws = inline()
    blobs = ws.points.xy.copy()
    ws.generate(DataSettings.for_dataset("plane"))
    assert ws.model.task == "regression" and ws.points.values.any()
    ws.points.undo()
    assert ws.model.task == "classification" and np.array_equal(ws.points.xy, blobs)
    ws.step()
    assert ws.latest.accuracy is not None  # a classifier again, on the blobs' classes
    ws.points.redo()
    assert ws.model.task == "regression"
    ws.step()
    assert ws.latest.parts["checkpoint"].weights["W1"].shape == (2, 1)  # one output: a value


def test_choosing_the_other_task_brings_its_points_and_undo_takes_them_back():
    ws = inline()
    ws.set_data(replace(ws.data, test_split=20))
    blobs = ws.points.xy.copy()
    ws.set_model(replace(ws.model, task="regression", kind="mlp"))
    assert ws.model == replace(ws.model, task="regression", kind="mlp")
    assert ws.data.dataset == "plane" and ws.points.task == "regression"
    assert ws.points.test.mean() == pytest.approx(0.2)  # the split still holds
    ws.points.undo()
    assert ws.model.task == "classification" and ws.model.kind == "mlp"
    assert np.array_equal(ws.points.xy, blobs)


def test_a_points_file_sets_the_task_by_what_it_holds():
    ws = inline()
    xy = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 0.5]])
    ws.open_points(xy, np.zeros(3, dtype=np.int64), np.array([0.1, 0.2, 0.3]))
    assert ws.model.task == "regression" and ws.points.values.tolist() == [0.1, 0.2, 0.3]
    ws.open_points(xy, np.array([0, 1, 2]))
    assert ws.model.task == "classification" and ws.model.classes == 3


def test_undo_brings_back_the_settings_that_made_the_points():
    ws = inline()
    before = ws.data
    ws.set_data(replace(ws.data, test_split=50))
    ws.points.undo()
    assert ws.data == before and not ws.points.test.any()
    ws.points.redo()
    assert ws.data.test_split == 50
    ws.generate(DataSettings.for_dataset("xor", test_split=50))
    ws.set_data(replace(ws.data, count=77))  # typed, not generated yet
    ws.points.add(0.5, 0.5, 1)
    assert ws.data.count == 77  # a click keeps what was typed
    ws.points.undo()
    ws.points.undo()  # the Generate
    assert ws.data.dataset == "blobs" and ws.data.test_split == 50


def test_weights_of_the_other_task_are_refused_and_nothing_changes():
    ws, runner = recorded()
    before = (ws.model, ws.training, ws.checkpoint)
    configured = len(runner.commands("configure"))
    model = ModelSettings(task="regression")
    metadata = weights_metadata(model, "gradient_descent", 0.1, 3, None)
    with pytest.raises(ValueError, match=r"for regression but the points are for classification"):
        ws.apply_weights(dict(TrainingRun(model).weights()), metadata)
    assert (ws.model, ws.training, ws.checkpoint) == before
    assert len(runner.commands("configure")) == configured
