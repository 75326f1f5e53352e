"""The model's weights and biases as numbers, so a learner can watch individual weights move.

Each array is a small table over a QStandardItemModel: an update writes the formatted
numbers into Qt's own items, and Qt paints them in C++ without calling back into Python.
That matters while training: a Python model or delegate is asked for every cell on every
paint, each call needing the GIL the training thread holds, so a paint that needs no Python
costs the training thread nothing. Only the cells on screen are written on an update (a
64x64 layer has 4,096 cells, ~10 ms of Python to write them all, while a few hundred show);
scrolling or resizing the panel writes the cells that come into view.
"""

import numpy as np
from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QFontDatabase,
    QPalette,
    QResizeEvent,
    QShowEvent,
    QStandardItem,
    QStandardItemModel,
)
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
# explicit +/- sign carries the same information for everyone else. Keyed by sign, with a
# variant for light and one for dark table backgrounds, each readable on its own (WCAG
# contrast of 4.5 or more against a white, respectively a #1e1e1e to #3c3f41 background).
_LIGHT_SIGN_COLORS = {1: QColor("#005AB5"), -1: QColor("#DC3220"), 0: QColor("#666666")}
_DARK_SIGN_COLORS = {1: QColor("#6CB4FF"), -1: QColor("#FF8A7A"), 0: QColor("#AAAAAA")}

_DECIMALS = 3
_ALIGN = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_CELL_PADDING = 8  # pixels beside each number: the item view's own text margins
_FOREGROUND = Qt.ItemDataRole.ForegroundRole
_PALETTE_EVENTS = (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange)


def sign_colors(palette: QPalette) -> dict[int, QColor]:
    """Colours for positive (1), negative (-1) and zero (0) numbers, readable on this palette's
    table background: the dark-theme set when its text is lighter than its background."""
    base = palette.color(QPalette.ColorRole.Base)
    dark = base.lightness() < palette.color(QPalette.ColorRole.Text).lightness()
    return _DARK_SIGN_COLORS if dark else _LIGHT_SIGN_COLORS


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


class _ArrayTable(QTableView):
    """A table exactly as large as its contents; the surrounding panel does the scrolling."""

    def __init__(self, name: str, values: np.ndarray, is_row: bool) -> None:
        super().__init__()
        self.setObjectName(f"weights_{name}")
        self._colors = sign_colors(self.palette())
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
        self._values = values
        self._texts = [""] * values.size  # what each item shows
        self._signs = [2] * values.size  # the sign it is coloured for (2: none yet)
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
        self._fit_columns(values)
        self.refresh()

    def set_values(self, values: np.ndarray) -> None:
        """Take new numbers; the cells on screen show them at once, the others once visible."""
        self._fit_columns(values)
        self._values = values
        self.refresh()

    def refresh(self) -> None:
        """Write the latest numbers into the cells on screen (e.g. after a scroll).

        A table about to be shown (just built) gets every cell; one behind another tab gets
        none, and is written when it is shown.
        """
        if self.isVisible():
            self._write(*self._visible_cells())
        elif self.isHidden():
            self._write(0, self._values.shape[0], 0, self._values.shape[1])

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        QTimer.singleShot(0, self, self.refresh)  # once the layout has placed it

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() not in _PALETTE_EVENTS:
            return
        colors = sign_colors(self.palette())
        if colors is not self._colors:
            self._colors = colors
            self._signs = [2] * self._values.size  # every cell recoloured when next written
            self.refresh()

    def _visible_cells(self) -> tuple[int, int, int, int]:
        """Rows r0:r1 and columns c0:c1 that are at least partly on screen (maybe none)."""
        shown = self.viewport().visibleRegion().boundingRect()
        if shown.isEmpty():
            return 0, 0, 0, 0
        rows, columns = self._values.shape
        r1 = self.rowAt(shown.bottom())
        c1 = self.columnAt(shown.right())
        return (
            max(self.rowAt(shown.top()), 0),
            rows if r1 < 0 else r1 + 1,
            max(self.columnAt(shown.left()), 0),
            columns if c1 < 0 else c1 + 1,
        )

    def _write(self, r0: int, r1: int, c0: int, c1: int) -> None:
        """Set the text and colour of the cells in the block that changed; one dataChanged."""
        columns = self._values.shape[1]
        items, texts, signs = self._items, self._texts, self._signs
        changed = False
        self._model.blockSignals(True)
        try:
            for row in range(r0, r1):
                values = self._values[row, c0:c1].tolist()
                for i, value in enumerate(values, start=row * columns + c0):
                    text = f"{value:+.{_DECIMALS}f}"
                    if text != texts[i]:
                        texts[i] = text
                        items[i].setText(text)
                        changed = True
                    sign = (value > 0) - (value < 0)  # NaN: 0, grey
                    if sign != signs[i]:
                        signs[i] = sign
                        items[i].setData(self._colors[sign], _FOREGROUND)
                        changed = True
        finally:
            self._model.blockSignals(False)
        if changed:
            model = self._model
            model.dataChanged.emit(model.index(r0, c0), model.index(r1 - 1, c1 - 1))

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

    unitClicked = Signal(int, int)  # a hidden layer (from 0) and its unit, clicked in W<k>

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
        for bar in (scroll.horizontalScrollBar(), scroll.verticalScrollBar()):
            bar.valueChanged.connect(self._refresh_tables)
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

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._refresh_tables()

    def _refresh_tables(self) -> None:
        """Cells may have come into view: show them the latest numbers."""
        for table in self._tables.values():
            table.refresh()

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
        hidden = [f"W{k}" for k in range(1, len(weights) // 2)]  # all but the output layer's
        for name, values in weights.items():
            table = _ArrayTable(name, _as_table(values), is_row=np.ndim(values) <= 1)
            if name in hidden:  # W<k>'s columns are the units of hidden layer k
                layer = hidden.index(name)
                header = table.horizontalHeader()
                header.setSectionsClickable(True)
                header.setToolTip("Click a unit's number to see its map in the data plot")
                header.sectionClicked.connect(
                    lambda unit, layer=layer: self.unitClicked.emit(layer, unit)
                )
            shape = "×".join(str(n) for n in np.shape(values)) or "scalar"
            title = QLabel(f"<b>{name}</b>  {shape}")
            position = self._stack.count() - 1
            self._stack.insertWidget(position, title)
            self._stack.insertWidget(position + 1, table, 0, Qt.AlignmentFlag.AlignLeft)
            self._tables[name] = table
        self._placeholder.setVisible(not weights)
