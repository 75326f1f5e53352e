import itertools

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from lab.core.loss_history import LossHistory
from lab.widgets.loss_plot import LossPlot


@pytest.fixture
def plot(qtbot):
    widget = LossPlot()
    qtbot.addWidget(widget)
    widget.resize(500, 300)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def shown_curve(plot, name="train"):
    (curve,) = [item for item in plot.plotItem.listDataItems() if item.name() == name]
    return curve.getData()


def test_identity_and_axis_labels(plot):
    assert plot.objectName() == "lossPlot"
    assert "step" in plot.getAxis("bottom").labelString()
    assert "loss" in plot.getAxis("left").labelString()


def test_set_curve_shows_the_history(plot):
    history = LossHistory()
    history.extend(np.linspace(2.0, 0.1, 5000))
    steps, losses = history.curve()
    plot.set_curve(steps, losses)
    x, y = shown_curve(plot)
    np.testing.assert_array_equal(x, steps)
    np.testing.assert_array_equal(y, losses)
    (x0, x1), (y0, y1) = plot.plotItem.vb.viewRange()  # fitted at once, not at paint time
    assert x0 <= 1 and x1 >= 5000
    assert y0 <= 0.1 and y1 >= 2.0


def test_a_growing_curve_stays_in_view_on_axes_that_rarely_move(plot):
    ranges = []
    for last in np.geomspace(10, 1_000_000, 300).astype(int):
        steps = np.linspace(1, last, 500)
        losses = 0.05 + 1 / np.sqrt(steps)
        plot.set_curve(steps, losses)
        (x0, x1), (y0, y1) = plot.plotItem.vb.viewRange()
        assert x0 <= 1 and x1 >= last
        assert y0 <= losses.min() and y1 >= losses.max()
        ranges.append((x0, x1, y0, y1))
    changes = sum(a != b for a, b in itertools.pairwise(ranges))
    assert changes <= 40  # 300 updates over five decades of steps


def test_a_new_short_curve_gets_a_view_that_fits_it(plot):
    plot.set_curve(np.arange(1.0, 100_001.0), np.linspace(3.0, 1.0, 100_000))
    plot.clear()
    plot.set_curve(np.arange(1.0, 51.0), np.linspace(0.7, 0.6, 50))
    (x0, x1), (y0, y1) = plot.plotItem.vb.viewRange()
    assert x0 <= 1 and 50 <= x1 <= 200
    assert y0 <= 0.6 and 0.7 <= y1 <= 1.0


def test_log_y_shows_the_curve_in_decades(plot):
    steps = np.arange(1.0, 1001.0)
    losses = 10.0 ** -(steps / 250)  # 1 down to 1e-4
    plot.set_curve(steps, losses)
    plot.set_log_y(True)
    _, (y0, y1) = plot.plotItem.vb.viewRange()
    assert y0 <= -4 and y1 >= np.log10(losses.max())
    assert y1 - y0 < 8


def test_the_mouse_wheel_does_not_zoom_away_from_the_curve(qtbot, plot):
    plot.set_curve(np.arange(1.0, 1001.0), np.linspace(2.0, 0.5, 1000))
    before = plot.plotItem.vb.viewRange()
    center = plot.viewport().rect().center()
    wheel = QWheelEvent(
        QPointF(center), QPointF(plot.viewport().mapToGlobal(center)), QPoint(0, 0),
        QPoint(0, 480), Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase, False,
    )
    QApplication.sendEvent(plot.viewport(), wheel)
    assert plot.plotItem.vb.viewRange() == before


def test_an_empty_curve_brings_back_the_empty_axes(plot):
    plot.set_curve(np.arange(1.0, 501.0), np.linspace(3.0, 1.0, 500))
    plot.set_curve(np.empty(0), np.empty(0))  # what a reset model's snapshot carries
    (x0, x1), (y0, y1) = plot.plotItem.vb.viewRange()
    assert x0 <= 0 and 100 <= x1 < 110 and y0 <= 0 and 1 <= y1 < 1.1


def test_clear_empties_the_curve_but_keeps_the_plot_usable(plot):
    plot.set_curve(np.arange(1.0, 11.0), np.ones(10))
    plot.clear()
    x, _ = shown_curve(plot)
    assert x is None or len(x) == 0
    plot.set_curve(np.arange(1.0, 4.0), np.array([3.0, 2.0, 1.0]))
    _, y = shown_curve(plot)
    assert list(y) == [3.0, 2.0, 1.0]


def test_small_losses_get_no_si_prefix(qtbot, plot):
    steps = np.arange(1.0, 1001.0)
    plot.set_curve(steps * 1000, 1e-3 * (1 + np.exp(-steps / 100)))
    plot.grab()
    for name, text in (("left", "loss"), ("bottom", "step")):
        label = plot.getAxis(name).labelString()
        assert text in label
        assert "(x" not in label
        assert "(m" not in label and "(k" not in label and "(M" not in label


def test_log_y_toggles_through_the_checkbox(qtbot, plot):
    box = plot.log_y_checkbox
    assert box.isVisible()
    assert not box.isChecked()
    corner = box.mapTo(plot, box.rect().topLeft())
    assert plot.rect().contains(box.rect().translated(corner))

    box.click()
    assert box.isChecked()
    assert plot.plotItem.ctrl.logYCheck.isChecked()  # the PlotItem really is in log mode

    box.click()
    assert not plot.plotItem.ctrl.logYCheck.isChecked()

    plot.set_log_y(True)
    assert box.isChecked()


def test_checkbox_responds_to_a_real_mouse_click(qtbot, plot):
    box = plot.log_y_checkbox
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=box.rect().center())
    assert box.isChecked()


def test_log_y_survives_zero_and_negative_losses(qtbot, plot):
    plot.set_log_y(True)
    losses = np.array([1.0, 0.5, 0.0, -0.1, 0.01, np.nan, 0.001])
    plot.set_curve(np.arange(1.0, 8.0), losses)
    plot.grab()
    plot.set_log_y(False)
    plot.grab()
    _, y = shown_curve(plot)
    np.testing.assert_array_equal(y, losses)


def test_checkbox_stays_in_the_corner_on_resize(qtbot, plot):
    plot.resize(700, 400)
    qtbot.wait(10)
    box = plot.log_y_checkbox
    right = box.mapTo(plot, box.rect().topRight()).x()
    assert plot.width() - 40 < right < plot.width()
