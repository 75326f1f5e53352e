"""Loss against training step, with an optional log scale for the long tail of training."""

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QCheckBox, QWidget

from lab.widgets.plot_style import style_axes

_MARGIN = 6


class LossPlot(pg.PlotWidget):
    """Draws the curve it is handed (e.g. ``LossHistory.curve()``); it keeps no history.

    The "Log y" box sits on the plot itself so the window can place this one widget
    anywhere; late training is only readable on a log scale.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, background="w")
        # PlotWidget forwards clear() to the PlotItem, which would delete our curve item.
        del self.clear
        self.setObjectName("lossPlot")
        item = self.plotItem
        item.setMenuEnabled(False)
        item.setLabel("bottom", "step")
        item.setLabel("left", "loss")
        style_axes(item)
        item.vb.setLimits(xMin=0)
        self._curve = item.plot(pen=pg.mkPen("#0072B2", width=1.5), clipToView=True)

        self.log_y_checkbox = QCheckBox("Log y", self)
        self.log_y_checkbox.setObjectName("lossLogY")
        self.log_y_checkbox.setToolTip("Logarithmic loss axis")
        self.log_y_checkbox.setAutoFillBackground(True)
        self.log_y_checkbox.toggled.connect(self._apply_log_y)
        item.vb.sigResized.connect(self._place_checkbox)
        self._place_checkbox()

    def set_curve(self, steps: np.ndarray, losses: np.ndarray) -> None:
        """Replace the plotted curve."""
        self._curve.setData(x=steps, y=losses)

    def set_log_y(self, on: bool) -> None:
        """Switch the loss axis to log scale (same as ticking the box)."""
        self.log_y_checkbox.setChecked(on)

    def clear(self) -> None:
        """Empty the curve, e.g. when training restarts."""
        self._curve.setData(x=np.empty(0), y=np.empty(0))

    def _apply_log_y(self, on: bool) -> None:
        # Non-positive losses map to NaN and are simply not drawn.
        self.plotItem.setLogMode(x=False, y=on)

    def _place_checkbox(self) -> None:
        """Keep the box in the top-right corner of the plotting area, clear of the axes."""
        box = self.log_y_checkbox
        box.adjustSize()
        corner = self.mapFromScene(self.plotItem.vb.sceneBoundingRect().topRight())
        box.move(corner.x() - box.width() - _MARGIN, corner.y() + _MARGIN)
