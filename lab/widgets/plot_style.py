"""The look both plots share: palette colours, plain numbers on the axes and a cheap grid."""

import pyqtgraph as pg
from PySide6.QtCore import QEvent
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QWidget

_PALETTE_EVENTS = (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange)
_GRID_SHARE = 0.1  # grid lines: this far from the background towards the text colour
_AXIS_SHARE = 0.75  # axis lines: most of the way, a little softer than the numbers


def _mix(start: QColor, end: QColor, share: float) -> QColor:
    """The opaque colour ``share`` (0..1) of the way from ``start`` to ``end``."""
    pairs = zip(start.getRgbF()[:3], end.getRgbF()[:3], strict=True)
    return QColor.fromRgbF(*(a + share * (b - a) for a, b in pairs))


class ThemedPlot(pg.PlotWidget):
    """A plot coloured like a text field of its palette, so it matches a light or dark theme,
    also when the theme changes while the app runs.

    Subclasses call ``follow_palette`` once built and extend ``apply_palette`` for their own
    items.
    """

    _following = False  # PlotWidget.__init__ changes the palette before there is a plot

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        item = self.plotItem
        item.showGrid(x=True, y=True)
        for name in ("left", "bottom"):
            axis = item.getAxis(name)
            axis.enableAutoSIPrefix(False)  # plain numbers, no "(x0.001)" beside the label
            axis.setStyle(tickAlpha=255, maxTickLevel=1)
            axis.setZValue(-200)  # below the ViewBox (z -100): the grid never cuts through data

    def follow_palette(self) -> None:
        """Colour the plot now and again whenever its palette changes."""
        self._following = True
        self.apply_palette()

    def apply_palette(self) -> None:
        """Background, axes and grid from the palette's Base and Text colours.

        The grid is an opaque blend rather than a translucent text colour: translucent grid
        lines cost ~8x more per repaint, and repaints happen many times a second in training.
        """
        palette = self.palette()
        base = palette.color(QPalette.ColorRole.Base)
        text = palette.color(QPalette.ColorRole.Text)
        self.setBackground(base)
        for name in ("left", "bottom"):
            axis = self.plotItem.getAxis(name)
            axis.setPen(_mix(base, text, _AXIS_SHARE))
            axis.setTextPen(text)  # after setPen, which also recolours the axis label
            axis.setTickPen(pg.mkPen(_mix(base, text, _GRID_SHARE)))

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        # A closed PlotWidget has dropped its plot, though the widget may live on a while.
        if self._following and not self.closed and event.type() in _PALETTE_EVENTS:
            self.apply_palette()
