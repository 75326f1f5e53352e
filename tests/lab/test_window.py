"""The main window driven as a user would: real widgets, real worker thread, offscreen."""

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import shiboken6
from PySide6.QtCore import QEvent, QObject, QPointF, Qt
from PySide6.QtWidgets import QApplication, QTableView

from lab.core.checkpoint import Checkpoint
from lab.core.io.reading import FileFormatError
from lab.core.points import validate_columns
from lab.core.training import RunEnd, TrainingRun
from lab.core.workspace import RunState
from lab.window import MainWindow

FINISH_MS = 30_000


def widget(w, name):
    found = w.findChild(object, name)
    assert found is not None, f"no widget named {name!r}"
    return found


def click_data(qtbot, w, x, y, button=Qt.MouseButton.LeftButton, modifier=None):
    plot = widget(w, "dataPlot")
    pos = plot.mapFromScene(plot.plotItem.vb.mapViewToScene(QPointF(x, y)))
    qtbot.mouseClick(plot.viewport(), button, modifier or Qt.KeyboardModifier.NoModifier, pos=pos)


def train(qtbot, w, steps, lr=None):
    if lr is not None:
        widget(w, "learningRate").setValue(lr)
    widget(w, "steps").setValue(steps)
    with qtbot.waitSignal(w.trainingFinished, timeout=FINISH_MS) as blocker:
        qtbot.mouseClick(widget(w, "trainButton"), Qt.MouseButton.LeftButton)
    return blocker.args[0]


def current_run(w):
    """A run like the window's current one, whose snapshots the window shows as its own."""
    run = TrainingRun(w.workspace.model, run_id=w.workspace.latest.run_id)
    run.set_points(validate_columns(*w.points()))
    return run


def shown_step(w):
    """The step of the snapshot on screen (-1 before the first one arrives)."""
    return -1 if w.workspace.latest is None else w.workspace.latest.step


def predict_with_numpy(path, xy):
    """What a user of the exported file would write: plain numpy, nothing from this project."""
    if str(path).endswith(".npz"):
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["metadata"]))
            weights = {k: data[k] for k in data.files if k != "metadata"}
    else:
        content = json.loads(Path(path).read_text())
        meta = content["metadata"]
        weights = {k: np.array(v) for k, v in content["weights"].items()}
    act = {"tanh": np.tanh, "relu": lambda z: np.maximum(z, 0),
           "sigmoid": lambda z: 1 / (1 + np.exp(-z))}[meta["activation"]]
    h = xy
    layers = len(meta["layers"]) - 1
    for i in range(1, layers + 1):
        h = h @ weights[f"W{i}"] + weights[f"b{i}"]
        if i < layers:
            h = act(h)
    return h.argmax(axis=1)


def test_starts_with_the_tutorial_blobs_and_an_untrained_perceptron(window):
    xy, labels = window.points()
    assert xy.shape == (100, 2)
    assert np.bincount(labels).tolist() == [50, 50]
    assert np.allclose(xy[labels == 0].mean(axis=0), (-2, -2), atol=0.5)
    assert np.allclose(xy[labels == 1].mean(axis=0), (2, 2), atol=0.5)
    assert widget(window, "modelKind").currentData() == "perceptron"
    assert widget(window, "trainButton").isEnabled() and widget(window, "stepButton").isEnabled()
    assert not widget(window, "pauseButton").isEnabled()
    assert not widget(window, "stopButton").isEnabled()
    assert window.windowTitle() == "Training Lab"
    assert not window.windowIcon().isNull()


def test_left_click_adds_a_point_at_the_data_coordinates(qtbot, window):
    vb = widget(window, "dataPlot").plotItem.vb
    vb.setRange(xRange=(-5, 5), yRange=(-5, 5), padding=0)
    qtbot.wait(50)
    range_before = vb.viewRange()
    click_data(qtbot, window, 1.5, -3.25)
    xy, labels = window.points()
    assert len(labels) == 101
    tolerance = max(vb.viewPixelSize())
    assert abs(xy[-1, 0] - 1.5) <= tolerance and abs(xy[-1, 1] + 3.25) <= tolerance
    assert labels[-1] == widget(window, "classSelector").currentData() == 0
    assert vb.viewRange() == range_before  # the view stays put


def test_right_click_adds_the_other_class_and_ctrl_click_removes(qtbot, window):
    click_data(qtbot, window, 0.5, 0.5, button=Qt.MouseButton.RightButton)
    xy, labels = window.points()
    assert len(labels) == 101 and labels[-1] == 1
    click_data(qtbot, window, 0.5, 0.5, modifier=Qt.KeyboardModifier.ControlModifier)
    xy_after, _ = window.points()
    assert len(xy_after) == 100
    assert not np.any(np.all(np.isclose(xy_after, xy[-1]), axis=1))


def test_undo_and_redo_with_the_keyboard(qtbot, window):
    click_data(qtbot, window, 1.0, 1.0)
    assert len(window.points()[1]) == 101
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert len(window.points()[1]) == 100
    qtbot.keyClick(
        window, Qt.Key.Key_Z,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    assert len(window.points()[1]) == 101


def test_training_the_default_data_learns_it(qtbot, window):
    assert train(qtbot, window, 300, lr=0.1) == "finished"
    snapshot = window.workspace.latest
    assert snapshot.step == 300
    _steps, losses = snapshot.parts["curves"]["train"]
    assert losses[-1] < losses[0]
    assert snapshot.accuracy >= 0.95
    assert widget(window, "progress").value() == 300
    assert "accuracy" in window.findChild(object, "status_accuracy").text()


def test_generate_replaces_points_undoably_and_an_mlp_learns_xor(qtbot, window):
    widget(window, "datasetKind").setCurrentIndex(widget(window, "datasetKind").findData("xor"))
    qtbot.mouseClick(widget(window, "generateButton"), Qt.MouseButton.LeftButton)
    _xy, labels = window.points()
    assert len(labels) == widget(window, "pointCount").value()
    widget(window, "modelKind").setCurrentIndex(widget(window, "modelKind").findData("mlp"))
    widget(window, "optimizer").setCurrentIndex(widget(window, "optimizer").findData("adam"))
    assert train(qtbot, window, 1500, lr=0.02) == "finished"
    assert window.workspace.latest.accuracy >= 0.95
    assert set(window.workspace.latest.weights) == {"W1", "b1", "W2", "b2", "W3", "b3"}
    window.workspace.points.undo()
    assert len(window.points()[1]) == 100


@pytest.mark.parametrize("suffix", [".npz", ".json"])
def test_exported_weights_reproduce_the_predictions_in_plain_numpy(qtbot, window, tmp_path, suffix):
    train(qtbot, window, 200, lr=0.1)
    path = tmp_path / f"weights{suffix}"
    window.export_weights(path)
    xy, _labels = window.points()
    snapshot = window.workspace.latest
    probabilities = _app_probabilities(snapshot, xy)
    assert np.array_equal(predict_with_numpy(path, xy), probabilities.argmax(axis=1))


def _app_probabilities(snapshot, xy):
    run = TrainingRun(snapshot.settings, checkpoint=Checkpoint(snapshot.step, snapshot.weights))
    return run._session.run(run.model.probabilities, {run.model.x: xy})


def test_import_weights_restores_model_and_step(qtbot, window, tmp_path):
    train(qtbot, window, 50, lr=0.1)
    path = tmp_path / "w.json"
    window.export_weights(path)
    exported = window.workspace.latest
    qtbot.mouseClick(widget(window, "resetButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: shown_step(window) == 0, timeout=5000)
    with qtbot.waitSignal(window.worker.snapshotReady, timeout=5000):
        window.import_weights(path)
    qtbot.waitUntil(lambda: shown_step(window) == exported.step, timeout=5000)
    for name, value in exported.weights.items():
        assert np.array_equal(window.workspace.latest.weights[name], value)


def test_changing_the_learning_rate_mid_run_takes_effect(qtbot, window):
    widget(window, "steps").setValue(1_000_000)
    widget(window, "learningRate").setValue(0.1)
    qtbot.mouseClick(widget(window, "trainButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: shown_step(window) > 50, timeout=10_000)
    widget(window, "learningRate").setValue(0.005)
    qtbot.waitUntil(lambda: window.workspace.latest.learning_rate == 0.005, timeout=10_000)
    with qtbot.waitSignal(window.trainingFinished, timeout=FINISH_MS) as blocker:
        qtbot.mouseClick(widget(window, "stopButton"), Qt.MouseButton.LeftButton)
    assert blocker.args == ["stopped"]
    assert window.workspace.latest.learning_rate == 0.005


def test_pause_resume_and_step(qtbot, window):
    widget(window, "steps").setValue(1_000_000)
    qtbot.mouseClick(widget(window, "trainButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: shown_step(window) > 10, timeout=10_000)
    qtbot.mouseClick(widget(window, "pauseButton"), Qt.MouseButton.LeftButton)
    qtbot.wait(300)
    paused_at = window.workspace.latest.step
    qtbot.wait(300)
    assert window.workspace.latest.step == paused_at
    assert widget(window, "pauseButton").text() == "Resume"
    qtbot.mouseClick(widget(window, "pauseButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: shown_step(window) > paused_at, timeout=10_000)
    with qtbot.waitSignal(window.trainingFinished, timeout=FINISH_MS):
        qtbot.mouseClick(widget(window, "stopButton"), Qt.MouseButton.LeftButton)
    stopped_at = window.workspace.latest.step
    with qtbot.waitSignal(window.trainingFinished, timeout=FINISH_MS):
        qtbot.mouseClick(widget(window, "stepButton"), Qt.MouseButton.LeftButton)
    assert window.workspace.latest.step == stopped_at + 1


def test_editing_points_while_training_is_picked_up(qtbot, window):
    widget(window, "steps").setValue(1_000_000)
    qtbot.mouseClick(widget(window, "trainButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: shown_step(window) > 10, timeout=10_000)
    for i in range(20):
        click_data(qtbot, window, -1 + i * 0.1, 1.0)
    qtbot.waitUntil(lambda: window.worker._run.point_count == 120, timeout=10_000)
    assert window.workspace.state is RunState.TRAINING
    with qtbot.waitSignal(window.trainingFinished, timeout=FINISH_MS):
        window.workspace.stop()


def test_a_third_class_rebuilds_the_model(qtbot, window):
    widget(window, "classSelector").setCurrentIndex(2)
    click_data(qtbot, window, 0.0, 4.0)
    qtbot.waitUntil(
        lambda: window.workspace.latest is not None
        and window.workspace.latest.settings.classes == 3,
        timeout=5000,
    )
    assert window.workspace.latest.weights["W1"].shape == (2, 3)
    assert train(qtbot, window, 20) == "finished"


def test_closing_mid_run_stops_the_thread_cleanly(qtbot):
    w = MainWindow()
    w.show()
    w.controls.steps.setValue(1_000_000)
    w.workspace.train()
    qtbot.waitUntil(lambda: shown_step(w) > 10, timeout=10_000)
    w.close()
    assert w.worker.isFinished()


def test_saved_and_loaded_points_round_trip(qtbot, window, tmp_path):
    path = tmp_path / "points.csv"
    window.save_points(path)
    xy, labels = window.points()
    window.workspace.points.clear()
    assert len(window.points()[1]) == 0
    window.load_points(path)
    xy2, labels2 = window.points()
    assert np.array_equal(xy, xy2) and np.array_equal(labels, labels2)


def test_a_malformed_points_file_changes_nothing(window, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("x,y,label\n1,2,0\n3,abc,1\n")
    before = window.points()
    with pytest.raises(FileFormatError, match=r"bad\.csv"):
        window.load_points(path)
    after = window.points()
    assert np.array_equal(before[0], after[0])


def test_train_is_disabled_with_one_class(qtbot, window):
    xy, labels = window.points()
    window.workspace.points.replace(xy[labels == 0], labels[labels == 0])
    assert not widget(window, "trainButton").isEnabled()
    window.workspace.train()
    assert window.workspace.state is RunState.IDLE
    window.workspace.points.undo()
    assert widget(window, "trainButton").isEnabled()


@pytest.mark.parametrize(("view", "name"), [("data", "dataPlot"), ("loss", "lossPlot"),
                                            ("weights", "weightsView")])
def test_every_view_exports_as_a_png_at_twice_its_size_and_as_an_svg(qtbot, window, tmp_path,
                                                                    view, name):
    from PySide6.QtGui import QImage
    from PySide6.QtSvg import QSvgRenderer

    train(qtbot, window, 30)
    shown = widget(window, name)
    window.export_image(tmp_path / "view.png", view)
    image = QImage(str(tmp_path / "view.png"))
    assert (image.width(), image.height()) == (2 * shown.width(), 2 * shown.height())
    colours = {image.pixel(x, y) for x in range(0, image.width(), 7)
               for y in range(0, image.height(), 7)}
    assert len(colours) > 3  # a picture, not a blank
    window.export_image(tmp_path / "view.svg", view)
    svg = QSvgRenderer(str(tmp_path / "view.svg"))
    assert svg.isValid() and svg.viewBox().size() == shown.size()
    text = (tmp_path / "view.svg").read_text()
    assert "<path" in text or "<polyline" in text or "<image" in text


def test_an_image_type_other_than_png_or_svg_is_refused(window, tmp_path):
    with pytest.raises(ValueError, match=r"use \.png or \.svg"):
        window.export_image(tmp_path / "plot.bmp")


def test_progress_reads_step_k_of_n(qtbot, window):
    train(qtbot, window, 1200)
    bar = widget(window, "progress")
    assert bar.value() == bar.maximum() == 1200
    assert bar.text() == "step 1,200 of 1,200"


def test_progress_and_loss_steps_count_from_an_imported_step(qtbot, window, tmp_path):
    train(qtbot, window, 120)
    path = tmp_path / "w.npz"
    window.export_weights(path)
    window.import_weights(path)
    train(qtbot, window, 30)
    snapshot = window.workspace.latest
    assert snapshot.step == 150
    steps, _losses = snapshot.parts["curves"]["train"]
    assert steps[0] == 121 and steps[-1] == 150  # the imported run's own history
    assert widget(window, "progress").text() == "step 30 of 30"


def test_the_worker_resumes_once_the_python_painting_is_done(qtbot, window, monkeypatch):
    """Plots repaint through Python (and the GIL) and are acknowledged after their paint;
    Qt's own widgets (labels, weights tables) need no Python to paint, so they are updated
    only after the acknowledgement, and a snapshot that changes only those is acknowledged
    at once."""
    loss_paints = []

    class PaintSpy(QObject):
        def eventFilter(self, obj, event):
            if event.type() == QEvent.Type.Paint:
                loss_paints.append(True)
            return False

    spy = PaintSpy()
    window.loss_plot.viewport().installEventFilter(spy)
    step_label = window._status_labels["step"]
    acks = []  # (loss plot paints so far, step label) at each acknowledgement
    monkeypatch.setattr(
        window.worker, "painted", lambda: acks.append((len(loss_paints), step_label.text()))
    )
    run = current_run(window)
    run.train(5)

    window._show_snapshot(run.snapshot())
    assert acks == [(0, "step 0")]  # at once, before any event was processed
    assert step_label.text() == "step 5"

    run.train(2)
    window._show_snapshot(run.snapshot({"curves": None}))
    assert len(acks) == 1
    qtbot.waitUntil(lambda: len(acks) == 2, timeout=2000)
    paints, label = acks[1]
    assert paints >= 1  # after the loss plot painted the new curve
    assert label == "step 5"  # the labels follow the acknowledgement
    assert step_label.text() == "step 7"


def test_numbers_never_go_back_to_an_older_snapshot(qtbot, window):
    """A run's end is shown at once; the earlier snapshot's numbers, still waiting for its
    plots' paint, must not overwrite it afterwards."""
    run = current_run(window)
    parts = {"curves": None, "regions": window.data_plot.view_rect(), "weights": None}
    run.train(3)
    earlier = run.snapshot(parts)
    run.train(4)
    final = run.snapshot(parts)
    window._show_snapshot(earlier)  # its labels and tables follow its plots' paint
    window._run_finished(final, RunEnd.finished(), 0)  # before the event loop runs again
    qtbot.wait(50)
    assert window._status_labels["step"].text() == "step 7"
    table = window.weights_view.findChild(QTableView, "weights_W1")
    assert table.model().index(0, 0).data() == f"{final.weights['W1'][0, 0]:+.3f}"


def test_closing_right_after_a_snapshot_is_harmless(qtbot):
    w = MainWindow()
    w.show()
    qtbot.waitUntil(lambda: w.workspace.latest is not None, timeout=5000)
    run = current_run(w)
    run.train(2)
    w._show_snapshot(run.snapshot({"curves": None}))  # its acknowledgement is still queued
    w.close()
    shiboken6.delete(w)  # gone before the queued call runs
    qtbot.wait(50)  # pytest-qt fails the test on any exception raised in the event loop


@pytest.mark.parametrize("how", ["reset", "new"])
def test_a_fresh_model_brings_the_loss_axis_back_to_its_start(qtbot, window, how):
    train(qtbot, window, 500)
    view = widget(window, "lossPlot").plotItem.vb
    assert view.viewRange()[0][1] >= 500
    if how == "reset":
        qtbot.mouseClick(widget(window, "resetButton"), Qt.MouseButton.LeftButton)
    else:
        window.new_workspace()
    qtbot.waitUntil(lambda: shown_step(window) == 0, timeout=5000)
    assert view.viewRange()[0][1] < 110


def type_into(qtbot, field, text):
    """Select what a field holds and type over it, leaving the cursor in it."""
    field.setFocus()
    line = field.lineEdit() if hasattr(field, "lineEdit") else field
    line.selectAll()
    qtbot.keyClicks(line, text)


def press_train(qtbot, w):
    focused = QApplication.focusWidget()
    with qtbot.waitSignal(w.trainingFinished, timeout=FINISH_MS) as finished:
        qtbot.keyClick(focused, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    return finished.args[0]


def test_a_learning_rate_still_being_typed_is_what_ctrl_return_trains(qtbot, window):
    widget(window, "steps").setValue(5)
    type_into(qtbot, widget(window, "learningRate"), "0.00001")
    assert press_train(qtbot, window) == "finished"
    assert window.workspace.latest.learning_rate == 1e-05
    assert widget(window, "learningRate").value() == 1e-05


def test_hidden_layers_still_being_typed_are_what_ctrl_return_trains(qtbot, window):
    widget(window, "modelKind").setCurrentIndex(widget(window, "modelKind").findData("mlp"))
    widget(window, "steps").setValue(5)
    type_into(qtbot, widget(window, "hiddenLayers"), "3")
    assert press_train(qtbot, window) == "finished"
    assert window.workspace.latest.weights["W1"].shape == (2, 3)
    assert widget(window, "hiddenLayers").text() == "3"


def test_a_value_out_of_range_is_refused_visibly_and_nothing_trains(qtbot, window):
    type_into(qtbot, widget(window, "learningRate"), "20")
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Return,
                   Qt.KeyboardModifier.ControlModifier)
    qtbot.wait(200)
    assert window.workspace.state is RunState.IDLE and shown_step(window) == 0
    assert widget(window, "learningRate").text() == "0.1"
    assert "Learning rate: '20'" in window.statusBar().currentMessage()


def test_space_presses_the_focused_button_and_pauses_elsewhere(qtbot, window):
    widget(window, "steps").setValue(1_000_000)
    train_button = widget(window, "trainButton")
    train_button.setFocus()
    qtbot.keyClick(train_button, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: window.workspace.state is RunState.TRAINING, timeout=5000)
    plot = widget(window, "dataPlot")
    plot.setFocus()
    qtbot.keyClick(plot, Qt.Key.Key_Space)  # no button or field has the focus: pause
    assert window.workspace.state is RunState.PAUSED
    with qtbot.waitSignal(window.trainingFinished, timeout=FINISH_MS):
        window.workspace.stop()


def test_space_types_a_space_in_a_field(qtbot, window):
    widget(window, "modelKind").setCurrentIndex(widget(window, "modelKind").findData("mlp"))
    hidden = widget(window, "hiddenLayers")
    hidden.setFocus()
    hidden.setText("8,")
    qtbot.keyClick(hidden, Qt.Key.Key_Space)
    assert hidden.text() == "8, "


def test_a_learning_rate_from_a_file_survives_the_fields_to_the_last_digit(qtbot, window):
    rate = 1 / 3000
    window.workspace.set_training(replace(window.workspace.training, learning_rate=rate))
    widget(window, "steps").setValue(20)  # another training field edited
    assert window.workspace.training.learning_rate == rate
    widget(window, "learningRate").setFocus()  # the cursor in the field, nothing typed
    assert press_train(qtbot, window) == "finished"
    assert window.workspace.training.learning_rate == rate
    assert window.workspace.latest.learning_rate == rate


def test_the_progress_bar_shows_the_next_train_after_a_fresh_model(qtbot, window):
    train(qtbot, window, 700)
    assert widget(window, "progress").text() == "step 700 of 700"
    widget(window, "steps").setValue(250)
    qtbot.mouseClick(widget(window, "resetButton"), Qt.MouseButton.LeftButton)
    # the labels follow the plots' paint, a moment after the snapshot arrives
    qtbot.waitUntil(lambda: widget(window, "progress").text() == "step 0 of 250", timeout=5000)
    assert shown_step(window) == 0


def test_the_speed_is_measured_from_the_start_of_each_run(qtbot, window):
    speed = window.findChild(object, "status_speed")
    widget(window, "steps").setValue(1_000_000)
    qtbot.mouseClick(widget(window, "trainButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: speed.text().endswith("steps/s"), timeout=10_000)
    rate = int(speed.text().split()[0].replace(",", ""))
    assert rate > 1000  # the perceptron takes thousands of steps a second, not 1
    with qtbot.waitSignal(window.trainingFinished, timeout=FINISH_MS):
        window.workspace.stop()


def test_a_third_class_mid_run_says_the_model_was_rebuilt(qtbot, window):
    widget(window, "steps").setValue(1_000_000)
    window.workspace.train()
    qtbot.waitUntil(lambda: shown_step(window) > 10, timeout=10_000)
    window.workspace.add_point(0.0, 4.0, 2)
    assert window.workspace.state is RunState.IDLE
    qtbot.wait(300)  # the old run's end arrives meanwhile, and is not announced
    assert "3 classes" in window.statusBar().currentMessage()


def test_the_window_opens_within_the_screen_and_fits_a_720p_one(qtbot):
    from PySide6.QtCore import QSize
    from PySide6.QtWidgets import QSplitter

    from lab.window import fitting_size

    assert fitting_size(QSize(1366, 728)).width() <= 1366
    assert fitting_size(QSize(1366, 728)).height() <= 728
    assert fitting_size(QSize(2560, 1400)) == QSize(1400, 860)
    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    free = w.screen().availableGeometry()
    assert w.width() <= free.width() and w.height() <= free.height()
    assert w.minimumSizeHint().width() <= 1280 and w.minimumSizeHint().height() <= 690
    for name in ("panels", "sidePanels"):
        splitter = w.findChild(QSplitter, name)
        assert all(splitter.isCollapsible(i) for i in range(splitter.count()))
    w.close()
