import itertools

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import QLabel, QScrollArea, QStyledItemDelegate, QTableView, QTabWidget

from lab.widgets.weights_view import WeightsView, sign_colors


def mlp_weights(seed=0, sizes=(2, 16, 16, 2)):
    rng = np.random.default_rng(seed)
    weights = {}
    for n, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes), start=1):
        weights[f"W{n}"] = rng.normal(size=(fan_in, fan_out))
        weights[f"b{n}"] = rng.normal(size=fan_out)
    return weights


@pytest.fixture
def view(qtbot):
    widget = WeightsView()
    qtbot.addWidget(widget)
    widget.resize(300, 500)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def table(view, name):
    found = view.findChild(QTableView, f"weights_{name}")
    assert found is not None, f"no table for {name}"
    return found


def shown_text(view, name):
    model = table(view, name).model()
    return [
        [model.index(r, c).data() for c in range(model.columnCount())]
        for r in range(model.rowCount())
    ]


def shown_colour(view, name, row, col):
    model = table(view, name).model()
    return model.index(row, col).data(Qt.ItemDataRole.ForegroundRole)


def sign_colour(view, name, sign):
    return sign_colors(table(view, name).palette())[sign]


def titles(view):
    return [label.text() for label in view.findChildren(QLabel) if label.isVisible()]


def visible_tables(view):
    return [t for t in view.findChildren(QTableView) if t.isVisible()]


def test_identity_and_empty_state(view):
    assert view.objectName() == "weightsView"
    assert view.findChildren(QTableView) == []
    assert any("No model" in text for text in titles(view))


def test_numbers_are_shown_with_sign_and_fixed_precision(qtbot, view):
    W = np.array([[1.23449, -0.5], [0.0, 12.0]])
    b = np.array([-3.14159, 2.0])
    view.show_weights({"W1": W, "b1": b})
    qtbot.wait(1)  # new widgets appear once the event loop runs
    assert shown_text(view, "W1") == [["+1.234", "-0.500"], ["+0.000", "+12.000"]]
    assert shown_text(view, "b1") == [["-3.142", "+2.000"]]  # a bias is one row
    assert any("W1" in t and "2×2" in t for t in titles(view))
    assert not any("No model" in text for text in titles(view))


def test_sign_colours_differ(view):
    view.show_weights({"W": np.array([[0.5, -0.5]])})
    positive = shown_colour(view, "W", 0, 0)
    negative = shown_colour(view, "W", 0, 1)
    assert positive == sign_colour(view, "W", 1)
    assert negative == sign_colour(view, "W", -1)
    assert abs(positive.hue() - negative.hue()) > 90  # opposite hues, not two shades


def test_value_updates_reuse_the_tables(view):
    weights = mlp_weights(0)
    view.show_weights(weights)
    before = {name: table(view, name) for name in weights}
    updated = mlp_weights(1)
    view.show_weights(updated)
    for name, values in updated.items():
        assert table(view, name) is before[name]
        flat = np.atleast_2d(values)
        assert shown_text(view, name)[0][0] == f"{flat[0, 0]:+.3f}"


def test_update_does_not_alias_the_callers_array(view):
    W = np.array([[1.0, 2.0]])
    view.show_weights({"W": W})
    W[0, 0] = -9.0  # the trainer mutates its weights in place
    assert shown_text(view, "W")[0][0] == "+1.000"


def test_shape_change_rebuilds(qtbot, view):
    view.show_weights(mlp_weights(0, sizes=(2, 16, 2)))
    assert {t.objectName() for t in view.findChildren(QTableView)} == {
        "weights_W1",
        "weights_b1",
        "weights_W2",
        "weights_b2",
    }
    view.show_weights(mlp_weights(0, sizes=(2, 8, 8, 3)))
    qtbot.wait(1)
    assert len(visible_tables(view)) == 6
    assert table(view, "W2").model().rowCount() == 8
    assert table(view, "b3").model().columnCount() == 3

    view.clear()
    qtbot.wait(1)
    assert visible_tables(view) == []
    assert any("No model" in text for text in titles(view))


def test_tables_show_every_cell_and_the_panel_scrolls(qtbot, view):
    view.show_weights({"W": np.ones((64, 64)), "b": np.ones(64)})
    area = view.findChild(QScrollArea)
    qtbot.waitUntil(lambda: area.verticalScrollBar().maximum() > 0)  # laid out
    big = table(view, "W")
    header = big.horizontalHeader()
    assert big.viewport().width() >= header.length()
    assert big.viewport().height() >= big.verticalHeader().length()
    assert area.horizontalScrollBar().maximum() > 0


def test_columns_widen_for_large_values(qtbot, view):
    view.show_weights({"W": np.array([[0.5, -0.5]])})
    narrow = table(view, "W").horizontalHeader().sectionSize(0)
    view.show_weights({"W": np.array([[1234.5, -0.5]])})
    wide = table(view, "W").horizontalHeader().sectionSize(0)
    assert wide > narrow
    text = shown_text(view, "W")[0][0]
    metrics = table(view, "W").fontMetrics()
    assert metrics.horizontalAdvance(text) < wide


def test_non_finite_weights_do_not_break_the_view(view):
    view.show_weights({"W": np.array([[np.nan, np.inf, -np.inf]])})
    assert shown_text(view, "W") == [["+nan", "+inf", "-inf"]]


def test_tables_paint_without_calling_python(qtbot, view):
    """The training thread holds the GIL; a paint that calls Python would wait for it."""
    view.show_weights(mlp_weights(0))
    for name in mlp_weights(0):
        shown = table(view, name)
        assert type(shown.model()) is QStandardItemModel
        assert type(shown.itemDelegate()) is QStyledItemDelegate


def test_a_partly_changed_array_shows_every_new_value(view):
    W = np.array([[0.5, -0.25, 1.0]])
    view.show_weights({"W": W})
    view.show_weights({"W": np.array([[0.5, 0.25, 1.0]])})  # one number and one sign change
    assert shown_text(view, "W") == [["+0.500", "+0.250", "+1.000"]]
    assert shown_colour(view, "W", 0, 1) == sign_colour(view, "W", 1)
    view.show_weights({"W": W})
    assert shown_text(view, "W") == [["+0.500", "-0.250", "+1.000"]]
    assert shown_colour(view, "W", 0, 1) == sign_colour(view, "W", -1)


def test_cells_scrolled_or_resized_into_view_show_the_latest_numbers(qtbot, view):
    """Updates write only the cells on screen; scrolling or resizing brings the rest up."""
    view.show_weights({"W": np.zeros((64, 64))})
    qtbot.waitUntil(lambda: table(view, "W").isVisible())
    qtbot.wait(20)  # layout settled: the table is mostly off screen in a 300x500 panel
    latest = np.arange(64 * 64, dtype=float).reshape(64, 64) / 1000
    view.show_weights({"W": latest})
    assert shown_text(view, "W")[0][0] == "+0.000" and shown_text(view, "W")[0][1] == "+0.001"

    area = view.findChild(QScrollArea)
    area.horizontalScrollBar().setValue(area.horizontalScrollBar().maximum())
    area.verticalScrollBar().setValue(area.verticalScrollBar().maximum())
    assert shown_text(view, "W")[63][63] == f"{latest[63, 63]:+.3f}"

    view.show_weights({"W": latest + 1})
    area.horizontalScrollBar().setValue(0)
    area.verticalScrollBar().setValue(0)
    view.resize(900, 900)
    qtbot.wait(20)
    text = shown_text(view, "W")
    assert text[0][0] == "+1.000"
    assert text[30][5] == f"{latest[30, 5] + 1:+.3f}"  # below the old 500 px, above 900


def test_tables_behind_another_tab_show_the_latest_weights_when_brought_forward(qtbot):
    tabs = QTabWidget()
    qtbot.addWidget(tabs)
    view = WeightsView()
    tabs.addTab(view, "Weights")
    tabs.addTab(QLabel("other"), "Other")
    tabs.resize(400, 400)
    tabs.show()
    view.show_weights({"W": np.zeros((3, 3))})
    qtbot.waitUntil(lambda: table(view, "W").isVisible())
    assert shown_text(view, "W")[0][0] == "+0.000"
    tabs.setCurrentIndex(1)  # the weights go out of sight
    view.show_weights({"W": np.full((3, 3), 0.25)})
    assert shown_text(view, "W")[0][0] == "+0.000"  # nothing written while out of sight
    tabs.setCurrentIndex(0)
    qtbot.waitUntil(lambda: shown_text(view, "W") == [["+0.250"] * 3] * 3)
