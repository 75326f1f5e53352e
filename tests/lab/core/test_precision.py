"""The model's precision: float32 by default (fast), float64 on request (exact), kept in
workspace and weights files, the same training either way within float32's digits."""

from dataclasses import replace

import numpy as np
import pytest

from lab.core.datasets import generate, tutorial_points
from lab.core.io.weights_file import load_weights, model_settings, save_weights
from lab.core.io.workspace_file import load_workspace
from lab.core.model import ModelSettings
from lab.core.points import validate_columns
from lab.core.runner import InlineRunner
from lab.core.settings import TrainingSettings
from lab.core.training import Diverged, TrainingRun
from lab.core.workspace import Workspace


def run_of(settings, steps, xy_labels=None, training=None):
    run = TrainingRun(settings, training or TrainingSettings())
    run.set_points(validate_columns(*(xy_labels or tutorial_points())))
    run.train(steps)
    return run


def test_the_app_trains_in_float32_unless_asked_for_float64():
    assert ModelSettings().precision == "float32"
    single = run_of(ModelSettings(), 5)
    double = run_of(ModelSettings(precision="float64"), 5)
    assert {w.dtype for w in single.weights().values()} == {np.dtype(np.float32)}
    assert {w.dtype for w in double.weights().values()} == {np.dtype(np.float64)}
    with pytest.raises(ValueError, match="unknown precision 'float16'"):
        ModelSettings(precision="float16")


@pytest.mark.parametrize("optimizer", ["gradient_descent", "adam"])
def test_float32_trains_the_same_model_as_float64_within_its_digits(optimizer):
    points = generate("moons", 300, 0.15, 0)
    model = ModelSettings("mlp", (8, 8), "tanh", seed=2)
    training = TrainingSettings(optimizer, 0.05, batch_size=32)
    single = run_of(model, 200, points, training)
    double = run_of(replace(model, precision="float64"), 200, points, training)
    for name, value in double.weights().items():
        assert np.allclose(single.weights()[name], value, rtol=1e-3, atol=1e-4), name
    assert single.history.last == pytest.approx(double.history.last, rel=1e-3)
    # the same starting draws, rounded
    start = TrainingRun(model).weights()["W1"]
    assert np.array_equal(start, TrainingRun(replace(model, precision="float64"))
                          .weights()["W1"].astype(np.float32))


def test_a_float32_run_resumes_exactly_from_its_workspace_file(tmp_path):
    ws = Workspace()
    ws.attach(InlineRunner(ws, parts=("checkpoint",)))
    ws.set_model(ModelSettings("mlp", (6,), "tanh"))
    ws.set_training(TrainingSettings("adam", 0.02, 40))
    ws.train()
    ws.save(tmp_path / "half.tlab")
    ws.train()
    data = load_workspace(tmp_path / "half.tlab")
    assert data.model.precision == "float32"
    resumed = Workspace(data)
    resumed.attach(InlineRunner(resumed, parts=("checkpoint",)))
    resumed.train()
    for name, value in ws.latest.weights.items():
        assert value.dtype == np.float32
        assert np.array_equal(resumed.latest.weights[name], value), name


def test_exported_weights_keep_their_precision(tmp_path):
    for precision in ("float32", "float64"):
        ws = Workspace()
        ws.attach(InlineRunner(ws, parts=("checkpoint",)))
        ws.set_model(replace(ws.model, precision=precision))
        ws.step()
        path = tmp_path / f"{precision}.npz"
        _step, weights, _loss = ws.current()
        save_weights(path, weights, ws.weights_metadata())
        with np.load(path) as plain:  # what a numpy user gets
            assert plain["W1"].dtype == np.dtype(precision)
        loaded, metadata = load_weights(path)
        assert metadata["precision"] == precision
        assert model_settings(metadata, 0, (8, 8)).precision == precision
        ws.apply_weights(loaded, metadata)
        assert ws.model.precision == precision
        assert np.array_equal(ws.current()[1]["W1"], weights["W1"])


def test_a_weights_file_without_a_precision_is_float64(tmp_path):
    """Files from before the precision setting were trained in float64."""
    ws = Workspace()
    metadata = ws.weights_metadata()
    del metadata["precision"]
    path = tmp_path / "old.npz"
    save_weights(path, ws.current()[1], metadata)
    loaded, read = load_weights(path)
    assert model_settings(read, 0, (8, 8)).precision == "float64"
    assert loaded["W1"].dtype == np.float64


def test_points_beyond_float32s_range_make_the_run_diverge_with_a_message():
    xy, labels = tutorial_points()
    xy = xy.copy()
    xy[0] = (1e39, 0.0)  # a float64 number float32 cannot hold
    run = TrainingRun(ModelSettings())
    run.set_points(validate_columns(xy, labels))
    with pytest.raises(Diverged, match="The loss became"):
        run.train(5)
