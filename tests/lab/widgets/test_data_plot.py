import time

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor

from lab.core.boundary import grid_points, region_image, separating_segments
from lab.core.colors import CLASS_COLORS
from lab.widgets.data_plot import DataPlot


@pytest.fixture
def plot(qtbot):
    widget = DataPlot()
    qtbot.addWidget(widget)
    widget.resize(600, 600)
    widget.show()
    qtbot.waitExposed(widget)
    qtbot.wait(20)  # let the layout settle before fixing the range
    widget.plotItem.vb.setRange(xRange=(-5, 5), yRange=(-5, 5), padding=0)
    qtbot.wait(20)
    return widget


def widget_pos(plot, x, y):
    scene = plot.plotItem.vb.mapViewToScene(QPointF(x, y))
    return plot.mapFromScene(scene)


def data_per_pixel(plot):
    x_size, y_size = plot.plotItem.vb.viewPixelSize()
    return max(x_size, y_size)


def click(qtbot, plot, x, y, button=Qt.MouseButton.LeftButton, modifier=None):
    modifier = modifier or Qt.KeyboardModifier.NoModifier
    qtbot.mouseClick(plot.viewport(), button, modifier, pos=widget_pos(plot, x, y))


def test_identity(plot):
    assert plot.objectName() == "dataPlot"
    for name in ("left", "bottom"):
        assert plot.plotItem.getAxis(name).autoSIPrefix is False


@pytest.mark.parametrize(("x", "y"), [(1.25, -2.5), (-3.7, 4.1), (0.0, 0.0)])
def test_left_click_requests_a_point_exactly_under_the_cursor(qtbot, plot, x, y):
    with qtbot.waitSignal(plot.addPointRequested, timeout=1000) as blocker:
        click(qtbot, plot, x, y)
    got_x, got_y, alternate = blocker.args
    tolerance = data_per_pixel(plot)
    assert abs(got_x - x) <= tolerance
    assert abs(got_y - y) <= tolerance
    assert alternate is False


def test_right_click_and_shift_click_request_the_alternate_class(qtbot, plot):
    with qtbot.waitSignal(plot.addPointRequested, timeout=1000) as blocker:
        click(qtbot, plot, 2.0, 1.0, button=Qt.MouseButton.RightButton)
    assert blocker.args[2] is True
    assert abs(blocker.args[0] - 2.0) <= data_per_pixel(plot)

    with qtbot.waitSignal(plot.addPointRequested, timeout=1000) as blocker:
        click(qtbot, plot, -1.0, 3.0, modifier=Qt.KeyboardModifier.ShiftModifier)
    assert blocker.args[2] is True
    assert abs(blocker.args[1] - 3.0) <= data_per_pixel(plot)


def test_ctrl_click_requests_removal_and_adds_nothing(qtbot, plot):
    added = []
    plot.addPointRequested.connect(lambda *args: added.append(args))
    with qtbot.waitSignal(plot.removePointRequested, timeout=1000) as blocker:
        click(qtbot, plot, -2.0, -2.0, modifier=Qt.KeyboardModifier.ControlModifier)
    got_x, got_y = blocker.args
    assert abs(got_x + 2.0) <= data_per_pixel(plot)
    assert abs(got_y + 2.0) <= data_per_pixel(plot)
    assert added == []


def test_click_on_an_axis_is_not_a_point(qtbot, plot):
    requests = []
    plot.addPointRequested.connect(lambda *args: requests.append(args))
    view = plot.plotItem.vb.sceneBoundingRect()
    on_axis = QPointF(view.center().x(), view.bottom() + 8)  # tick labels under the view
    qtbot.mouseClick(plot.viewport(), Qt.MouseButton.LeftButton, pos=plot.mapFromScene(on_axis))
    qtbot.wait(10)
    assert requests == []


def test_view_stays_put_when_points_change_and_fit_view_frames_them(qtbot, plot):
    before = plot.view_rect()
    rng = np.random.default_rng(0)
    plot.set_points(rng.normal(50.0, 1.0, size=(200, 2)), rng.integers(0, 4, 200))
    qtbot.wait(10)
    assert plot.view_rect() == pytest.approx(before)

    plot.fit_view()
    x0, y0, x1, y1 = plot.view_rect()
    assert x0 < 47 and x1 > 53 and y0 < 47 and y1 > 53
    assert x1 - x0 < 30


def test_aspect_ratio_is_locked(plot):
    x_size, y_size = plot.plotItem.vb.viewPixelSize()
    assert x_size == pytest.approx(y_size, rel=1e-6)


def pixel(image, plot, x, y):
    pos = widget_pos(plot, x, y)
    scale = image.devicePixelRatio()  # grabs are in physical pixels on high-DPI screens
    return image.pixelColor(round(pos.x() * scale), round(pos.y() * scale))


def close_to(colour, hex_colour, tol=40):
    want = QColor(hex_colour)
    return all(
        abs(a - b) <= tol for a, b in zip(colour.getRgb()[:3], want.getRgb()[:3], strict=True)
    )


def blank(colour):
    """Background or grid line: no hue, light."""
    return colour.hsvSaturation() < 10 and colour.lightness() > 200


def test_points_are_drawn_in_their_class_colour(plot):
    xy = np.array([[-3.0, -3.0], [-1.0, 1.0], [1.0, -1.0], [3.0, 3.0]])
    plot.set_points(xy, np.array([0, 1, 2, 3]))
    image = plot.grab().toImage()
    for (x, y), colour in zip(xy, CLASS_COLORS, strict=True):
        assert close_to(pixel(image, plot, x, y), colour)
    assert blank(pixel(image, plot, 2.4, -2.6))  # nothing there

    plot.set_points(np.empty((0, 2)), np.empty(0, dtype=int))
    image = plot.grab().toImage()
    assert not close_to(pixel(image, plot, -3.0, -3.0), CLASS_COLORS[0])


def test_regions_and_boundary_render(plot):
    rect = plot.view_rect()
    # Class 0 right of x = 0, class 1 left of it, very confidently.
    W = np.array([[20.0, -20.0], [0.0, 0.0]])
    b = np.zeros(2)
    nx, ny = 80, 60
    logits = grid_points(rect, nx, ny) @ W + b
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    image_rgba = region_image(probs.reshape(ny, nx, 2), CLASS_COLORS, alpha=1.0)
    segments = [ends for _, _, ends in separating_segments(W, b, rect)]

    plot.set_regions(image_rgba, rect)
    plot.set_boundary(segments)
    image = plot.grab().toImage()
    assert close_to(pixel(image, plot, 3.0, 2.0), CLASS_COLORS[0])
    assert close_to(pixel(image, plot, -3.0, -2.0), CLASS_COLORS[1])
    on_line = pixel(image, plot, 0.0, 1.0)
    assert on_line.lightness() < 80  # the boundary is drawn as a dark line

    plot.clear_regions()
    plot.clear_boundary()
    image = plot.grab().toImage()
    assert blank(pixel(image, plot, 3.4, 2.4))
    assert blank(pixel(image, plot, 0.0, 1.4))


def test_regions_are_placed_at_the_given_rect(plot):
    # A 2x2 image over the top-right quadrant only: each quarter a different class.
    quadrant_probs = np.zeros((2, 2, 4))
    quadrant_probs[0, 0, 0] = quadrant_probs[0, 1, 1] = 1.0  # row 0 = lower y
    quadrant_probs[1, 0, 2] = quadrant_probs[1, 1, 3] = 1.0
    plot.set_regions(region_image(quadrant_probs, CLASS_COLORS, 1.0), (0.0, 0.0, 4.0, 4.0))
    image = plot.grab().toImage()
    assert close_to(pixel(image, plot, 1.0, 1.0), CLASS_COLORS[0])
    assert close_to(pixel(image, plot, 3.0, 1.0), CLASS_COLORS[1])
    assert close_to(pixel(image, plot, 1.0, 3.0), CLASS_COLORS[2])
    assert close_to(pixel(image, plot, 3.0, 3.0), CLASS_COLORS[3])
    assert blank(pixel(image, plot, -1.4, -1.4))


def test_hundred_thousand_points_are_fast(qtbot, plot):
    rng = np.random.default_rng(1)
    xy = rng.normal(size=(100_000, 2))
    labels = rng.integers(0, 4, 100_000)
    plot.set_points(xy, labels)  # warm-up
    start = time.perf_counter()
    plot.set_points(xy, labels)
    set_time = time.perf_counter() - start
    start = time.perf_counter()
    image = plot.grab().toImage()
    paint_time = time.perf_counter() - start
    start = time.perf_counter()
    with qtbot.waitSignal(plot.addPointRequested, timeout=1000):
        click(qtbot, plot, 0.5, 0.5)
    click_time = time.perf_counter() - start
    plot.viewport().repaint()
    start = time.perf_counter()
    for i in range(20):  # what a live training run does: move the boundary, redraw
        plot.set_boundary([np.array([[-4.0, -4.0 + 0.1 * i], [4.0, 4.0]])])
        plot.viewport().repaint()
    boundary_time = (time.perf_counter() - start) / 20
    print(
        f"\nDataPlot 100k points: set_points {set_time * 1e3:.1f} ms, "
        f"first paint {paint_time * 1e3:.1f} ms, click {click_time * 1e3:.1f} ms, "
        f"boundary update + repaint {boundary_time * 1e3:.1f} ms"
    )
    far = pixel(image, plot, 4.6, 4.6)  # beyond 4.5 sigma: practically empty
    near = pixel(image, plot, 0.0, 0.0)
    assert blank(far)
    assert not blank(near)
    assert set_time < 0.1


def test_dragging_pans_instead_of_adding_points(qtbot, plot):
    requests = []
    plot.addPointRequested.connect(lambda *args: requests.append(args))
    before = plot.view_rect()
    start, end = widget_pos(plot, 0.0, 0.0), widget_pos(plot, 2.0, 0.0)
    viewport = plot.viewport()
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=start)
    for step in range(1, 11):
        qtbot.mouseMove(viewport, start + (end - start) * step / 10)
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=end)
    qtbot.wait(10)
    after = plot.view_rect()
    assert requests == []
    assert after[0] == pytest.approx(before[0] - 2.0, abs=0.2)
    assert after[1] == pytest.approx(before[1], abs=0.05)


def test_auto_range_button_frames_the_data_once(qtbot, plot):
    plot.set_points(np.array([[100.0, 100.0], [110.0, 104.0]]), np.array([0, 1]))
    button = plot.plotItem.autoBtn
    button.clicked.emit(button)
    x0, y0, x1, y1 = plot.view_rect()
    assert x0 < 100 < 110 < x1 and y0 < 100 < 104 < y1
    plot.set_points(np.array([[-50.0, -50.0]]), np.array([0]))
    assert plot.view_rect() == pytest.approx((x0, y0, x1, y1))
