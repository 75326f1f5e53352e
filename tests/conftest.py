"""Keep every test away from the real user profile and off any real screen."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def pytest_configure(config):
    try:
        from PySide6.QtCore import QStandardPaths
    except ImportError:  # engine-only environments
        return
    QStandardPaths.setTestModeEnabled(True)
