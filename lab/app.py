"""Start the application: `lab [FILE]` or python -m lab (lab.cli reads the command line)."""

from __future__ import annotations

import sys

from PySide6.QtCore import QLocale
from PySide6.QtWidgets import QApplication

import lab


def create_app(argv: list[str] | None = None) -> QApplication:
    """The QApplication, named and configured as the app runs (the GUI benchmark uses it)."""
    import pyqtgraph as pg

    from lab.resources import icon

    # Numbers read the same everywhere: 1.5 and 3,000 in every field, label and file,
    # whatever the system's language (Python formats them so, too).
    QLocale.setDefault(QLocale.c())
    app = QApplication.instance() or QApplication(sys.argv[:1] if argv is None else argv)
    app.setApplicationName(lab.APP_NAME)
    app.setOrganizationName(lab.APP_NAME)
    app.setApplicationVersion(lab.__version__)
    app.setDesktopFileName("lab")
    app.setWindowIcon(icon())
    pg.setConfigOptions(antialias=True)
    return app


def open_window(file: str | None = None):
    """The main window, shown, with FILE opened in it (a bad file is reported in the window)."""
    from lab.window import MainWindow

    window = MainWindow()
    window.show()
    if file is not None:
        window.open_file_reporting(file)
    return window


def run_app(file: str | None = None) -> int:
    """Create the QApplication and the main window, and run until the window closes."""
    app = create_app()
    window = open_window(file)
    try:
        return app.exec()
    finally:
        window.close()
