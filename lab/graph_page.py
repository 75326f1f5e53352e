"""The Graph tab: the engine graph of the current model, live, with an inspector for the
selected node, the step-through of one training step, and the gradient check.

It renders what the worker sends (lab.core.graph_values.GraphValues, a StepTrace) and what
the window computes on its own float64 copy (the gradient check); it never touches the
graph a run trains.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QCheckBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from lab.actions import tool_tip
from lab.core.array_text import describe, histogram, matrix_text, short_text
from lab.core.gradient_check import VariableCheck
from lab.core.graph_outline import GraphOutline
from lab.core.graph_values import GraphValues
from lab.core.step_trace import Frame, StepThrough, StepTrace
from lab.widgets.gradient_check_view import GradientCheckView
from lab.widgets.graph_view import GraphView
from lab.widgets.plot_style import ThemedPlot

PHASE_TITLES = {"forward": "Forward", "backward": "Backward", "update": "Update"}


class GraphPage(QWidget):
    """The graph view beside its inspector, step-through and gradient check."""

    stepThroughRequested = Signal()
    checkRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("graphPage")
        self.view = GraphView()
        self.view.nodeSelected.connect(self._show_selected)
        self._values: GraphValues | None = None
        self._outline: GraphOutline | None = None  # the one drawn
        self._walk: StepThrough | None = None

        self.value_labels = QCheckBox("Values in labels", objectName="graphValueLabels")
        self.value_labels.setToolTip("Write each node's value and gradient under its name "
                                     "(also in exported graphs)")
        self.value_labels.toggled.connect(self._write_labels)
        fit = QPushButton("Fit", objectName="graphFit")
        fit.setToolTip("Show the whole graph")
        fit.clicked.connect(self.view.fit)
        top = QHBoxLayout()
        top.addWidget(self.value_labels)
        top.addStretch()
        top.addWidget(fit)
        steps = QVBoxLayout()
        steps.addLayout(top)
        steps.addWidget(self._build_step_box())
        steps.addWidget(self._build_check_box(), 1)
        panel = QWidget()
        columns = QHBoxLayout(panel)
        columns.addLayout(steps, 3)
        columns.addWidget(self._build_inspector(), 2)
        scroll = QScrollArea()  # so the panel never sets the window's minimum size
        scroll.setWidget(panel)
        scroll.setWidgetResizable(True)
        splitter = QSplitter(Qt.Orientation.Vertical)  # the graph is wide: it gets the width
        splitter.addWidget(self.view)
        splitter.addWidget(scroll)
        splitter.setStretchFactor(0, 1)
        splitter.setSizes([420, 360])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)

    def _build_step_box(self) -> QGroupBox:
        box = QGroupBox("Step through one training step")
        self.step_button = QPushButton("Step through", objectName="stepThrough")
        self.step_button.setToolTip(tool_tip("step_through"))
        self.step_button.clicked.connect(self.stepThroughRequested)
        self.previous_button = QPushButton("◀ Previous", objectName="stepPrevious")
        self.previous_button.setToolTip(tool_tip("previous_stage"))
        self.previous_button.clicked.connect(self.previous_stage)
        self.next_button = QPushButton("Next ▶", objectName="stepNext")
        self.next_button.setToolTip(tool_tip("next_stage"))
        self.next_button.clicked.connect(self.next_stage)
        self.stage_title = QLabel(objectName="stageTitle")
        self.stage_text = QLabel(objectName="stageText", wordWrap=True)
        self.stage_text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.stage_text.setText("Takes one training step and shows it node by node: the "
                                "forward pass, backpropagation, then the update.")
        buttons = QHBoxLayout()
        buttons.addWidget(self.previous_button)
        buttons.addWidget(self.next_button)
        layout = QVBoxLayout(box)
        layout.addWidget(self.step_button)
        layout.addLayout(buttons)
        layout.addWidget(self.stage_title)
        layout.addWidget(self.stage_text)
        self._show_frame()
        return box

    def _build_inspector(self) -> QGroupBox:
        box = QGroupBox("Selected node")
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.node_title = QLabel("Click a node of the graph.", objectName="nodeTitle",
                                 wordWrap=True)
        self.node_value = QLabel(objectName="nodeValue")
        self.node_gradient = QLabel(objectName="nodeGradient")
        for label in (self.node_value, self.node_gradient):
            label.setFont(mono)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.histograms = {key: _histogram_plot(key, colour) for key, colour in
                           (("value", "#4477aa"), ("gradient", "#ee7733"))}
        layout = QVBoxLayout(box)
        layout.addWidget(self.node_title)
        layout.addWidget(QLabel("value"))
        layout.addWidget(self.node_value)
        layout.addWidget(self.histograms["value"])
        layout.addWidget(QLabel("∂loss/∂node"))
        layout.addWidget(self.node_gradient)
        layout.addWidget(self.histograms["gradient"])
        layout.addStretch()
        return box

    def _build_check_box(self) -> QGroupBox:
        box = QGroupBox("Gradient check")
        self.check_button = QPushButton("Check gradients", objectName="checkGradients")
        self.check_button.setToolTip(tool_tip("check_gradients"))
        self.check_button.clicked.connect(self.checkRequested)
        self.checks = GradientCheckView()
        layout = QVBoxLayout(box)
        layout.addWidget(self.check_button)
        layout.addWidget(self.checks)
        return box

    # --- what the worker sends ------------------------------------------------------------
    def show_values(self, values: GraphValues) -> None:
        """The graph, its nodes' values and gradients at the latest step."""
        self._values = values
        self._draw(values.outline)
        self._write_labels()
        self._show_selected(self.view.selected())

    def start_trace(self, trace: StepTrace) -> None:
        """Walk through a traced step from its first forward stage."""
        self._walk = StepThrough(trace)
        self._draw(trace.outline)
        self._show_frame()

    def _draw(self, outline: GraphOutline) -> None:
        self._outline = outline
        self.view.show_outline(outline)

    def outline(self) -> GraphOutline | None:
        """The graph drawn, None before the first."""
        return self._outline

    def end_trace(self) -> None:
        """Training moved on: the walk shows a step long gone."""
        if self._walk is not None:
            self._walk = None
            self._show_frame()

    def set_idle(self, idle: bool) -> None:
        """Step through only while no run trains."""
        self.step_button.setEnabled(idle)

    def show_checks(self, checks: list[VariableCheck]) -> None:
        self.checks.show_checks(checks)

    # --- step-through ---------------------------------------------------------------------
    def next_stage(self) -> None:
        if self._walk is not None and self._walk.next():
            self._show_frame()

    def previous_stage(self) -> None:
        if self._walk is not None and self._walk.previous():
            self._show_frame()

    def frame(self) -> Frame | None:
        """The stage shown, None outside a step-through."""
        return None if self._walk is None else self._walk.frame()

    def _show_frame(self) -> None:
        frame = self.frame()
        walking = frame is not None
        self.previous_button.setEnabled(walking and self._walk.position > 0)
        self.next_button.setEnabled(walking and self._walk.position + 1 < len(self._walk))
        if frame is None:
            self.view.clear_stage()
            self.stage_title.setText("")
            return
        step = self._walk.trace.step
        self.stage_title.setText(f"Step {step:,} · {PHASE_TITLES[frame.phase]} "
                                 f"{frame.index + 1} of {frame.count}: {frame.node}")
        self.stage_text.setText(frame.text)
        self.view.show_stage(frame.lit, frame.node, frame.edge_labels, frame.phase)

    # --- inspector ------------------------------------------------------------------------
    def inspect(self, name: str) -> dict[str, Any]:
        """The value and gradient the inspector shows for `name` (selecting it)."""
        self.view.select(name)
        return self._inspected(name)

    def _inspected(self, name: str) -> dict[str, Any]:
        values = self._values
        if values is None or name not in values.values:
            return {"value": None, "gradient": None}
        return {"value": values.values[name], "gradient": values.gradients[name]}

    def _show_selected(self, name: str | None) -> None:
        if name is None or self._values is None or name not in self._values.values:
            return
        node = self._values.outline.node(name)
        shown = self._inspected(name)
        kind = node.op if node.kind == "operation" else node.kind
        self.node_title.setText(f"<b>{name}</b> · {kind} · step {self._values.step:,}")
        self.node_value.setText(describe(shown["value"]))
        gradient = shown["gradient"]
        self.node_gradient.setText("none: the loss does not depend on it" if gradient is None
                                   else describe(gradient))
        self._show_histogram(shown)

    def _show_histogram(self, shown: dict[str, Any]) -> None:
        """A big value or gradient (no full matrix) gets a histogram of its entries."""
        for key, plot in self.histograms.items():
            array = shown[key]
            big = array is not None and matrix_text(array) is None
            plot.setVisible(big)
            if big:
                counts, edges = histogram(np.asarray(array))
                plot.bars.setOpts(x0=edges[:-1], x1=edges[1:], height=counts)

    def _write_labels(self) -> None:
        self.view.set_labels(self.labels() if self.value_labels.isChecked() else {})

    def labels(self) -> dict[str, str]:
        """Each node's value and gradient in one line each, for labels and exports."""
        values = self._values
        if values is None:
            return {}
        labels = {}
        for name, value in values.values.items():
            gradient = values.gradients[name]
            text = f"= {short_text(value)}"
            if gradient is not None:
                text += f"\n∂ {short_text(gradient)}"
            labels[name] = text
        return labels


def _histogram_plot(key: str, colour: str) -> ThemedPlot:
    """A small plot of one histogram, hidden until there is a big array to show."""
    plot = ThemedPlot()
    plot.setObjectName(f"{key}Histogram")
    plot.follow_palette()
    plot.setMaximumHeight(80)
    plot.setMouseEnabled(False, False)
    plot.hideButtons()
    plot.getPlotItem().getAxis("left").setWidth(28)
    plot.bars = pg.BarGraphItem(x0=[], x1=[], height=[], brush=colour)
    plot.addItem(plot.bars)
    plot.hide()
    return plot
