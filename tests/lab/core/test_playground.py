"""The Playground settings, each checked by what it changes in training: the test split,
mini-batches, L2/L1 penalties, input features, regression, scores, neuron maps and the
linear activation; and that with every one at its default the tutorial's perceptron is
trained exactly as before."""

from dataclasses import replace

import numpy as np
import pytest

import engine as ts
from lab.core.checkpoint import Checkpoint
from lab.core.datasets import DATASETS, generate, split_mask, tutorial_points
from lab.core.features import FEATURES, feature_matrix
from lab.core.io.weights_file import load_weights, model_settings, save_weights, weights_metadata
from lab.core.io.workspace_file import WorkspaceData, load_workspace, save_workspace
from lab.core.model import ModelSettings, weight_shapes
from lab.core.points import validate_columns
from lab.core.runner import InlineRunner
from lab.core.settings import DataSettings, TrainingSettings
from lab.core.training import GRID_SIZE, THUMBNAIL_STRIDE, TrainingRun
from lab.core.workspace import Workspace

RECT = (-3.0, -2.5, 3.0, 2.5)


# --- helpers ------------------------------------------------------------------------------------
def exact(*args, **kwargs):
    """Model settings in float64, so the app's numbers match numpy's to the last digits."""
    return ModelSettings(*args, precision="float64", **kwargs)


def points(dataset, count=None, split=0, seed=1):
    """A data set's points (default noise) as a run takes them, `split` % held out."""
    data = DATASETS[dataset]
    xy, targets = generate(dataset, count or data.default_count, data.default_noise, seed)
    test = split_mask(len(xy), split, seed)
    if data.task == "regression":
        return validate_columns(xy, np.zeros(len(xy), dtype=np.int64), targets, test)
    return validate_columns(xy, targets, None, test)


def trained(columns, steps, model=None, training=None, checkpoint=None):
    """A run on `columns` after `steps` steps."""
    run = TrainingRun(model or exact(), training or TrainingSettings(), checkpoint)
    run.set_points(columns)
    if steps:
        run.train(steps)
    return run


def same_weights(a, b):
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def same_score(a, b):
    """Scores equal field by field (the confusion matrices as arrays)."""
    return (a.count, a.loss, a.accuracy, a.r2) == (b.count, b.loss, b.accuracy, b.r2) and (
        np.array_equal(a.confusion, b.confusion) if a.confusion is not None else b.confusion is None
    )


def softmax(logits):
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def cross_entropy(logits, labels):
    """Mean softmax cross-entropy, in numpy."""
    return -np.mean(np.log(softmax(logits))[np.arange(len(labels)), labels])


def affine(weights, inputs):
    """A perceptron's output."""
    return inputs @ weights["W1"] + weights["b1"]


def grid_centres(rect, n=GRID_SIZE):
    """The (n*n, 2) cell centres of an n-by-n grid over rect, row 0 at the bottom."""
    x0, y0, x1, y1 = rect
    xs = x0 + (np.arange(n) + 0.5) * (x1 - x0) / n
    ys = y0 + (np.arange(n) + 0.5) * (y1 - y0) / n
    gx, gy = np.meshgrid(xs, ys)
    return np.column_stack((gx.ravel(), gy.ravel()))


def batch_sizes(run, steps):
    """How many points each of the next `steps` steps trained on."""
    sizes = []
    for _ in range(steps):
        run.train(1)
        sizes.append(run.model.data_loss.probabilities.shape[0])
    return sizes


# --- the test split -----------------------------------------------------------------------------
@pytest.mark.parametrize(("count", "percent"),
                         [(200, 50), (101, 30), (9, 30), (7, 33), (50, 0), (10, 90)])
def test_split_mask_holds_out_the_rounded_share_reproducibly(count, percent):
    mask = split_mask(count, percent, seed=4)
    assert mask.dtype == bool and mask.shape == (count,)
    assert mask.sum() == round(count * percent / 100)
    assert np.array_equal(mask, split_mask(count, percent, seed=4))


def test_split_mask_depends_on_the_seed():
    assert not np.array_equal(split_mask(200, 50, 1), split_mask(200, 50, 2))


def test_a_split_gives_a_test_curve_of_the_held_out_points():
    columns = points("moons", split=50)
    run = trained(columns, 40)
    curves = run.curves()
    assert set(curves) == {"train", "test"}
    (train_steps, train), (test_steps, test) = curves["train"], curves["test"]
    assert np.array_equal(train_steps, test_steps) and len(train) == 40
    assert not np.allclose(train, test)
    # Their first points are the losses of the starting weights on each half of the points.
    start = TrainingRun(exact()).weights()
    held = columns.test
    assert train[0] == pytest.approx(cross_entropy(affine(start, columns.xy[~held]),
                                                   columns.labels[~held]), rel=1e-12)
    assert test[0] == pytest.approx(cross_entropy(affine(start, columns.xy[held]),
                                                  columns.labels[held]), rel=1e-12)
    assert run.point_count == 100 and run.scores().test.count == 100


@pytest.mark.parametrize("batch_size", [0, 10])
def test_test_points_are_never_trained_on(batch_size):
    """Other classes for the test points leave training exactly as it was."""
    columns = points("moons", split=50)
    labels = np.where(columns.test, 1 - columns.labels, columns.labels)
    relabelled = columns._replace(labels=labels)
    training = TrainingSettings(batch_size=batch_size)
    a, b = trained(columns, 35, training=training), trained(relabelled, 35, training=training)
    assert same_weights(a.weights(), b.weights())
    assert np.array_equal(a.history.curve()[1], b.history.curve()[1])
    assert same_score(a.scores().train, b.scores().train)
    # ...while the test points' own numbers do change.
    assert a.scores().test.accuracy == pytest.approx(1 - b.scores().test.accuracy)
    assert not np.allclose(a.curves()["test"][1], b.curves()["test"][1])


def split_workspace():
    """A workspace on the moons, half held out, trained inline."""
    ws = Workspace()
    ws.attach(InlineRunner(ws, parts=("scores", "checkpoint")))
    ws.generate(DataSettings.for_dataset("moons", test_split=50))
    return ws


def test_the_split_survives_undo_and_redo_and_trains_as_split():
    ws = split_workspace()
    split = split_mask(200, 50, DataSettings().seed)
    assert np.array_equal(ws.points.test, split)
    ws.add_point(0.1, 0.2, 1)
    assert np.array_equal(ws.points.test, np.append(split, False))
    ws.points.undo()
    assert np.array_equal(ws.points.test, split)
    held = np.flatnonzero(split)[3]
    ws.points.remove_nearest(*ws.points.xy[held])
    assert np.array_equal(ws.points.test, np.delete(split, held))
    ws.points.undo()
    assert np.array_equal(ws.points.test, split)  # the removed test point is one again
    ws.points.redo()
    assert np.array_equal(ws.points.test, np.delete(split, held))
    ws.points.undo()
    ws.step()
    assert ws.latest.parts["scores"].test.count == 100
    expected = trained(points("moons", split=50), 1, ws.model)
    assert same_weights(ws.latest.weights, expected.weights())


def test_the_split_survives_a_workspace_file(tmp_path):
    ws = split_workspace()
    ws.set_training(replace(ws.training, steps=15))
    ws.train()
    ws.save(tmp_path / "split.tlab")
    opened = Workspace()
    opened.attach(InlineRunner(opened, parts=("scores", "checkpoint")))
    opened.open(tmp_path / "split.tlab")
    assert opened.data.test_split == 50
    assert np.array_equal(opened.points.test, ws.points.test)
    ws.step()
    opened.step()
    assert opened.latest.step == ws.latest.step == 16
    assert same_weights(opened.latest.weights, ws.latest.weights)
    mine, theirs = opened.latest.parts["scores"], ws.latest.parts["scores"]
    assert same_score(mine.train, theirs.train) and same_score(mine.test, theirs.test)


# --- mini-batches -------------------------------------------------------------------------------
def test_mini_batches_take_other_steps_and_still_learn():
    columns = points("moons")
    full = trained(columns, 1)
    batched = trained(columns, 1, training=TrainingSettings(batch_size=10))
    assert batched.batched and not full.batched
    assert not np.allclose(full.weights()["W1"], batched.weights()["W1"])
    batched.train(199)
    assert batched.accuracy() >= 0.8


@pytest.mark.parametrize("batch_size", [100, 500])
def test_a_batch_of_all_the_points_is_the_full_batch(batch_size):
    columns = points("blobs")
    run = trained(columns, 20, training=TrainingSettings(batch_size=batch_size))
    assert not run.batched and run.epoch == 20
    assert same_weights(run.weights(), trained(columns, 20).weights())


def test_the_epoch_counts_the_batches_that_cover_the_points():
    run = trained(points("blobs"), 0, training=TrainingSettings(batch_size=10))
    for step in range(1, 26):
        run.train(1)
        assert run.epoch == step * 10 // 100


def test_a_last_batch_shorter_than_the_others_trains_on_the_rest():
    run = trained(points("blobs", count=95), 0, training=TrainingSettings(batch_size=10))
    assert batch_sizes(run, 20) == ([10] * 9 + [5]) * 2
    assert run.epoch == 2 and run.position == 0
    assert np.all(np.isfinite(run.history.curve()[1]))


@pytest.mark.parametrize("optimizer", ["gradient_descent", "adam"])
def test_a_run_resumed_mid_epoch_from_a_file_continues_exactly(optimizer, tmp_path):
    columns = points("moons", count=100, split=20)
    model = exact("mlp", (4,), seed=3)
    training = TrainingSettings(optimizer, 0.05, batch_size=10)
    straight = trained(columns, 60, model, training)
    first = trained(columns, 27, model, training)
    assert first.position == 30  # 80 training points: the 4th epoch's 4th batch is next
    data = WorkspaceData(columns.xy, columns.labels, DataSettings(), model, training,
                         first.checkpoint(), columns.values, columns.test)
    save_workspace(tmp_path / "run.tlab", data)
    checkpoint = load_workspace(tmp_path / "run.tlab").checkpoint
    resumed = trained(columns, 33, model, training, checkpoint)
    assert same_weights(resumed.weights(), straight.weights())
    assert (resumed.epoch, resumed.position) == (straight.epoch, straight.position)
    for name, (steps, losses) in straight.curves().items():
        assert np.array_equal(resumed.curves()[name][0], steps)
        assert np.array_equal(resumed.curves()[name][1], losses)


def test_batched_curves_measure_all_training_points_each_epoch():
    run = trained(points("moons", count=100), 0, training=TrainingSettings(batch_size=10))
    measured = []
    for step in range(30):
        if run.position == 0:
            measured.append((step + 1, run.scores().train.loss))  # all points, these weights
        run.train(1)
    curves = run.curves()
    assert set(curves) == {"train", "batch"}
    steps, losses = curves["train"]
    assert steps.tolist() == [s for s, _ in measured] == [1, 11, 21]
    assert np.allclose(losses, [loss for _, loss in measured], rtol=1e-12)
    batch_steps, batch_losses = curves["batch"]
    assert batch_steps.tolist() == list(range(1, 31))
    assert not np.allclose(batch_losses[[0, 10, 20]], losses)  # a batch is not all points


# --- regularization -----------------------------------------------------------------------------
def penalty_run(regularization, rate=0.05):
    """An MLP on 30 moons points, from random weights and biases, whose next step is plain
    gradient descent at rate 1."""
    model = exact("mlp", (3,))
    rng = np.random.default_rng(2)
    start = {name: rng.normal(size=shape) for name, shape in weight_shapes(model.layers).items()}
    training = TrainingSettings(learning_rate=1.0, regularization=regularization,
                                regularization_rate=rate)
    return trained(points("moons", count=30), 0, model, training, Checkpoint(0, start))


def engine_gradient(run):
    """The gradient one gradient-descent step at rate 1 follows (it changes the weights back)."""
    before = {k: v.copy() for k, v in run.weights().items()}
    run.train(1)
    gradient = {k: before[k] - v for k, v in run.model.current_weights().items()}
    run.model.assign(before)
    return gradient


def numeric_gradient(run, columns, eps=1e-6):
    """Central differences of the whole loss (penalty included) for every weight."""
    session = ts.Session()
    feed = {run.model.x: columns.xy, run.model.target: run.model.targets(columns.labels, None)}
    gradient = {}
    for name, variable in run.model.variables.items():
        value, grad = variable.value, np.zeros_like(variable.value)
        for index in np.ndindex(value.shape):
            kept = value[index]
            value[index] = kept + eps
            up = session.run(run.model.loss, feed)
            value[index] = kept - eps
            down = session.run(run.model.loss, feed)
            value[index] = kept
            grad[index] = (up - down) / (2 * eps)
        gradient[name] = grad
    return gradient


@pytest.mark.parametrize("regularization", ["l2", "l1"])
def test_the_penalty_gradient_is_backpropagated(regularization):
    columns = points("moons", count=30)
    run = penalty_run(regularization)
    weights = run.weights()
    followed = engine_gradient(run)
    numeric = numeric_gradient(run, columns)
    for name in weights:
        assert np.allclose(followed[name], numeric[name], rtol=1e-6, atol=1e-9), name
    # What the penalty adds: rate × 2W or rate × sign(W) on the matrices, nothing on biases.
    plain = engine_gradient(penalty_run("none"))
    for name, w in weights.items():
        added = (2 * w if regularization == "l2" else np.sign(w)) if name[0] == "W" else 0 * w
        assert np.allclose(followed[name] - plain[name], 0.05 * added, atol=1e-12), name


def matrices(weights, size):
    return sum(float(size(w).sum()) for name, w in weights.items() if name.startswith("W"))


@pytest.mark.parametrize(("regularization", "size"), [("l2", np.square), ("l1", np.abs)])
def test_a_strong_penalty_keeps_the_weights_small(regularization, size):
    columns, model = points("circles"), exact("mlp", seed=1)
    free = trained(columns, 300, model, TrainingSettings("adam", 0.03))
    penalised = trained(columns, 300, model, TrainingSettings(
        "adam", 0.03, regularization=regularization, regularization_rate=0.05))
    assert matrices(penalised.weights(), size) < 0.5 * matrices(free.weights(), size)


def test_a_new_penalty_rate_applies_from_the_next_step_without_a_rebuild():
    columns, model = points("moons"), exact("mlp", (4,), seed=5)
    l2 = TrainingSettings(learning_rate=0.3, regularization="l2", regularization_rate=0.0)
    run = trained(columns, 10, model, l2)
    none = replace(l2, regularization="none")
    assert same_weights(run.weights(), trained(columns, 10, model, none).weights())  # rate 0
    checkpoint, graph = run.checkpoint(), run.model
    stronger = replace(l2, regularization_rate=0.5)
    run.adjust(stronger)
    run.train(5)
    assert run.model is graph
    assert same_weights(run.weights(), trained(columns, 5, model, stronger, checkpoint).weights())
    # The loss now includes 0.5 × the sum of the matrices' squares.
    w = run.weights()
    data = cross_entropy(np.tanh(columns.xy @ w["W1"] + w["b1"]) @ w["W2"] + w["b2"],
                         columns.labels)
    assert run.scores().train.loss == pytest.approx(data + 0.5 * matrices(w, np.square),
                                                    rel=1e-12)


# --- input features -----------------------------------------------------------------------------
def test_squares_let_a_perceptron_separate_the_circles():
    columns = points("circles")
    assert trained(columns, 300, exact(features=("x2", "y2"))).accuracy() >= 0.95
    assert trained(columns, 300, exact()).accuracy() <= 0.65


def test_the_feature_matrix_is_computed_from_x_and_y():
    xy = np.random.default_rng(0).uniform(-3, 3, size=(50, 2))
    x, y = xy[:, 0], xy[:, 1]
    expected = np.column_stack([x, y, x**2, y**2, x * y, np.sin(x), np.sin(y)])
    assert np.array_equal(feature_matrix(xy, tuple(FEATURES)), expected)
    assert np.array_equal(feature_matrix(xy, ("y", "sinx")), expected[:, [1, 5]])


def test_features_come_in_their_canonical_order_whatever_the_order_asked():
    asked = ModelSettings(features=("siny", "y2", "x"))
    assert asked.features == ("x", "y2", "siny") and asked.layers[0] == 3
    assert asked == ModelSettings(features=("x", "siny", "y2"))


def test_the_model_sees_the_features_it_was_given():
    """The decision regions are the softmax of the hand-made features times the weights."""
    model = exact(features=("xy", "x2", "y"))
    run = trained(points("xor"), 30, model)
    grid = grid_centres(RECT)
    x, y = grid[:, 0], grid[:, 1]
    inputs = np.column_stack([y, x**2, x * y])  # canonical order: y, x2, xy
    expected = softmax(affine(run.weights(), inputs)).reshape(GRID_SIZE, GRID_SIZE, 2)
    assert np.allclose(run.regions(RECT).probabilities, expected, rtol=0, atol=1e-12)


def test_exported_weights_keep_the_task_and_the_features(tmp_path):
    model = exact(features=("x2", "y2"), task="regression")
    run = trained(points("gaussian"), 50, model)
    metadata = weights_metadata(model, "gradient_descent", 0.1, run.step, run.history.last)
    save_weights(tmp_path / "w.json", run.weights(), metadata)
    weights, loaded = load_weights(tmp_path / "w.json")
    settings = model_settings(loaded, model.seed, model.hidden)
    assert settings == model
    again = TrainingRun(settings, checkpoint=Checkpoint(run.step, weights))
    assert np.array_equal(again.regions(RECT).values, run.regions(RECT).values)


# --- regression ---------------------------------------------------------------------------------
def r_squared(predicted, values):
    return 1 - np.sum((values - predicted) ** 2) / np.sum((values - values.mean()) ** 2)


def test_a_perceptron_fits_the_plane():
    run = trained(points("plane"), 300, exact(task="regression"))
    assert run.scores().train.r2 >= 0.99


def test_regression_scores_are_the_squared_error_and_r2_of_the_predictions():
    columns = points("plane", split=25)
    model = exact(task="regression")
    start = TrainingRun(model).weights()
    run = trained(columns, 20, model)
    scores, w = run.scores(), run.weights()
    for held, score in ((False, scores.train), (True, scores.test)):
        rows = columns.test == held
        predicted = affine(w, columns.xy[rows])[:, 0]
        values = columns.values[rows]
        assert score.count == rows.sum() and score.accuracy is None
        assert score.loss == pytest.approx(np.mean((predicted - values) ** 2), rel=1e-12)
        assert score.r2 == pytest.approx(r_squared(predicted, values), rel=1e-12)
    first = affine(start, columns.xy[~columns.test])[:, 0] - columns.values[~columns.test]
    assert run.history.curve()[1][0] == pytest.approx(np.mean(first**2), rel=1e-12)


# --- scores -------------------------------------------------------------------------------------
def test_confusion_matrices_count_the_train_and_test_points_apart():
    columns = points("moons", split=30)
    run = trained(columns, 25)
    scores, w = run.scores(), run.weights()
    for held, score in ((False, scores.train), (True, scores.test)):
        rows = columns.test == held
        labels = columns.labels[rows]
        predicted = affine(w, columns.xy[rows]).argmax(axis=1)
        expected = np.array([[np.sum((labels == t) & (predicted == p)) for p in range(2)]
                             for t in range(2)])
        assert np.array_equal(score.confusion, expected)
        assert score.confusion.sum() == score.count == rows.sum()
        assert np.trace(score.confusion) / score.count == score.accuracy
        assert score.loss == pytest.approx(cross_entropy(affine(w, columns.xy[rows]), labels),
                                           rel=1e-12)
    assert scores.train.count == 140 and scores.test.count == 60


def test_without_a_split_there_is_no_test_score():
    run = trained(points("moons"), 5)
    assert run.scores().test is None and "test" not in run.curves()


# --- neuron maps --------------------------------------------------------------------------------
def test_neuron_maps_are_the_hidden_activations_over_the_grid():
    model = exact("mlp", (4, 3), features=("x", "y", "xy"), seed=7)
    run = trained(points("xor"), 20, model, TrainingSettings("adam", 0.05))
    w = run.weights()
    grid = grid_centres(RECT)
    first = np.tanh(np.column_stack([grid, grid[:, 0] * grid[:, 1]]) @ w["W1"] + w["b1"])
    second = np.tanh(first @ w["W2"] + w["b2"])
    thumbnails = slice(1, None, THUMBNAIL_STRIDE)
    for layer, activations in enumerate((first, second)):
        units = activations.shape[1]
        fine = activations.T.reshape(units, GRID_SIZE, GRID_SIZE)
        maps = run.neurons((layer, 1, RECT))
        assert maps.layer == layer and maps.selected == 1 and maps.maps.shape[0] == units
        assert np.allclose(maps.maps, fine[:, thumbnails, thumbnails], rtol=0, atol=1e-12)
        assert np.allclose(maps.selected_map, fine[1], rtol=0, atol=1e-12)
    assert run.neurons((0, None, RECT)).selected_map is None
    assert run.neurons((2, 0, RECT)) is None
    assert trained(points("xor"), 1).neurons((0, 0, RECT)) is None  # a perceptron has none


# --- the defaults are the tutorial --------------------------------------------------------------
def test_the_defaults_train_the_tutorials_perceptron_exactly():
    """Full-batch gradient descent on the mean softmax cross-entropy, from standard normal
    W then b drawn from the seed, as the tutorial's numpy would do it."""
    xy, labels = tutorial_points()
    run = TrainingRun(exact())
    run.set_points(validate_columns(xy, labels))
    run.train(100)
    rng = np.random.default_rng(exact().seed)
    w, b = rng.standard_normal((2, 2)), rng.standard_normal(2)
    one_hot = np.eye(2)[labels]
    losses = []
    for _ in range(100):
        logits = xy @ w + b
        losses.append(cross_entropy(logits, labels))
        grad = (softmax(logits) - one_hot) / len(xy)
        w, b = w - 0.1 * xy.T @ grad, b - 0.1 * grad.sum(axis=0)
    assert np.allclose(run.weights()["W1"], w, rtol=0, atol=1e-12)
    assert np.allclose(run.weights()["b1"], b, rtol=0, atol=1e-12)
    assert np.allclose(run.history.curve()[1], losses, rtol=1e-12)
    assert set(run.curves()) == {"train"} and run.epoch == 100


# --- the linear activation ----------------------------------------------------------------------
@pytest.mark.parametrize("dataset", ["circles", "xor"])
def test_a_linear_mlp_stays_a_linear_classifier(dataset):
    columns, training = points(dataset), TrainingSettings("adam", 0.03)
    linear = trained(columns, 300, exact("mlp", activation="linear"), training)
    assert linear.accuracy() <= 0.65
    assert trained(columns, 300, exact("mlp"), training).accuracy() >= 0.95
    # Its layers multiply out to one affine map.
    w = linear.weights()
    matrix = w["W1"] @ w["W2"] @ w["W3"]
    bias = (w["b1"] @ w["W2"] + w["b2"]) @ w["W3"] + w["b3"]
    expected = softmax(grid_centres(RECT) @ matrix + bias).reshape(GRID_SIZE, GRID_SIZE, 2)
    assert np.allclose(linear.regions(RECT).probabilities, expected, rtol=0, atol=1e-9)


def test_a_perceptron_on_one_input_has_its_boundary_as_a_contour():
    """Only a perceptron on x and y draws exact lines from its weights; on x alone its
    boundary (a vertical line) comes as the regions' contour."""
    grid = trained(points("blobs"), 50, exact(features=("x",))).regions(RECT)
    assert len(grid.contour) > 0
    assert len(trained(points("blobs"), 50, exact()).regions(RECT).contour) == 0
