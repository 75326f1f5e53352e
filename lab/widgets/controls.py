"""The control panel: data, model and training settings and the run buttons.

It shows the workspace's settings (``show_*``) and says through signals when the user edits
them; the window hands the edits to the workspace, whose rules decide.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QAbstractButton,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from lab.actions import tool_tip
from lab.core.colors import CLASS_COLORS
from lab.core.datasets import DATASETS
from lab.core.features import DEFAULT_FEATURES, FEATURES
from lab.core.model import (
    ACTIVATIONS,
    MAX_SEED,
    MODEL_KINDS,
    PRECISIONS,
    REGULARIZATIONS,
    TASKS,
    ModelSettings,
    loss_description,
    parse_hidden,
)
from lab.core.optimizers import OPTIMIZERS
from lab.core.points import MAX_CLASSES, MAX_POINTS
from lab.core.settings import (
    MAX_LEARNING_RATE,
    MAX_NOISE,
    MAX_PENALTY_RATE,
    MAX_STEPS,
    MAX_TEST_SPLIT,
    MIN_LEARNING_RATE,
    DataSettings,
    TrainingSettings,
)
from lab.core.workspace import RunState
from lab.widgets.spin_boxes import LogSpinBox


def _combo(name: str, items: dict[str, str]) -> QComboBox:
    combo = QComboBox()
    combo.setObjectName(name)
    for key, label in items.items():
        combo.addItem(label, key)
    return combo


def _spin(name: str, minimum: int, maximum: int, value: int) -> QSpinBox:
    spin = QSpinBox()
    spin.setObjectName(name)
    spin.setRange(minimum, maximum)
    spin.setValue(value)
    spin.setGroupSeparatorShown(True)
    spin.setKeyboardTracking(False)  # typing 50 is one edit, not 5 then 50
    return spin


def _button(name: str, text: str, tip: str) -> QPushButton:
    button = QPushButton(text)
    button.setObjectName(name)
    button.setToolTip(tip)
    return button


def class_icon(index: int) -> QIcon:
    pixmap = QPixmap(12, 12)
    pixmap.fill(QColor(CLASS_COLORS[index]))
    return QIcon(pixmap)


class Controls(QWidget):
    """Data, model and training controls with stable objectNames (the test seams)."""

    generateRequested = Signal()
    dataEdited = Signal()  # data set, count, noise, seed or test split
    modelEdited = Signal()  # task, kind, hidden layers, activation, features or init seed
    trainingEdited = Signal()  # optimizer, learning rate, steps, batch size or penalty
    trainRequested = Signal()
    pauseToggled = Signal(bool)
    stopRequested = Signal()
    stepRequested = Signal()
    resetRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._task, self._penalty = "classification", "none"  # what the loss label says
        layout = QVBoxLayout(self)
        layout.addWidget(self._data_group())
        layout.addWidget(self._model_group())
        layout.addWidget(self._training_group())
        layout.addStretch(1)
        self.modelKind.currentIndexChanged.connect(self._update_model_fields)
        self.regularization.currentIndexChanged.connect(self._update_model_fields)
        self._show_task("classification")
        self._update_model_fields()

    # --- groups -----------------------------------------------------------------------------
    def _data_group(self) -> QGroupBox:
        box = QGroupBox("Data")
        form = QFormLayout(box)
        self.taskKind = _combo("taskKind", TASKS)
        self.taskKind.setToolTip("Tell classes apart, or predict a value (regression)")
        self.taskKind.currentIndexChanged.connect(self.modelEdited)
        self.datasetKind = _combo("datasetKind", {
            name: dataset.label + (" (regression)" if dataset.task == "regression" else "")
            for name, dataset in DATASETS.items()
        })
        self.pointCount = _spin("pointCount", 1, MAX_POINTS, DATASETS["blobs"].default_count)
        self.noise = QDoubleSpinBox(objectName="noise", minimum=0.0, maximum=MAX_NOISE,
                                    singleStep=0.05)
        self.noise.setValue(DATASETS["blobs"].default_noise)
        self.dataSeed = _spin("dataSeed", 0, MAX_SEED, 1)
        self.datasetKind.setToolTip("Which point cloud Generate makes")
        self.pointCount.setToolTip("How many points Generate makes")
        self.noise.setToolTip("How far the points stray from the data set's shape")
        self.dataSeed.setToolTip("The same seed makes the same points again")
        self.generateButton = _button("generateButton", "Generate", "Replace the points (undoable)")
        self.generateButton.clicked.connect(self.generateRequested)
        self.datasetKind.currentIndexChanged.connect(self._dataset_defaults)
        self.testSplit = _spin("testSplit", 0, MAX_TEST_SPLIT, 0)
        self.testSplit.setSuffix(" %")
        self.testSplit.setToolTip("Points held out for testing (drawn hollow), picked by the "
                                  "seed; they never train")
        for spin in (self.pointCount, self.noise, self.dataSeed, self.testSplit):
            spin.valueChanged.connect(self.dataEdited)
        self.classSelector = QComboBox(objectName="classSelector")
        for i in range(MAX_CLASSES):
            self.classSelector.addItem(class_icon(i), f"class {i}", i)
        self.classSelector.setToolTip("The class a left-click adds")
        self.pointValue = QDoubleSpinBox(objectName="pointValue", minimum=-10.0, maximum=10.0,
                                         singleStep=0.1, value=1.0)
        self.pointValue.setToolTip("The value a click adds (regression)")
        self.clickTest = QCheckBox("as test points", objectName="clickTest")
        self.clickTest.setToolTip("Clicked points are held out for testing instead of training")
        self.clickHint = QLabel(wordWrap=True, objectName="clickHint")
        form.addRow("Task", self.taskKind)
        form.addRow("Dataset", self.datasetKind)
        form.addRow("Count", self.pointCount)
        form.addRow("Noise", self.noise)
        form.addRow("Seed", self.dataSeed)
        form.addRow("Test split", self.testSplit)
        form.addRow(self.generateButton)
        self._click_label = QLabel("Click adds")
        clicks = QHBoxLayout()
        clicks.addWidget(self.classSelector, 1)
        clicks.addWidget(self.pointValue, 1)
        form.addRow(self._click_label, clicks)
        form.addRow("", self.clickTest)
        form.addRow(self.clickHint)
        return box

    def _model_group(self) -> QGroupBox:
        box = QGroupBox("Model")
        form = QFormLayout(box)
        self.modelKind = _combo("modelKind", MODEL_KINDS)
        self.hiddenLayers = QLineEdit("8,8", objectName="hiddenLayers")
        self.hiddenLayers.setToolTip("Hidden layer sizes, e.g. 8,8")
        self.activation = _combo("activation", {k: k for k in ACTIVATIONS})
        self.activation.setCurrentIndex(list(ACTIVATIONS).index("tanh"))
        self.initSeed = _spin("initSeed", 0, MAX_SEED, 0)
        self.initSeed.setToolTip("Seed of the random initial weights")
        self.precision = _combo("precision", PRECISIONS)
        self.precision.setToolTip("The numbers the model computes in: float32 trains faster, "
                                  "float64 agrees with finite differences to 1e-12")
        self.modelKind.setToolTip("The tutorial's softmax perceptron, or a multi-layer perceptron")
        self.activation.setToolTip("The non-linearity of the hidden layers")
        self.features = {}
        grid = QGridLayout()
        for index, (name, (label, _function)) in enumerate(FEATURES.items()):
            box_ = QCheckBox(label, objectName=f"feature_{name}", checked=name in DEFAULT_FEATURES)
            box_.setToolTip(f"Give the model {label} of each point as an input")
            box_.toggled.connect(self.modelEdited)
            grid.addWidget(box_, index // 4, index % 4)
            self.features[name] = box_
        self.lossLabel = QLabel(wordWrap=True, objectName="lossLabel")
        form.addRow("Kind", self.modelKind)
        form.addRow("Hidden", self.hiddenLayers)
        form.addRow("Activation", self.activation)
        form.addRow("Inputs", grid)
        form.addRow("Init seed", self.initSeed)
        form.addRow("Precision", self.precision)
        form.addRow(self.lossLabel)
        self.modelKind.currentIndexChanged.connect(self.modelEdited)
        self.hiddenLayers.editingFinished.connect(self.modelEdited)
        self.activation.currentIndexChanged.connect(self.modelEdited)
        self.initSeed.valueChanged.connect(self.modelEdited)
        self.precision.currentIndexChanged.connect(self.modelEdited)
        return box

    def _training_group(self) -> QGroupBox:
        box = QGroupBox("Training")
        layout = QVBoxLayout(box)
        form = QFormLayout()
        self.optimizer = _combo("optimizer", OPTIMIZERS)
        self.learningRate = LogSpinBox(MIN_LEARNING_RATE, MAX_LEARNING_RATE, 0.1)
        self.learningRate.setObjectName("learningRate")
        self.learningRate.setToolTip(
            f"Type any value from {MIN_LEARNING_RATE:g} to {MAX_LEARNING_RATE:g}; arrows step 1-2-5"
        )
        self.steps = _spin("steps", 1, MAX_STEPS, 300)
        self.optimizer.setToolTip("How each step moves the weights along the gradient")
        self.steps.setToolTip("How many steps Train takes")
        self.batchSize = _spin("batchSize", 0, MAX_POINTS, 0)
        self.batchSize.setSpecialValueText("all")
        self.batchSize.setToolTip("Training points per step, drawn from a shuffled order each "
                                  "epoch; all: the tutorial's full batch")
        self.regularization = _combo("regularization", REGULARIZATIONS)
        self.regularization.setToolTip("A penalty on the weights' size, added to the loss")
        self.regularizationRate = LogSpinBox(MIN_LEARNING_RATE, MAX_PENALTY_RATE, 0.001)
        self.regularizationRate.setObjectName("regularizationRate")
        self.regularizationRate.setToolTip("How much the penalty weighs; arrows step 1-2-5")
        for widget in (self.optimizer, self.regularization):
            widget.currentIndexChanged.connect(self.trainingEdited)
        for widget in (self.learningRate, self.steps, self.batchSize, self.regularizationRate):
            widget.valueChanged.connect(self.trainingEdited)
        penalty = QHBoxLayout()
        penalty.addWidget(self.regularization, 1)
        penalty.addWidget(self.regularizationRate, 1)
        form.addRow("Optimizer", self.optimizer)
        form.addRow("Learning rate", self.learningRate)
        form.addRow("Batch size", self.batchSize)
        form.addRow("Penalty", penalty)
        form.addRow("Steps", self.steps)
        layout.addLayout(form)
        buttons = QGridLayout()
        self.trainButton = _button("trainButton", "Train", tool_tip("train"))
        self.pauseButton = _button("pauseButton", "Pause", tool_tip("toggle_pause"))
        self.pauseButton.setCheckable(True)
        self.stopButton = _button("stopButton", "Stop", tool_tip("stop"))
        self.stepButton = _button("stepButton", "Step", tool_tip("step"))
        self.resetButton = _button("resetButton", "Reset", tool_tip("reset"))
        self.trainButton.clicked.connect(self.trainRequested)
        self.pauseButton.toggled.connect(self._pause_toggled)
        self.stopButton.clicked.connect(self.stopRequested)
        self.stepButton.clicked.connect(self.stepRequested)
        self.resetButton.clicked.connect(self.resetRequested)
        buttons.addWidget(self.trainButton, 0, 0)
        buttons.addWidget(self.pauseButton, 0, 1)
        buttons.addWidget(self.stopButton, 0, 2)
        buttons.addWidget(self.stepButton, 1, 0)
        buttons.addWidget(self.resetButton, 1, 1)
        layout.addLayout(buttons)
        self.progress = QProgressBar(objectName="progress")
        self.progress.setToolTip("Steps taken of the current Train")
        self.show_progress(0, self.steps.value())
        layout.addWidget(self.progress)
        return box

    def show_progress(self, done: int, total: int, epoch: int | None = None) -> None:
        """Step `done` of `total` of the current run, with thousands separators, and the
        epoch when steps see mini-batches."""
        self.progress.setRange(0, total)
        self.progress.setValue(done)
        epochs = "" if epoch is None else f" · epoch {epoch:,}"
        self.progress.setFormat(f"step {done:,} of {total:,}{epochs}")

    # --- reading and showing the settings --------------------------------------------------
    def data_settings(self) -> DataSettings:
        return DataSettings(
            self.datasetKind.currentData(),
            self.pointCount.value(),
            self.noise.value(),
            self.dataSeed.value(),
            self.testSplit.value(),
        )

    def model_settings(self, current: ModelSettings) -> ModelSettings:
        """The model the fields describe, classes as `current`'s; ValueError (for the user)
        if the hidden layers of an MLP are malformed. A perceptron keeps `current`'s hidden
        sizes, for when the user switches back."""
        kind = self.modelKind.currentData()
        hidden = parse_hidden(self.hiddenLayers.text()) if kind == "mlp" else current.hidden
        features = tuple(name for name, box in self.features.items() if box.isChecked())
        return ModelSettings(
            kind=kind,
            hidden=hidden,
            activation=self.activation.currentData(),
            classes=current.classes,
            seed=self.initSeed.value(),
            task=self.taskKind.currentData(),
            features=features,
            precision=self.precision.currentData(),
        )

    def training_settings(self) -> TrainingSettings:
        return TrainingSettings(
            self.optimizer.currentData(),
            self.learningRate.exact_value(),
            self.steps.value(),
            self.batchSize.value(),
            self.regularization.currentData(),
            self.regularizationRate.exact_value(),
        )

    def show_data(self, data: DataSettings) -> None:
        _show(self.datasetKind, data.dataset)
        _show(self.pointCount, data.count)
        _show(self.noise, data.noise)
        _show(self.dataSeed, data.seed)
        _show(self.testSplit, data.test_split)

    def show_model(self, settings: ModelSettings) -> None:
        _show(self.taskKind, settings.task)
        _show(self.modelKind, settings.kind)
        _show(self.hiddenLayers, ",".join(map(str, settings.hidden)))
        _show(self.activation, settings.activation)
        _show(self.initSeed, settings.seed)
        _show(self.precision, settings.precision)
        for name, box in self.features.items():
            _show(box, name in settings.features)
        self._show_task(settings.task)
        self._update_model_fields()

    def show_training(self, settings: TrainingSettings) -> None:
        _show(self.optimizer, settings.optimizer)
        _show(self.learningRate, settings.learning_rate)
        _show(self.steps, settings.steps)
        _show(self.batchSize, settings.batch_size)
        _show(self.regularization, settings.regularization)
        _show(self.regularizationRate, settings.regularization_rate)
        self._penalty = settings.regularization
        self._show_loss()

    def set_state(self, state: RunState, can_train: bool) -> None:
        """Enable what makes sense while idle, training or paused."""
        idle = state is RunState.IDLE
        training = state is RunState.TRAINING
        self.trainButton.setEnabled(can_train and not training)
        self.pauseButton.setEnabled(not idle)
        self.stopButton.setEnabled(not idle)
        self.stepButton.setEnabled(can_train and not training)
        self.resetButton.setEnabled(True)
        for widget in self._model_widgets():
            widget.setEnabled(idle)
        self._update_model_fields()
        _show(self.pauseButton, state is RunState.PAUSED)
        self.pauseButton.setText("Resume" if self.pauseButton.isChecked() else "Pause")

    def take_typing(self) -> str | None:
        """Take in what is being typed in a number field, as leaving the field would.

        A shortcut such as Ctrl+Return acts while the typing cursor is still in a field: what
        it shows must be what trains. Returns the problem (for the user) when a field holds
        text that is no value it takes; that field goes back to the value in effect.
        """
        for spin, label in ((self.learningRate, "Learning rate"), (self.steps, "Steps"),
                            (self.initSeed, "Init seed"), (self.batchSize, "Batch size"),
                            (self.regularizationRate, "Penalty rate")):
            if spin.text() == spin.textFromValue(spin.value()):
                continue  # nothing typed: the value stands as it is, to the last digit
            if not spin.hasAcceptableInput():
                typed = spin.text()
                spin.lineEdit().setText(spin.textFromValue(spin.value()))
                low, high = spin.textFromValue(spin.minimum()), spin.textFromValue(spin.maximum())
                return f"{label}: {typed!r} is not a value from {low} to {high}."
            spin.interpretText()
        return None

    def _model_widgets(self) -> tuple[QWidget, ...]:
        """The settings that need a new model (they apply when idle)."""
        return (self.taskKind, self.modelKind, self.hiddenLayers, self.activation, self.initSeed,
                self.precision,
                self.optimizer, self.regularization, *self.features.values())

    def _pause_toggled(self, paused: bool) -> None:
        self.pauseButton.setText("Resume" if paused else "Pause")
        self.pauseToggled.emit(paused)

    def _update_model_fields(self) -> None:
        mlp = self.modelKind.currentData() == "mlp" and self.modelKind.isEnabled()
        self.hiddenLayers.setEnabled(mlp)
        self.activation.setEnabled(mlp)
        self.regularizationRate.setEnabled(self.regularization.currentData() != "none")

    def _show_task(self, task: str) -> None:
        """A click adds a class or a value; the loss is cross-entropy or squared error."""
        regression = task == "regression"
        self._task = task
        self.classSelector.setVisible(not regression)
        self.pointValue.setVisible(regression)
        what = "a point of that value" if regression else "the selected class"
        other = "" if regression else " Right- or Shift-click: the other class."
        self.clickHint.setText(f"Left-click: add {what}.{other} Ctrl-click: remove the "
                               "nearest point.")
        self._show_loss()

    def _show_loss(self) -> None:
        self.lossLabel.setText(loss_description(self._task, self._penalty))

    def _dataset_defaults(self) -> None:
        """A new data set comes with its own count and noise."""
        self.show_data(DataSettings.for_dataset(self.datasetKind.currentData(),
                                                self.dataSeed.value(), self.testSplit.value()))
        self.dataEdited.emit()


def _show(widget: QWidget, value: object) -> None:
    """Show a value from the workspace in a field, without the field announcing it as an
    edit; a field that already holds it is left alone (so one being typed in keeps its
    cursor)."""
    if isinstance(widget, QComboBox):
        current, put = widget.currentData(), lambda: widget.setCurrentIndex(widget.findData(value))
    elif isinstance(widget, QLineEdit):
        current, put = widget.text(), lambda: widget.setText(value)
    elif isinstance(widget, QAbstractButton):
        current, put = widget.isChecked(), lambda: widget.setChecked(value)
    else:
        current, put = widget.value(), lambda: widget.setValue(value)
    if current != value:
        blocked = widget.blockSignals(True)
        put()
        widget.blockSignals(blocked)

