"""Autosave and restore: a crash loses at most a couple of seconds of work."""

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
from lab.window import MainWindow

CHILD = textwrap.dedent(
    """
    import sys, time
    from PySide6.QtCore import QStandardPaths
    from PySide6.QtWidgets import QApplication
    QStandardPaths.setTestModeEnabled(True)
    app = QApplication([])
    from lab.window import MainWindow
    w = MainWindow()
    w.show()
    for i in range(5):
        w._points.add(3.0 + i, -4.0, 1)
    deadline = time.time() + 20
    while time.time() < deadline:
        app.processEvents()
        if w.autosave.points_path.exists():
            break
        time.sleep(0.01)
    w.autosave.wait()
    print("SAVED", flush=True)
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


def test_edits_survive_kill_9_of_the_app(qtbot, private_home):
    env = dict(os.environ, HOME=str(private_home), QT_QPA_PLATFORM="offscreen")
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout.readline().strip() == "SAVED"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    assert child.returncode == -signal.SIGKILL
    restored = MainWindow()
    qtbot.addWidget(restored)
    xy, labels = restored.points()
    assert len(labels) == 105
    assert np.array_equal(xy[-5:], [[3.0 + i, -4.0] for i in range(5)])
    assert (labels[-5:] == 1).all()
    restored.close()


def test_points_are_saved_within_two_seconds_of_a_change(qtbot, window):
    window._points.add(1.0, 2.0, 0)
    started = time.monotonic()
    qtbot.waitUntil(window.autosave.points_path.exists, timeout=DELAY_MS + 1000)
    assert time.monotonic() - started < 2.0


def test_trained_weights_and_model_are_restored(qtbot, window):
    window.controls.steps.setValue(100)
    with qtbot.waitSignal(window.trainingFinished, timeout=30_000):
        window._train()
    trained = window._snapshot
    window.close()
    window.autosave.wait()
    again = MainWindow()
    qtbot.addWidget(again)
    qtbot.waitUntil(lambda: again._snapshot is not None and again._snapshot.step == 100,
                    timeout=5000)
    for name, value in trained.weights.items():
        assert np.array_equal(again._snapshot.weights[name], value)
    again.close()


def test_file_new_discards_the_autosave(qtbot, window):
    window._points.clear()
    window.autosave.flush()
    window.autosave.wait()
    assert window.autosave.points_path.exists()
    window.new_workspace()
    assert not window.autosave.points_path.exists()
    assert len(window.points()[1]) == 100


def test_a_corrupt_autosave_is_reported_and_the_defaults_load(qtbot, window):
    window._points.add(1.0, 1.0, 0)
    window.close()
    window.autosave.wait()
    window.autosave.points_path.write_text("x,y,label\n1,oops,0\n")
    again = MainWindow()
    qtbot.addWidget(again)
    assert len(again.points()[1]) == 100
    assert "points.csv" in again.statusBar().currentMessage()
    again.close()


def test_learning_rate_steps_and_geometry_persist(qtbot, window):
    window.controls.learningRate.setValue(0.02)
    window.controls.steps.setValue(1234)
    window.close()
    assert float(QSettings(lab.APP_NAME, lab.APP_NAME).value("training/learning_rate")) == 0.02
    again = MainWindow()
    qtbot.addWidget(again)
    assert again.controls.learningRate.value() == 0.02
    assert again.controls.steps.value() == 1234
    again.close()
