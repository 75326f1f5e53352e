"""The Check gradients table: a row per variable, a mismatching one in red on light and dark
themes, and empty again after clear."""

import numpy as np
import pytest
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QTableWidget

from lab.core.gradient_check import VariableCheck
from lab.widgets.gradient_check_view import COLUMNS, GradientCheckView


def variable_check(name, shape, backprop, numeric, one_sided=()):
    backprop, numeric = np.asarray(backprop, float), np.asarray(numeric, float)
    errors = np.abs(backprop - numeric) / np.maximum(np.abs(backprop) + np.abs(numeric), 1e-12)
    flags = np.zeros(len(backprop), bool)
    flags[list(one_sided)] = True
    return VariableCheck(name, shape, np.arange(len(backprop)), backprop, numeric, errors, flags)


GOOD = variable_check("W1", (2, 2), [0.25, -0.5, 1.0, 2.0],
                      [0.25 + 1e-12, -0.5, 1.0, 2.0 - 2e-10], one_sided=[1])
BAD = variable_check("b1", (2,), [1.5, -0.75], [6.75, -0.75])


@pytest.fixture
def view(qtbot):
    widget = GradientCheckView()
    qtbot.addWidget(widget)
    widget.resize(700, 300)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def table(view):
    found = view.findChild(QTableWidget)
    assert found is not None
    return found


def row_colours(view, row):
    item = table(view).item(row, 0)
    return item.background().color(), item.foreground().color()


def red_dominant(colour: QColor) -> bool:
    return colour.red() - max(colour.green(), colour.blue()) >= 60


def contrast(a: QColor, b: QColor) -> float:
    """WCAG contrast ratio of two colours."""

    def luminance(c: QColor) -> float:
        channels = [v / 255 for v in (c.red(), c.green(), c.blue())]
        linear = [v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4 for v in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_one_row_per_variable_and_a_mismatch_says_so(view):
    assert view.objectName() == "gradientCheck"
    view.show_checks([GOOD, BAD])
    rows = view.rows()
    assert len(rows) == 2 and table(view).rowCount() == 2
    assert list(rows[0]) == [*COLUMNS, "mismatch"]
    assert rows[0]["Variable"] == "W1" and rows[1]["Variable"] == "b1"
    assert rows[0]["Entries"] == "4/4"
    assert rows[0]["Result"] == "agrees" and rows[0]["mismatch"] is False
    assert rows[1]["Result"] == "MISMATCH" and rows[1]["mismatch"] is True
    assert rows[1]["Max relative error"] == f"{BAD.max_error:.1e}" == "6.4e-01"
    assert rows[0]["Max relative error"] == "5.0e-11"
    assert rows[1]["Backprop"] == f"{np.hypot(1.5, 0.75):.6g}"
    assert rows[1]["Finite differences"] == f"{np.hypot(6.75, 0.75):.6g}"
    assert "1 one-sided" in rows[0]["Finite differences"]
    assert "b1" in view.summary.text() and "W1" not in view.summary.text()


def test_a_mismatch_is_red_and_an_agreement_is_not(view):
    view.show_checks([GOOD, BAD])
    good_background, _ = row_colours(view, 0)
    bad_background, bad_text = row_colours(view, 1)
    assert red_dominant(bad_background)
    assert not red_dominant(good_background)
    assert contrast(bad_background, bad_text) >= 4.5
    for column in range(len(COLUMNS)):  # the whole row, not just one cell
        assert table(view).item(1, column).background().color() == bad_background


def test_the_red_stays_readable_on_a_dark_theme(view, qapp):
    """A system theme switch (the application's palette) recolours the rows shown."""
    view.show_checks([GOOD, BAD])
    light_background, _ = row_colours(view, 1)
    light = QPalette(qapp.palette())
    dark = QPalette(light)
    dark.setColor(QPalette.ColorRole.Base, QColor("#1e1e1e"))
    dark.setColor(QPalette.ColorRole.Text, QColor("#e0e0e0"))
    qapp.setPalette(dark)
    try:
        qapp.processEvents()
        background, text = row_colours(view, 1)
        good_background, good_text = row_colours(view, 0)
    finally:
        qapp.setPalette(light)
        qapp.processEvents()
    assert background != light_background  # recoloured for the dark table
    assert red_dominant(background)
    assert background.lightness() < 128  # a deep red, not a glare on a dark table
    assert contrast(background, text) >= 4.5
    assert contrast(good_background, good_text) >= 4.5
    assert row_colours(view, 1)[0] == light_background  # and back


def test_a_sampled_variable_shows_how_many_entries_were_checked(view):
    sampled = VariableCheck("W2", (16, 16), np.array([3, 70, 200]), np.ones(3), np.ones(3),
                            np.zeros(3), np.zeros(3, bool))
    view.show_checks([sampled])
    assert view.rows()[0]["Entries"] == "3/256"
    assert "W2[4, 6]" in table(view).item(0, 2).toolTip()  # flat position 70 of 16 × 16


def test_clear_empties_the_table(view):
    view.show_checks([GOOD, BAD])
    view.clear()
    assert view.rows() == []
    assert table(view).rowCount() == 0
    assert view.summary.text() == ""
    view.show_checks([BAD])  # and it fills again
    assert [row["Variable"] for row in view.rows()] == ["b1"]
