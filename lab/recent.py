"""The files opened or saved lately, newest first, kept with the app's settings."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings

import lab

MAX_RECENT = 8
_KEY = "files/recent"


def recent_files() -> list[Path]:
    """The recent files that still exist, newest first."""
    saved = QSettings(lab.APP_NAME, lab.APP_NAME).value(_KEY) or []
    if isinstance(saved, str):  # QSettings gives a one-item list back as a plain string
        saved = [saved]
    return [Path(name) for name in saved if Path(name).is_file()][:MAX_RECENT]


def remember(path: str | Path) -> None:
    """Put `path` first in the list."""
    path = Path(path).resolve()
    files = [path, *(name for name in recent_files() if name != path)][:MAX_RECENT]
    QSettings(lab.APP_NAME, lab.APP_NAME).setValue(_KEY, [str(name) for name in files])
