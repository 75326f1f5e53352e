"""A focused button or field keeps the keys it uses itself.

The window's Space shortcut (pause / resume) would otherwise take Space from the button the
keyboard user has tabbed to, or from a field being typed in. Qt asks the focused widget
first (a ShortcutOverride event); accepting it for such a widget hands it the key instead.
"""

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QAbstractButton, QAbstractSpinBox, QComboBox, QLineEdit, QWidget

_OWN_KEYS = {Qt.Key.Key_Space}
_KEEPERS = (QAbstractButton, QAbstractSpinBox, QComboBox, QLineEdit)


class FocusedKeys(QObject):
    """Install on the QApplication; it acts for the widgets inside `window` only."""

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self._window = window

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            event.type() == QEvent.Type.ShortcutOverride
            and event.key() in _OWN_KEYS
            and event.modifiers() == Qt.KeyboardModifier.NoModifier
            and isinstance(watched, _KEEPERS)
            and watched.window() is self._window
        ):
            event.accept()  # the key goes to the widget, not to the shortcut
        return False
