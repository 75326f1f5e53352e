"""Check gradients: backprop against finite differences, for the app's models and for any
engine graph, with a wrongly registered gradient showing up as a mismatch."""

import numpy as np
import pytest

import engine as ts
from lab.core.datasets import generate, tutorial_points
from lab.core.gradient_check import TOLERANCE, check_gradients, check_model_gradients
from lab.core.model import ModelSettings, initial_weights
from lab.core.points import validate_columns
from lab.core.settings import TrainingSettings

# --- a custom op, as a learner would write one -----------------------------------------------
# Gradients are registered globally by class name: these names belong to this module only.


class _Cube(ts.Operation):
    """x³."""

    def __init__(self, a, name=None):
        super().__init__([a], name)

    def compute(self, a_value):
        return a_value**3


class gradient_check_test_cube(_Cube):  # named as ops are: like the function they build
    """x³ with its right gradient."""


class gradient_check_test_bad_cube(_Cube):
    """x³ with a wrong gradient: 3x instead of 3x²."""


@ts.RegisterGradient("gradient_check_test_cube")
def _cube_gradient(op, grad):
    return grad * 3 * op.inputs[0] ** 2


@ts.RegisterGradient("gradient_check_test_bad_cube")
def _bad_cube_gradient(op, grad):
    return grad * 3 * op.inputs[0]


class gradient_check_test_fails_later(ts.Operation):
    """The identity, until it has run `runs` times: then an error, as a buggy op raises."""

    def __init__(self, a, runs):
        super().__init__([a])
        self.runs = runs

    def compute(self, a_value):
        self.runs -= 1
        if self.runs < 0:
            raise RuntimeError("the op broke")
        return a_value * 1.0


@ts.RegisterGradient("gradient_check_test_fails_later")
def _fails_later_gradient(op, grad):
    return grad


def cube_graph(cube):
    """loss = Σ c · cube(W) + Σ V², with W's entries away from 0 and 1 (where 3x = 3x²)."""
    with ts.Graph().as_default():
        w = ts.Variable(np.array([[0.5, -1.5], [2.0, 3.0]]), "W")
        v = ts.Variable(np.array([0.3, -0.7, 1.1]), "V")
        c = ts.constant(np.array([[1.0, -2.0], [0.5, 0.25]]))
        loss = ts.add(ts.reduce_sum(ts.multiply(c, cube(w))), ts.reduce_sum(ts.square(v)))
    return loss, {"W": w, "V": v}


def by_name(checks):
    return {check.name: check for check in checks}


def assert_all_agree(checks):
    for check in checks:
        assert check.ok, f"{check.name}: max relative error {check.max_error:.2e}"
        assert check.max_error < TOLERANCE
        assert np.isfinite(check.numeric).all()


# --- the app's models ---------------------------------------------------------------------------


def columns_of(kind, count=120, seed=3):
    xy, targets = generate(kind, count, 0.1, seed)
    if targets.dtype.kind == "f":  # a regression set
        return validate_columns(xy, np.zeros(len(xy), np.int64), targets)
    return validate_columns(xy, targets)


def test_a_perceptron_agrees_on_every_entry():
    settings = ModelSettings()
    columns = validate_columns(*tutorial_points())
    checks = check_model_gradients(settings, initial_weights(settings), TrainingSettings(),
                                   columns)
    assert [c.name for c in checks] == ["W1", "b1"]
    assert [(c.checked, c.size, c.shape) for c in checks] == [(4, 4, (2, 2)), (2, 2, (2,))]
    assert_all_agree(checks)
    assert all(np.abs(c.backprop).max() > 1e-3 for c in checks)  # real gradients, not zeros


def test_an_mlp_with_two_tanh_hidden_layers_agrees():
    settings = ModelSettings("mlp", (8, 6), "tanh", classes=2, seed=4)
    checks = check_model_gradients(settings, initial_weights(settings), TrainingSettings(),
                                   columns_of("moons"))
    assert [c.name for c in checks] == ["W1", "b1", "W2", "b2", "W3", "b3"]
    assert_all_agree(checks)
    assert not any(c.one_sided.any() for c in checks)  # smooth: central differences suffice


def test_a_relu_mlp_agrees_where_no_unit_is_near_its_kink():
    settings = ModelSettings("mlp", (5, 4), "relu", classes=3, seed=2)
    rng = np.random.default_rng(5)
    weights = {name: rng.normal(size=value.shape) for name, value in
               initial_weights(settings).items()}
    xy = rng.uniform(-3, 3, size=(400, 2))
    z1 = xy @ weights["W1"] + weights["b1"]
    z2 = np.maximum(z1, 0) @ weights["W2"] + weights["b2"]
    clear = (np.abs(z1).min(axis=1) > 0.05) & (np.abs(z2).min(axis=1) > 0.05)
    assert clear.sum() > 50
    columns = validate_columns(xy[clear], rng.integers(0, 3, clear.sum()))
    checks = check_model_gradients(settings, weights, TrainingSettings(), columns)
    assert_all_agree(checks)
    assert not any(c.one_sided.any() for c in checks)


def test_a_relu_at_its_kink_is_compared_with_the_slope_backprop_takes():
    """A point at the origin, with the fresh MLP's zero biases, puts every first-layer relu at
    exactly 0: the loss has a kink in each b1 entry, and backprop takes the left slope."""
    settings = ModelSettings("mlp", (4,), "relu", seed=1)
    xy, labels = generate("blobs", 60, 1.0, 2)
    columns = validate_columns(np.vstack([xy, [0.0, 0.0]]), np.append(labels, 1))
    checks = by_name(check_model_gradients(settings, initial_weights(settings),
                                           TrainingSettings(), columns))
    assert_all_agree(checks.values())
    assert checks["b1"].one_sided.any()
    assert not checks["W1"].one_sided.any()  # the origin's x and y are 0: W1 moves no kink


@pytest.mark.parametrize("regularization", ["l2", "l1"])
def test_the_penalty_is_part_of_the_checked_loss(regularization):
    settings = ModelSettings("mlp", (6,), "sigmoid", seed=7)
    weights = initial_weights(settings)
    columns = columns_of("xor")
    rate = 0.05
    plain = by_name(check_model_gradients(settings, weights, TrainingSettings(), columns))
    training = TrainingSettings(regularization=regularization, regularization_rate=rate)
    penalized = by_name(check_model_gradients(settings, weights, training, columns))
    assert_all_agree(penalized.values())
    w1 = weights["W1"].astype(np.float64).reshape(-1)[penalized["W1"].indices]
    slope = 2 * w1 if regularization == "l2" else np.sign(w1)
    np.testing.assert_allclose(penalized["W1"].backprop - plain["W1"].backprop, rate * slope,
                               rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(penalized["b1"].backprop, plain["b1"].backprop)  # no penalty


def test_a_regression_model_agrees():
    settings = ModelSettings("mlp", (8, 8), "tanh", task="regression",
                             features=("x", "y", "x2", "y2", "xy", "sinx", "siny"))
    checks = check_model_gradients(settings, initial_weights(settings), TrainingSettings(),
                                   columns_of("gaussian"))
    assert_all_agree(checks)
    assert checks[-1].shape == (1,)  # b3: the single predicted value


def test_a_float32_model_is_checked_in_float64():
    settings = ModelSettings("mlp", (8,), "tanh", precision="float32")
    weights = initial_weights(settings)
    assert weights["W1"].dtype == np.float32
    checks = check_model_gradients(settings, weights, TrainingSettings(), columns_of("circles"))
    assert_all_agree(checks)


def test_test_points_are_left_out():
    settings = ModelSettings("mlp", (4,), "tanh")
    weights = initial_weights(settings)
    columns = columns_of("moons", count=80)
    test = np.arange(80) % 4 == 0
    split = columns._replace(test=test)
    training_only = validate_columns(columns.xy[~test], columns.labels[~test])
    with_test = check_model_gradients(settings, weights, TrainingSettings(), split)
    without = check_model_gradients(settings, weights, TrainingSettings(), training_only)
    for a, b in zip(with_test, without, strict=True):
        np.testing.assert_array_equal(a.backprop, b.backprop)


def test_many_points_are_checked_on_the_same_sample_each_time():
    settings = ModelSettings("mlp", (4,), "tanh")
    weights = initial_weights(settings)
    columns = columns_of("moons", count=80)
    sampled = [check_model_gradients(settings, weights, TrainingSettings(), columns, points=30)
               for _ in range(2)]
    everything = check_model_gradients(settings, weights, TrainingSettings(), columns)
    for first, again, whole in zip(*sampled, everything, strict=True):
        assert first.ok and whole.ok
        np.testing.assert_array_equal(first.backprop, again.backprop)
        assert not np.allclose(first.backprop, whole.backprop)


def test_no_training_points_is_a_clear_error():
    settings = ModelSettings()
    weights = initial_weights(settings)
    xy, labels = tutorial_points()
    all_test = validate_columns(xy, labels, test=np.ones(len(xy), bool))
    with pytest.raises(ValueError, match="no training points"):
        check_model_gradients(settings, weights, TrainingSettings(), all_test)
    with pytest.raises(ValueError, match="no training points"):
        check_model_gradients(settings, weights, TrainingSettings(),
                              validate_columns(np.empty((0, 2)), []))


def test_more_classes_than_the_model_has_is_a_clear_error():
    settings = ModelSettings(classes=2)
    columns = validate_columns([[0.0, 1.0], [1.0, 0.0]], [0, 3])
    with pytest.raises(ValueError, match="4 classes but the model has 2"):
        check_model_gradients(settings, initial_weights(settings), TrainingSettings(), columns)


# --- any engine graph -----------------------------------------------------------------------------


def test_a_wrongly_registered_gradient_is_a_mismatch_and_the_right_one_agrees():
    loss, variables = cube_graph(gradient_check_test_bad_cube)
    bad = by_name(check_gradients(loss, {}, variables))
    assert not bad["W"].ok
    assert bad["W"].max_error > 0.1
    assert not bad["W"].one_sided.any()  # no one-sided difference excuses it either
    assert bad["V"].ok  # the rest of the graph is still right

    loss, variables = cube_graph(gradient_check_test_cube)
    good = by_name(check_gradients(loss, {}, variables))
    assert_all_agree(good.values())
    w = variables["W"].value
    np.testing.assert_allclose(good["W"].numeric, (3 * w**2 * [[1, -2], [0.5, 0.25]]).ravel(),
                               rtol=1e-8)


def test_variables_come_back_with_their_exact_values():
    loss, variables = cube_graph(gradient_check_test_cube)
    arrays = {name: v.value for name, v in variables.items()}
    before = {name: a.copy() for name, a in arrays.items()}
    check_gradients(loss, {}, variables)
    for name, v in variables.items():
        assert v.value is arrays[name]  # the same arrays, changed in place and put back
        assert v.value.tobytes() == before[name].tobytes()


def test_variables_come_back_even_when_the_graph_fails_midway():
    with ts.Graph().as_default():
        w = ts.Variable(np.array([0.1, 0.2, 0.3]))
        # the first run (the loss) and two nudges succeed, the third nudge fails
        loss = ts.reduce_sum(ts.square(gradient_check_test_fails_later(w, runs=3)))
    before = w.value.copy()
    with pytest.raises(RuntimeError, match="the op broke"):
        check_gradients(loss, {}, {"w": w})
    assert w.value.tobytes() == before.tobytes()


def test_a_big_variable_has_a_repeatable_sample_checked():
    with ts.Graph().as_default():
        x = ts.placeholder("x")
        w = ts.Variable(np.random.default_rng(0).normal(size=(10, 12)), "W")
        loss = ts.reduce_mean(ts.tanh(ts.matmul(x, w)))
    feed = {x: np.random.default_rng(1).normal(size=(5, 10))}
    (first,) = check_gradients(loss, feed, {"W": w}, entries=16, seed=3)
    (again,) = check_gradients(loss, feed, {"W": w}, entries=16, seed=3)
    (other,) = check_gradients(loss, feed, {"W": w}, entries=16, seed=4)
    assert (first.checked, first.size) == (16, 120)
    assert len(set(first.indices.tolist())) == 16
    assert np.all(np.diff(first.indices) > 0)  # ascending, no repeats
    assert first.indices[0] >= 0 and first.indices[-1] < 120
    np.testing.assert_array_equal(first.indices, again.indices)
    assert not np.array_equal(first.indices, other.indices)
    assert first.ok and other.ok
    (every,) = check_gradients(loss, feed, {"W": w}, entries=120)
    assert every.checked == every.size == 120
    np.testing.assert_array_equal(every.indices, np.arange(120))


def test_gradients_too_small_to_resolve_agree_and_zeros_agree():
    """A nearly converged model's gradients (here ~1e-9) are below what finite differences
    resolve: they are held to the differences' rounding error, not to noise. A variable the
    loss does not depend on has zero gradients both ways."""
    with ts.Graph().as_default():
        w = ts.Variable(np.array([0.3, -0.8, 1.7]), "w")
        unused = ts.Variable(np.array([1.0, 2.0]), "unused")
        loss = ts.add(ts.constant(0.7), ts.multiply(1e-9, ts.reduce_sum(ts.tanh(w))))
    checks = by_name(check_gradients(loss, {}, {"w": w, "unused": unused}))
    assert_all_agree(checks.values())
    assert np.all(np.abs(checks["w"].backprop) < 1e-9)
    np.testing.assert_array_equal(checks["unused"].backprop, 0.0)
    assert checks["unused"].max_error == 0.0


def test_a_float32_graph_is_refused():
    with ts.Graph().as_default():
        w = ts.Variable(np.array([0.5, 1.5], dtype=np.float32), "w")
        loss = ts.reduce_sum(ts.square(w))
    with pytest.raises(ValueError, match="float64"):
        check_gradients(loss, {}, {"w": w})


def test_a_loss_that_is_not_one_number_is_refused():
    with ts.Graph().as_default():
        w = ts.Variable(np.array([0.5, 1.5]), "w")
        loss = ts.square(w)
    with pytest.raises(ValueError, match="one float64 number"):
        check_gradients(loss, {}, {"w": w})
