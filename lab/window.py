"""MainWindow: composes the widgets, menus and the training worker.

It moves state between the pieces and renders snapshots; computing happens in lab.core and
on the worker thread. Methods named in the test seams (export_weights, import_weights,
save_points, load_points, points) are what the menu actions call.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QSplitter,
    QWidget,
)

import engine
import lab
from lab.autosave import Autosave
from lab.core import files
from lab.core.boundary import region_image, separating_segments
from lab.core.colors import CLASS_COLORS
from lab.core.datasets import generate, tutorial_points
from lab.core.model import ModelSettings
from lab.core.points import PointSet
from lab.core.training import Snapshot, weights_metadata
from lab.resources import icon
from lab.widgets.controls import Controls
from lab.widgets.data_plot import DataPlot
from lab.widgets.loss_plot import LossPlot
from lab.widgets.weights_view import WeightsView
from lab.worker import RunConfig, TrainingWorker

REGION_ALPHA = 0.35
SHORTCUTS = (
    ("Ctrl+Return", "Train"),
    ("Space", "Pause / resume"),
    ("Esc", "Stop"),
    ("Ctrl+.", "One step"),
    ("Ctrl+R", "Reset the model"),
    ("Ctrl+Z / Ctrl+Shift+Z", "Undo / redo a change to the points"),
    ("Left-click", "Add a point of the selected class"),
    ("Right- or Shift-click", "Add a point of the other class"),
    ("Ctrl-click", "Remove the nearest point"),
    ("Ctrl+O / Ctrl+S", "Open / save points (CSV)"),
    ("Ctrl+E / Ctrl+I", "Export / import weights"),
)


class MainWindow(QMainWindow):
    """The Training Lab window: data plot, loss plot, weights, controls, menus, status bar."""

    trainingFinished = Signal(str)  # why the run ended: "finished", "stopped", a divergence, ...

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(lab.APP_NAME)
        self.setWindowIcon(icon())
        self.autosave = Autosave(parent=self)
        restored_points, restored_weights, problems = self.autosave.restore()
        self._points = PointSet(*(restored_points or tutorial_points()))
        self._snapshot: Snapshot | None = None
        # The latest snapshot whose weights the tables have yet to show (they follow at ~4 Hz).
        self._weights_due: Snapshot | None = None
        self._state = "idle"
        self._ticket = 0  # which Train/Step the worker's trainingFinished answers
        self._run_steps = 0
        self._rate_mark: tuple[float, int] | None = None
        self._settings = ModelSettings()

        self.controls = Controls()
        self.data_plot = DataPlot()
        self.loss_plot = LossPlot()
        self.weights_view = WeightsView()
        self._build_layout()
        self._build_status_bar()
        self._build_menus()

        self.worker = TrainingWorker()
        self.worker.snapshotReady.connect(self._show_snapshot)
        self.worker.trainingFinished.connect(self._run_finished)
        self.worker.failed.connect(self._worker_failed)
        self.worker.start()

        self._view_timer = QTimer(self, singleShot=True, interval=120)
        self._view_timer.timeout.connect(self._send_view)
        self.data_plot.plotItem.vb.sigRangeChanged.connect(lambda *_: self._view_timer.start())
        self._connect_controls()
        self._points.subscribe(self._points_changed)

        self.data_plot.set_points(self._points.xy, self._points.labels)
        self.data_plot.fit_view()
        self.worker.set_points(self._points.xy, self._points.labels)
        self._send_view()
        self._start_model(restored_weights, problems)
        self._restore_settings()  # the user's last choices win over the autosaved run's
        self.autosave.failed.connect(lambda error: self._say(f"Autosave failed: {error}"))
        if problems:
            self._say("Could not restore the last session: " + "; ".join(problems))

    def _start_model(self, restored_weights: tuple | None, problems: list[str]) -> None:
        """Continue the last session's run if its weights fit the points, else a fresh model."""
        if restored_weights is not None:
            try:
                self._use_weights(*restored_weights)
                return
            except ValueError as error:
                problems.append(str(error))
        self._configure()

    # --- layout -------------------------------------------------------------------------------
    def _build_layout(self) -> None:
        scroll = QScrollArea()
        scroll.setWidget(self.controls)
        scroll.setWidgetResizable(True)
        scroll.setMinimumWidth(self.controls.sizeHint().width() + 24)
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.loss_plot)
        right.addWidget(self.weights_view)
        right.setSizes([300, 400])
        main = QSplitter(Qt.Orientation.Horizontal)
        main.addWidget(scroll)
        main.addWidget(self.data_plot)
        main.addWidget(right)
        main.setStretchFactor(1, 3)
        main.setStretchFactor(2, 1)
        main.setSizes([280, 700, 360])
        self.setCentralWidget(main)
        self.resize(1400, 860)

    def _build_status_bar(self) -> None:
        self._status_labels = {}
        for key in ("step", "loss", "accuracy", "speed"):
            label = QLabel()
            label.setObjectName(f"status_{key}")
            label.setMinimumWidth(110)
            self.statusBar().addPermanentWidget(label)
            self._status_labels[key] = label

    def _action(self, text: str, slot, shortcut=None, menu=None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        if menu is not None:
            menu.addAction(action)
        self.addAction(action)
        return action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file = bar.addMenu("&File")
        self._action("&New", self.new_workspace, QKeySequence.StandardKey.New, file)
        self._action("&Open points…", self._open_points_dialog, QKeySequence.StandardKey.Open, file)
        self._action("&Save points…", self._save_points_dialog, QKeySequence.StandardKey.Save, file)
        file.addSeparator()
        self._action("&Import weights…", self._import_weights_dialog, "Ctrl+I", file)
        self._action("&Export weights…", self._export_weights_dialog, "Ctrl+E", file)
        self._action("Export plot &image…", self._export_image_dialog, "Ctrl+Shift+E", file)
        file.addSeparator()
        self._action("&Quit", self.close, QKeySequence.StandardKey.Quit, file)
        edit = bar.addMenu("&Edit")
        self._undo = self._action("&Undo", self._points.undo, QKeySequence.StandardKey.Undo, edit)
        self._redo = self._action("&Redo", self._points.redo, "Ctrl+Shift+Z", edit)
        edit.addSeparator()
        self._action("&Clear points", self._points.clear, None, edit)
        training = bar.addMenu("&Training")
        self._action("&Train", self._train, "Ctrl+Return", training)
        self._action("&Pause / resume", self.controls.pauseButton.click, "Space", training)
        self._action("&Stop", self._stop, "Esc", training)
        self._action("One s&tep", self._step, "Ctrl+.", training)
        self._action("&Reset model", self._reset, "Ctrl+R", training)
        view = bar.addMenu("&View")
        self._regions_action = self._action("Decision &regions", self._send_view, None, view)
        self._regions_action.setCheckable(True)
        self._regions_action.setChecked(True)
        self._action("&Fit points", self.data_plot.fit_view, "Ctrl+0", view)
        log_y = self._action("&Log loss axis", self.loss_plot.set_log_y, "Ctrl+L", view)
        log_y.setCheckable(True)
        self.loss_plot.log_y_checkbox.toggled.connect(log_y.setChecked)
        help_menu = bar.addMenu("&Help")
        self._action("&Shortcuts", self._show_shortcuts, QKeySequence.StandardKey.HelpContents,
                     help_menu)
        self._action("&About Training Lab", self._show_about, None, help_menu)

    def _connect_controls(self) -> None:
        c = self.controls
        c.generateRequested.connect(self._generate)
        c.modelChanged.connect(self._model_changed)
        c.learningRateChanged.connect(self.worker.set_learning_rate)
        c.trainRequested.connect(self._train)
        c.pauseToggled.connect(self._pause_toggled)
        c.stopRequested.connect(self._stop)
        c.stepRequested.connect(self._step)
        c.resetRequested.connect(self._reset)
        self.data_plot.addPointRequested.connect(self._add_point)
        self.data_plot.removePointRequested.connect(self._points.remove_nearest)
        self._update_state("idle")

    # --- the test seams -----------------------------------------------------------------------
    def points(self) -> tuple[np.ndarray, np.ndarray]:
        """The current points as (xy, labels) copies."""
        return self._points.copy_arrays()

    def save_points(self, path: str | Path) -> None:
        xy, labels = self._points.copy_arrays()
        files.save_points(path, xy, labels)
        self._say(f"Saved {len(labels):,} points to {Path(path).name}")

    def load_points(self, path: str | Path) -> None:
        """Replace the points with a CSV file's (undoable); the file is validated first."""
        xy, labels = files.load_points(path)
        self._points.replace(xy, labels)
        self.data_plot.fit_view()
        self._say(f"Opened {len(labels):,} points from {Path(path).name}")

    def export_weights(self, path: str | Path) -> None:
        """Write the latest snapshot's weights and metadata (.npz or .json), atomically."""
        snapshot = self._snapshot
        if snapshot is None:
            raise RuntimeError("there is no model to export yet")
        files.save_weights(path, snapshot.weights, weights_metadata(snapshot))
        self._say(f"Exported the weights at step {snapshot.step:,} to {Path(path).name}")

    def import_weights(self, path: str | Path) -> None:
        """Load weights (validated) and continue from them; the controls follow the file."""
        self._use_weights(*files.load_weights(path))
        self._say(f"Imported weights from {Path(path).name}")

    def new_workspace(self) -> None:
        """Start over: the tutorial's points, a fresh model, and no autosave left behind."""
        self._stop()
        self.autosave.discard()
        self._points.replace(*tutorial_points())
        self.data_plot.fit_view()
        self._configure()
        self._say("New workspace: the tutorial's points and a fresh model.")

    def _use_weights(self, weights: dict, metadata: dict) -> None:
        """Continue from validated weights; the controls follow their metadata."""
        needed = _classes_needed(self._points.labels)
        if metadata["classes"] < needed:
            raise ValueError(
                f"these weights are for {metadata['classes']} classes but the points have {needed}"
            )
        layers = list(metadata["layers"])
        settings = ModelSettings(
            kind=metadata["model"],
            hidden=tuple(layers[1:-1]),
            activation=metadata["activation"],
            classes=metadata["classes"],
            seed=self.controls.initSeed.value(),
        )
        self._stop()
        self.controls.show_settings(settings, metadata["optimizer"], metadata["learning_rate"])
        self._configure(settings, weights=weights, step=int(metadata["step"]))

    # --- points ---------------------------------------------------------------------------------
    def _add_point(self, x: float, y: float, alternate: bool) -> None:
        selected = self.controls.classSelector.currentData()
        if alternate:
            present = max(2, self._points.class_count, selected + 1)
            selected = 1 - selected if selected < 2 else (selected + 1) % present
        self._points.add(x, y, selected)

    def _points_changed(self) -> None:
        xy, labels = self._points.xy, self._points.labels
        self.data_plot.set_points(xy, labels)
        self._undo.setEnabled(self._points.can_undo)
        self._redo.setEnabled(self._points.can_redo)
        self.worker.set_points(xy, labels)
        self.autosave.points_changed(xy, labels)
        needed = _classes_needed(labels)
        if needed > self._settings.classes:
            message = f"The points now have {needed} classes: the model was rebuilt for them."
            self._stop(message)
            if self._configure():
                self._say(message)
        self._update_state(self._state)

    def _generate(self) -> None:
        c = self.controls
        xy, labels = generate(
            c.datasetKind.currentData(), c.pointCount.value(), c.noise.value(), c.dataSeed.value()
        )
        self._points.replace(xy, labels)
        self.data_plot.fit_view()

    # --- the run --------------------------------------------------------------------------------
    def _configure(
        self, settings: ModelSettings | None = None, weights: dict | None = None, step: int = 0
    ) -> bool:
        """Build a new run on the worker (fresh or given weights); clears the loss curve.

        False (and the reason in the status bar) when the controls describe no valid model.
        """
        if settings is None:
            try:
                settings = self.controls.model_settings(_classes_needed(self._points.labels))
            except ValueError as error:
                self._say(str(error))
                return False
        self._settings = settings
        self.loss_plot.clear()
        self.worker.configure(
            RunConfig(
                settings,
                self.controls.optimizer.currentData(),
                self.controls.learningRate.value(),
                weights,
                step,
            )
        )
        return True

    def _model_changed(self) -> None:
        if self._state == "idle":
            self._configure()

    def _reset(self) -> None:
        self._stop()
        self._configure()

    def _can_train(self) -> bool:
        """Two classes at least, and a model with an output for each."""
        labels = self._points.labels
        return self._points.class_count >= 2 and self._settings.classes >= _classes_needed(labels)

    def _train(self) -> None:
        if not self._can_train():
            self._say("Training needs points of at least two classes: generate or click some.")
            return
        if self._state == "paused":
            self.controls.pauseButton.setChecked(False)
            return
        if self._state == "training":
            return
        self._run_steps = self.controls.steps.value()
        self.controls.show_progress(0, self._run_steps)
        self._rate_mark = None
        self._ticket += 1
        self.worker.train(self._run_steps, self._ticket)
        self._update_state("training")

    def _step(self) -> None:
        if self._state == "training" or not self._can_train():
            return
        if self._state == "idle":
            self._ticket += 1
            self._run_steps = 1
        self.worker.step_once(self._ticket)

    def _stop(self, reason: str = "stopped") -> None:
        if self._state != "idle":
            self.worker.stop(reason)

    def _pause_toggled(self, paused: bool) -> None:
        if self._state == "idle":
            return
        if paused:
            self.worker.pause()
        else:
            self.worker.resume()
        self._update_state("paused" if paused else "training")

    def _update_state(self, state: str) -> None:
        self._state = state
        self.controls.set_state(state, self._can_train())

    def _send_view(self) -> None:
        wanted = self._regions_action.isChecked()
        if not wanted:
            self.data_plot.clear_regions()
        self.worker.set_view(self.data_plot.view_rect() if wanted else None)

    # --- rendering snapshots ------------------------------------------------------------------
    def _show_snapshot(self, snapshot: Snapshot) -> None:
        """Show a snapshot from the worker; the worker waits until its plots are painted.

        pyqtgraph paints through many Python calls (QPainter calls from Python hold the GIL
        too), and each one would otherwise wait for the training thread to hand over the
        GIL, so the worker pauses for that paint. Labels, progress bar and weights tables
        are Qt's own widgets, painted in C++ without the GIL: they are updated once the
        worker is released, and their paint overlaps training.
        """
        self._receive(snapshot)
        if snapshot.curve is None and snapshot.grid is None:  # nothing for the plots
            self.worker.painted()
            self._render_numbers()
            return
        try:
            self._render_plots(snapshot)
        finally:
            # With the window as context, the call is dropped if the window is gone by then.
            QTimer.singleShot(0, self, self._plots_painted)

    def _receive(self, snapshot: Snapshot) -> None:
        """Make it the latest snapshot, and the one whose weights the tables show next if
        they are due."""
        self._snapshot = snapshot
        if self._slow_views_due(snapshot):
            self._weights_due = snapshot

    def _plots_painted(self) -> None:
        self.worker.painted()
        self._render_numbers()

    def _slow_views_due(self, snapshot: Snapshot) -> bool:
        """The data plot and the weights tables are the costliest views to update: they follow
        the grid's pace (~4 Hz), or the curve's when regions are off."""
        regions_off = not self._regions_action.isChecked()
        return snapshot.grid is not None or (snapshot.curve is not None and regions_off)

    def _render(self, snapshot: Snapshot) -> None:
        """Everything a snapshot shows, at once (outside the worker's paced loop)."""
        self._receive(snapshot)
        self._render_plots(snapshot)
        self._render_numbers()

    def _render_plots(self, snapshot: Snapshot) -> None:
        if snapshot.curve is not None:
            self.loss_plot.set_curve(*snapshot.curve)
        grid = snapshot.grid
        if grid is not None:
            self.data_plot.set_regions(
                region_image(grid.probabilities, CLASS_COLORS, REGION_ALPHA), grid.rect
            )
        if self._slow_views_due(snapshot):
            self._show_boundary(snapshot)

    def _render_numbers(self) -> None:
        """Labels, progress and weights tables as of the latest snapshot (so a late call never
        shows older numbers), and the autosave that follows them."""
        snapshot = self._snapshot
        self.autosave.weights_changed(snapshot)
        labels = self._status_labels
        labels["step"].setText(f"step {snapshot.step:,}")
        labels["loss"].setText("loss –" if snapshot.loss is None else f"loss {snapshot.loss:.4g}")
        labels["accuracy"].setText(
            "accuracy –" if snapshot.accuracy is None else f"accuracy {snapshot.accuracy:.1%}"
        )
        self._show_speed(snapshot.step)
        if self._run_steps:
            done = min(snapshot.step - snapshot.run_start_step, self._run_steps)
            self.controls.show_progress(done, self._run_steps)
        if self._weights_due is not None:
            self.weights_view.show_weights(self._weights_due.weights)
            self._weights_due = None

    def _show_boundary(self, snapshot: Snapshot) -> None:
        if snapshot.settings.kind != "perceptron":
            self.data_plot.clear_boundary()
            return
        segments = separating_segments(
            snapshot.weights["W1"], snapshot.weights["b1"], self.data_plot.view_rect()
        )
        self.data_plot.set_boundary([segment for _i, _j, segment in segments])

    def _show_speed(self, step: int) -> None:
        now = time.perf_counter()
        if self._state != "training" or self._rate_mark is None:
            self._rate_mark = (now, step)
            return
        then, then_step = self._rate_mark
        if now - then >= 0.5:
            rate = (step - then_step) / (now - then)
            self._status_labels["speed"].setText(f"{rate:,.0f} steps/s")
            self._rate_mark = (now, step)

    def _run_finished(self, snapshot: Snapshot | None, reason: str, ticket: int) -> None:
        if snapshot is not None:
            self._render(snapshot)
        if ticket != self._ticket:
            return  # an earlier run, ended by the one now going
        self._update_state("idle")
        if reason == "finished":
            self._say(f"Trained to step {snapshot.step:,}.")
        elif reason == "stopped":
            self._say(f"Stopped at step {snapshot.step:,}.")
        else:
            self._say(reason)
            if "smaller learning rate" in reason:
                self._alert(QMessageBox.Icon.Warning, "Training diverged", reason)
        self.trainingFinished.emit(reason)

    def _worker_failed(self, details: str) -> None:
        self._update_state("idle")
        last = details.strip().splitlines()[-1]
        self._say(f"Training failed: {last}")
        self._alert(QMessageBox.Icon.Critical, "Training failed", last, details)
        self.trainingFinished.emit(f"failed: {last}")

    def _alert(self, icon: QMessageBox.Icon, title: str, text: str, details: str = "") -> None:
        """A window-modal message that does not block the caller (training results keep coming)."""
        box = QMessageBox(icon, title, text, parent=self)
        box.setObjectName("alert")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        if details:
            box.setDetailedText(details)
        box.open()

    # --- dialogs ------------------------------------------------------------------------------
    def _file_action(self, action, path: str, verb: str) -> None:
        """Run a file action; a bad file or failed write is reported and changes nothing."""
        if not path:
            return
        try:
            action(path)
        except (OSError, ValueError, RuntimeError) as error:
            self._alert(QMessageBox.Icon.Warning, f"Could not {verb}", str(error))
            self._say(f"Could not {verb}: {error}")

    def _open_points_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open points", "", "Points (*.csv)")
        self._file_action(self.load_points, path, "open the points")

    def _save_points_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save points", "points.csv", "Points (*.csv)")
        self._file_action(self.save_points, path, "save the points")

    def _import_weights_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Import weights", "", "Weights (*.npz *.json)"
        )
        self._file_action(self.import_weights, path, "import the weights")

    def _export_weights_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Export weights", "weights.npz", "NumPy weights (*.npz);;JSON weights (*.json)"
        )
        self._file_action(self.export_weights, path, "export the weights")

    def _export_image_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export plot image", "plot.png",
                                              "PNG image (*.png)")
        self._file_action(self._export_image, path, "export the image")

    def _export_image(self, path: str) -> None:
        if not self.data_plot.grab().save(path):
            raise OSError(f"could not write {Path(path).name}")
        self._say(f"Saved the plot to {Path(path).name}")

    def _show_shortcuts(self) -> None:
        rows = "".join(f"<tr><td><b>{k}</b></td><td>{v}</td></tr>" for k, v in SHORTCUTS)
        QMessageBox.information(self, "Shortcuts", f"<table cellpadding=3>{rows}</table>")

    def _show_about(self) -> None:
        QMessageBox.about(
            self,
            "About Training Lab",
            f"<h3>Training Lab {lab.__version__}</h3>"
            "<p>Watch gradient descent and backpropagation train a classifier on 2-D points."
            f"</p><p>Engine {engine.__version__}: a from-scratch computational graph in numpy "
            "with the API of the <i>Deep Learning From Scratch</i> tutorial.</p>",
        )

    def _say(self, message: str) -> None:
        self.statusBar().showMessage(message, 8000)

    # --- settings and closing -------------------------------------------------------------------
    def _restore_settings(self) -> None:
        settings = QSettings(lab.APP_NAME, lab.APP_NAME)
        geometry = settings.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        self.controls.learningRate.setValue(float(settings.value("training/learning_rate", 0.1)))
        self.controls.steps.setValue(int(settings.value("training/steps", 300)))

    def _save_settings(self) -> None:
        settings = QSettings(lab.APP_NAME, lab.APP_NAME)
        settings.setValue("window/geometry", self.saveGeometry())
        settings.setValue("training/learning_rate", self.controls.learningRate.value())
        settings.setValue("training/steps", self.controls.steps.value())

    def closeEvent(self, event: QCloseEvent) -> None:
        """Stop the worker thread and write what is unsaved; safe to call more than once."""
        if self.worker.isRunning():
            self._save_settings()
            self.worker.shutdown()
            for signal in (self.worker.snapshotReady, self.worker.trainingFinished,
                           self.worker.failed):
                signal.disconnect()  # anything still queued is for a window that is gone
            self.autosave.close()
        super().closeEvent(event)


def _classes_needed(labels: np.ndarray) -> int:
    """A model needs an output per class present, and at least two."""
    return max(2, int(labels.max()) + 1) if labels.size else 2
