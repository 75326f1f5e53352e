"""A view as a picture for slides and papers: PNG at twice its on-screen size, or SVG.

pyqtgraph's own exporters fail here (its SVGExporter raises on plain plots in 0.14, its
ImageExporter draws custom items badly), so the view paints itself into Qt's image or SVG
generator, exactly as it paints on screen.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QPoint, QRect, QSize
from PySide6.QtGui import QImage, QPainter, QRegion
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QWidget

import lab

SCALE = 2  # PNG pixels per screen pixel
FORMATS = "PNG image (*.png);;SVG image (*.svg)"


def export_view(
    widget: QWidget, path: str | Path, title: str, leave_out: Sequence[QWidget] = ()
) -> None:
    """Write `widget` as .png or .svg (by the extension), without the controls in
    `leave_out` (a check box on a plot, say); OSError naming the file on failure."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".png", ".svg"):
        raise ValueError(f"{path.name}: unsupported image type; use .png or .svg")
    shown = [child for child in leave_out if child.isVisible()]
    for child in shown:
        child.hide()
    try:
        (_svg if suffix == ".svg" else _png)(widget, path, title)
    finally:
        for child in shown:
            child.show()


def _paint(widget: QWidget, painter: QPainter) -> None:
    """The widget and its children as on screen. QWidget's own render: a plot is also a
    QGraphicsView, whose render would draw the scene without the axes' widgets."""
    flags = QWidget.RenderFlag.DrawWindowBackground | QWidget.RenderFlag.DrawChildren
    QWidget.render(widget, painter, QPoint(0, 0), QRegion(), flags)


def _png(widget: QWidget, path: Path, _title: str) -> None:
    image = QImage(widget.size() * SCALE, QImage.Format.Format_ARGB32_Premultiplied)
    image.setDevicePixelRatio(SCALE)
    image.fill(widget.palette().window().color())
    painter = QPainter(image)
    _paint(widget, painter)
    painter.end()
    if not image.save(str(path)):
        raise OSError(f"could not write {path.name}")


def _svg(widget: QWidget, path: Path, title: str) -> None:
    write_svg(path, widget.size(), title, lambda painter: _paint(widget, painter))


def write_svg(path: Path, size: QSize, title: str, paint: Callable[[QPainter], None]) -> None:
    """An SVG file of `size` drawn by `paint`; OSError naming the file on failure."""
    generator = QSvgGenerator()
    generator.setFileName(str(path))
    generator.setSize(size)
    generator.setViewBox(QRect(0, 0, size.width(), size.height()))
    generator.setTitle(title)
    generator.setDescription(f"Drawn by {lab.APP_NAME} {lab.__version__}")
    painter = QPainter()
    if not painter.begin(generator):
        raise OSError(f"could not write {path.name}")
    paint(painter)
    painter.end()
    if not path.exists() or path.stat().st_size == 0:
        raise OSError(f"could not write {path.name}")
