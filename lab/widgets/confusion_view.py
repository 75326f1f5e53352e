"""Confusion matrices of the training and the test points: how many of each true class the
model puts in each class. Qt's own tables (no Python paint), updated with the scores."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from lab.core.training import Scores


class _Matrix(QWidget):
    def __init__(self, title: str) -> None:
        super().__init__()
        self.title = QLabel(f"<b>{title}</b>")
        self.model = QStandardItemModel(self)
        self.table = QTableView(objectName=f"confusion_{title}")
        self.table.setModel(self.model)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        for header in (self.table.horizontalHeader(), self.table.verticalHeader()):
            header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.table)

    def show_counts(self, counts: np.ndarray | None) -> None:
        if counts is None:
            self.model.clear()
            return
        classes = len(counts)
        if self.model.rowCount() != classes:
            self.model.clear()
            self.model.setRowCount(classes)
            self.model.setColumnCount(classes)
            names = [f"class {i}" for i in range(classes)]
            self.model.setVerticalHeaderLabels(names)
            self.model.setHorizontalHeaderLabels([f"→ {i}" for i in range(classes)])
        right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        for true in range(classes):
            for predicted in range(classes):
                item = self.model.item(true, predicted)
                if item is None:
                    item = QStandardItem()
                    item.setTextAlignment(right)
                    self.model.setItem(true, predicted, item)
                item.setText(f"{counts[true, predicted]:,}")
                font = item.font()
                font.setBold(true == predicted)
                item.setFont(font)


_NOTE = "Rows: the true class; columns: the class the model predicts."
_REGRESSION_NOTE = ("A regression predicts values, not classes: there is no confusion matrix. "
                    "R² in the status bar says how well it fits.")


class ConfusionView(QWidget):
    """Train and test confusion matrices side by side (rows: true class; columns: predicted)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("confusionMatrix")
        self.train = _Matrix("train")
        self.test = _Matrix("test")
        self.note = QLabel(wordWrap=True)
        row = QHBoxLayout()
        row.addWidget(self.train)
        row.addWidget(self.test)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.note)
        self.note.setText(_NOTE)

    def show_scores(self, scores: Scores) -> None:
        train = scores.train.confusion
        test = scores.test.confusion if scores.test is not None else None
        regression = scores.train.r2 is not None or (train is None and scores.train.count > 0)
        self.train.show_counts(train)
        self.test.show_counts(test)
        self.train.setVisible(not regression)
        self.test.setVisible(test is not None)
        self.note.setText(_REGRESSION_NOTE if regression else _NOTE)

    def counts(self, which: str) -> np.ndarray:
        """The matrix shown for "train" or "test", as numbers (for tests and exports)."""
        model = getattr(self, which).model
        return np.array([[int(model.item(r, c).text().replace(",", ""))
                          for c in range(model.columnCount())] for r in range(model.rowCount())])
