"""Start the application: python -m lab, or the `lab` console script."""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QApplication

import lab


def create_app(argv: list[str] | None = None) -> QApplication:
    """The QApplication, named and configured as the app runs (the GUI benchmark uses it)."""
    import pyqtgraph as pg

    from lab.allocator import keep_freed_memory
    from lab.resources import icon

    keep_freed_memory()
    app = QApplication.instance() or QApplication(sys.argv if argv is None else argv)
    app.setApplicationName(lab.APP_NAME)
    app.setOrganizationName(lab.APP_NAME)
    app.setApplicationVersion(lab.__version__)
    app.setDesktopFileName("lab")
    app.setWindowIcon(icon())
    pg.setConfigOptions(antialias=True)
    return app


def main(argv: list[str] | None = None) -> int:
    """Create the QApplication and the main window, and run until the window closes."""
    from lab.window import MainWindow

    app = create_app(argv)
    window = MainWindow()
    window.show()
    return app.exec()
