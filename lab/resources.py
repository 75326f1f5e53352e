"""The app's icon, from the package's assets."""

from PySide6.QtGui import QIcon

from lab import ASSETS


def icon() -> QIcon:
    """The application icon (SVG, so it is sharp at any size)."""
    return QIcon(str(ASSETS / "icon.svg"))
