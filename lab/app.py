"""Start the application: python -m lab, or the `lab` console script."""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QApplication

import lab


def main(argv: list[str] | None = None) -> int:
    """Create the QApplication and the main window, and run until the window closes."""
    import pyqtgraph as pg

    from lab.resources import icon
    from lab.window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv if argv is None else argv)
    app.setApplicationName(lab.APP_NAME)
    app.setOrganizationName(lab.APP_NAME)
    app.setApplicationVersion(lab.__version__)
    app.setDesktopFileName("lab")
    app.setWindowIcon(icon())
    pg.setConfigOptions(antialias=True)
    window = MainWindow()
    window.show()
    return app.exec()
