"""Explain a point: one point's forward pass written out with its numbers (inputs, each
layer's z = h·W + b and h, the output, the loss) and its share of the gradient, so a learner
can redo the arithmetic by hand. The numbers come from lab.core.explain; this only writes
them down."""

from __future__ import annotations

import html

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSpinBox, QTextBrowser, QVBoxLayout, QWidget

from lab.core.colors import CLASS_COLORS, CLASS_NAMES
from lab.core.explain import PointExplanation
from lab.core.features import FEATURES

# Arrays with more entries are summed up as shape and norm: a learner checks small layers by
# hand, and a 256×256 matrix written out would only bury the rest.
FULL_ENTRIES = 64
FULL_COLUMNS = 8  # a wider grid would not fit the side panel
# A unit's sum is written out term by term up to this many inputs.
WORKED_INPUTS = 8
ACTIVATION_NAMES = {"sigmoid": "σ", "tanh": "tanh", "relu": "ReLU"}
_EMPTY = ("<p>Alt-click a point in the data plot, or pick its number above, to see its "
          "forward pass with the numbers filled in.</p>")


def number(value: float) -> str:
    """How every number is written here: 4 significant digits."""
    return f"{value:.4g}"


def _factor(value: float) -> str:
    """A number in a sum or product: a negative one in brackets, as written by hand."""
    return f"({number(value)})" if value < 0 else number(value)


def _vector(values: np.ndarray) -> str:
    return "[" + ", ".join(number(v) for v in values) + "]"


def _summary(a: np.ndarray) -> str:
    shape = "×".join(map(str, a.shape))
    return f"<i>{shape} values, norm {number(float(np.linalg.norm(a)))}</i>"


def _array(name: str, a: np.ndarray) -> str:
    """`name = values`: a vector on one line, a matrix as a grid (rows: inputs, columns:
    units), a large array as its shape and norm."""
    if a.size > FULL_ENTRIES or (a.ndim == 2 and a.shape[1] > FULL_COLUMNS):
        return f"<p>{name}: {_summary(a)}</p>"
    if a.ndim < 2:
        return f"<p>{name} = {_vector(np.atleast_1d(a))}</p>"
    rows = "".join(
        "<tr>" + "".join(f'<td align="right">{number(v)}</td>' for v in row) + "</tr>"
        for row in a
    )
    return (f'<p>{name} =</p><table border="1" cellspacing="0" cellpadding="3">{rows}</table>')


def _worked_sum(layer: int, source: str, inputs: np.ndarray, weights: np.ndarray,
                bias: np.ndarray) -> str:
    """The first unit's sum term by term, the one a learner redoes first."""
    if len(inputs) > WORKED_INPUTS:
        return ""
    terms = " + ".join(f"{_factor(h)}·{_factor(w)}" for h, w in zip(inputs, weights[:, 0],
                                                                    strict=True))
    value = float(inputs @ weights[:, 0] + bias[0])
    return (f"<p>First unit: z{layer}[0] = {source}·W{layer}[:, 0] + b{layer}[0] = {terms} + "
            f"{_factor(bias[0])} = {number(value)}</p>")


def _layers(e: PointExplanation) -> list[str]:
    parts = []
    activation = e.settings.activation
    source, values = "x", e.inputs
    for i, z in enumerate(e.pre_activations, start=1):
        hidden = i <= len(e.activations)
        weights, bias = e.weights[f"W{i}"], e.weights[f"b{i}"]
        title = f"Layer {i} (hidden, {activation})" if hidden else f"Layer {i} (output)"
        parts += [
            f"<h3>{title}</h3>",
            f"<p><b>z{i} = {source}·W{i} + b{i}</b></p>",
            _array(f"W{i} ({weights.shape[0]} inputs × {weights.shape[1]} units)", weights),
            _array(f"b{i}", bias),
            _worked_sum(i, source, values, weights, bias),
            _array(f"z{i}", z),
        ]
        if hidden:
            h = e.activations[i - 1]
            rule = (f"h{i} = z{i} (linear)" if activation not in ACTIVATION_NAMES
                    else f"h{i} = {ACTIVATION_NAMES[activation]}(z{i})")
            parts.append(_array(f"<b>{rule}</b>", h))
            source, values = f"h{i}", h
    return parts


def _output_and_loss(e: PointExplanation) -> list[str]:
    last = f"z{len(e.pre_activations)}"
    if not e.classification:
        prediction, target = float(e.output[0]), float(e.target)
        return [
            "<h3>Output</h3>",
            f"<p>Predicted value ŷ = {last} = {number(prediction)}; target y = "
            f"{number(target)}</p>",
            "<h3>Loss</h3>",
            f"<p>loss = (ŷ − y)² = ({number(prediction)} − {_factor(target)})² = "
            f"<b>{number(e.loss)}</b></p>",
        ]
    predicted = int(np.argmax(e.output))
    rows = []
    for k, p in enumerate(e.output):
        marks = [word for word, is_it in (("true class", k == e.target),
                                          ("predicted", k == predicted)) if is_it]
        rows.append(f'<tr><td><span style="color:{CLASS_COLORS[k]}">■</span> '
                    f'{CLASS_NAMES[k]}</td><td align="right">{number(p)}</td>'
                    f"<td>{', '.join(marks)}</td></tr>")
    return [
        "<h3>Output</h3>",
        f"<p><b>p = softmax({last})</b>: p[k] = exp({last}[k]) / Σ exp({last})</p>",
        f'<table cellspacing="0" cellpadding="3">{"".join(rows)}</table>',
        "<h3>Loss</h3>",
        f"<p>loss = −log p_true = −log p[{e.target}] = −log({number(e.output[e.target])}) = "
        f"<b>{number(e.loss)}</b></p>",
    ]


def _gradient(e: PointExplanation) -> list[str]:
    parts = ["<h3>Share of the gradient</h3>"]
    if e.test:
        parts.append("<p>held out: not part of the training gradient. The gradient of its "
                     "own loss, which training does not follow:</p>")
        arrays = e.gradients
    else:
        parts.append(f"<p>The gradient of this point's loss ÷ n = {e.n} training points: "
                     "training follows the sum of these shares over the training points "
                     "(plus the penalty's gradient, if there is one).</p>")
        arrays = e.shares
    divided = "" if e.test else " ÷ n"
    parts += [_array(f"∂loss/∂{name}{divided}", a) for name, a in arrays.items()]
    return parts


def explanation_html(e: PointExplanation) -> str:
    """The whole forward pass of the point as a document, in the order it is computed."""
    labels = ", ".join(html.escape(FEATURES[name][0]) for name in e.settings.features)
    kind = "held out for testing" if e.test else "training point"
    return "".join([
        f"<h2>Point {e.index}</h2>",
        f"<p>at ({number(e.xy[0])}, {number(e.xy[1])}), {kind}</p>",
        "<h3>Inputs</h3>",
        f"<p>x = [{labels}] = {_vector(e.inputs)}</p>",
        *_layers(e),
        *_output_and_loss(e),
        *_gradient(e),
    ])


class PointView(QWidget):
    """A point chooser and its explanation; the window computes explanations when asked
    (indexChosen) and hands them in, so nothing is computed while no point is chosen."""

    indexChosen = Signal(int)  # the point to explain; -1: none

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("pointView")
        self.chooser = QSpinBox(objectName="explainIndex")
        self.chooser.setRange(-1, -1)
        self.chooser.setSpecialValueText("none")
        self.chooser.setKeyboardTracking(False)  # one explanation per number typed, not per digit
        self.chooser.setToolTip("The point to explain, by number (Alt-click one in the data plot)")
        self.chooser.valueChanged.connect(self.indexChosen)
        self.text = QTextBrowser(objectName="explainText")
        self.text.setOpenLinks(False)
        top = QHBoxLayout()
        top.addWidget(QLabel("Point"))
        top.addWidget(self.chooser)
        top.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.text, 1)
        self._explanation: PointExplanation | None = None
        self._html = ""
        self._set_html(_EMPTY)

    def set_point_count(self, n: int) -> None:
        """How many points there are to choose from (a chosen point past the end is
        unchosen, and indexChosen says so)."""
        if self.chooser.value() >= n:
            self.chooser.setValue(-1)
        self.chooser.setMaximum(n - 1)
        self.chooser.setEnabled(n > 0)

    def show_explanation(self, explanation: PointExplanation | None) -> None:
        """Show this point's forward pass (None: no point) and choose it in the spin box,
        without asking for it again."""
        self._explanation = explanation
        self.chooser.blockSignals(True)
        self.chooser.setValue(-1 if explanation is None else explanation.index)
        self.chooser.blockSignals(False)
        self._set_html(_EMPTY if explanation is None else explanation_html(explanation))

    def shown(self) -> dict | None:
        """The numbers shown (PointExplanation.as_dict), or None when no point is."""
        return None if self._explanation is None else self._explanation.as_dict()

    def _set_html(self, document: str) -> None:
        if document == self._html:
            return  # training often leaves a point's numbers as they were shown
        self._html = document
        bar = self.text.verticalScrollBar()
        position = bar.value()  # a new step's numbers keep the reader where they were
        self.text.setHtml(document)
        bar.setValue(position)
