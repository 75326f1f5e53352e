"""The model's weights and biases as numbers, so a learner can watch individual weights move.

Each array is a small table over a QStandardItemModel: an update writes the formatted
numbers into Qt's own items, and Qt paints them in C++ without calling back into Python.
That matters while training: a Python model or delegate is asked for every cell on every
paint, each call needing the GIL the training thread holds, so a paint that needs no Python
costs the training thread nothing.
"""

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFontDatabase, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QScrollArea,
    QTableView,
    QVBoxLayout,
    QWidget,
)

# A blue/red pair that stays distinct for the common colour-vision deficiencies; the
# explicit +/- sign carries the same information for everyone else.
POSITIVE_COLOR = QColor("#005AB5")
NEGATIVE_COLOR = QColor("#DC3220")
ZERO_COLOR = QColor("#666666")
_SIGN_COLORS = {1: POSITIVE_COLOR, -1: NEGATIVE_COLOR, 0: ZERO_COLOR}

_DECIMALS = 3
_ALIGN = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_CELL_PADDING = 8  # pixels beside each number: the item view's own text margins
_FOREGROUND = Qt.ItemDataRole.ForegroundRole


def _as_table(values: np.ndarray) -> np.ndarray:
    """2-D float view of a weight array: biases become one row, higher ranks are flattened."""
    array = np.array(values, dtype=np.float64)  # a copy: the trainer keeps mutating its own
    if array.ndim > 2:
        return array.reshape(array.shape[0], -1)
    return np.atleast_2d(array)


def _width_chars(values: np.ndarray) -> int:
    """Characters needed for the widest number, so columns widen only when they must."""
    finite = values[np.isfinite(values)]
    biggest = float(np.abs(finite).max(initial=0.0))
    digits = len(str(int(biggest))) if biggest < 1e15 else 16
    return 1 + digits + 1 + _DECIMALS  # sign, integer part, point, decimals


def _signs(values: np.ndarray) -> np.ndarray:
    """+1, -1 or 0 per value; NaN counts as 0 (grey)."""
    return np.sign(np.nan_to_num(values, nan=0.0)).astype(np.int8)


class _ArrayTable(QTableView):
    """A table exactly as large as its contents; the surrounding panel does the scrolling."""

    def __init__(self, name: str, values: np.ndarray, is_row: bool) -> None:
        super().__init__()
        self.setObjectName(f"weights_{name}")
        rows, columns = values.shape
        self._model = QStandardItemModel(rows, columns, self)
        self._items: list[QStandardItem] = []
        for row in range(rows):
            for column in range(columns):
                item = QStandardItem()
                item.setTextAlignment(_ALIGN)
                item.setEditable(False)
                self._model.setItem(row, column, item)
                self._items.append(item)
        self._texts = [""] * values.size  # nothing shown yet: write every cell
        self._signs = np.full(values.size, 2, dtype=np.int8)  # no sign yet: colour them all
        self.setModel(self._model)
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        metrics = self.fontMetrics()
        self._char_width = metrics.horizontalAdvance("0")
        row_header = self.verticalHeader()
        row_header.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        row_header.setDefaultSectionSize(metrics.height() + 4)
        row_header.setVisible(not is_row)
        column_header = self.horizontalHeader()
        column_header.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        column_header.setMinimumSectionSize(1)
        # Qt numbers sections from 1; weight indices start at 0, as in numpy.
        self._model.setVerticalHeaderLabels([str(i) for i in range(rows)])
        self._model.setHorizontalHeaderLabels([str(i) for i in range(columns)])
        self._chars = 0
        self.set_values(values)

    def set_values(self, values: np.ndarray) -> None:
        """Write the numbers that changed into the items, then tell the view once."""
        self._fit_columns(values)
        texts = [f"{value:+.{_DECIMALS}f}" for value in values.ravel().tolist()]
        signs = _signs(values.ravel())
        shown = self._texts
        retexted = [i for i, text in enumerate(texts) if text != shown[i]]
        recoloured = np.flatnonzero(signs != self._signs)
        self._texts, self._signs = texts, signs
        items = self._items
        self._model.blockSignals(True)
        try:
            for i in retexted:
                items[i].setText(texts[i])
            for i in recoloured:
                items[i].setData(_SIGN_COLORS[int(signs[i])], _FOREGROUND)
        finally:
            self._model.blockSignals(False)
        last = self._model.index(values.shape[0] - 1, values.shape[1] - 1)
        self._model.dataChanged.emit(self._model.index(0, 0), last)

    def _fit_columns(self, values: np.ndarray) -> None:
        chars = _width_chars(values)
        if chars != self._chars:
            self._chars = chars
            columns = self.horizontalHeader()
            columns.setDefaultSectionSize(self._char_width * (chars + 1) + _CELL_PADDING)
            rows = self.verticalHeader()
            row_header = rows.sizeHint().width() if rows.isVisibleTo(self) else 0
            frame = 2 * self.frameWidth()
            self.setFixedSize(
                row_header + columns.length() + frame,
                columns.sizeHint().height() + rows.length() + frame,
            )


class WeightsView(QWidget):
    """Every weight and bias array of the current model, titled and stacked in a scrollable panel.

    Same names and shapes as last time: values are swapped in place. Anything else means
    a new model, and the tables are rebuilt. The table for array ``name`` has the object
    name ``weights_<name>``.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("weightsView")
        self._tables: dict[str, _ArrayTable] = {}
        self._shapes: dict[str, tuple[int, ...]] = {}

        self._placeholder = QLabel("No model yet.")
        self._placeholder.setEnabled(False)
        self._content = QWidget()
        self._stack = QVBoxLayout(self._content)
        self._stack.addWidget(self._placeholder)
        self._stack.addStretch(1)

        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self._content)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(scroll)

    def show_weights(self, weights: dict[str, np.ndarray]) -> None:
        """Show the given weights, e.g. {"W1": (2, 16), "b1": (16,), ...}."""
        shapes = {name: np.shape(values) for name, values in weights.items()}
        if shapes != self._shapes:
            self._rebuild(weights)
            return
        for name, values in weights.items():
            self._tables[name].set_values(_as_table(values))

    def clear(self) -> None:
        """Show no weights (no model)."""
        self._rebuild({})

    def _rebuild(self, weights: dict[str, np.ndarray]) -> None:
        while self._stack.count() > 2:  # keep the placeholder and the trailing stretch
            widget = self._stack.takeAt(1).widget()
            widget.hide()  # deletion is deferred; it must not linger on screen meanwhile
            widget.deleteLater()
        self._tables = {}
        self._shapes = {name: np.shape(values) for name, values in weights.items()}
        for name, values in weights.items():
            table = _ArrayTable(name, _as_table(values), is_row=np.ndim(values) <= 1)
            shape = "×".join(str(n) for n in np.shape(values)) or "scalar"
            title = QLabel(f"<b>{name}</b>  {shape}")
            position = self._stack.count() - 1
            self._stack.insertWidget(position, title)
            self._stack.insertWidget(position + 1, table, 0, Qt.AlignmentFlag.AlignLeft)
            self._tables[name] = table
        self._placeholder.setVisible(not weights)
