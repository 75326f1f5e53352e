"""The look both plots share: plain numbers on the axes and a cheap, quiet grid."""

import pyqtgraph as pg

GRID_COLOR = "#e6e6e6"


def style_axes(item: pg.PlotItem) -> None:
    """Grid and axes of a plot: no SI prefixes ("x0.001"), opaque grid lines under the data.

    Translucent grid lines cost ~8x more per repaint than opaque light ones, and repaints
    happen many times a second while training.
    """
    item.showGrid(x=True, y=True)
    for name in ("left", "bottom"):
        axis = item.getAxis(name)
        axis.enableAutoSIPrefix(False)
        axis.setPen("#444444")
        axis.setTextPen("#222222")
        axis.setTickPen(pg.mkPen(GRID_COLOR))
        axis.setStyle(tickAlpha=255, maxTickLevel=1)
        axis.setZValue(-200)  # below the ViewBox (z -100): the grid never cuts through data
