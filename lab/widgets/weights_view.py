"""The model's weights and biases as numbers, so a learner can watch individual weights move.

Each array is a small table backed by a model that only holds the latest values; an update
swaps the array and tells the view everything changed, so the cost of an update does not
grow with the layer size and only visible cells get formatted when Qt paints.
"""

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QFontDatabase, QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QScrollArea,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QVBoxLayout,
    QWidget,
)

# A blue/red pair that stays distinct for the common colour-vision deficiencies; the
# explicit +/- sign carries the same information for everyone else.
POSITIVE_COLOR = QColor("#005AB5")
NEGATIVE_COLOR = QColor("#DC3220")
ZERO_COLOR = QColor("#666666")

_DECIMALS = 3
_ALIGN = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_CELL_PADDING = 4  # pixels right of each number

Index = QModelIndex | QPersistentModelIndex


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


def _format(value: float) -> str:
    return f"{value:+.{_DECIMALS}f}"


def _sign_color(value: float) -> QColor:
    if value > 0:
        return POSITIVE_COLOR
    return NEGATIVE_COLOR if value < 0 else ZERO_COLOR


class _ArrayModel(QAbstractTableModel):
    """Read-only table over one 2-D array, formatted on demand."""

    def __init__(self, values: np.ndarray) -> None:
        super().__init__()
        self._values = values

    def rowCount(self, parent: Index | None = None) -> int:
        return 0 if parent is not None and parent.isValid() else self._values.shape[0]

    def columnCount(self, parent: Index | None = None) -> int:
        return 0 if parent is not None and parent.isValid() else self._values.shape[1]

    def set_values(self, values: np.ndarray) -> None:
        self._values = values
        last = self.index(values.shape[0] - 1, values.shape[1] - 1)
        self.dataChanged.emit(
            self.index(0, 0), last, [Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ForegroundRole]
        )

    def value(self, row: int, column: int) -> float:
        return float(self._values[row, column])

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole:
            return _format(self.value(index.row(), index.column()))
        if role == Qt.ItemDataRole.ForegroundRole:
            return _sign_color(self.value(index.row(), index.column()))
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _ALIGN
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ):
        if role == Qt.ItemDataRole.DisplayRole:
            return str(section)
        return None


class _NumberDelegate(QStyledItemDelegate):
    """Paints a cell as plain coloured text.

    The styled default asks the model for half a dozen roles and lays the text out per
    cell; drawing directly makes a repaint of a 2-16-16-2 network several times cheaper.
    """

    def __init__(self, model: _ArrayModel) -> None:
        super().__init__()
        self._model = model

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        value = self._model.value(index.row(), index.column())
        painter.setPen(_sign_color(value))
        painter.drawText(option.rect.adjusted(0, 0, -_CELL_PADDING, 0), _ALIGN, _format(value))


class _ArrayTable(QTableView):
    """A table exactly as large as its contents; the surrounding panel does the scrolling."""

    def __init__(self, name: str, values: np.ndarray, is_row: bool) -> None:
        super().__init__()
        self.setObjectName(f"weights_{name}")
        model = _ArrayModel(values)
        self.setModel(model)
        self._delegate = _NumberDelegate(model)
        self.setItemDelegate(self._delegate)
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        metrics = self.fontMetrics()
        self._char_width = metrics.horizontalAdvance("0")
        rows = self.verticalHeader()
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.setDefaultSectionSize(metrics.height() + 4)
        rows.setVisible(not is_row)
        columns = self.horizontalHeader()
        columns.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        columns.setMinimumSectionSize(1)
        self._chars = 0
        self._fit_columns(values)

    def set_values(self, values: np.ndarray) -> None:
        self._fit_columns(values)
        self.model().set_values(values)

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
