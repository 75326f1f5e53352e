"""The 2-D data view: points, the model's decision regions and boundary, and click editing.

It only draws what it is given and reports clicks as requests; the window decides what
a click means for the dataset. Every update sets data on items created once, so a live
training run can redraw it many times a second.
"""

import numpy as np
import pyqtgraph as pg
import shiboken6
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPalette, QPen, QPixmap, QTransform
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPixmapItem, QWidget

from lab.core.boundary import Rect
from lab.core.colormap import DOT_SHADES, hex_color, value_palette, value_shades
from lab.core.colors import CLASS_COLORS
from lab.widgets.plot_style import ThemedPlot

_POINT_SIZE = 7  # diameter in screen pixels, independent of zoom
_DEFAULT_RANGE = (-1.0, 1.0)


class _Dots(pg.GraphicsObject):
    """Same-coloured dots, stamped from one pre-rendered pixmap in a single native call.

    pyqtgraph's ScatterPlotItem looks up a style per point in Python on every setData
    (~2 µs a point, 200 ms for 100,000); here new data is just two arrays and painting
    is numpy plus one ``drawPixmapFragments``. The rendered dots are cached, so the
    boundary and regions changing during training do not redraw 100,000 points.
    """

    def __init__(self, color: str, hollow: bool = False) -> None:
        super().__init__()
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self._color = QColor(color)
        self._hollow = hollow  # a ring: a held-out test point
        self._x = np.empty(0)
        self._y = np.empty(0)
        self._bounds = QRectF()
        self._pixmap = QPixmap()
        self._pixmap_dpr = 0.0

    def set_data(self, x: np.ndarray, y: np.ndarray) -> None:
        self.prepareGeometryChange()
        self._x = np.ascontiguousarray(x, dtype=np.float64)
        self._y = np.ascontiguousarray(y, dtype=np.float64)
        if self._x.size:
            x0, x1, y0, y1 = self._x.min(), self._x.max(), self._y.min(), self._y.max()
            self._bounds = QRectF(x0, y0, x1 - x0, y1 - y0)
        else:
            self._bounds = QRectF()
        self.informViewBoundsChanged()
        self.update()

    def count(self) -> int:
        return self._x.size

    def dataBounds(self, ax: int, frac: float = 1.0, orthoRange=None) -> tuple:
        """Extent along one axis; the ViewBox uses it to frame the data."""
        if not self._x.size:
            return None, None
        values = self._x if ax == 0 else self._y
        return float(values.min()), float(values.max())

    def pixelPadding(self) -> float:
        return _POINT_SIZE / 2 + 1

    def boundingRect(self) -> QRectF:
        if not self._x.size:
            return QRectF()
        px, py = self.pixelSize() if self.getViewBox() is not None else (0.0, 0.0)
        pad = self.pixelPadding()
        return self._bounds.adjusted(-pad * px, -pad * py, pad * px, pad * py)

    def viewTransformChanged(self) -> None:
        # The pixel padding in boundingRect is in data units, so it changes with zoom.
        self.prepareGeometryChange()
        super().viewTransformChanged()

    def paint(self, painter: QPainter, option, widget=None) -> None:
        if not self._x.size:
            return
        dpr = painter.device().devicePixelRatioF()
        t = painter.transform()
        # Device-pixel centres of every dot, then drop those off-screen.
        sx = t.m11() * self._x + t.m21() * self._y + t.dx()
        sy = t.m12() * self._x + t.m22() * self._y + t.dy()
        pad = _POINT_SIZE
        width, height = painter.device().width(), painter.device().height()
        visible = (sx > -pad) & (sx < width + pad) & (sy > -pad) & (sy < height + pad)
        n = int(np.count_nonzero(visible))
        if not n:
            return
        pixmap = self._stamp(dpr)
        side = pixmap.width()
        # QPainter::PixmapFragment is 10 doubles: x, y, sourceLeft, sourceTop, width,
        # height, scaleX, scaleY, rotation, opacity.
        fragments = np.empty((n, 10), dtype=np.float64)
        fragments[:, 0] = sx[visible]
        fragments[:, 1] = sy[visible]
        fragments[:, 2:] = (0.0, 0.0, side, side, 1 / dpr, 1 / dpr, 0.0, 1.0)
        painter.resetTransform()
        first = shiboken6.wrapInstance(fragments.ctypes.data, QPainter.PixmapFragment)
        painter.drawPixmapFragments(first, n, pixmap)

    def _stamp(self, dpr: float) -> QPixmap:
        """The dot image at the screen's pixel density, rendered once."""
        if self._pixmap_dpr == dpr:
            return self._pixmap
        side = int(np.ceil((_POINT_SIZE + 2) * dpr))
        pixmap = QPixmap(side, side)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if self._hollow:
            painter.setPen(QPen(self._color, 1.8 * dpr))
            painter.setBrush(QColor(255, 255, 255, 160))
        else:
            painter.setPen(QPen(QColor("white"), 0.8 * dpr))
            painter.setBrush(self._color)
        inset = (side - _POINT_SIZE * dpr) / 2
        painter.drawEllipse(QRectF(inset, inset, _POINT_SIZE * dpr, _POINT_SIZE * dpr))
        painter.end()
        self._pixmap, self._pixmap_dpr = pixmap, dpr
        return pixmap


def _value_map() -> pg.ColorMap:
    colors = value_palette(DOT_SHADES)
    return pg.ColorMap(np.linspace(0.0, 1.0, len(colors)), colors)


class DataPlot(ThemedPlot):
    """Scatter of labelled 2-D points with 1:1 aspect, so geometry is not distorted.

    Left-click asks to add a point of the current class, right-click or Shift+left-click
    one of the alternate class, Ctrl+click asks to remove the point under the cursor.
    Drags still pan and zoom. The view never follows the data by itself (that would make
    the picture jump while the user edits); ``fit_view`` frames the data on request.
    """

    addPointRequested = Signal(float, float, bool)  # x, y, alternate class
    removePointRequested = Signal(float, float)
    explainRequested = Signal(float, float)  # Alt-click: explain the nearest point

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("dataPlot")
        item = self.plotItem
        self._vb = item.vb
        self._vb.setAspectLocked(True, ratio=1.0)
        self._vb.disableAutoRange()
        # The ViewBox menu would eat right-clicks, which add alternate-class points here.
        item.setMenuEnabled(False)
        # The hover "A" button would switch on auto-range for good; make it frame once.
        item.autoBtn.clicked.disconnect()
        item.autoBtn.clicked.connect(lambda _button: self.fit_view())

        # Qt's own pixmap item: it paints without calling Python, unlike pg.ImageItem, whose
        # paint converts the image in Python each time it changes (a few times a second).
        self._regions = QGraphicsPixmapItem()
        self._regions.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self._regions.setZValue(-10)
        self._regions.hide()
        item.addItem(self._regions, ignoreBounds=True)

        # One item per colour and kind (training dot, test ring), made when first needed, so
        # a point needs no style of its own.
        self._dots: dict[tuple[str, bool], _Dots] = {}

        # The scale of the value colours (regression), shown beside the plot when in use.
        self._bar = pg.ColorBarItem(values=(-1, 1), colorMap=_value_map(), interactive=False,
                                    width=12)
        self._bar.hide()
        item.layout.addItem(self._bar, 2, 5)

        self._boundary = pg.PlotDataItem(connect="pairs")
        self._boundary.setZValue(10)
        item.addItem(self._boundary, ignoreBounds=True)
        self.follow_palette()

        self.scene().sigMouseClicked.connect(self._on_click)
        self._vb.setRange(xRange=_DEFAULT_RANGE, yRange=_DEFAULT_RANGE, padding=0.05)

    def set_points(
        self,
        xy: np.ndarray,
        labels: np.ndarray,
        test: np.ndarray | None = None,
        values: np.ndarray | None = None,
        limits: tuple[float, float] = (-1.0, 1.0),
    ) -> None:
        """Show points (n, 2) coloured by class, or by value within `limits` when values are
        given; test points as rings. The view range is left alone."""
        xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        test = np.zeros(len(xy), dtype=bool) if test is None else np.asarray(test, dtype=bool)
        if values is None:
            colors = [CLASS_COLORS[i] for i in range(len(CLASS_COLORS))]
            shade = np.asarray(labels).ravel() % len(CLASS_COLORS)
        else:
            colors = [hex_color(rgb) for rgb in value_palette(DOT_SHADES)]
            shade = value_shades(values, limits, DOT_SHADES)
        wanted = set()
        for index, color in enumerate(colors):
            for hollow in (False, True):
                mine = xy[(shade == index) & (test == hollow)]
                if len(mine):
                    wanted.add((color, hollow))
                    self._dots_for(color, hollow).set_data(mine[:, 0], mine[:, 1])
        for key, dots in self._dots.items():
            if key not in wanted and dots.count():
                dots.set_data(np.empty(0), np.empty(0))

    def _dots_for(self, color: str, hollow: bool) -> _Dots:
        dots = self._dots.get((color, hollow))
        if dots is None:
            dots = self._dots[color, hollow] = _Dots(color, hollow)
            dots.setZValue(1 if hollow else 0)
            self.plotItem.addItem(dots)
        return dots

    def show_value_scale(self, limits: tuple[float, float] | None) -> None:
        """The colour bar of the value colours over these limits, or none."""
        self._bar.setVisible(limits is not None)
        if limits is not None:
            self._bar.setLevels(limits)

    def fit_view(self) -> None:
        """Frame all points (e.g. after a dataset was generated or opened)."""
        shown = [dots for dots in self._dots.values() if dots.count()]
        if shown:
            self._vb.autoRange(items=shown, padding=0.05)
        else:
            self._vb.setRange(xRange=_DEFAULT_RANGE, yRange=_DEFAULT_RANGE, padding=0.05)

    def view_rect(self) -> Rect:
        """(x0, y0, x1, y1) currently visible, e.g. to know where to evaluate the model."""
        (x0, x1), (y0, y1) = self._vb.viewRange()
        return float(x0), float(y0), float(x1), float(y1)

    def set_boundary(self, segments: np.ndarray | list[np.ndarray]) -> None:
        """Draw decision-boundary segments, each a (2, 2) array of endpoints."""
        if not len(segments):
            self.clear_boundary()
            return
        ends = np.asarray(segments, dtype=np.float64).reshape(-1, 2)
        self._boundary.setData(x=ends[:, 0], y=ends[:, 1])

    def clear_boundary(self) -> None:
        """Remove the boundary lines (e.g. no model yet)."""
        self._boundary.setData(x=np.empty(0), y=np.empty(0))

    def set_regions(self, image_rgba: np.ndarray, rect: Rect) -> None:
        """Show an RGBA image (ny, nx, 4), row 0 at y0, stretched over rect behind the points."""
        x0, y0, x1, y1 = rect
        rows, columns = image_rgba.shape[:2]
        pixels = np.ascontiguousarray(image_rgba, dtype=np.uint8)
        image = QImage(pixels.data, columns, rows, 4 * columns, QImage.Format.Format_RGBA8888)
        self._regions.setPixmap(QPixmap.fromImage(image))  # a copy: `pixels` may go
        self._regions.setTransform(
            QTransform((x1 - x0) / columns, 0.0, 0.0, (y1 - y0) / rows, x0, y0)
        )
        self._regions.show()

    def clear_regions(self) -> None:
        """Hide the region image."""
        self._regions.hide()

    def apply_palette(self) -> None:
        """The boundary in the text colour, so it stands out on light and dark themes alike."""
        super().apply_palette()
        text = self.palette().color(QPalette.ColorRole.Text)
        self._boundary.setPen(pg.mkPen(text, width=2))

    def _on_click(self, event) -> None:
        """Turn a click inside the plotting area into an add/remove request in data units."""
        pos: QPointF = event.scenePos()
        if not self._vb.sceneBoundingRect().contains(pos):
            return  # axes and margins are not part of the data plane
        button = event.button()
        if button not in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton):
            return
        point = self._vb.mapSceneToView(pos)
        modifiers = event.modifiers()
        if modifiers & Qt.KeyboardModifier.ControlModifier:
            self.removePointRequested.emit(point.x(), point.y())
            return
        if modifiers & Qt.KeyboardModifier.AltModifier:
            self.explainRequested.emit(point.x(), point.y())
            return
        shifted = bool(modifiers & Qt.KeyboardModifier.ShiftModifier)
        alternate = shifted or button == Qt.MouseButton.RightButton
        self.addPointRequested.emit(point.x(), point.y(), alternate)
