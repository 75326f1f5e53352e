"""Loss against training step, with an optional log scale for the long tail of training."""

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QCheckBox, QWidget

from lab.core.plot_range import Range, steady_range
from lab.widgets.plot_style import ThemedPlot

_MARGIN = 6
_GROWTH = 0.5  # room to the right for the steps still to come, as a share of those shown
_PADDING = 0.02  # keeps a curve on a range's edge clear of the frame
_EMPTY_STEPS = (0, 100)  # whole steps on the axis before there is a curve


class LossPlot(ThemedPlot):
    """Draws the curve it is handed (e.g. ``LossHistory.curve()``); it keeps no history.

    The "Log y" box sits on the plot itself so the window can place this one widget
    anywhere; late training is only readable on a log scale. The view always shows the
    whole curve, on steady round-number axes (lab.core.plot_range), so it is not zoomable.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # PlotWidget forwards clear() to the PlotItem, which would delete our curve item.
        del self.clear
        self.setObjectName("lossPlot")
        item = self.plotItem
        item.setMenuEnabled(False)
        item.setLabel("bottom", "step")
        item.setLabel("left", "loss")
        self.follow_palette()
        item.hideButtons()
        view = item.vb
        view.setMouseEnabled(x=False, y=False)
        view.disableAutoRange()
        view.setRange(xRange=_EMPTY_STEPS, yRange=(0, 1), padding=_PADDING)  # until a curve
        # A 1 px pen draws as one polyline, twice as fast as the segments of a wider one.
        self._curve = item.plot(pen=pg.mkPen("#0072B2", width=1), clipToView=True)
        self._data = (np.empty(0), np.empty(0))
        self._x_range: Range | None = None
        self._y_range: Range | None = None

        self.log_y_checkbox = QCheckBox("Log y", self)
        self.log_y_checkbox.setObjectName("lossLogY")
        self.log_y_checkbox.setToolTip("Logarithmic loss axis")
        self.log_y_checkbox.setAutoFillBackground(True)
        self.log_y_checkbox.toggled.connect(self._apply_log_y)
        item.vb.sigResized.connect(self._place_checkbox)
        self._place_checkbox()

    def set_curve(self, steps: np.ndarray, losses: np.ndarray) -> None:
        """Replace the plotted curve; the axes move only when it outgrows them."""
        self._data = (steps, losses)
        self._curve.setData(x=steps, y=losses)
        self._follow()

    def set_log_y(self, on: bool) -> None:
        """Switch the loss axis to log scale (same as ticking the box)."""
        self.log_y_checkbox.setChecked(on)

    def clear(self) -> None:
        """Empty the curve, e.g. when training restarts."""
        self.set_curve(np.empty(0), np.empty(0))

    def _apply_log_y(self, on: bool) -> None:
        # Non-positive losses map to NaN and are simply not drawn.
        self.plotItem.setLogMode(x=False, y=on)
        self._y_range = None
        self._follow()

    def _follow(self) -> None:
        """Fit the view to the curve now rather than while painting.

        A range change during a paint moves the axes and asks for a second full paint.
        """
        steps, losses = self._data
        if self.log_y_checkbox.isChecked():
            with np.errstate(divide="ignore", invalid="ignore"):
                losses = np.log10(losses)
        finite = np.isfinite(losses)
        if not finite.any():  # a new run: back to the empty plot's axes
            self._x_range = self._y_range = None
            self.plotItem.vb.setRange(xRange=_EMPTY_STEPS, yRange=(0, 1), padding=_PADDING)
            return
        losses = losses[finite]
        x_range = steady_range(self._x_range, float(steps[0]), float(steps[-1]), _GROWTH)
        y_range = steady_range(self._y_range, float(losses.min()), float(losses.max()))
        if (x_range, y_range) != (self._x_range, self._y_range):
            self._x_range, self._y_range = x_range, y_range
            view = self.plotItem.vb
            view.setRange(xRange=x_range, yRange=y_range, padding=_PADDING)
            view.updateMatrix()

    def _place_checkbox(self) -> None:
        """Keep the box in the top-right corner of the plotting area, clear of the axes."""
        box = self.log_y_checkbox
        box.adjustSize()
        corner = self.mapFromScene(self.plotItem.vb.sceneBoundingRect().topRight())
        box.move(corner.x() - box.width() - _MARGIN, corner.y() + _MARGIN)
