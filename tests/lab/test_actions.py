"""One table of commands: the menus, the shortcuts help and the README all follow it."""

import re
from pathlib import Path

import pytest
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMessageBox, QPushButton

from lab.actions import ACTIONS, GESTURES, shortcut_rows
from lab.window import MainWindow

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture
def window(qtbot):
    w = MainWindow()
    qtbot.addWidget(w)
    yield w
    w.close()


def test_every_action_is_in_its_menu_with_its_shortcut_and_tip(window):
    menus = {entry.text(): entry.menu() for entry in window.menuBar().actions()}
    for spec in ACTIONS:
        action = window.findChild(QAction, spec.name)
        assert action is not None, spec.name
        assert action.text() == spec.text and action.statusTip() == spec.tip
        expected = QKeySequence(spec.shortcut) if spec.shortcut is not None else QKeySequence()
        assert action.shortcut() == expected, spec.name
        assert action in menus[spec.menu].actions(), spec.name


def test_no_two_actions_share_a_shortcut():
    keys = [spec.key_text() for spec in ACTIONS if spec.shortcut is not None]
    assert len(keys) == len(set(keys))


def test_the_shortcuts_help_lists_every_shortcut_and_gesture(window, monkeypatch):
    shown = []
    monkeypatch.setattr(QMessageBox, "information", lambda _w, _title, text: shown.append(text))
    window.findChild(QAction, "show_shortcuts").trigger()
    (text,) = shown
    for keys, what in shortcut_rows():
        assert f"<b>{keys}</b></td><td>{what}" in text
    assert len(shortcut_rows()) == sum(a.shortcut is not None for a in ACTIONS) + len(GESTURES)


def test_the_readme_lists_every_shortcut_and_gesture():
    """The README's table of the app's keys: one row per shortcut of the table, and no other."""
    text = README.read_text()
    section = text.split("## Using the app", 1)[1].split("\n\n", 2)[1]
    rows = [line for line in section.splitlines() if line.startswith("| ") and "---" not in line]
    listed = {re.sub(r"\s+", " ", row.split("|")[1].strip()): row.split("|")[2].strip()
              for row in rows[1:]}
    expected = dict(shortcut_rows(native=False))
    assert listed == expected


def test_the_run_buttons_say_the_keys_of_their_actions(window):
    for button, name in [("trainButton", "train"), ("pauseButton", "toggle_pause"),
                         ("stopButton", "stop"), ("stepButton", "step"), ("resetButton", "reset")]:
        spec = next(a for a in ACTIONS if a.name == name)
        tip = window.findChild(QPushButton, button).toolTip()
        assert tip.startswith(spec.tip) and spec.key_text(native=True) in tip


def test_the_optimizers_keep_the_slots_a_workspace_file_holds():
    import engine as ts
    from lab.core.optimizers import OPTIMIZER_SLOTS, make_optimizer

    for name, slots in OPTIMIZER_SLOTS.items():
        assert make_optimizer(name, 0.1).get_slot_names() == slots
    assert isinstance(make_optimizer("adam", 0.1), ts.train.Optimizer)


def test_every_control_says_what_it_does(window):
    from PySide6.QtWidgets import QAbstractButton, QAbstractSpinBox, QComboBox, QLineEdit

    controls = [w for kind in (QAbstractButton, QAbstractSpinBox, QComboBox, QLineEdit)
                for w in window.controls.findChildren(kind)
                if w.objectName() and not w.objectName().startswith("qt_")]
    assert len(controls) >= 15
    assert [w.objectName() for w in controls if not w.toolTip()] == []
    assert window.loss_plot.log_y_checkbox.toolTip()


def test_redo_has_the_platforms_keys(window):
    redo = window.findChild(QAction, "redo")
    assert redo.shortcuts() == QKeySequence.keyBindings(QKeySequence.StandardKey.Redo)
    help_text = next(a for a in ACTIONS if a.name == "redo").key_text()
    assert "Ctrl+Y" in help_text and "Ctrl+Shift+Z" in help_text  # both work here
