"""Plots and weight tables take their colours from the application palette, so a dark system
theme gets dark plots and readable numbers, and a theme switch at run time follows."""

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QImage, QPalette
from PySide6.QtWidgets import QScrollArea, QTableView

from lab.widgets.data_plot import DataPlot
from lab.widgets.loss_plot import LossPlot
from lab.widgets.weights_view import WeightsView

_DARK = {
    QPalette.ColorRole.Base: "#1e1e1e",
    QPalette.ColorRole.Text: "#e0e0e0",
    QPalette.ColorRole.Window: "#2b2b2b",
    QPalette.ColorRole.WindowText: "#e0e0e0",
    QPalette.ColorRole.Button: "#2b2b2b",
    QPalette.ColorRole.ButtonText: "#e0e0e0",
}


@pytest.fixture
def set_theme(qapp):
    """Switch the application between its default (light) palette and a dark one, as a system
    theme change would; the default comes back after the test."""
    light = QPalette(qapp.palette())
    dark = QPalette(light)
    for role, colour in _DARK.items():
        dark.setColor(role, QColor(colour))

    def set_theme(name: str) -> None:
        qapp.setPalette(dark if name == "dark" else light)
        qapp.processEvents()  # widgets hear of the change through posted events

    yield set_theme
    set_theme("light")


def shown(qtbot, widget, width=500, height=400):
    qtbot.addWidget(widget)
    widget.resize(width, height)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def grey(widget) -> np.ndarray:
    """The widget as painted, in grey levels 0..255, one row per physical pixel row."""
    image = widget.grab().toImage().convertToFormat(QImage.Format.Format_Grayscale8)
    rows = np.frombuffer(image.constBits(), np.uint8).reshape(-1, image.bytesPerLine())
    return rows[:, : image.width()]


def tick_strip(plot) -> np.ndarray:
    """Grey levels of the strip under the plotting area: background and tick labels."""
    pixels = grey(plot)
    bottom = plot.mapFromScene(plot.plotItem.vb.sceneBoundingRect().bottomLeft()).y()
    scale = pixels.shape[0] / plot.height()
    return pixels[round((bottom + 4) * scale) :]


def assert_dark(plot):
    strip = tick_strip(plot)
    assert np.median(strip) < 60  # dark background
    assert strip.max() > 180  # light tick labels


def assert_light(plot):
    strip = tick_strip(plot)
    assert np.median(strip) > 200
    assert strip.min() < 80


PLOTS = [DataPlot, LossPlot]


@pytest.mark.parametrize("plot_class", PLOTS)
def test_plots_are_light_under_the_default_palette(qtbot, plot_class):
    assert_light(shown(qtbot, plot_class()))


@pytest.mark.parametrize("plot_class", PLOTS)
def test_plots_are_dark_under_a_dark_palette(qtbot, set_theme, plot_class):
    set_theme("dark")
    assert_dark(shown(qtbot, plot_class()))


@pytest.mark.parametrize("plot_class", PLOTS)
def test_plots_follow_a_palette_switched_at_run_time(qtbot, set_theme, plot_class):
    plot = shown(qtbot, plot_class())
    set_theme("dark")
    assert_dark(plot)
    set_theme("light")
    assert_light(plot)


def test_the_boundary_stands_out_on_either_theme(qtbot, set_theme):
    plot = shown(qtbot, DataPlot(), 600, 600)
    view = plot.plotItem.vb
    view.setRange(xRange=(-5, 5), yRange=(-5, 5), padding=0)
    plot.set_boundary([np.array([[-5.0, 1.0], [5.0, 1.0]])])

    def on_line() -> int:
        pixels = grey(plot)
        scale = pixels.shape[0] / plot.height()
        pos = plot.mapFromScene(view.mapViewToScene(QPointF(2.3, 1.0)))
        return int(pixels[round(pos.y() * scale), round(pos.x() * scale)])

    assert on_line() < 80
    set_theme("dark")
    assert on_line() > 180


def contrast(a: QColor, b: QColor) -> float:
    """WCAG contrast ratio of two colours, 1 (same) to 21 (black on white)."""

    def luminance(colour: QColor) -> float:
        r, g, b = (
            c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
            for c in colour.getRgbF()[:3]
        )
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    darker, lighter = sorted((luminance(a), luminance(b)))
    return (lighter + 0.05) / (darker + 0.05)


def assert_readable(table, *cells):
    """Each cell's number has at least WCAG AA text contrast against the table background."""
    base = table.palette().color(QPalette.ColorRole.Base)
    model = table.model()
    for row, column in cells:
        colour = model.index(row, column).data(Qt.ItemDataRole.ForegroundRole)
        assert contrast(colour, base) >= 4.5, (colour.name(), base.name())


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_weight_colours_are_readable_on_the_table(qtbot, set_theme, theme):
    set_theme(theme)
    view = shown(qtbot, WeightsView(), 300, 500)
    view.show_weights({"W": np.array([[0.5, -0.5, 0.0]])})
    qtbot.waitUntil(lambda: view.findChild(QTableView).isVisible())
    weights = view.findChild(QTableView)
    dark = weights.palette().color(QPalette.ColorRole.Base).lightness() < 128
    assert dark == (theme == "dark")
    assert_readable(weights, (0, 0), (0, 1), (0, 2))


def test_weight_colours_follow_a_palette_switched_at_run_time(qtbot, set_theme):
    view = shown(qtbot, WeightsView(), 300, 500)
    rng = np.random.default_rng(0)
    view.show_weights({"W": rng.normal(size=(64, 64))})
    qtbot.waitUntil(lambda: view.findChild(QTableView).isVisible())
    weights = view.findChild(QTableView)
    set_theme("dark")
    assert_readable(weights, (0, 0), (0, 1), (1, 0))
    area = view.findChild(QScrollArea)  # cells off screen are recoloured once they show
    area.horizontalScrollBar().setValue(area.horizontalScrollBar().maximum())
    area.verticalScrollBar().setValue(area.verticalScrollBar().maximum())
    assert_readable(weights, (63, 63), (63, 62), (62, 63))
