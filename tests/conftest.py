"""Keep every test away from the real user profile and off any real screen."""

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def pytest_configure(config):
    try:
        from PySide6.QtCore import QStandardPaths
    except ImportError:  # engine-only environments
        return
    QStandardPaths.setTestModeEnabled(True)


@pytest.fixture(autouse=True)
def private_home(tmp_path_factory, monkeypatch):
    """A fresh home per test: autosave and QSettings (test mode, under ~/.qttest) start empty."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    return home
