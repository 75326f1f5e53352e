"""Autosave and restore: a crash loses at most a couple of seconds of work, and the next
launch continues the run the user was watching."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from PySide6.QtCore import QSettings

import lab
from lab.autosave import DELAY_MS
from lab.core.io.workspace_file import load_workspace
from lab.core.settings import TrainingSettings
from lab.window import MainWindow

# A child app that does something, waits until the autosave holds it, says SAVED and the
# autosaved step, then keeps running until it is killed.
CHILD = textwrap.dedent(
    """
    import sys, time
    from PySide6.QtCore import QStandardPaths
    from PySide6.QtWidgets import QApplication
    QStandardPaths.setTestModeEnabled(True)
    app = QApplication([])
    from lab.core.io.workspace_file import load_workspace
    from lab.core.settings import TrainingSettings
    from lab.window import MainWindow
    w = MainWindow()
    w.show()

    def saved(condition):
        deadline = time.time() + 30
        while time.time() < deadline:
            app.processEvents()
            w.autosave.wait()
            if w.autosave.path.exists() and condition(load_workspace(w.autosave.path)):
                return True
            time.sleep(0.01)
        return False

    if sys.argv[1] == "edit":
        for i in range(5):
            w.workspace.points.add(3.0 + i, -4.0, 1)
        ok = saved(lambda data: len(data.labels) == 105)
    else:
        w.workspace.set_training(TrainingSettings("adam", 0.01, 1_000_000))
        w.workspace.train()
        ok = saved(lambda data: data.checkpoint.step > 200)
    print("SAVED" if ok else "TIMEOUT", load_workspace(w.autosave.path).checkpoint.step,
          flush=True)
    while True:
        app.processEvents()
        time.sleep(0.01)
    """
)


@pytest.fixture
def window(qtbot):
    w = MainWindow()
    qtbot.addWidget(w)
    yield w
    w.close()


def kill_9_after(mode, home):
    """Run the child in `mode` until it has autosaved, kill -9 it; the step it autosaved."""
    env = dict(os.environ, HOME=str(home), QT_QPA_PLATFORM="offscreen")
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, mode], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        said, step = child.stdout.readline().split()
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    assert said == "SAVED" and child.returncode == -signal.SIGKILL
    return int(step)


def test_edits_survive_kill_9_of_the_app(qtbot, private_home):
    kill_9_after("edit", private_home)
    restored = MainWindow()
    qtbot.addWidget(restored)
    xy, labels = restored.points()
    assert len(labels) == 105
    assert np.array_equal(xy[-5:], [[3.0 + i, -4.0] for i in range(5)])
    assert (labels[-5:] == 1).all()
    restored.close()


def test_a_run_killed_mid_training_comes_back_with_its_curve_and_optimizer(qtbot, private_home):
    step = kill_9_after("train", private_home)
    restored = MainWindow()
    qtbot.addWidget(restored)
    ws = restored.workspace
    assert ws.training == TrainingSettings("adam", 0.01, 1_000_000)
    assert ws.checkpoint.step == step > 200
    assert ws.checkpoint.history.count == step  # the whole loss curve
    assert int(ws.checkpoint.optimizer_state["W1"]["t"]) == step  # Adam's moments and count
    qtbot.waitUntil(lambda: ws.latest is not None and ws.latest.step == step, timeout=5000)
    steps, _losses = ws.latest.parts["curves"]["train"]
    assert steps[-1] == step
    restored.close()


def test_changes_are_autosaved_within_two_seconds(qtbot, window):
    window.workspace.points.add(1.0, 2.0, 0)
    started = time.monotonic()

    def saved():
        window.autosave.wait()
        path = window.autosave.path
        return path.exists() and len(load_workspace(path).labels) == 101

    qtbot.waitUntil(saved, timeout=DELAY_MS + 1000)
    assert time.monotonic() - started < 2.0


def test_trained_weights_model_and_settings_are_restored(qtbot, window):
    window.controls.learningRate.setValue(0.02)
    window.controls.steps.setValue(100)
    with qtbot.waitSignal(window.trainingFinished, timeout=30_000):
        window.workspace.train()
    trained = window.workspace.latest
    window.close()
    window.autosave.wait()
    again = MainWindow()
    qtbot.addWidget(again)
    qtbot.waitUntil(lambda: again.workspace.latest is not None
                    and again.workspace.latest.step == 100, timeout=5000)
    for name, value in trained.weights.items():
        assert np.array_equal(again.workspace.latest.weights[name], value)
    assert again.controls.learningRate.value() == 0.02
    assert again.controls.steps.value() == 100
    again.close()


def test_file_new_discards_the_autosave(qtbot, window):
    window.workspace.points.clear()
    window.autosave.flush()
    window.autosave.wait()
    assert window.autosave.path.exists()
    window.new_workspace()
    assert not window.autosave.path.exists()
    assert len(window.points()[1]) == 100


def test_a_corrupt_autosave_is_reported_and_the_defaults_load(qtbot, window):
    window.workspace.points.add(1.0, 1.0, 0)
    window.close()
    window.autosave.wait()
    window.autosave.path.write_bytes(b"PK\x03\x04 not really a workspace")
    again = MainWindow()
    qtbot.addWidget(again)
    assert len(again.points()[1]) == 100
    assert "workspace.tlab" in again.statusBar().currentMessage()
    again.close()


def test_the_window_geometry_persists(qtbot, window):
    window.show()
    window.resize(760, 560)
    window.close()
    assert QSettings(lab.APP_NAME, lab.APP_NAME).value("window/geometry") is not None
    again = MainWindow()
    qtbot.addWidget(again)
    assert (again.width(), again.height()) == (760, 560)
    again.close()


def test_panning_the_view_writes_nothing_and_training_saves_every_few_seconds(qtbot, window):
    from lab.autosave import TRAINING_DELAY_MS

    window.show()
    qtbot.waitUntil(lambda: window.workspace.latest is not None, timeout=5000)
    window.autosave.flush()
    window.autosave.wait()
    written = window.autosave.path.stat().st_mtime_ns
    window.data_plot.plotItem.vb.translateBy(x=1.0)  # the regions are redrawn, nothing changed
    qtbot.wait(DELAY_MS + 500)
    assert window.autosave.path.stat().st_mtime_ns == written
    window.controls.steps.setValue(1_000_000)
    window.autosave.flush()
    window.workspace.train()
    qtbot.wait(DELAY_MS + 500)  # training moved on, but a second is too soon to save it
    window.autosave.wait()
    assert load_workspace(window.autosave.path).checkpoint.step == 0
    qtbot.waitUntil(lambda: load_workspace(window.autosave.path).checkpoint.step > 0,
                    timeout=TRAINING_DELAY_MS + 2000)
    window.workspace.stop()
