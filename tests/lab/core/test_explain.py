from dataclasses import replace

import numpy as np
import pytest

import engine as ts
from lab.core.explain import explain_point
from lab.core.model import Model, ModelSettings, weight_shapes
from lab.core.points import validate_columns

PERCEPTRON = ModelSettings(kind="perceptron", classes=3)
MLP = ModelSettings(kind="mlp", hidden=(5, 4), activation="tanh", classes=3)
REGRESSION = ModelSettings(kind="mlp", hidden=(6,), activation="sigmoid", task="regression")


def random_weights(settings, seed=0):
    """Every weight and bias away from zero, so no term of the gradient vanishes by chance."""
    rng = np.random.default_rng(seed)
    return {name: rng.normal(size=shape) for name, shape in weight_shapes(settings.layers).items()}


def random_columns(count=24, classes=3, held_out=6, seed=1):
    rng = np.random.default_rng(seed)
    test = np.zeros(count, dtype=bool)
    test[rng.choice(count, held_out, replace=False)] = True
    return validate_columns(rng.uniform(-2, 2, (count, 2)), rng.integers(0, classes, count),
                            rng.normal(size=count), test)


def mean_loss_gradient(settings, weights, columns):
    """What training follows (without a penalty): the gradient of the mean data loss over
    the training points, fed all at once."""
    model = Model(replace(settings, precision="float64"), weights)
    train = ~columns.test
    ts.Session().run(model.data_loss, {
        model.x: model.inputs(columns.xy[train]),
        model.target: model.targets(columns.labels[train], columns.values[train]),
    })
    gradients = ts.compute_gradients(model.data_loss)
    return {name: gradients[variable] for name, variable in model.variables.items()}


@pytest.mark.parametrize("settings", [PERCEPTRON, MLP, REGRESSION],
                         ids=["perceptron", "mlp", "regression"])
def test_the_shares_of_the_training_points_add_up_to_the_training_gradient(settings):
    weights = random_weights(settings)
    columns = random_columns()
    expected = mean_loss_gradient(settings, weights, columns)
    explained = [explain_point(settings, weights, columns, i) for i in range(len(columns.xy))]
    total = {name: sum(e.as_dict()["shares"][name] for e in explained) for name in expected}
    for name in expected:
        assert np.allclose(total[name], expected[name], rtol=0, atol=1e-10), name
    assert {e.n for e in explained} == {18}


def test_the_numbers_are_float64_whatever_the_models_precision():
    weights = {k: v.astype(np.float32) for k, v in random_weights(MLP).items()}
    shown = explain_point(MLP, weights, random_columns(), 0).as_dict()
    assert shown["z1"].dtype == shown["gradients"]["W1"].dtype == np.float64


def test_the_first_layer_is_the_inputs_times_w1_plus_b1_then_tanh():
    weights = random_weights(MLP)
    shown = explain_point(MLP, weights, random_columns(), 3).as_dict()
    z1 = shown["inputs"] @ weights["W1"] + weights["b1"]
    assert np.allclose(shown["z1"], z1, rtol=0, atol=1e-14)
    assert np.allclose(shown["h1"], np.tanh(z1), rtol=0, atol=1e-14)
    z2 = shown["h1"] @ weights["W2"] + weights["b2"]
    assert np.allclose(shown["z2"], z2, rtol=0, atol=1e-14)
    assert set(shown) >= {"z1", "h1", "z2", "h2", "z3"} and "h3" not in shown


def test_a_point_of_a_perceptron_has_only_the_output_layer():
    shown = explain_point(PERCEPTRON, random_weights(PERCEPTRON), random_columns(), 0).as_dict()
    assert "z1" in shown and "h1" not in shown and "z2" not in shown


def test_probabilities_sum_to_one_and_the_loss_is_minus_log_p_of_the_true_class():
    columns = random_columns()
    for index in range(5):
        shown = explain_point(MLP, random_weights(MLP), columns, index).as_dict()
        p = shown["probabilities"]
        assert p.sum() == pytest.approx(1.0, abs=1e-14)
        assert shown["target"] == columns.labels[index]
        assert shown["loss"] == pytest.approx(-np.log(p[shown["target"]]), rel=1e-12)


def test_a_regression_point_has_a_prediction_and_a_squared_error():
    columns = random_columns()
    shown = explain_point(REGRESSION, random_weights(REGRESSION), columns, 2).as_dict()
    assert "probabilities" not in shown
    assert shown["prediction"] == pytest.approx(shown["z2"][0], rel=1e-15)
    assert shown["target"] == columns.values[2]
    assert shown["loss"] == pytest.approx((shown["prediction"] - shown["target"]) ** 2,
                                          rel=1e-12)


def test_the_inputs_are_the_features():
    settings = ModelSettings(kind="perceptron", features=("x", "y", "x2"))
    columns = random_columns(classes=2)
    shown = explain_point(settings, random_weights(settings), columns, 4).as_dict()
    x, y = columns.xy[4]
    assert np.array_equal(shown["inputs"], [x, y, x * x])
    assert np.array_equal(shown["xy"], [x, y])


def test_a_held_out_point_is_explained_but_has_no_share():
    columns = random_columns()
    index = int(np.flatnonzero(columns.test)[0])
    shown = explain_point(MLP, random_weights(MLP), columns, index).as_dict()
    assert shown["test"] is True and shown["n"] == 18
    assert np.abs(shown["gradients"]["W1"]).max() > 0
    assert all(not share.any() for share in shown["shares"].values())
    training = int(np.flatnonzero(~columns.test)[0])
    assert explain_point(MLP, random_weights(MLP), columns, training).test is False


def test_the_explanation_cannot_be_changed():
    shown = explain_point(MLP, random_weights(MLP), random_columns(), 0).as_dict()
    with pytest.raises(ValueError):
        shown["z1"][0] = 0.0


@pytest.mark.parametrize("index", [-1, 24, 100])
def test_a_point_that_does_not_exist_is_an_index_error(index):
    with pytest.raises(IndexError, match=r"no point .* numbered 0 to 23"):
        explain_point(MLP, random_weights(MLP), random_columns(), index)


def test_no_points_no_explanation():
    columns = validate_columns(np.empty((0, 2)), np.empty(0, dtype=np.int64))
    with pytest.raises(IndexError, match="numbered none"):
        explain_point(MLP, random_weights(MLP), columns, 0)


def test_a_class_the_model_does_not_have_is_a_value_error():
    settings = ModelSettings(kind="perceptron", classes=2)
    columns = validate_columns([[0.0, 0.0]], [3])
    with pytest.raises(ValueError, match=r"class 3 .* 2 classes"):
        explain_point(settings, random_weights(settings), columns, 0)
