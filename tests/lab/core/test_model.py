"""Model settings and the graph they build."""

import numpy as np
import pytest

import engine as ts
from lab.core.model import Model, ModelSettings, initial_weights, parse_hidden, weight_shapes


@pytest.mark.parametrize(
    ("text", "sizes"), [("8,8", (8, 8)), (" 16 ", (16,)), ("4, 3;2", (4, 3, 2)), ("8,,", (8,))]
)
def test_parse_hidden_reads_sizes(text, sizes):
    assert parse_hidden(text) == sizes


@pytest.mark.parametrize("text", ["", "8,x", "0", "-3", "1000", "2.5"])
def test_parse_hidden_rejects_nonsense_with_a_message(text):
    with pytest.raises(ValueError, match="hidden layers"):
        parse_hidden(text)


def test_layers_and_names_follow_the_settings():
    assert ModelSettings().layers == [2, 2]
    mlp = ModelSettings("mlp", (8, 4), "relu", classes=3)
    assert mlp.layers == [2, 8, 4, 3]
    assert list(weight_shapes(mlp.layers)) == ["W1", "b1", "W2", "b2", "W3", "b3"]
    shapes = {k: v.shape for k, v in initial_weights(mlp).items()}
    assert shapes == {"W1": (2, 8), "b1": (8,), "W2": (8, 4), "b2": (4,), "W3": (4, 3), "b3": (3,)}


@pytest.mark.parametrize(
    "kwargs",
    [{"kind": "svm"}, {"activation": "gelu"}, {"classes": 5}, {"kind": "mlp", "hidden": ()}],
)
def test_bad_settings_are_refused(kwargs):
    with pytest.raises(ValueError):
        ModelSettings(**kwargs)


def test_initial_weights_depend_only_on_the_seed():
    a, b, c = (initial_weights(ModelSettings("mlp", seed=s)) for s in (3, 3, 4))
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["W1"], c["W1"])


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
def test_model_probabilities_match_a_numpy_forward_pass(activation):
    settings = ModelSettings("mlp", (5, 4), activation, classes=3, seed=1)
    model = Model(settings)
    x = np.random.default_rng(0).normal(size=(7, 2))
    got = ts.Session().run(model.probabilities, {model.x: x})
    act = {"sigmoid": lambda z: 1 / (1 + np.exp(-z)), "tanh": np.tanh,
           "relu": lambda z: np.maximum(z, 0)}[activation]
    w = model.current_weights()
    h = act(act(x @ w["W1"] + w["b1"]) @ w["W2"] + w["b2"]) @ w["W3"] + w["b3"]
    expected = np.exp(h - h.max(axis=1, keepdims=True))
    expected /= expected.sum(axis=1, keepdims=True)
    assert np.allclose(got, expected)


def test_current_weights_are_copies_and_assign_overwrites():
    model = Model(ModelSettings())
    copy = model.current_weights()
    copy["W1"][...] = 7
    assert not np.any(model.variables["W1"].value == 7)
    model.assign(copy)
    assert np.all(model.variables["W1"].value == 7)
