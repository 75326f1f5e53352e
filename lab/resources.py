"""Where the app's files live (icon, sample points): the top-level `resources/` folder."""

from pathlib import Path

from PySide6.QtGui import QIcon

RESOURCES = Path(__file__).resolve().parent.parent / "resources"


def icon() -> QIcon:
    """The application icon (SVG, so it is sharp at any size)."""
    return QIcon(str(RESOURCES / "icon.svg"))
