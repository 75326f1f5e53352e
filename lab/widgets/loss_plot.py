"""Loss against training step: the training loss, the test loss when points are held out,
and each mini-batch's loss on request; an optional log scale for the long tail of training."""

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QWidget

from lab.core.plot_range import Range, steady_range
from lab.widgets.plot_style import ThemedPlot

_MARGIN = 6
_GROWTH = 0.5  # room to the right for the steps still to come, as a share of those shown
_PADDING = 0.02  # keeps a curve on a range's edge clear of the frame
_EMPTY_STEPS = (0, 100)  # whole steps on the axis before there is a curve
# Each curve's colour and pen width (a 1 px pen draws as one polyline, twice as fast as the
# segments of a wider one); the batch loss, noisy, stays in the background.
CURVES = {"train": ("#0072B2", 1), "test": ("#D55E00", 1), "batch": ("#9a9a9a", 1)}


class LossPlot(ThemedPlot):
    """Draws the curves it is handed by name ("train", "test", "batch"); it keeps no history.

    The boxes ("Log y", and "Batch loss" while steps see mini-batches) and the legend sit on
    the plot itself, so the window can place this one widget anywhere; late training is
    only readable on a log scale. The view always shows the whole of the curves, on steady
    round-number axes (lab.core.plot_range), so it is not zoomable.
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
        self._items = {
            name: item.plot(pen=pg.mkPen(color, width=width), clipToView=True, name=name)
            for name, (color, width) in reversed(CURVES.items())  # the train curve on top
        }
        self._curves: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._x_range: Range | None = None
        self._y_range: Range | None = None

        # The boxes and the legend are Qt's own widgets: they paint without calling Python.
        self._corner = QWidget(self)
        self._corner.setAutoFillBackground(True)
        row = QHBoxLayout(self._corner)
        row.setContentsMargins(4, 0, 4, 0)
        self.legend = QLabel(objectName="lossLegend")
        self.batch_checkbox = QCheckBox("Batch loss", objectName="lossBatch")
        self.batch_checkbox.setToolTip("Also the loss of each mini-batch, as training saw it")
        self.batch_checkbox.toggled.connect(lambda: self.set_curves(self._curves))
        self.log_y_checkbox = QCheckBox("Log y", objectName="lossLogY")
        self.log_y_checkbox.setToolTip("Logarithmic loss axis")
        self.log_y_checkbox.toggled.connect(self._apply_log_y)
        for widget in (self.legend, self.batch_checkbox, self.log_y_checkbox):
            row.addWidget(widget)
        self.batch_checkbox.hide()
        item.vb.sigResized.connect(self._place_checkbox)
        self._place_checkbox()

    def set_curves(self, curves: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
        """Replace the plotted curves, (steps, losses) by name; the axes move only when the
        curves outgrow them. A batch curve shows while its box is ticked."""
        self._curves = curves
        shown = {name: data for name, data in curves.items()
                 if name != "batch" or self.batch_checkbox.isChecked()}
        for name, item in self._items.items():
            data = shown.get(name)
            if data is not None:
                item.setData(x=data[0], y=data[1])
            elif item.xData is not None and len(item.xData):  # setData costs ~0.2 ms a call
                item.setData(x=np.empty(0), y=np.empty(0))
        self.batch_checkbox.setVisible("batch" in curves)
        legend = [name for name in ("train", "test") if name in curves] if "test" in curves else []
        self.legend.setText("  ".join(
            f"<span style='color:{CURVES[name][0]}'>━ {name}</span>" for name in legend
        ))
        self._place_checkbox()
        self._follow(list(shown.values()))

    def set_curve(self, steps: np.ndarray, losses: np.ndarray) -> None:
        """Show one training curve."""
        self.set_curves({"train": (steps, losses)})

    def set_log_y(self, on: bool) -> None:
        """Switch the loss axis to log scale (same as ticking the box)."""
        self.log_y_checkbox.setChecked(on)

    def clear(self) -> None:
        """Empty the curves, e.g. when training restarts."""
        self.set_curves({})

    def _apply_log_y(self, on: bool) -> None:
        # Non-positive losses map to NaN and are simply not drawn.
        self.plotItem.setLogMode(x=False, y=on)
        self._y_range = None
        self.set_curves(self._curves)

    def _follow(self, curves: list[tuple[np.ndarray, np.ndarray]]) -> None:
        """Fit the view to the curves now rather than while painting.

        A range change during a paint moves the axes and asks for a second full paint.
        """
        steps = np.concatenate([data[0] for data in curves] or [np.empty(0)])
        losses = np.concatenate([data[1] for data in curves] or [np.empty(0)])
        if self.log_y_checkbox.isChecked():
            with np.errstate(divide="ignore", invalid="ignore"):
                losses = np.log10(losses)
        finite = np.isfinite(losses)
        if not finite.any():  # a new run: back to the empty plot's axes
            self._x_range = self._y_range = None
            self.plotItem.vb.setRange(xRange=_EMPTY_STEPS, yRange=(0, 1), padding=_PADDING)
            return
        steps, losses = steps[finite], losses[finite]
        x_range = steady_range(self._x_range, float(steps.min()), float(steps.max()), _GROWTH)
        y_range = steady_range(self._y_range, float(losses.min()), float(losses.max()))
        if (x_range, y_range) != (self._x_range, self._y_range):
            self._x_range, self._y_range = x_range, y_range
            view = self.plotItem.vb
            view.setRange(xRange=x_range, yRange=y_range, padding=_PADDING)
            view.updateMatrix()

    def _place_checkbox(self) -> None:
        """Keep the boxes in the top-right corner of the plotting area, clear of the axes."""
        box = self._corner
        box.adjustSize()
        corner = self.mapFromScene(self.plotItem.vb.sceneBoundingRect().topRight())
        box.move(corner.x() - box.width() - _MARGIN, corner.y() + _MARGIN)
