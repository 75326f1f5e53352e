"""The main window as most window tests want it."""

import pytest

from lab.window import MainWindow


@pytest.fixture
def window(qtbot):
    """Shown at a fixed size, with its untrained model's first snapshot in."""
    w = MainWindow()
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.show()
    qtbot.waitExposed(w)
    qtbot.waitUntil(lambda: w.workspace.latest is not None, timeout=5000)
    yield w
    w.close()
