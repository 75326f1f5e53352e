"""A focused button or field keeps the keys it uses itself.

The window's Space shortcut (pause / resume) would otherwise take Space from the button the
keyboard user has tabbed to, or from a field being typed in. Qt asks the focused widget
first (a ShortcutOverride event); accepting it for such a widget hands it the key instead.
"""

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLineEdit,
    QWidget,
)

_OWN_KEYS = {Qt.Key.Key_Space}
_KEEPERS = (QAbstractButton, QAbstractSpinBox, QComboBox, QLineEdit)


class FocusedKeys(QObject):
    """Watches the buttons and fields inside `window` that take the keyboard focus.

    It filters those widgets' events only, from when each first gets the focus: a filter on
    the whole application would see every event of every widget (hundreds a second while
    training), each a call into Python that must take the GIL from the training thread.
    """

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self._window = window
        QApplication.instance().focusChanged.connect(self._focus_changed)

    def _focus_changed(self, _old: QWidget | None, now: QWidget | None) -> None:
        # Installing it again on a widget that has it only moves it to the front.
        if isinstance(now, _KEEPERS) and now.window() is self._window:
            now.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            event.type() == QEvent.Type.ShortcutOverride
            and event.key() in _OWN_KEYS
            and event.modifiers() == Qt.KeyboardModifier.NoModifier
        ):
            event.accept()  # the key goes to the widget, not to the shortcut
        return False
