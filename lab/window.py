"""MainWindow: lays out the views, builds the menus from the action table, and wires the
views, the workspace (lab.core.workspace, where the state and the rules live) and the
training worker together.

Methods named in the test seams (points, save_points/load_points, export_weights/
import_weights, save_workspace/open_workspace) are what the menu actions call.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QMimeData, QSettings, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QWidget,
)

import engine
import lab
from lab import dialogs
from lab.actions import ACTIONS, shortcut_rows
from lab.autosave import Autosave
from lab.background import Background
from lab.core.boundary import region_image, separating_segments
from lab.core.colormap import value_image, value_limits
from lab.core.colors import CLASS_COLORS
from lab.core.events import Change
from lab.core.explain import explain_point
from lab.core.gradient_check import VariableCheck, check_model_gradients
from lab.core.graph_dot import to_dot
from lab.core.io.kinds import file_kind, suffixes
from lab.core.io.points_csv import PointsFile, read_points, save_points
from lab.core.io.weights_file import load_weights, save_weights
from lab.core.model import Model, ModelSettings, straight_boundary
from lab.core.training import (
    EndKind,
    Grid,
    NeuronMaps,
    RunEnd,
    Scores,
    Snapshot,
    measure_text,
)
from lab.core.workspace import RunState, Workspace
from lab.export import FORMATS as EXPORT_FORMATS
from lab.export import export_view
from lab.graph_page import GraphPage
from lab.recent import recent_files, remember
from lab.resources import icon
from lab.widgets.confusion_view import ConfusionView
from lab.widgets.controls import Controls
from lab.widgets.data_plot import DataPlot
from lab.widgets.focus_keys import FocusedKeys
from lab.widgets.loss_plot import LossPlot
from lab.widgets.neurons_view import NeuronsView
from lab.widgets.point_view import PointView
from lab.widgets.weights_view import WeightsView
from lab.worker import TrainingWorker

REGION_ALPHA = 0.35
HEAT_ALPHA = 0.6  # predicted values and unit maps: stronger than the class regions
PREFERRED_SIZE = QSize(1400, 860)
SCREEN_SHARE = 0.95
# Snapshot parts drawn by pyqtgraph, which paints through Python, and the graph, whose many
# label updates each call into Qt: the worker waits until they are shown, so that the GUI
# thread's Python does not queue for the GIL behind training at every call.
PLOT_PARTS = frozenset({"curves", "regions", "weights", "graph"})
FILE_TYPES = "Workspace (*.tlab);;Points (*.csv);;Weights (*.npz *.json)"
GRAPH_FORMATS = "Graphviz DOT (*.dot);;SVG (*.svg);;PNG (*.png)"
EXPLAIN_INTERVAL = 0.5  # seconds between two explanations of a point while training


def fitting_size(available: QSize, preferred: QSize = PREFERRED_SIZE) -> QSize:
    """The preferred window size, shrunk to fit a share of the screen's free area (a
    1366x768 laptop's, say), so the axes, the status bar and the window's edges show."""
    room = QSize(int(available.width() * SCREEN_SHARE), int(available.height() * SCREEN_SHARE))
    return preferred.boundedTo(room)


class MainWindow(QMainWindow):
    """The Training Lab window: data plot, loss plot, weights, controls, menus, status bar."""

    trainingFinished = Signal(str)  # why the run ended: "finished", "stopped", a divergence, ...

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowIcon(icon())
        self.setAcceptDrops(True)
        self.autosave = Autosave(parent=self)
        restored, problems = self.autosave.restore()
        self.workspace = Workspace(restored)
        # The latest weights the tables have yet to show (they follow at the weights' pace).
        self._weights_due: dict[str, np.ndarray] | None = None
        self._regions_shown = True  # View → Show regions, and no neuron map in their place
        self._rate_mark: tuple[float, int] | None = None
        self._failure = ""  # the last error's traceback

        self.controls = Controls()
        self.data_plot = DataPlot()
        self.loss_plot = LossPlot()
        self.weights_view = WeightsView()
        self.neurons_view = NeuronsView()
        self.confusion_view = ConfusionView()
        self.graph_page = GraphPage()
        self.point_view = PointView()
        self._explained = (None, 0.0)  # (point index, when) of the point explanation shown
        self._explained_xy = np.zeros(2)  # where that point is
        self._scores_due: Scores | None = None
        self._value_limits: tuple[float, float] | None = None  # the value colours' scale
        self._neurons_due: NeuronMaps | None = None
        self._build_layout()
        self._build_status_bar()
        self._actions = self._build_menus()
        self._background = Background(self)
        self._focused_keys = FocusedKeys(self)

        self.worker = TrainingWorker()
        self.worker.snapshotReady.connect(self._show_snapshot)
        self.worker.trainingFinished.connect(self._run_finished)
        self.worker.failed.connect(self._worker_failed)
        self.worker.start()

        self._subscribe()
        self._connect_controls()
        self._view_timer = QTimer(self, singleShot=True, interval=120)
        self._view_timer.timeout.connect(self._send_view)
        self.data_plot.plotItem.vb.sigRangeChanged.connect(lambda *_: self._view_timer.start())
        self._show_workspace()
        self.data_plot.fit_view()
        self.workspace.attach(self.worker)
        self._send_view()
        self._restore_geometry()
        self.autosave.watch(self.workspace)
        self.autosave.failed.connect(lambda error: self._say(f"Autosave failed: {error}"))
        if problems:
            self._say("Could not restore the last session: " + "; ".join(problems))

    # --- layout -------------------------------------------------------------------------------
    def _build_layout(self) -> None:
        scroll = QScrollArea()
        scroll.setWidget(self.controls)
        scroll.setWidgetResizable(True)
        scroll.setMinimumWidth(self.controls.sizeHint().width() + 24)
        right = QSplitter(Qt.Orientation.Vertical, objectName="sidePanels")
        right.addWidget(self.loss_plot)
        self.tabs = QTabWidget(objectName="sideTabs")
        self.tabs.addTab(self.weights_view, "Weights")
        self.tabs.addTab(self.neurons_view, "Neurons")
        self.tabs.addTab(self.confusion_view, "Confusion")
        self.tabs.addTab(self.point_view, "Point")
        self.tabs.currentChanged.connect(self._send_view)
        right.addWidget(self.tabs)
        right.setSizes([300, 400])
        self.center = QTabWidget(objectName="centerTabs")
        self.center.addTab(self.data_plot, "Points")
        self.center.addTab(self.graph_page, "Graph")
        self.center.currentChanged.connect(self._send_view)
        main = QSplitter(Qt.Orientation.Horizontal, objectName="panels")
        main.addWidget(scroll)
        main.addWidget(self.center)
        main.addWidget(right)
        main.setStretchFactor(1, 3)
        main.setStretchFactor(2, 1)
        main.setSizes([280, 700, 360])
        self.setCentralWidget(main)
        self.resize(fitting_size(self.screen().availableGeometry().size()))

    def _build_status_bar(self) -> None:
        self._status_labels = {}
        for key in ("step", "loss", "accuracy", "test", "speed"):
            label = QLabel()
            label.setObjectName(f"status_{key}")
            label.setMinimumWidth(110)
            self.statusBar().addPermanentWidget(label)
            self._status_labels[key] = label

    def _build_menus(self) -> dict[str, QAction]:
        """Menus and shortcuts from lab.actions.ACTIONS; each calls the window method it names."""
        menus = {}
        actions = {}
        for spec in ACTIONS:
            menu = menus.get(spec.menu) or menus.setdefault(
                spec.menu, self.menuBar().addMenu(spec.menu)
            )
            if spec.separator:
                menu.addSeparator()
            action = QAction(spec.text, self)
            action.setObjectName(spec.name)
            action.setStatusTip(spec.tip)
            if isinstance(spec.shortcut, QKeySequence.StandardKey):
                action.setShortcuts(spec.shortcut)  # the platform's keys, e.g. Ctrl+Y for Redo
            elif spec.shortcut is not None:
                action.setShortcut(QKeySequence(spec.shortcut))
            action.setCheckable(spec.checkable)
            action.triggered.connect(getattr(self, spec.name))
            menu.addAction(action)
            self.addAction(action)
            actions[spec.name] = action
        actions["show_regions"].setChecked(True)
        self.loss_plot.log_y_checkbox.toggled.connect(actions["log_loss"].setChecked)
        self._recent_menu = QMenu("Open &recent", self, objectName="recentMenu")
        self._recent_menu.aboutToShow.connect(self._fill_recent_menu)
        menus["&File"].insertMenu(actions["save_dialog"], self._recent_menu)
        return actions

    def _fill_recent_menu(self) -> None:
        menu = self._recent_menu
        menu.clear()
        for number, path in enumerate(recent_files(), start=1):
            action = menu.addAction(f"&{number} {path.name}")
            action.setStatusTip(str(path))
            action.triggered.connect(lambda _checked=False, path=path: self._open_chosen(path))
        if menu.isEmpty():
            menu.addAction("No recent files").setEnabled(False)

    def _subscribe(self) -> None:
        """Views follow the workspace."""
        ws, c = self.workspace, self.controls
        on = ws.events.subscribe
        on(Change.POINTS, self._points_changed)
        on(Change.DATA, lambda: c.show_data(ws.data))
        on(Change.MODEL, self._model_changed)
        on(Change.TRAINING, self._training_changed)
        on(Change.STATE, self._state_changed)
        on(Change.SNAPSHOT, self._render_plots)
        on(Change.FINISHED, self._finished)
        on(Change.MESSAGE, self._say)
        on(Change.FILE, self._show_title)

    def _connect_controls(self) -> None:
        ws, c = self.workspace, self.controls
        c.generateRequested.connect(self._generate)
        c.dataEdited.connect(lambda: self._edit(lambda: ws.set_data(c.data_settings())))
        c.modelEdited.connect(lambda: self._edit(lambda: ws.set_model(c.model_settings(ws.model))))
        c.trainingEdited.connect(lambda: self._edit(lambda: ws.set_training(c.training_settings())))
        c.trainRequested.connect(self.train)
        c.pauseToggled.connect(lambda paused: ws.pause() if paused else ws.resume())
        c.stopRequested.connect(ws.stop)
        c.stepRequested.connect(self.step)
        c.resetRequested.connect(ws.reset)
        self.data_plot.addPointRequested.connect(self._add_point)
        self.neurons_view.selectionChanged.connect(lambda _layer, _unit: self._send_view())
        self.weights_view.unitClicked.connect(self.neurons_view.show_unit)
        self.data_plot.removePointRequested.connect(ws.points.remove_nearest)
        self.data_plot.explainRequested.connect(self._explain_nearest)
        self.point_view.indexChosen.connect(self.explain_point)
        self.graph_page.stepThroughRequested.connect(self.step_through)
        self.graph_page.checkRequested.connect(self.check_gradients)

    def _edit(self, apply: Callable[[], None]) -> bool:
        """Hand an edit to the workspace; one it refuses is said, and the fields show what
        holds. True when it was taken."""
        try:
            apply()
        except (ValueError, RuntimeError) as error:
            self._say(str(error))
            self._show_settings()
            return False
        return True

    def _take_typing(self) -> bool:
        """Apply what the fields show before a run starts; False (said) if one cannot be."""
        ws, c = self.workspace, self.controls
        problem = c.take_typing()  # the number fields apply through their own signals
        if problem:
            self._say(problem)
            return False
        return ws.state is not RunState.IDLE or self._edit(
            lambda: ws.set_model(c.model_settings(ws.model))
        )

    def _show_workspace(self) -> None:
        self._show_settings()
        self._points_changed()
        self._state_changed()
        self._show_title()

    def _show_settings(self) -> None:
        """The fields show the workspace's settings (again, after a refused edit)."""
        self.controls.show_data(self.workspace.data)
        self._model_changed()
        self._training_changed()

    # --- the test seams -----------------------------------------------------------------------
    def points(self) -> tuple[np.ndarray, np.ndarray]:
        """The current points as (xy, labels) copies."""
        return self.workspace.points.copy_arrays()

    def save_points(self, path: str | Path) -> None:
        """x,y,label CSV, or x,y,value for a regression."""
        columns = self.workspace.points.columns
        values = columns.values if self.workspace.points.task == "regression" else None
        save_points(path, columns.xy, columns.labels, values)
        remember(path)
        self._say(f"Saved {len(columns.labels):,} points to {Path(path).name}")

    def load_points(self, path: str | Path) -> None:
        """Replace the points with a CSV file's (undoable); the file is validated first."""
        self._points_read(path, read_points(path))

    def _points_read(self, path: str | Path, points: PointsFile) -> None:
        self.workspace.open_points(*points)
        remember(path)
        self.data_plot.fit_view()
        self._say(f"Opened {len(points.xy):,} points from {Path(path).name}")

    def load_points_in_background(self, path: str | Path) -> None:
        """`load_points` without freezing the window: the file is read on another thread,
        under a busy cursor, and the points come in when it is done."""
        if self._background.busy:
            self._say("Still opening the last file; try again in a moment.")
            return
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        self.statusBar().showMessage(f"Opening {Path(path).name}…")

        def done() -> None:
            QApplication.restoreOverrideCursor()
            self.statusBar().clearMessage()

        def read(points: PointsFile) -> None:
            done()
            self._points_read(path, points)

        def failed(error: Exception) -> None:
            done()
            self._report(error, "open the file")

        self._background.run(lambda: read_points(path), read, failed)

    def export_weights(self, path: str | Path) -> None:
        """Write the newest weights and their metadata (.npz or .json), atomically."""
        step, weights, _loss = self.workspace.current()
        save_weights(path, weights, self.workspace.weights_metadata())
        remember(path)
        self._say(f"Exported the weights at step {step:,} to {Path(path).name}")

    def import_weights(self, path: str | Path) -> None:
        """Load weights (validated) and continue from them; the settings follow the file."""
        self.workspace.apply_weights(*load_weights(path))
        remember(path)
        self._say(f"Imported weights from {Path(path).name}")

    def save_workspace(self, path: str | Path) -> None:
        """Write the whole workspace (.tlab), atomically; Save then writes there."""
        self.workspace.save(path)
        remember(path)
        self._say(f"Saved the workspace at step {self.workspace.checkpoint.step:,} to "
                  f"{Path(path).name}")

    def open_workspace(self, path: str | Path) -> None:
        """Become the workspace in a .tlab file; a bad file is refused and changes nothing."""
        self.workspace.open(path)
        remember(path)
        self.data_plot.fit_view()
        self._say(f"Opened {Path(path).name} at step {self.workspace.checkpoint.step:,}")

    def open_file(self, path: str | Path) -> None:
        """Open a workspace, points or weights file, by its extension."""
        openers = {
            "workspace": self.open_workspace,
            "points": self.load_points,
            "weights": self.import_weights,
        }
        openers[file_kind(path)](path)

    # --- menu commands (lab.actions names them) -----------------------------------------------
    def new_dialog(self) -> None:
        """File → New: start over, once the user agrees to lose what is not saved."""
        if self._may_discard("Starting over"):
            self.new_workspace()

    def new_workspace(self) -> None:
        """Start over: the tutorial's points, a fresh model, and no autosave left behind."""
        self.workspace.new()
        self.autosave.discard()
        self.data_plot.fit_view()
        self._say("New workspace: the tutorial's points and a fresh model.")

    def undo(self) -> None:
        self.workspace.points.undo()

    def redo(self) -> None:
        self.workspace.points.redo()

    def clear_points(self) -> None:
        self.workspace.points.clear()

    def train(self) -> None:
        if self._take_typing():
            self.workspace.train()

    def toggle_pause(self) -> None:
        self.controls.pauseButton.click()

    def stop(self) -> None:
        self.workspace.stop()

    def step(self) -> None:
        if self._take_typing():
            self.workspace.step()

    def reset(self) -> None:
        self.workspace.reset()

    def step_through(self) -> None:
        """One traced step; its stages show in the Graph tab as the snapshot brings them."""
        ws = self.workspace
        problem = ("Pause the run to step through a step." if ws.state is RunState.TRAINING
                   else ws.train_blocker())
        if problem:
            self._say(problem)
            return
        if self._take_typing():
            self.center.setCurrentWidget(self.graph_page)
            ws.step(trace=True)

    def next_stage(self) -> None:
        self.graph_page.next_stage()

    def previous_stage(self) -> None:
        self.graph_page.previous_stage()

    def check_gradients(self) -> None:
        """Finite differences beside backpropagation for every variable, in float64, on a
        copy of the model at the latest weights (not the graph the worker trains), on the
        background thread: a deep network on many points takes seconds."""
        ws = self.workspace
        if self._background.busy:
            self._say("Busy reading a file; check the gradients when it is done.")
            return
        model, weights, training = ws.model, ws.current()[1], ws.training
        columns = ws.points.columns
        self.center.setCurrentWidget(self.graph_page)
        self.graph_page.set_checking(True)
        self._say("Checking the gradients against finite differences…")

        def done(checks: list[VariableCheck]) -> None:
            self.graph_page.set_checking(False)
            self.graph_page.show_checks(checks)
            bad = [check.name for check in checks if not check.ok]
            self._say(f"Gradients of {', '.join(bad)} disagree with finite differences" if bad
                      else "Backpropagation agrees with finite differences for every variable")

        def failed(error: Exception) -> None:
            self.graph_page.set_checking(False)
            self._say(f"Could not check the gradients: {error}")

        self._background.run(
            lambda: check_model_gradients(model, weights, training, columns), done, failed
        )

    def show_graph(self) -> None:
        graph = self.center.currentWidget() is not self.graph_page
        self.center.setCurrentWidget(self.graph_page if graph else self.data_plot)

    def graph_node_names(self) -> list[str]:
        """The nodes the graph view draws, in the engine's evaluation order."""
        return self.graph_page.view.node_names()

    def inspect_node(self, name: str) -> dict:
        """Select a node in the graph view: {"value": ..., "gradient": ...} as it shows them."""
        return self.graph_page.inspect(name)

    def explain_point(self, index: int) -> dict | None:
        """Explain point `index` in the Point tab; the arrays it shows (None: no such point)."""
        ws = self.workspace
        if not 0 <= index < len(ws.points):
            self.point_view.show_explanation(None)
            self._explained = (None, 0.0)
            return None
        try:
            explanation = explain_point(ws.model, ws.current()[1], ws.points.columns, index)
        except ValueError as error:  # a class the model does not have yet, say
            self._say(str(error))
            explanation = None
        self.point_view.show_explanation(explanation)
        self._explained = (None if explanation is None else index, time.perf_counter())
        self._explained_xy = ws.points.columns.xy[index].copy()
        return self.point_view.shown()

    def _explain_nearest(self, x: float, y: float) -> None:
        index = self.workspace.points.nearest(x, y)
        if index is not None:
            self.tabs.setCurrentWidget(self.point_view)
            self.explain_point(index)

    def show_regions(self) -> None:
        self._send_view()

    def fit_view(self) -> None:
        self.data_plot.fit_view()

    def log_loss(self, on: bool) -> None:
        self.loss_plot.set_log_y(on)

    def open_dialog(self) -> None:
        self._open_chosen(dialogs.open_path(self, "Open", FILE_TYPES))

    def _open_chosen(self, path: str | Path) -> None:
        """Open a file the user picked (Open, a recent file, a drop); a workspace replaces
        this one only once the user agrees to lose what is not saved."""
        if not str(path).lower().endswith(".tlab") or self._may_discard("Opening a workspace"):
            self.open_file_reporting(path)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self._dropped_file(event.mimeData()) is not None:
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        path = self._dropped_file(event.mimeData())
        if path is not None:
            event.acceptProposedAction()
            self._open_chosen(path)

    @staticmethod
    def _dropped_file(data: QMimeData) -> Path | None:
        """The dropped local file, if it is one this app opens."""
        for url in data.urls():
            path = Path(url.toLocalFile())
            if url.isLocalFile() and path.suffix.lower() in suffixes():
                return path
        return None

    def _may_discard(self, doing: str) -> bool:
        """True when nothing unsaved would be lost, or the user agrees to lose it."""
        ws = self.workspace
        if not ws.has_unsaved_work():
            return True
        where = "since it was saved" if ws.path else "and not saved in a workspace file"
        answer = QMessageBox.question(
            self,
            "Discard this workspace?",
            f"{doing} discards this workspace's points, settings and model (at step "
            f"{ws.checkpoint.step:,}), changed {where}.",
            QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        return answer == QMessageBox.StandardButton.Discard

    def open_file_reporting(self, path: str | Path) -> None:
        """`open_file`, with a failure said in an alert rather than raised, and points read
        in the background (the command line's FILE, Open, a dropped file)."""
        if path and Path(path).suffix.lower() in suffixes("points"):
            self.load_points_in_background(path)
        else:
            self._file_action(self.open_file, str(path), "open the file")

    def save_dialog(self) -> None:
        if self.workspace.path is None:
            self.save_as_dialog()
        else:
            self._file_action(self.save_workspace, str(self.workspace.path), "save the workspace")

    def save_as_dialog(self) -> None:
        path = dialogs.save_path(self, "Save workspace", "workspace.tlab", "Workspace (*.tlab)")
        self._file_action(self.save_workspace, path, "save the workspace")

    def save_points_dialog(self) -> None:
        path = dialogs.save_path(self, "Save points", "points.csv", "Points (*.csv)")
        self._file_action(self.save_points, path, "save the points")

    def import_weights_dialog(self) -> None:
        path = dialogs.open_path(self, "Import weights", "Weights (*.npz *.json)")
        self._file_action(self.import_weights, path, "import the weights")

    def export_weights_dialog(self) -> None:
        path = dialogs.save_path(self, "Export weights", "weights.npz",
                                 "NumPy weights (*.npz);;JSON weights (*.json)")
        self._file_action(self.export_weights, path, "export the weights")

    def export_data_plot_dialog(self) -> None:
        self._export_dialog("data")

    def export_loss_plot_dialog(self) -> None:
        self._export_dialog("loss")

    def export_weights_view_dialog(self) -> None:
        self._export_dialog("weights")

    def export_graph_dialog(self) -> None:
        path = dialogs.save_path(self, "Export graph", "graph.svg", GRAPH_FORMATS)
        self._file_action(self.export_graph, path, "export the graph")

    def export_graph(self, path: str | Path) -> None:
        """The graph view as .dot, .svg or .png, with values and gradients in the labels
        when the view shows them."""
        page, path = self.graph_page, Path(path)
        suffix = path.suffix.lower()
        if suffix not in (".dot", ".svg", ".png"):
            raise ValueError(f"choose a .dot, .svg or .png file, not {path.name!r}")
        outline = page.outline()
        if outline is None:  # the tab was never open: the graph without shapes or values
            ws = self.workspace
            outline = Model(ws.model, ws.current()[1]).outline()
            page.draw(outline)
        if suffix == ".dot":
            labels = page.labels() if page.value_labels.isChecked() else None
            path.write_text(to_dot(outline, labels), encoding="utf-8")
        elif suffix == ".svg":
            page.view.write_svg(path, f"Engine graph at step {self.workspace.current()[0]:,}")
        else:
            page.view.write_png(path)
        self._say(f"Saved the graph to {path.name}")

    def _export_dialog(self, view: str) -> None:
        path = dialogs.save_path(self, "Export image", f"{view}.png", EXPORT_FORMATS)
        self._file_action(lambda chosen: self.export_image(chosen, view), path,
                          "export the image")

    def export_image(self, path: str | Path, view: str = "data") -> None:
        """Write the data plot, the loss plot or the weights tables as .png or .svg."""
        widget, title = {
            "data": (self.data_plot, "Points and decision regions"),
            "loss": (self.loss_plot, "Loss"),
            "weights": (self.weights_view, "Weights"),
        }[view]
        step = self.workspace.current()[0]
        export_view(widget, path, f"{title} at step {step:,}",
                    [self.loss_plot.log_y_checkbox, self.loss_plot.batch_checkbox])
        self._say(f"Saved the {view} view to {Path(path).name}")

    def show_shortcuts(self) -> None:
        rows = "".join(f"<tr><td><b>{k}</b></td><td>{v}</td></tr>" for k, v in shortcut_rows())
        QMessageBox.information(self, "Shortcuts", f"<table cellpadding=3>{rows}</table>")

    def show_about(self) -> None:
        QMessageBox.about(
            self,
            "About Training Lab",
            f"<h3>Training Lab {lab.__version__}</h3>"
            "<p>Watch gradient descent and backpropagation train a classifier on 2-D points."
            f"</p><p>Engine {engine.__version__}: a from-scratch computational graph in numpy "
            "with the API of the <i>Deep Learning From Scratch</i> tutorial.</p>",
        )

    # --- following the workspace --------------------------------------------------------------
    def _add_point(self, x: float, y: float, alternate: bool) -> None:
        c = self.controls
        self.workspace.add_point(x, y, c.classSelector.currentData(), alternate,
                                 c.pointValue.value(), c.clickTest.isChecked())

    def _generate(self) -> None:
        self._edit(lambda: self.workspace.generate(self.controls.data_settings()))
        self.data_plot.fit_view()

    def _points_changed(self) -> None:
        """Points by class, or coloured by value on a scale shown beside them (regression);
        test points as rings."""
        points = self.workspace.points
        columns = points.columns
        regression = self.workspace.model.task == "regression"
        self._value_limits = value_limits(columns.values) if regression else None
        values = columns.values if regression else None
        self.data_plot.set_points(columns.xy, columns.labels, columns.test, values,
                                  self._value_limits or (-1.0, 1.0))
        self.data_plot.show_value_scale(self._value_limits)
        self.point_view.set_point_count(len(columns.labels))
        index = self._explained[0]
        if index is not None:  # the explained point, if it is still where it was
            same = index < len(columns.xy) and np.array_equal(columns.xy[index],
                                                              self._explained_xy)
            self.explain_point(index if same else -1)
        self._actions["undo"].setEnabled(points.can_undo)
        self._actions["redo"].setEnabled(points.can_redo)

    def _model_changed(self) -> None:
        model = self.workspace.model
        self.controls.show_model(model)
        self.neurons_view.set_layers(list(model.hidden) if model.kind == "mlp" else [])
        self.data_plot.clear_boundary()
        self.graph_page.clear()  # the next graph part draws the new model
        self._points_changed()
        self._send_view()

    def _training_changed(self) -> None:
        self.controls.show_training(self.workspace.training)
        self._show_progress(self.workspace.latest)

    def _show_progress(self, snapshot: Snapshot | None) -> None:
        """Step k of N of the current Train or Step, or 0 of the steps the next Train takes."""
        total = self.workspace.run_steps
        if total and snapshot is not None:
            done = min(snapshot.step - snapshot.run_start_step, total)
            self.controls.show_progress(done, total, snapshot.epoch if snapshot.batched else None)
        elif not total:
            self.controls.show_progress(0, self.workspace.training.steps)

    def _state_changed(self) -> None:
        ws = self.workspace
        self.controls.set_state(ws.state, ws.train_blocker() is None)
        self.graph_page.set_idle(ws.state is not RunState.TRAINING)
        if ws.state is RunState.TRAINING:  # the walk is over; the speed is measured from here
            self.graph_page.end_trace()
            self._rate_mark = None
            self._status_labels["speed"].setText("")

    def _show_title(self) -> None:
        """The workspace file's name, with Qt's marker while there are unsaved changes."""
        path = self.workspace.path
        self.setWindowTitle(lab.APP_NAME if path is None else f"{path.name}[*] — {lab.APP_NAME}")
        self.setWindowModified(path is not None and self.workspace.modified)

    def _send_view(self) -> None:
        """Ask the worker for what the views show of the plane: the decision regions, or a
        hidden unit's map in their place (not while the Graph tab hides the plane); every
        unit's while the Neurons tab is open; the graph's values while it is in view."""
        rect = self.data_plot.view_rect()
        plane = self.center.currentWidget() is self.data_plot
        neuron = self.neurons_view.wanted
        unit = None if neuron is None else neuron[1]
        self._regions_shown = self._actions["show_regions"].isChecked() and unit is None
        if not self._regions_shown and unit is None:
            self.data_plot.clear_regions()
        # a curved boundary comes with the regions, so they are made even when not shown
        wanted = plane and (self._regions_shown or _curved_boundary(self.workspace.model))
        self.worker.want("regions", rect, wanted)
        thumbnails = self.tabs.currentWidget() is self.neurons_view
        neurons = neuron is not None and ((plane and unit is not None) or thumbnails)
        self.worker.want("neurons", (*neuron, rect) if neurons else None, neurons)
        self.worker.want("graph", None, not plane)

    # --- rendering snapshots ------------------------------------------------------------------
    def _show_snapshot(self, snapshot: Snapshot) -> None:
        """Show a snapshot from the worker; the worker waits until its plots are painted.

        pyqtgraph paints through many Python calls (QPainter calls from Python hold the GIL
        too), and each one would otherwise wait for the training thread to hand over the
        GIL, so the worker pauses for that paint. Labels, progress bar and weights tables
        are Qt's own widgets, painted in C++ without the GIL: they are updated once the
        worker is released, and their paint overlaps training.
        """
        try:
            self.workspace.receive(snapshot)  # the plots follow it (_render_plots)
        finally:
            if PLOT_PARTS.isdisjoint(snapshot.parts):
                self.worker.painted()
                self._render_numbers()
            else:
                # With the window as context, the call is dropped if the window is gone by then.
                QTimer.singleShot(0, self, self._plots_painted)

    def _plots_painted(self) -> None:
        self.worker.painted()
        self._render_numbers()

    def _run_finished(self, snapshot: Snapshot | None, end: RunEnd, ticket: int) -> None:
        """The end of a Train or Step: everything it shows at once, then the workspace's rules."""
        if snapshot is not None:
            self.workspace.receive(snapshot)
            self._render_numbers()
        self.workspace.run_finished(None, end, ticket)

    def _render_plots(self, snapshot: Snapshot) -> None:
        parts = snapshot.parts
        if "curves" in parts:
            self.loss_plot.set_curves(parts["curves"])
        if "regions" in parts:
            self._show_regions(parts["regions"])
        if parts.get("neurons") is not None:
            self._show_neuron(parts["neurons"])
        if "weights" in parts:
            self._show_boundary(snapshot)
            self._weights_due = parts["weights"]
        if "scores" in parts:
            self._scores_due = parts["scores"]
        if "graph" in parts:
            self.graph_page.show_values(parts["graph"])
        if "trace" in parts:
            self.graph_page.start_trace(parts["trace"])
        elif self.graph_page.walked_step() not in (None, snapshot.step):
            self.graph_page.end_trace()  # a step taken since, untraced

    def _show_regions(self, grid: Grid) -> None:
        """Where each class wins, and the contour where it changes; or the predicted value as
        a heat map (regression)."""
        if grid.values is not None:
            if self._regions_shown:
                limits = self._value_limits or value_limits(grid.values)
                self.data_plot.set_regions(value_image(grid.values, limits, HEAT_ALPHA), grid.rect)
            return
        if self._regions_shown:
            image = region_image(grid.probabilities, CLASS_COLORS, REGION_ALPHA)
            self.data_plot.set_regions(image, grid.rect)
        if _curved_boundary(self.workspace.model):
            if len(grid.contour):
                self.data_plot.set_boundary(grid.contour)
            else:  # one class wins everywhere in view
                self.data_plot.clear_boundary()

    def _show_neuron(self, maps: NeuronMaps) -> None:
        """The selected unit's activation in place of the regions; the thumbnails follow
        with the numbers, after the paint."""
        if maps.selected_map is not None:
            image = value_image(maps.selected_map, value_limits(maps.selected_map), HEAT_ALPHA)
            self.data_plot.set_regions(image, maps.rect)
        self._neurons_due = maps

    def _show_boundary(self, snapshot: Snapshot) -> None:
        """The perceptron's exact separating lines, when it sees x and y alone (other models'
        boundaries come as contours with the regions)."""
        settings = snapshot.settings
        if settings.task == "regression":
            self.data_plot.clear_boundary()
        if settings.task == "regression" or _curved_boundary(settings):
            return
        segments = separating_segments(
            snapshot.weights["W1"], snapshot.weights["b1"], self.data_plot.view_rect()
        )
        self.data_plot.set_boundary([segment for _i, _j, segment in segments])

    def _render_numbers(self) -> None:
        """Labels, progress and weights tables as of the latest snapshot (so a late call never
        shows older numbers)."""
        snapshot = self.workspace.latest
        if snapshot is None:
            return
        labels = self._status_labels
        epoch = f" · epoch {snapshot.epoch:,}" if snapshot.batched else ""
        labels["step"].setText(f"step {snapshot.step:,}{epoch}")
        labels["loss"].setText("loss –" if snapshot.loss is None else f"loss {snapshot.loss:.4g}")
        self._show_speed(snapshot.step)
        self._show_progress(snapshot)
        if self._weights_due is not None:
            self.weights_view.show_weights(self._weights_due)
            self._weights_due = None
        if self._scores_due is not None:
            self._show_scores(self._scores_due)
            self._scores_due = None
        if self._neurons_due is not None:
            self.neurons_view.show_maps(self._neurons_due)
            self._neurons_due = None
        self._explain_again()

    def _explain_again(self) -> None:
        """The explained point with the newest weights, while its tab is open (at most every
        EXPLAIN_INTERVAL while training)."""
        index, when = self._explained
        if index is None or self.tabs.currentWidget() is not self.point_view:
            return
        training = self.workspace.state is RunState.TRAINING
        if not training or time.perf_counter() - when >= EXPLAIN_INTERVAL:
            self.explain_point(index)

    def _show_scores(self, scores: Scores) -> None:
        """Accuracy or R² beside the loss, the test loss and its accuracy or R², the confusion
        matrices: all for the same weights (the loss is the last step's own, before its
        update)."""
        labels = self._status_labels
        task = self.workspace.latest.settings.task
        labels["accuracy"].setText(measure_text(scores.train, task))
        test = scores.test
        if test is None or test.loss is None:
            labels["test"].setText("")
        else:
            labels["test"].setText(f"test: loss {test.loss:.4g} {measure_text(test, task)}")
        self.confusion_view.show_scores(scores)

    def _show_speed(self, step: int) -> None:
        now = time.perf_counter()
        if self.workspace.state is not RunState.TRAINING or self._rate_mark is None:
            self._rate_mark = (now, step)
            return
        then, then_step = self._rate_mark
        if now - then >= 0.5:
            rate = (step - then_step) / (now - then)
            self._status_labels["speed"].setText(f"{rate:,.0f} steps/s")
            self._rate_mark = (now, step)

    def _finished(self, end: RunEnd) -> None:
        step = self.workspace.current()[0]
        if end == RunEnd.finished():
            self._say(f"Trained to step {step:,}.")
        elif end == RunEnd.stopped():
            self._say(f"Stopped at step {step:,}.")
        else:
            self._say(end.message)
        if end.kind is EndKind.DIVERGED:
            self._alert(QMessageBox.Icon.Warning, "Training diverged", end.message)
        elif end.kind is EndKind.FAILED:
            text = end.message.removeprefix("failed: ")
            self._alert(QMessageBox.Icon.Critical, "Training failed", text, self._failure)
        self.trainingFinished.emit(end.message)

    # --- errors and messages ------------------------------------------------------------------
    def _worker_failed(self, details: str) -> None:
        self._failure = details  # the traceback, for the alert's details
        self.workspace.run_failed(details)

    def _alert(self, icon: QMessageBox.Icon, title: str, text: str, details: str = "") -> None:
        """A window-modal message that does not block the caller (training results keep coming)."""
        box = QMessageBox(icon, title, text, parent=self)
        box.setObjectName("alert")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        if details:
            box.setDetailedText(details)
        box.open()

    def _file_action(self, action: Callable[[str], None], path: str, verb: str) -> None:
        """Run a file action; a bad file or failed write is reported and changes nothing."""
        if not path:
            return
        try:
            action(path)
        except (OSError, ValueError, RuntimeError) as error:
            self._report(error, verb)

    def _report(self, error: Exception, verb: str) -> None:
        self._alert(QMessageBox.Icon.Warning, f"Could not {verb}", str(error))
        self._say(f"Could not {verb}: {error}")

    def _say(self, message: str) -> None:
        self.statusBar().showMessage(message, 8000)

    # --- geometry and closing -----------------------------------------------------------------
    def _restore_geometry(self) -> None:
        geometry = QSettings(lab.APP_NAME, lab.APP_NAME).value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)

    def closeEvent(self, event: QCloseEvent) -> None:
        """Stop the worker thread and write what is unsaved; safe to call more than once."""
        if self.worker.isRunning():
            QSettings(lab.APP_NAME, lab.APP_NAME).setValue("window/geometry", self.saveGeometry())
            QApplication.instance().removeEventFilter(self._focused_keys)
            self.worker.shutdown()
            for signal in (self.worker.snapshotReady, self.worker.trainingFinished,
                           self.worker.failed):
                signal.disconnect()  # anything still queued is for a window that is gone
            self.autosave.close()
            self._background.close()
        super().closeEvent(event)


def _curved_boundary(settings: ModelSettings) -> bool:
    """Whether the classes' boundary is drawn as the regions' contour."""
    return settings.task == "classification" and not straight_boundary(settings)
