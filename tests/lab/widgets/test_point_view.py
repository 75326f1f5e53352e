
import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSpinBox, QTextBrowser

from lab.core.explain import explain_point
from lab.core.model import ModelSettings, weight_shapes
from lab.core.points import validate_columns
from lab.widgets.point_view import PointView

MLP = ModelSettings(kind="mlp", hidden=(4, 3), activation="tanh", classes=3)


def random_weights(settings, seed=0):
    """Every weight and bias away from zero, so no term of the gradient vanishes by chance."""
    rng = np.random.default_rng(seed)
    return {name: rng.normal(size=shape) for name, shape in weight_shapes(settings.layers).items()}


@pytest.fixture
def columns():
    rng = np.random.default_rng(2)
    test = np.zeros(12, dtype=bool)
    test[[3, 7]] = True
    return validate_columns(rng.uniform(-2, 2, (12, 2)), rng.integers(0, 3, 12),
                            rng.normal(size=12), test)


@pytest.fixture
def view(qtbot, columns):
    widget = PointView()
    qtbot.addWidget(widget)
    widget.set_point_count(len(columns.xy))
    widget.resize(400, 600)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def spin_box(view):
    return view.findChild(QSpinBox, "explainIndex")


def text(view):
    return view.findChild(QTextBrowser, "explainText").toPlainText()


def test_nothing_is_shown_until_a_point_is_chosen(view):
    assert view.objectName() == "pointView"
    assert view.shown() is None
    assert spin_box(view).value() == -1 and spin_box(view).text() == "none"
    assert "Alt-click" in text(view)


def test_an_explanation_shows_every_layer_and_the_loss(view, columns):
    explanation = explain_point(MLP, random_weights(MLP), columns, 5)
    view.show_explanation(explanation)
    shown = text(view)
    for name in ("Inputs", "z1 = x·W1 + b1", "h1 = tanh(z1)", "z2 = h1·W2 + b2",
                 "h2 = tanh(z2)", "z3 = h2·W3 + b3", "softmax(z3)", "Share of the gradient"):
        assert name in shown, name
    assert f"= {explanation.loss:.4g}" in shown
    assert "÷ n = 10 training points" in shown
    assert f"{explanation.output[explanation.target]:.4g}" in shown
    assert spin_box(view).value() == 5
    assert view.shown()["loss"] == explanation.loss
    assert np.array_equal(view.shown()["z2"], explanation.pre_activations[1])


def test_a_held_out_point_says_it_is_not_trained_on(view, columns):
    view.show_explanation(explain_point(MLP, random_weights(MLP), columns, 3))
    assert "held out: not part of the training gradient" in text(view)
    assert "÷ n" not in text(view)


def test_a_regression_point_shows_its_prediction_and_target(view, columns):
    settings = ModelSettings(kind="perceptron", task="regression")
    explanation = explain_point(settings, random_weights(settings), columns, 0)
    view.show_explanation(explanation)
    shown = text(view)
    assert f"ŷ = z1 = {explanation.output[0]:.4g}" in shown
    assert f"target y = {columns.values[0]:.4g}" in shown
    assert f"= {explanation.loss:.4g}" in shown
    assert "h1" not in shown and "softmax" not in shown


def test_large_arrays_are_summed_up(view, columns):
    settings = ModelSettings(kind="mlp", hidden=(40,), classes=3)
    weights = random_weights(settings)
    view.show_explanation(explain_point(settings, weights, columns, 0))
    assert f"W2 (40 inputs × 3 units): 40×3 values, norm " \
           f"{np.linalg.norm(weights['W2']):.4g}" in text(view)


def test_typing_a_number_in_the_spin_box_asks_for_that_point(view, qtbot):
    box = spin_box(view)
    box.selectAll()
    with qtbot.waitSignal(view.indexChosen) as chosen:
        qtbot.keyClicks(box, "11")
        qtbot.keyClick(box, Qt.Key.Key_Return)
    assert chosen.args == [11]


def test_stepping_the_spin_box_asks_for_the_next_point(view, qtbot):
    with qtbot.waitSignal(view.indexChosen) as chosen:
        qtbot.keyClick(spin_box(view), Qt.Key.Key_Up)
    assert chosen.args == [0]


def test_showing_a_point_does_not_ask_for_it_again(view, qtbot, columns):
    with qtbot.assertNotEmitted(view.indexChosen):
        view.show_explanation(explain_point(MLP, random_weights(MLP), columns, 4))
        view.show_explanation(None)


def test_none_clears_the_explanation(view, columns):
    view.show_explanation(explain_point(MLP, random_weights(MLP), columns, 4))
    view.show_explanation(None)
    assert view.shown() is None
    assert "z1" not in text(view) and "Alt-click" in text(view)
    assert spin_box(view).value() == -1


def test_the_spin_box_follows_the_number_of_points(view, qtbot):
    box = spin_box(view)
    box.setValue(11)
    with qtbot.waitSignal(view.indexChosen) as chosen:
        view.set_point_count(5)
    assert chosen.args == [-1] and box.maximum() == 4
    box.setValue(2)
    view.set_point_count(6)
    assert box.value() == 2
    view.set_point_count(0)
    assert box.value() == -1 and not box.isEnabled()


def test_a_new_step_keeps_the_reader_where_they_were(view, columns):
    settings = ModelSettings(kind="mlp", hidden=(8, 8), classes=3)
    weights = random_weights(settings)
    view.show_explanation(explain_point(settings, weights, columns, 0))
    bar = view.findChild(QTextBrowser, "explainText").verticalScrollBar()
    bar.setValue(bar.maximum() // 2)
    kept = bar.value()
    assert kept > 0
    moved = {name: value * 1.01 for name, value in weights.items()}
    view.show_explanation(explain_point(settings, moved, columns, 0))
    assert bar.value() == kept
