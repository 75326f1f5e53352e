"""Neuron maps, as TensorFlow Playground draws them: what each unit of a hidden layer
computes over the plane, as a strip of thumbnails; a click on one shows it large in the data
plot (a click on it again, or on "Regions", goes back to the decision regions)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Signal
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from lab.core.colormap import SHADES, value_palette, value_shades
from lab.core.training import NeuronMaps

THUMBNAIL = 32  # pixels on screen: one per point of a unit's small map
COLUMNS = 8


def map_pixmaps(maps: np.ndarray) -> list[QPixmap]:
    """Each unit's activation map (units, rows, columns) as a picture, row 0 at the bottom,
    coloured as value_image colours it, all in one pass (64 units come 4 times a second)."""
    finite = np.where(np.isfinite(maps), np.abs(maps), 0.0)
    largest = np.maximum(finite.max(axis=(1, 2)), 1.0)[:, None, None]  # as value_limits
    shades = value_shades(maps[:, ::-1] / largest, (-1.0, 1.0), SHADES)
    pixels = np.full((*maps.shape, 4), 255, dtype=np.uint8)
    pixels[..., :3] = value_palette(SHADES)[shades]
    units, rows, columns = maps.shape
    return [
        QPixmap.fromImage(QImage(pixels[unit].data, columns, rows, 4 * columns,
                                 QImage.Format.Format_RGBA8888))  # a copy: pixels may go
        for unit in range(units)
    ]


class NeuronsView(QWidget):
    """A layer chooser and a button per unit; says which unit the user wants to see."""

    selectionChanged = Signal(int, int)  # hidden layer (from 0), unit (-1: none)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("neuronsView")
        self.layer = QComboBox(objectName="neuronLayer")
        self.layer.setToolTip("Which hidden layer's units to show")
        self.layer.currentIndexChanged.connect(self._layer_chosen)
        self.regions = QPushButton("Regions", objectName="neuronRegions")
        self.regions.setToolTip("Show the decision regions again in the data plot")
        self.regions.clicked.connect(lambda: self.select(-1))
        self.note = QLabel(wordWrap=True)
        top = QHBoxLayout()
        top.addWidget(QLabel("Layer"))
        top.addWidget(self.layer, 1)
        top.addWidget(self.regions)
        self._grid = QGridLayout()
        self._grid.setSpacing(2)
        self._group = QButtonGroup(self)
        self._group.setExclusive(False)
        self._group.idClicked.connect(self._unit_clicked)
        self._units: list[QToolButton] = []
        self._sizes: list[int] = []
        self._selected = -1
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(self._grid)
        layout.addWidget(self.note)
        layout.addStretch(1)
        self.note.setText("A perceptron has no hidden units: choose an MLP.")

    def set_layers(self, sizes: list[int]) -> None:
        """The hidden layers' sizes of the current model (none: nothing to show)."""
        labels = [f"{i + 1}: {size} units" for i, size in enumerate(sizes)]
        if labels == [self.layer.itemText(i) for i in range(self.layer.count())]:
            return
        self.layer.blockSignals(True)
        self.layer.clear()
        self.layer.addItems(labels)
        self.layer.blockSignals(False)
        self._sizes = sizes
        self.note.setText("" if sizes else "A perceptron has no hidden units: choose an MLP.")
        self._layer_chosen()

    @property
    def wanted(self) -> tuple[int, int | None] | None:
        """(layer, unit or None) to compute, or None when there is nothing to show."""
        if not self._sizes:
            return None
        return self.layer.currentIndex(), (None if self._selected < 0 else self._selected)

    def select(self, unit: int) -> None:
        """Show this unit of the current layer large (-1: the decision regions)."""
        self._selected = unit
        for index, button in enumerate(self._units):
            button.setChecked(index == unit)
        self.selectionChanged.emit(max(self.layer.currentIndex(), 0), unit)

    def show_unit(self, layer: int, unit: int) -> None:
        """Show this unit of this hidden layer (as a click in the weights view asks)."""
        if 0 <= layer < len(self._sizes) and 0 <= unit < self._sizes[layer]:
            self.layer.setCurrentIndex(layer)
            self.select(unit)

    def show_maps(self, maps: NeuronMaps) -> None:
        if maps.layer != self.layer.currentIndex() or len(maps.maps) != len(self._units):
            return  # for a layer no longer shown
        for button, pixmap in zip(self._units, map_pixmaps(maps.maps), strict=True):
            button.setIcon(QIcon(pixmap))

    def _layer_chosen(self) -> None:
        for button in self._units:
            self._group.removeButton(button)
            button.deleteLater()
        self._units = []
        layer = self.layer.currentIndex()
        for unit in range(self._sizes[layer] if self._sizes and layer >= 0 else 0):
            button = QToolButton(objectName=f"neuron_{layer}_{unit}", checkable=True)
            button.setIconSize(QSize(THUMBNAIL, THUMBNAIL))
            button.setToolTip(f"Unit {unit} of hidden layer {layer + 1}: click to see it large")
            self._group.addButton(button, unit)
            self._grid.addWidget(button, unit // COLUMNS, unit % COLUMNS)
            self._units.append(button)
        self.select(-1)

    def _unit_clicked(self, unit: int) -> None:
        self.select(-1 if unit == self._selected else unit)
