"""The Graph tab: the engine graph of the current model, live, with an inspector for the
selected node, the step-through of one training step, and the gradient check.

It renders what the worker sends (lab.core.graph_values.GraphValues, a StepTrace) and what
the window computes on its own float64 copy (the gradient check); it never touches the
graph a run trains.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QFontDatabase, QImage, QPixmap
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
from lab.core.array_text import number_text
from lab.core.gradient_check import VariableCheck
from lab.core.graph_outline import GraphOutline
from lab.core.graph_values import GraphValues
from lab.core.node_summary import NodeSummary
from lab.core.step_trace import Frame, StepThrough, StepTrace
from lab.widgets.gradient_check_view import GradientCheckView
from lab.widgets.graph_view import GraphView

INTRODUCTION = ("Takes one training step and shows it node by node: the forward pass, "
                "backpropagation, then the update.")
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
        self._values: GraphValues | None = None  # the latest from the worker
        self._shown = _Shown("", {}, {}, {})
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
        self.stage_text.setTextFormat(Qt.TextFormat.PlainText)
        self.stage_text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.stage_text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
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
        self.histograms = {key: Histogram(f"{key}Histogram", colour) for key, colour in
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
        if self._walk is None:
            self._show(_Shown(f"step {values.step:,}", values.values, values.gradients,
                              values.summaries), values.outline)

    def start_trace(self, trace: StepTrace) -> None:
        """Walk through a traced step from its first forward stage; meanwhile the labels and
        the inspector show that step's values and gradients."""
        self._walk = StepThrough(trace)
        self._show(_Shown(f"in step {trace.step:,}", trace.values(), trace.gradients(),
                          trace.summaries), trace.outline)
        self._show_frame()

    def draw(self, outline: GraphOutline) -> None:
        """The graph alone, before the worker's values come."""
        self._show(_Shown("", {}, {}, {}), outline)

    def _show(self, shown: _Shown, outline: GraphOutline) -> None:
        self._shown, self._outline = shown, outline
        self.view.show_outline(outline)
        self._write_labels()
        self._show_selected(self.view.selected())

    def outline(self) -> GraphOutline | None:
        """The graph drawn, None before the first."""
        return self._outline

    def clear(self) -> None:
        """No graph (another model is on its way): nothing of the old one stays in view."""
        self._walk = self._values = self._outline = None
        self._shown = _Shown("", {}, {}, {})
        self.view.clear()
        self.checks.clear()
        self._show_frame()
        self._show_selected(None)

    def end_trace(self) -> None:
        """Training moved on: the walk shows a step long gone."""
        if self._walk is not None:
            self._walk = None
            self._show_frame()
            if self._values is not None:
                self.show_values(self._values)

    def set_idle(self, idle: bool) -> None:
        """Step through only while no run trains."""
        self.step_button.setEnabled(idle)

    def show_checks(self, checks: list[VariableCheck]) -> None:
        self.checks.show_checks(checks)

    def set_checking(self, checking: bool) -> None:
        """While a check runs, its button waits."""
        self.check_button.setEnabled(not checking)
        self.check_button.setText("Checking…" if checking else "Check gradients")

    # --- step-through ---------------------------------------------------------------------
    def next_stage(self) -> None:
        if self._walk is not None and self._walk.next():
            self._show_frame()

    def previous_stage(self) -> None:
        if self._walk is not None and self._walk.previous():
            self._show_frame()

    def walked_step(self) -> int | None:
        """The step walked through, None outside a walk."""
        return None if self._walk is None else self._walk.trace.step

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
            self.stage_text.setText(INTRODUCTION)
            return
        step = self._walk.trace.step
        self.stage_title.setText(f"Step {step:,} · {PHASE_TITLES[frame.phase]} "
                                 f"{frame.index + 1} of {frame.count}: {frame.node}")
        self.stage_text.setText(frame.text)
        self.view.show_stage(frame.lit, frame.node, frame.edge_labels, frame.phase)

    # --- inspector ------------------------------------------------------------------------
    def inspect(self, name: str) -> dict[str, Any]:
        """The value and gradient the inspector shows for `name` (selecting it)."""
        if name not in self._shown.values:
            drawn = ", ".join(self._shown.values) or "none yet"
            raise ValueError(f"no node {name!r} in the graph shown (its nodes: {drawn})")
        self.view.select(name)
        return {"value": self._shown.values[name], "gradient": self._shown.gradients[name]}

    def _show_selected(self, name: str | None) -> None:
        shown = self._shown
        summary = shown.summaries.get(name) if name else None
        if summary is None:
            self.node_title.setText("Click a node of the graph.")
            self.node_value.setText("")
            self.node_gradient.setText("")
            for histogram in self.histograms.values():
                histogram.hide()
            return
        node = self._outline.node(name)
        kind = node.op if node.kind == "operation" else node.kind
        self.node_title.setText(f"<b>{name}</b> · {kind} · {shown.when}")
        self.node_value.setText(summary.value)
        self.node_gradient.setText(summary.gradient)
        for key, histogram in self.histograms.items():
            counts_edges = summary.histograms.get(key)
            histogram.setVisible(counts_edges is not None)
            if counts_edges is not None:
                histogram.show_counts(*counts_edges)

    def _write_labels(self) -> None:
        self.view.set_labels(self.labels() if self.value_labels.isChecked() else {})

    def labels(self) -> dict[str, str]:
        """Each node's value and gradient, a line each, for labels and exports."""
        return {name: summary.label for name, summary in self._shown.summaries.items()}


class _Shown(NamedTuple):
    """What the labels and the inspector show: the latest step's values, or during a walk
    the walked step's."""

    when: str  # "step 300", "in step 301"
    values: Mapping[str, Any]
    gradients: Mapping[str, Any]
    summaries: Mapping[str, NodeSummary]


class Histogram(QWidget):
    """A histogram as a picture (bars coloured in one numpy pass, painted by Qt in C++: it
    changes at every snapshot while a big node is inspected) over its range."""

    SIZE = QSize(220, 44)

    def __init__(self, name: str, colour: str) -> None:
        super().__init__(objectName=name)
        self.colour = np.array(QColor(colour).getRgb(), dtype=np.uint8)
        self.counts = np.zeros(0, dtype=np.int64)
        self.picture = QLabel()
        self.picture.setFixedSize(self.SIZE)
        self.range = QLabel()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.picture)
        layout.addWidget(self.range)
        self.hide()

    def show_counts(self, counts: np.ndarray, edges: np.ndarray) -> None:
        self.counts = counts
        width, height = self.SIZE.width(), self.SIZE.height()
        bins = len(counts)
        tops = np.ceil(counts / max(counts.max(), 1) * height).astype(int)
        column_bin = np.minimum(np.arange(width) * bins // width, bins - 1)
        filled = np.arange(height)[::-1, None] < tops[column_bin][None, :]
        pixels = np.zeros((height, width, 4), dtype=np.uint8)
        pixels[filled] = self.colour
        image = QImage(pixels.data, width, height, 4 * width, QImage.Format.Format_RGBA8888)
        self.picture.setPixmap(QPixmap.fromImage(image))  # a copy: pixels may go
        self.range.setText(f"{number_text(edges[0])} … {number_text(edges[-1])}")
