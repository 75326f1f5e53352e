"""File dialogs as users expect them: they start in the folder used last, and a name typed
without an extension gets the one of the chosen file type."""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import QSettings, QStandardPaths
from PySide6.QtWidgets import QFileDialog, QWidget

import lab

_FOLDER_KEY = "dialogs/folder"


def filter_suffixes(name_filter: str) -> list[str]:
    """The extensions a filter like "NumPy weights (*.npz)" allows: [".npz"]."""
    return [suffix.lower() for suffix in re.findall(r"\*(\.[\w.]+)", name_filter)]


def with_suffix(path: str, name_filter: str) -> str:
    """`path`, with the filter's first extension added unless it already has one of them."""
    suffixes = filter_suffixes(name_filter)
    if not path or not suffixes or Path(path).suffix.lower() in suffixes:
        return path
    return path + suffixes[0]


def _folder() -> str:
    saved = QSettings(lab.APP_NAME, lab.APP_NAME).value(_FOLDER_KEY)
    if saved and Path(saved).is_dir():
        return str(saved)
    location = QStandardPaths.StandardLocation.DocumentsLocation
    return QStandardPaths.writableLocation(location)


def _remember(path: str) -> str:
    if path:
        QSettings(lab.APP_NAME, lab.APP_NAME).setValue(_FOLDER_KEY, str(Path(path).parent))
    return path


def open_path(parent: QWidget, title: str, filters: str) -> str:
    """A file to open, or "" when the user cancels."""
    path, _chosen = QFileDialog.getOpenFileName(parent, title, _folder(), filters)
    return _remember(path)


def save_path(parent: QWidget, title: str, name: str, filters: str) -> str:
    """Where to save (proposing `name` in the last folder), or "" when the user cancels."""
    path, chosen = QFileDialog.getSaveFileName(parent, title, str(Path(_folder()) / name),
                                               filters)
    return _remember(with_suffix(path, chosen or filters.split(";;")[0]))
