"""Nothing lost, nothing crashes: diverging runs, worker errors, hammered buttons, bad data."""

import re
import threading
import time

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from lab.core import training
from lab.core.datasets import generate
from lab.core.workspace import RunState
from lab.window import MainWindow

FINISH_MS = 30_000


def finish(qtbot, w, start):
    with qtbot.waitSignal(w.trainingFinished, timeout=FINISH_MS) as blocker:
        start()
    return blocker.args[0]


def alerts(w):
    return [box for box in w.findChildren(QMessageBox, "alert") if box.isVisible()]


def test_a_diverging_run_stops_rolls_back_and_suggests_a_smaller_rate(qtbot, window):
    xy, labels = window.points()
    window.workspace.points.replace(xy * 1e306, labels)  # finite points whose logits overflow
    qtbot.waitUntil(lambda: window.worker._run.point_count == 100, timeout=5000)
    shown = {window.workspace.latest.step: window.workspace.latest.weights}
    window.worker.snapshotReady.connect(lambda s: shown.setdefault(s.step, s.weights))
    reason = finish(qtbot, window, window.workspace.train)
    assert "smaller learning rate" in reason
    good_step = int(re.search(r"back to those of step (\d+)", reason).group(1))
    after = window.workspace.latest
    for name, value in shown[good_step].items():  # the last finite snapshot's weights
        assert np.array_equal(after.weights[name], value)
        assert np.isfinite(after.weights[name]).all()
    assert window.workspace.state is RunState.IDLE
    assert any("diverged" in box.windowTitle() for box in alerts(window))
    window.workspace.points.undo()
    assert finish(qtbot, window, window.workspace.train) == "finished"


def test_an_error_in_the_worker_is_shown_and_training_works_again(qtbot, window, monkeypatch):
    original = training.TrainingRun.train

    def broken(self, *args, **kwargs):
        raise RuntimeError("a custom op raised")

    monkeypatch.setattr(training.TrainingRun, "train", broken)
    reason = finish(qtbot, window, window.workspace.train)
    assert "a custom op raised" in reason
    assert "a custom op raised" in window.statusBar().currentMessage()
    assert any(box.windowTitle() == "Training failed" for box in alerts(window))
    assert window.worker.isRunning()
    monkeypatch.setattr(training.TrainingRun, "train", original)
    assert finish(qtbot, window, window.workspace.train) == "finished"


def test_hammering_the_run_buttons_never_breaks_anything(qtbot, window):
    c = window.controls
    c.steps.setValue(1_000_000)
    click = Qt.MouseButton.LeftButton
    for i in range(100):
        qtbot.mouseClick(c.trainButton, click)
        if i % 3 == 0:
            qtbot.mouseClick(c.pauseButton, click)
            qtbot.mouseClick(c.pauseButton, click)
        if i % 5 == 0:
            qtbot.wait(5)
        if c.stopButton.isEnabled():
            qtbot.mouseClick(c.stopButton, click)
        qtbot.mouseClick(c.stepButton, click)
        if i % 10 == 0:
            qtbot.mouseClick(c.resetButton, click)
    qtbot.waitUntil(lambda: window.workspace.state is RunState.IDLE, timeout=FINISH_MS)
    assert window.worker.isRunning()
    c.steps.setValue(50)
    assert finish(qtbot, window, window.workspace.train) == "finished"


def test_closing_mid_run_leaves_no_threads_behind(qtbot):
    workers = []
    for _ in range(3):
        w = MainWindow()
        w.show()
        w.controls.steps.setValue(1_000_000)
        w.workspace.train()
        qtbot.wait(100)
        w.workspace.points.add(0.0, 0.0, 1)  # an autosave is pending while we close
        w.close()
        workers.append(w.worker)
        w.deleteLater()
    qtbot.wait(50)
    assert all(worker.isFinished() for worker in workers)
    assert not [t for t in threading.enumerate() if t.name.startswith("autosave")]


@pytest.mark.parametrize("case", ["empty", "one class"])
def test_train_explains_itself_without_two_classes(qtbot, window, case):
    xy, labels = window.points()
    if case == "empty":
        window.workspace.points.clear()
    else:
        window.workspace.points.replace(xy[labels == 1], labels[labels == 1])
    assert not window.controls.trainButton.isEnabled()
    assert not window.controls.stepButton.isEnabled()
    window.workspace.train()
    assert "two classes" in window.statusBar().currentMessage()
    assert window.workspace.state is RunState.IDLE


def test_duplicate_points_train_normally(qtbot, window):
    xy, labels = window.points()
    window.workspace.points.replace(np.concatenate([xy, xy, xy]), np.concatenate([labels] * 3))
    window.controls.steps.setValue(100)
    assert finish(qtbot, window, window.workspace.train) == "finished"
    assert window.workspace.latest.accuracy >= 0.95


def test_an_export_that_cannot_be_written_is_reported(qtbot, window, tmp_path):
    target = tmp_path / "missing-folder" / "weights.npz"
    window._file_action(window.export_weights, str(target), "export the weights")
    assert not target.exists()
    assert "Could not export the weights" in window.statusBar().currentMessage()


def test_a_hundred_thousand_points_generate_draw_and_train(qtbot, window, capsys):
    started = time.perf_counter()
    xy, labels = generate("moons", 100_000, 0.1, 0)
    window.workspace.points.replace(xy, labels)
    window.data_plot.fit_view()
    window.data_plot.viewport().repaint()
    shown = time.perf_counter() - started
    window.controls.steps.setValue(20)
    started = time.perf_counter()
    assert finish(qtbot, window, window.workspace.train) == "finished"
    trained = time.perf_counter() - started
    assert window.workspace.latest.step == 20
    assert window.worker._run.point_count == 100_000
    with capsys.disabled():
        print(f"\n100,000 points: generate+draw {shown * 1000:.0f} ms, 20 steps {trained:.2f} s")


def test_clearing_the_points_mid_run_stops_it_with_a_reason(qtbot, window):
    window.controls.steps.setValue(1_000_000)
    window.workspace.train()
    qtbot.waitUntil(lambda: window.workspace.latest.step > 10, timeout=10_000)
    with qtbot.waitSignal(window.trainingFinished, timeout=FINISH_MS) as finished:
        window.workspace.points.clear()
    assert "no points" in finished.args[0]
    assert not any(box.windowTitle() == "Training failed" for box in alerts(window))
    assert window.workspace.state is RunState.IDLE and not window.controls.trainButton.isEnabled()


def test_a_late_finish_of_a_single_step_does_not_end_the_next_run(qtbot, window):
    window.workspace.step()
    window.controls.steps.setValue(1_000_000)
    window.workspace.train()  # before the step's trainingFinished has arrived
    qtbot.wait(300)
    assert window.workspace.state is RunState.TRAINING
    with qtbot.waitSignal(window.trainingFinished, timeout=FINISH_MS) as finished:
        qtbot.mouseClick(window.controls.stopButton, Qt.MouseButton.LeftButton)
    assert finished.args == ["stopped"]
