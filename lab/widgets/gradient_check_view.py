"""Check gradients, as a table: per variable, backprop's gradient beside finite differences and
their worst relative error, a mismatching variable in red. A learner who registered a wrong
gradient for an op sees at once which variables it reaches."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from lab.core.gradient_check import TOLERANCE, VariableCheck

COLUMNS = ("Variable", "Entries", "Backprop", "Finite differences", "Max relative error", "Result")
_HEADER_TIPS = (
    "The variable (weights or biases of a layer)",
    "Entries compared / entries in the variable: a big variable has a random sample checked, "
    "the same one each time",
    "Length (2-norm) of backpropagation's gradient over the checked entries",
    "Length (2-norm) of the slopes measured by nudging each checked entry by ±h (float64)",
    f"The worst entry's |backprop − finite difference| / (|backprop| + |finite difference|); "
    f"they agree up to {TOLERANCE:g}",
    "Whether backpropagation's gradient agrees with the finite differences",
)
# (background, text) of agreeing and of mismatching rows: a pale green and a clear red for a
# light table, deep ones for a dark table, the text readable on each (WCAG contrast over 7).
_LIGHT_ROWS = {False: (QColor("#DDEFD9"), QColor("#0F3D14")),
               True: (QColor("#F4A9A0"), QColor("#400000"))}
_DARK_ROWS = {False: (QColor("#1F3D26"), QColor("#E3F5E6")),
              True: (QColor("#8B1A1A"), QColor("#FFE5E5"))}
_SHOWN_ENTRIES = 5  # entries a cell's tooltip lists
_PALETTE_EVENTS = (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange)


def row_colors(palette: QPalette) -> dict[bool, tuple[QColor, QColor]]:
    """(background, text) for agreeing (False) and mismatching (True) rows on this palette's
    table: the dark set when its text is lighter than its background."""
    base = palette.color(QPalette.ColorRole.Base)
    dark = base.lightness() < palette.color(QPalette.ColorRole.Text).lightness()
    return _DARK_ROWS if dark else _LIGHT_ROWS


class GradientCheckView(QWidget):
    """The result of Check gradients: one row per variable, and a sentence saying what it means."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("gradientCheck")
        self.table = QTableWidget(0, len(COLUMNS), objectName="gradientCheckTable")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        for column, tip in enumerate(_HEADER_TIPS):
            self.table.horizontalHeaderItem(column).setToolTip(tip)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        # A selection would paint over the rows' colours.
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.summary = QLabel(wordWrap=True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(self.summary)
        self._checks: list[VariableCheck] = []

    def show_checks(self, checks: list[VariableCheck]) -> None:
        """Show one row per variable, in the order given."""
        self._checks = list(checks)
        self.table.setRowCount(len(self._checks))
        right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        for row, check in enumerate(self._checks):
            for column, (text, tip) in enumerate(_cells(check)):
                item = QTableWidgetItem(text)
                item.setToolTip(tip)
                if 0 < column < len(COLUMNS) - 1:
                    item.setTextAlignment(right)
                self.table.setItem(row, column, item)
        self._color_rows()
        self.summary.setText(_summary(self._checks))

    def clear(self) -> None:
        """Show no check (the weights or the points changed since)."""
        self._checks = []
        self.table.setRowCount(0)
        self.summary.clear()

    def rows(self) -> list[dict]:
        """What each row shows: its text under each column's name, and `mismatch`."""
        return [
            {**{name: self.table.item(row, column).text() for column, name in enumerate(COLUMNS)},
             "mismatch": not check.ok}
            for row, check in enumerate(self._checks)
        ]

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in _PALETTE_EVENTS:
            self._color_rows()

    def _color_rows(self) -> None:
        colors = row_colors(self.palette())  # the table inherits it, but may hear of it later
        for row, check in enumerate(self._checks):
            background, text = colors[not check.ok]
            for column in range(len(COLUMNS)):
                item = self.table.item(row, column)
                item.setBackground(background)
                item.setForeground(text)
                font = item.font()
                font.setBold(not check.ok and column == len(COLUMNS) - 1)
                item.setFont(font)


def _cells(check: VariableCheck) -> list[tuple[str, str]]:
    """(text, tooltip) of each column for one variable."""
    sampled = check.checked < check.size
    one_sided = int(check.one_sided.sum())
    numeric = f"{np.linalg.norm(check.numeric):.6g}"
    numeric_tip = _entries_tip(check)
    if one_sided:
        numeric += f" ({one_sided} one-sided)"
        numeric_tip += (f"\n{one_sided} entries sit at a kink of the loss (a relu at 0, |w| at "
                        f"0), where backprop takes the slope of one side: they are compared "
                        f"with a one-sided difference.")
    return [
        (check.name, f"shape {' × '.join(map(str, check.shape)) or '() (one number)'}"),
        (f"{check.checked}/{check.size}",
         f"a random sample of {check.checked} of the {check.size} entries" if sampled
         else "every entry"),
        (f"{np.linalg.norm(check.backprop):.6g}", _entries_tip(check)),
        (numeric, numeric_tip),
        (f"{check.max_error:.1e}", f"agree when at most {TOLERANCE:g}"),
        ("agrees" if check.ok else "MISMATCH",
         "backprop's gradient agrees at every checked entry" if check.ok
         else "backprop's gradient disagrees with the finite differences: a registered "
              "gradient is wrong"),
    ]


def _entries_tip(check: VariableCheck) -> str:
    """The first few checked entries: where, backprop, finite difference, relative error."""
    positions = np.unravel_index(check.indices[:_SHOWN_ENTRIES], check.shape)
    lines = ["entry: backprop, finite difference (relative error)"]
    for k in range(min(check.checked, _SHOWN_ENTRIES)):
        where = ", ".join(str(int(axis[k])) for axis in positions)
        lines.append(f"{check.name}[{where}]: {check.backprop[k]:.6g}, "
                     f"{check.numeric[k]:.6g} ({check.errors[k]:.1e})")
    if check.checked > _SHOWN_ENTRIES:
        lines.append(f"… and {check.checked - _SHOWN_ENTRIES} more")
    return "\n".join(lines)


def _summary(checks: list[VariableCheck]) -> str:
    """One sentence on what the rows mean together."""
    if not checks:
        return ""
    wrong = [check.name for check in checks if not check.ok]
    if not wrong:
        return (f"Backpropagation agrees with finite differences (float64, at the current "
                f"weights) for all {len(checks)} variables, to a relative error of "
                f"{TOLERANCE:g}.")
    return (f"Backpropagation disagrees with finite differences for {', '.join(wrong)}: the "
            f"gradient registered for an op these depend on is wrong.")
