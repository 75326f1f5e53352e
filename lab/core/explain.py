"""One point's forward pass with the numbers filled in, for learners to check by hand: its
inputs, each layer's pre-activation z and activation h, its output, its loss and its share of
the gradient training follows.

The loss trained on is a mean over the n training points, so its gradient is the sum of each
point's own gradient divided by n: that quotient is the point's share. The numbers come from
the engine itself (the same graph as training, in float64 so a hand check agrees to the last
digit), not from a second numpy implementation that could disagree with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np

import engine as ts
from lab.core.model import Model, ModelSettings
from lab.core.points import Columns


def _frozen(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


@dataclass(frozen=True, eq=False)
class PointExplanation:
    """What one point does in the model, all in float64 (arrays are read-only).

    Layers count from 1: `pre_activations[i]` is z{i+1} = h{i}·W{i+1} + b{i+1} (h0 being the
    inputs), `activations[i]` is h{i+1}; the last z is the output layer's, which has no h.
    """

    index: int
    settings: ModelSettings
    xy: np.ndarray  # (2,): where the point is
    inputs: np.ndarray  # (features,): what the model is fed
    weights: Mapping[str, np.ndarray]  # the weights explained, in float64
    pre_activations: tuple[np.ndarray, ...]
    activations: tuple[np.ndarray, ...]
    output: np.ndarray  # the softmax probabilities (classes,), or the predicted value (1,)
    target: int | float  # the true class, or the target value
    loss: float  # this point's own loss: −log p[target], or (prediction − target)²
    gradients: Mapping[str, np.ndarray]  # of this point's own loss, per variable
    shares: Mapping[str, np.ndarray]  # gradients / n; zeros for a held-out point
    n: int  # how many training points the training loss averages over
    test: bool  # held out: its loss is not part of what training minimizes

    @property
    def classification(self) -> bool:
        return self.settings.task == "classification"

    def as_dict(self) -> dict[str, object]:
        """The numbers shown, by the names a learner reads: xy, inputs, z1, h1, ..., zL,
        probabilities or prediction, target, loss, gradients, shares, n, test."""
        shown: dict[str, object] = {"index": self.index, "xy": self.xy, "inputs": self.inputs}
        for number, z in enumerate(self.pre_activations, start=1):
            shown[f"z{number}"] = z
            if number <= len(self.activations):
                shown[f"h{number}"] = self.activations[number - 1]
        if self.classification:
            shown["probabilities"] = self.output
        else:
            shown["prediction"] = float(self.output[0])
        shown.update(
            target=self.target, loss=self.loss, gradients=dict(self.gradients),
            shares=dict(self.shares), n=self.n, test=self.test,
        )
        return shown


def explain_point(
    settings: ModelSettings, weights: Mapping[str, np.ndarray], columns: Columns, index: int
) -> PointExplanation:
    """Point `index`'s forward pass and gradient under these weights, fed alone (a batch of
    one, so the model's mean loss is this point's own term).

    The penalty (L2/L1) is left out: it belongs to the weights, not to any point, so the model
    is built without regularization. IndexError for a point that does not exist.
    """
    count = len(columns.labels)
    if not 0 <= index < count:
        last = f"0 to {count - 1}" if count else "none"
        raise IndexError(f"no point {index} to explain: the points are numbered {last}")
    classification = settings.task == "classification"
    label = int(columns.labels[index])
    if classification and label >= settings.classes:
        raise ValueError(
            f"point {index} is of class {label} but the model has {settings.classes} classes"
        )
    model = Model(replace(settings, precision="float64"), dict(weights))
    row = slice(index, index + 1)
    feed = {model.x: model.inputs(columns.xy[row]),
            model.target: model.targets(columns.labels[row], columns.values[row])}
    result = model.probabilities if classification else model.output
    layers = [*model.pre_activations, *model.hidden_layers]
    values = ts.Session().run([*layers, result, model.data_loss], feed)
    *layer_values, output, loss = (_frozen(np.asarray(v, dtype=np.float64)) for v in values)
    gradients = ts.compute_gradients(model.data_loss)  # from the pass just run
    own = {name: _frozen(np.array(gradients[v], dtype=np.float64))
           for name, v in model.variables.items()}
    test = bool(columns.test[index])
    n = count - int(np.count_nonzero(columns.test))
    shares = {name: _frozen(np.zeros_like(g) if test else g / n) for name, g in own.items()}
    depth = len(model.pre_activations)
    return PointExplanation(
        index=index,
        settings=settings,
        xy=_frozen(np.array(columns.xy[index], dtype=np.float64)),
        inputs=_frozen(np.array(feed[model.x][0], dtype=np.float64)),
        weights={name: _frozen(v.value.copy()) for name, v in model.variables.items()},
        pre_activations=tuple(z[0] for z in layer_values[:depth]),
        activations=tuple(h[0] for h in layer_values[depth:]),
        output=output[0],
        target=label if classification else float(columns.values[index]),
        loss=float(loss),
        gradients=own,
        shares=shares,
        n=n,
        test=test,
    )
