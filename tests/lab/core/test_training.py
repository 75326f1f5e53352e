"""A training run: steps, snapshots, divergence, changing points and learning rate."""

import numpy as np
import pytest

from lab.core import curves
from lab.core.checkpoint import Checkpoint
from lab.core.datasets import generate, tutorial_points
from lab.core.io.weights_file import load_weights, save_weights, validate_weights, weights_metadata
from lab.core.io.workspace_file import load_workspace, save_workspace
from lab.core.loss_history import LossHistory
from lab.core.model import ModelSettings
from lab.core.parts import MAX_SHARE, PARTS
from lab.core.points import validate_columns
from lab.core.settings import TrainingSettings
from lab.core.training import Diverged, RunConfig, TrainingRun
from lab.core.workspace import Workspace


@pytest.fixture
def run():
    r = TrainingRun(ModelSettings(), TrainingSettings("gradient_descent", 0.1))
    r.set_points(validate_columns(*tutorial_points()))
    return r


def test_training_lowers_the_loss_and_counts_steps(run):
    assert run.train(300) == 300
    steps, losses = run.history.curve()
    assert run.step == 300 and steps[-1] == 300
    assert losses[-1] < losses[0] / 10
    assert run.accuracy() >= 0.95


def test_train_stops_at_its_deadline(run):
    done = run.train(10**9, seconds=0.05)
    assert 0 < done < 10**9 and run.step == done


def test_snapshots_are_copies_that_later_steps_do_not_change(run):
    run.train(5)
    snapshot = run.snapshot({"regions": (-3, -3, 3, 3)})
    kept = {k: v.copy() for k, v in snapshot.weights.items()}
    run.train(50)
    assert all(np.array_equal(snapshot.weights[k], kept[k]) for k in kept)
    assert snapshot.step == 5
    probabilities = snapshot.parts["regions"].probabilities
    assert probabilities.shape[2] == 2 and np.allclose(probabilities.sum(axis=2), 1)


def test_the_decision_grid_agrees_with_the_separating_line(run):
    run.train(300)
    snapshot = run.snapshot({"regions": (-4, -4, 4, 4)})
    w, b = snapshot.weights["W1"], snapshot.weights["b1"]
    grid = snapshot.parts["regions"].probabilities
    ny, nx, _ = grid.shape
    ys, xs = np.mgrid[0:ny, 0:nx]
    centres = np.stack([-4 + (xs + 0.5) * 8 / nx, -4 + (ys + 0.5) * 8 / ny], axis=-1)
    side = centres @ (w[:, 1] - w[:, 0]) + (b[1] - b[0]) > 0
    assert np.array_equal(grid.argmax(axis=2) == 1, side)


def test_learning_rate_changes_apply_to_the_next_step(run):
    run.learning_rate = 0.0
    before = run.model.current_weights()
    run.train(3)
    assert all(np.array_equal(before[k], v) for k, v in run.model.current_weights().items())
    run.learning_rate = 0.5
    run.train(1)
    assert not np.array_equal(before["W1"], run.model.current_weights()["W1"])


def test_new_points_are_used_from_the_next_step(run):
    xy, labels = generate("xor", 40, 0.1, 0)
    run.set_points(validate_columns(xy, labels))
    run.train(1)
    assert run.point_count == 40
    assert run.model.loss.probabilities.shape == (40, 2)


def test_points_with_more_classes_than_the_model_are_refused(run):
    with pytest.raises(ValueError, match="reset the model"):
        run.set_points(validate_columns(np.zeros((3, 2)), np.array([0, 1, 2])))


def test_training_without_points_is_refused():
    run = TrainingRun(ModelSettings())
    with pytest.raises(ValueError, match="no points"):
        run.train(1)


@pytest.mark.parametrize("optimizer", ["gradient_descent", "momentum", "adam"])
def test_divergence_rolls_back_to_the_last_finite_snapshot(optimizer):
    run = TrainingRun(ModelSettings(), TrainingSettings(optimizer, 0.1))
    xy, labels = tutorial_points()
    run.set_points(validate_columns(xy, labels))
    run.train(10)
    good = run.snapshot()
    run.learning_rate = 1e308  # one update overflows the weights, the next loss is NaN
    with pytest.raises(Diverged, match="smaller learning rate"):
        run.train(100)
    restored = run.model.current_weights()
    assert all(np.array_equal(restored[k], good.weights[k]) for k in restored)
    run.learning_rate = 0.1
    run.train(20)
    assert np.isfinite(run.history.last)


def test_a_rolled_back_run_is_at_the_step_of_its_weights(tmp_path):
    """After a rollback the step, the weights and the loss history agree again: what is
    exported or saved says the step the weights are from."""
    run = TrainingRun(ModelSettings(), TrainingSettings("adam", 0.1))
    run.set_points(validate_columns(*tutorial_points()))
    run.train(40)
    good = run.snapshot({"checkpoint": None})
    run.train(25)
    run.learning_rate = 1e308
    with pytest.raises(Diverged, match=r"at step 6\d; the weights were rolled back to those of "
                                       r"step 40"):
        run.train(100)
    checkpoint = run.checkpoint()
    assert run.step == checkpoint.step == 40 == run.history.count
    expected = LossHistory.from_state(good.parts["checkpoint"].history).curve()
    for shown, wanted in zip(run.curves()["train"], expected, strict=True):
        assert np.array_equal(shown, wanted)
    assert checkpoint.optimizer_state == {}


def test_exported_metadata_passes_the_file_validation(run, tmp_path):
    run.train(10)
    snapshot = run.snapshot()
    metadata = weights_metadata(run.settings, run.optimizer_name, run.learning_rate,
                                snapshot.step, snapshot.loss)
    validate_weights(snapshot.weights, metadata)
    path = tmp_path / "w.npz"
    save_weights(path, snapshot.weights, metadata)
    weights, metadata = load_weights(path)
    assert metadata["step"] == 10 and metadata["optimizer"] == "gradient_descent"
    assert np.array_equal(weights["W1"], snapshot.weights["W1"])


def test_accuracy_is_of_the_current_points_even_before_a_step(run):
    run.train(300)
    assert run.accuracy() >= 0.95
    xy, labels = tutorial_points()
    run.set_points(validate_columns(xy, 1 - labels))
    assert run.accuracy() <= 0.05
    run.train(1)
    assert run.accuracy() <= 0.05


def test_weights_without_a_history_show_their_loss_and_accuracy_at_once(run):
    run.train(300)
    imported = TrainingRun.from_config(
        RunConfig(run.settings, checkpoint=Checkpoint(300, run.weights()))
    )
    imported.set_points(validate_columns(*tutorial_points()))
    snapshot = imported.snapshot()
    assert snapshot.step == 300 and snapshot.accuracy >= 0.95
    assert snapshot.loss == pytest.approx(run.history.last, rel=0.05)
    assert imported.history.count == 0


def test_a_run_is_built_from_its_checkpoint_and_continues_it():
    xy, labels = tutorial_points()
    straight = TrainingRun(ModelSettings(), TrainingSettings("adam", 0.05))
    straight.set_points(validate_columns(xy, labels))
    straight.train(40)
    half = TrainingRun(ModelSettings(), TrainingSettings("adam", 0.05))
    half.set_points(validate_columns(xy, labels))
    half.train(20)
    resumed = TrainingRun(ModelSettings(), TrainingSettings("adam", 0.05), half.checkpoint())
    resumed.set_points(validate_columns(xy, labels))
    resumed.train(20)
    assert resumed.step == 40
    for name, value in straight.weights().items():
        assert np.array_equal(resumed.weights()[name], value)
    pairs = zip(resumed.curves()["train"], straight.curves()["train"], strict=True)
    assert all(np.array_equal(a, b) for a, b in pairs)


def test_only_the_parts_asked_for_are_made(run):
    run.train(3)
    assert run.snapshot().parts == {}
    snapshot = run.snapshot({"curves": None, "checkpoint": None})
    assert set(snapshot.parts) == {"curves", "checkpoint"}
    assert snapshot.parts["checkpoint"].step == 3
    assert snapshot.parts["checkpoint"].weights["W1"] is snapshot.weights["W1"]


def test_a_costly_part_comes_less_often_so_it_takes_a_bounded_share_of_training():
    regions = PARTS["regions"]
    assert regions.spacing(0.0) == regions.interval  # cheap: at its own pace
    assert regions.spacing(0.1) == pytest.approx(0.1 / MAX_SHARE)  # 100 ms to make
    run = TrainingRun(ModelSettings("mlp", (16,), "tanh"))
    run.set_points(validate_columns(*tutorial_points()))
    run.snapshot({"regions": (-1.0, -1.0, 1.0, 1.0), "scores": None})
    assert set(run.part_costs) == {"regions", "scores"}
    assert all(cost >= 0 for cost in run.part_costs.values())
    graph = PARTS["graph"]  # every node's arrays: a smaller share still
    assert graph.share < MAX_SHARE and graph.spacing(0.1) == pytest.approx(0.1 / graph.share)


def test_a_test_loss_beyond_float32_is_not_recorded_and_the_run_still_saves(tmp_path):
    """A held-out point far out overflows x² in float32: its loss is no number to keep, and
    the workspace file that holds the curves must still be writable."""
    settings = ModelSettings(features=("x", "y", "x2"), precision="float32")
    xy, labels = tutorial_points()
    xy = np.vstack([xy, [[1e25, 0.0]]])
    labels = np.append(labels, 0)
    test = np.zeros(len(labels), dtype=bool)
    test[-1] = True
    run = TrainingRun(settings, TrainingSettings("gradient_descent", 0.1))
    run.set_points(validate_columns(xy, labels, None, test))
    run.train(20)
    steps, losses = run.evaluations.curve("test")
    assert len(steps) == 0 and len(losses) == 0
    workspace = Workspace()
    workspace.model = settings
    workspace.checkpoint = run.checkpoint()
    save_workspace(tmp_path / "far.tlab", workspace.to_data())
    assert load_workspace(tmp_path / "far.tlab").checkpoint.step == 20


def test_switching_to_mini_batches_mid_epoch_starts_a_fresh_order(run):
    """A full-batch run whose batch size changes mid-run draws its first batch from the
    start of a new order, not from a position left over from before."""
    run.train(3)
    run.adjust(TrainingSettings("gradient_descent", 0.1, batch_size=10))
    run.train(1)
    assert run.position == 10
    run.adjust(TrainingSettings("gradient_descent", 0.1))
    assert run.position == 0 and not run.batched
    run.train(1)
    run.adjust(TrainingSettings("gradient_descent", 0.1, batch_size=10))
    run.train(2)
    assert run.position == 20


def test_losses_the_curves_would_drop_are_not_measured(monkeypatch):
    """With test points every step would measure; once the curves keep only every other
    sample (then every fourth...), the steps whose samples would go are not measured at all."""
    monkeypatch.setattr(curves, "CAPACITY", 8)
    xy, labels = tutorial_points()
    test = np.arange(len(labels)) % 5 == 0
    run = TrainingRun(ModelSettings(), TrainingSettings("gradient_descent", 0.1))
    run.set_points(validate_columns(xy, labels, None, test))
    measured = []
    original = run._session.run

    def counting(fetches, feed=None):
        if fetches is run.model.loss:
            measured.append(run.step + 1)
        return original(fetches, feed)

    run._session.run = counting
    run.train(40)
    steps, _ = run.evaluations.curve("test")
    assert set(steps.astype(int)) <= set(measured)  # every sample kept was measured
    assert len(measured) <= 20  # 8 at every step, then every 2nd, 4th, 8th step of 40
