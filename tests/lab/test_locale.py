"""One number format throughout, whatever the system's language: C's (1.5, 3,000)."""

import pytest
from PySide6.QtCore import QLocale

from lab.app import create_app
from lab.window import MainWindow


@pytest.fixture
def german(qtbot):
    before = QLocale()
    QLocale.setDefault(QLocale(QLocale.Language.German, QLocale.Country.Germany))
    yield
    QLocale.setDefault(before)


def test_fields_and_labels_use_one_format_under_a_german_locale(qtbot, german):
    create_app()  # as `lab` starts
    w = MainWindow()
    qtbot.addWidget(w)
    c = w.controls
    c.steps.setValue(3000)
    assert c.noise.text() == "1.00"
    assert c.learningRate.text() == "0.1"
    assert c.steps.text() == "3,000"
    assert w.controls.progress.text() == "step 0 of 3,000"
    w.close()
