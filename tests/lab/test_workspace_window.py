"""Workspace files in the window: save and open, exact resume, the CLI's files, `lab FILE`."""

import io

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QMessageBox

from lab.app import open_window
from lab.cli import train_command
from lab.core.datasets import tutorial_points
from lab.core.io.points_csv import save_points
from lab.core.io.reading import FileFormatError
from lab.core.io.workspace_file import load_workspace
from lab.core.model import ModelSettings
from lab.core.points import validate_columns
from lab.core.settings import TrainingSettings
from lab.core.training import TrainingRun
from lab.core.workspace import RunState
from lab.window import MainWindow

FINISH_MS = 30_000


@pytest.fixture
def windows(qtbot):
    made = []

    def make():
        w = MainWindow()
        qtbot.addWidget(w)
        w.show()
        qtbot.waitUntil(lambda: w.workspace.latest is not None, timeout=5000)
        made.append(w)
        return w

    yield make
    for w in made:
        w.close()


def choose(combo, key):
    combo.setCurrentIndex(combo.findData(key))


def train(qtbot, w, steps=None):
    if steps is not None:
        w.controls.steps.setValue(steps)
    with qtbot.waitSignal(w.trainingFinished, timeout=FINISH_MS) as finished:
        qtbot.mouseClick(w.controls.trainButton, Qt.MouseButton.LeftButton)
    assert finished.args == ["finished"]


def headless(optimizer, learning_rate, steps, model=None):
    """The same model trained without stopping, on the tutorial's points."""
    run = TrainingRun(model or ModelSettings("mlp", (8, 8), "tanh"),
                      TrainingSettings(optimizer, learning_rate))
    run.set_points(validate_columns(*tutorial_points()))
    run.train(steps)
    return run


def assert_same_run(w, run):
    checkpoint = w.workspace.checkpoint
    assert checkpoint.step == run.step
    for name, value in run.weights().items():
        np.testing.assert_allclose(checkpoint.weights[name], value, rtol=0, atol=1e-12)
    shown_curve = w.workspace.latest.parts["curves"]["train"]
    for shown, expected in zip(shown_curve, run.curves()["train"], strict=True):
        assert np.array_equal(shown, expected)


@pytest.mark.parametrize("optimizer", ["gradient_descent", "momentum", "adam"])
def test_500_steps_saved_and_500_more_in_a_new_window_equal_1000(qtbot, windows, tmp_path,
                                                                 optimizer):
    first = windows()
    c = first.controls
    choose(c.modelKind, "mlp")
    choose(c.optimizer, optimizer)
    c.learningRate.setValue(0.02)
    train(qtbot, first, 500)
    path = tmp_path / "half.tlab"
    first.save_workspace(path)
    second = windows()
    second.open_workspace(path)
    assert second.controls.optimizer.currentData() == optimizer
    assert second.controls.modelKind.currentData() == "mlp"
    train(qtbot, second)  # the file's 500 steps
    assert_same_run(second, headless(optimizer, 0.02, 1000))


def test_an_opened_workspace_shows_its_run_where_it_stopped(qtbot, windows, tmp_path):
    first = windows()
    choose(first.controls.optimizer, "adam")
    train(qtbot, first, 120)
    path = tmp_path / "lesson.tlab"
    first.save_workspace(path)
    assert first.windowTitle() == "lesson.tlab[*] — Training Lab"
    assert not first.isWindowModified()
    second = windows()
    second.open_workspace(path)
    qtbot.waitUntil(lambda: second.workspace.latest is not None, timeout=5000)
    assert second.workspace.latest.step == 120
    assert second.windowTitle() == "lesson.tlab[*] — Training Lab"
    assert not second.isWindowModified()
    steps, losses = second.workspace.latest.parts["curves"]["train"]
    assert steps[0] == 1 and steps[-1] == 120
    assert np.array_equal(losses, first.workspace.latest.parts["curves"]["train"][1])
    assert second._status_labels["step"].text() == "step 120"
    assert second._status_labels["accuracy"].text() == "accuracy 100.0%"
    assert not second.workspace.points.can_undo
    second.workspace.points.add(0.0, 0.0, 0)
    assert second.isWindowModified()


def test_a_workspace_from_lab_train_continues_exactly_in_the_app(qtbot, windows, tmp_path):
    path = tmp_path / "cli.tlab"
    flags = ("--model", "mlp", "--hidden", "8,8", "--optimizer", "momentum", "--lr", "0.05")
    assert train_command([*flags, "--steps", "300", "--workspace", str(path)],
                         io.StringIO(), io.StringIO()) == 0
    w = windows()
    w.open_file(path)
    train(qtbot, w)
    assert_same_run(w, headless("momentum", 0.05, 600))


def test_a_workspace_saved_by_the_app_continues_in_lab_train(qtbot, windows, tmp_path):
    w = windows()
    choose(w.controls.modelKind, "mlp")
    choose(w.controls.optimizer, "adam")
    w.controls.learningRate.setValue(0.01)
    train(qtbot, w, 250)
    path = tmp_path / "app.tlab"
    w.save_workspace(path)
    assert train_command(["--from", str(path), "--workspace", str(path)],
                         io.StringIO(), io.StringIO()) == 0
    data = load_workspace(path)
    expected = headless("adam", 0.01, 500)
    assert data.checkpoint.step == 500
    for name, value in expected.weights().items():
        np.testing.assert_allclose(data.checkpoint.weights[name], value, rtol=0, atol=1e-12)


def test_a_bad_workspace_file_is_refused_and_changes_nothing(qtbot, windows, tmp_path):
    w = windows()
    w.workspace.points.add(0.5, 0.5, 1)
    good = tmp_path / "good.tlab"
    w.save_workspace(good)
    bad = tmp_path / "bad.tlab"
    bad.write_bytes(good.read_bytes()[:-100])
    before = w.points()
    with pytest.raises(FileFormatError, match=r"bad\.tlab"):
        w.open_workspace(bad)
    assert np.array_equal(w.points()[0], before[0])
    assert w.workspace.path == good
    w.open_file_reporting(bad)
    assert "bad.tlab" in w.statusBar().currentMessage()
    assert any(box.isVisible() for box in w.findChildren(QMessageBox, "alert"))


def test_save_asks_for_a_file_once_then_saves_there(qtbot, windows, tmp_path, monkeypatch):
    w = windows()
    asked = []

    def save_as(*_args, **_kwargs):
        asked.append(True)
        return str(tmp_path / "mine.tlab"), "Workspace (*.tlab)"

    monkeypatch.setattr(QFileDialog, "getSaveFileName", save_as)
    qtbot.keyClick(w, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert asked == [True] and (tmp_path / "mine.tlab").exists()
    w.workspace.points.add(1.0, 1.0, 0)
    qtbot.keyClick(w, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert asked == [True]
    assert len(load_workspace(tmp_path / "mine.tlab").labels) == 101


def test_saving_mid_run_writes_a_consistent_recent_state(qtbot, windows, tmp_path):
    w = windows()
    w.controls.steps.setValue(1_000_000)
    w.workspace.train()
    qtbot.waitUntil(lambda: w.workspace.checkpoint.step > 100, timeout=10_000)
    w.save_workspace(tmp_path / "mid.tlab")
    data = load_workspace(tmp_path / "mid.tlab")  # the loader checks step == the curve's end
    assert 100 < data.checkpoint.step <= w.workspace.latest.step
    assert w.workspace.state is RunState.TRAINING
    w.workspace.stop()


@pytest.mark.parametrize("kind", ["tlab", "csv", "npz"])
def test_lab_file_opens_it_in_the_window(qtbot, tmp_path, kind):
    path = tmp_path / f"given.{kind}"
    xy = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 0.0], [0.0, 3.0]])
    labels = np.array([0, 1, 2, 1])
    if kind == "csv":
        save_points(path, xy, labels)
    else:
        source = MainWindow()
        source.workspace.points.replace(xy, labels)
        (source.save_workspace if kind == "tlab" else source.export_weights)(path)
        source.close()
    w = open_window(str(path))
    qtbot.addWidget(w)
    qtbot.waitUntil(lambda: w.workspace.latest is not None
                    and w.workspace.latest.settings.classes == 3, timeout=5000)
    if kind != "npz":
        assert np.array_equal(w.points()[0], xy)
    w.close()


def test_lab_with_a_file_it_cannot_open_says_why(qtbot, tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    w = open_window(str(path))
    qtbot.addWidget(w)
    assert "notes.txt" in w.statusBar().currentMessage()
    assert len(w.points()[1]) == 100
    w.close()


@pytest.fixture
def answer(monkeypatch):
    """The user's answer to a question box (Cancel unless set), and the questions asked."""
    asked = []
    reply = {"button": QMessageBox.StandardButton.Cancel}

    def question(_parent, title, text, *_args):
        asked.append(text)
        return reply["button"]

    monkeypatch.setattr(QMessageBox, "question", question)
    reply["asked"] = asked
    return reply


def test_new_asks_before_discarding_a_trained_model(qtbot, windows, answer):
    w = windows()
    train(qtbot, w, 50)
    new = w.findChild(QAction, "new_dialog")
    new.trigger()
    assert len(answer["asked"]) == 1 and "step 50" in answer["asked"][0]
    assert w.workspace.checkpoint.step == 50  # Cancel: nothing changed
    answer["button"] = QMessageBox.StandardButton.Discard
    new.trigger()
    assert w.workspace.checkpoint.step == 0 and not w.workspace.has_unsaved_work()
    new.trigger()  # nothing to lose now: no question
    assert len(answer["asked"]) == 2


def test_opening_a_workspace_asks_only_when_something_is_unsaved(qtbot, windows, answer,
                                                                 tmp_path, monkeypatch):
    w = windows()
    w.save_workspace(tmp_path / "a.tlab")
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        lambda *_args: (str(tmp_path / "a.tlab"), ""))
    w.open_dialog()
    assert answer["asked"] == []
    w.workspace.points.add(2.0, 2.0, 1)
    w.open_dialog()
    assert len(answer["asked"]) == 1 and len(w.points()[1]) == 101  # cancelled


def test_a_big_points_file_opens_without_freezing_the_window(qtbot, windows, tmp_path):
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from lab.core.datasets import generate

    path = tmp_path / "big.csv"
    save_points(path, *generate("moons", 300_000, 0.1, 0))
    w = windows()
    ticks = []
    timer = QTimer(interval=10, timerType=Qt.TimerType.PreciseTimer)
    timer.timeout.connect(lambda: ticks.append(True))
    timer.start()
    w.open_file_reporting(path)
    assert QApplication.overrideCursor() is not None  # busy while it reads
    assert "Opening big.csv" in w.statusBar().currentMessage()
    assert len(w.points()[1]) == 100  # not yet: the window goes on meanwhile
    qtbot.waitUntil(lambda: len(w.points()[1]) == 300_000, timeout=30_000)
    timer.stop()
    assert ticks  # the event loop ran while the file was read
    assert QApplication.overrideCursor() is None
    assert "300,000 points" in w.statusBar().currentMessage()


def test_a_bad_points_file_read_in_the_background_is_reported(qtbot, windows, tmp_path):
    from PySide6.QtWidgets import QApplication

    path = tmp_path / "bad.csv"
    path.write_text("x,y,label\n" + "1,2,0\n" * 5000 + "1,oops,0\n")
    w = windows()
    w.open_file_reporting(path)
    qtbot.waitUntil(lambda: QApplication.overrideCursor() is None, timeout=10_000)
    assert "bad.csv, line 5002" in w.statusBar().currentMessage()
    assert any(box.isVisible() for box in w.findChildren(QMessageBox, "alert"))
    assert len(w.points()[1]) == 100


def drop(w, path):
    from PySide6.QtCore import QMimeData, QPointF, QUrl
    from PySide6.QtGui import QDragEnterEvent, QDropEvent

    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(path))])
    enter = QDragEnterEvent(w.rect().center(), Qt.DropAction.CopyAction, data,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    w.dragEnterEvent(enter)
    if not enter.isAccepted():
        return False
    w.dropEvent(QDropEvent(QPointF(w.rect().center()), Qt.DropAction.CopyAction, data,
                           Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier))
    return True


def test_files_dropped_on_the_window_open(qtbot, windows, tmp_path):
    w = windows()
    w.save_workspace(tmp_path / "a.tlab")
    points = tmp_path / "p.csv"
    save_points(points, np.array([[0.0, 0.0], [1.0, 1.0]]), np.array([0, 1]))
    assert drop(w, points)
    qtbot.waitUntil(lambda: len(w.points()[1]) == 2, timeout=10_000)
    note = tmp_path / "notes.txt"
    note.write_text("hello")
    assert not drop(w, note)  # refused at the door: not a file this app opens
    other = windows()
    assert drop(other, tmp_path / "a.tlab")
    assert other.workspace.path == tmp_path / "a.tlab"


def test_recent_files_list_what_was_opened_and_saved(qtbot, windows, tmp_path):
    from PySide6.QtWidgets import QMenu

    w = windows()
    w.save_workspace(tmp_path / "first.tlab")
    w.export_weights(tmp_path / "w.npz")
    menu = w.findChild(QMenu, "recentMenu")
    menu.aboutToShow.emit()
    entries = [action.text() for action in menu.actions()]
    assert entries[:2] == ["&1 w.npz", "&2 first.tlab"]
    other = windows()
    other.findChild(QMenu, "recentMenu").aboutToShow.emit()
    recent = other.findChild(QMenu, "recentMenu").actions()
    recent[1].trigger()  # first.tlab: nothing to lose in a new window, so no question
    assert other.workspace.path == tmp_path / "first.tlab"
