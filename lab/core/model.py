"""Model settings and the engine graph they describe: the perceptron or an MLP.

Both end in softmax with the mean cross-entropy loss, so the learning rate means the same
whatever the number of points.
"""

from __future__ import annotations

import itertools
import numbers
from dataclasses import dataclass

import numpy as np

import engine as ts

MODEL_KINDS = {"perceptron": "Perceptron", "mlp": "MLP"}
ACTIVATIONS = {"sigmoid": ts.sigmoid, "tanh": ts.tanh, "relu": ts.relu}
MAX_HIDDEN_UNITS = 256
MAX_SEED = 2**31 - 1


@dataclass(frozen=True)
class ModelSettings:
    """What the user picked: model kind, hidden layers, activation, class count, init seed."""

    kind: str = "perceptron"
    hidden: tuple[int, ...] = (8, 8)
    activation: str = "tanh"
    classes: int = 2
    seed: int = 0

    def __post_init__(self) -> None:
        if self.kind not in MODEL_KINDS:
            raise ValueError(f"unknown model kind {self.kind!r}; choose from {list(MODEL_KINDS)}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {self.activation!r}")
        if not 2 <= self.classes <= 4:
            raise ValueError(f"a model needs 2 to 4 classes, not {self.classes}")
        if self.kind == "mlp" and not self.hidden:
            raise ValueError("an MLP needs at least one hidden layer")
        if not all(whole(size, 1, MAX_HIDDEN_UNITS) for size in self.hidden):
            raise ValueError(f"hidden layer sizes must be 1 to {MAX_HIDDEN_UNITS}")
        if not whole(self.seed, 0, MAX_SEED):
            raise ValueError(f"the seed must be a whole number from 0 to {MAX_SEED}")

    @property
    def layers(self) -> list[int]:
        """Layer sizes from input to output, e.g. [2, 8, 8, 2]."""
        hidden = list(self.hidden) if self.kind == "mlp" else []
        return [2, *hidden, self.classes]


def whole(value: object, low: int, high: int) -> bool:
    """An integer (not a bool) from low to high: what counts and sizes from files must be."""
    return (
        isinstance(value, numbers.Integral) and not isinstance(value, bool) and low <= value <= high
    )


def parse_hidden(text: str) -> tuple[int, ...]:
    """'8, 8' -> (8, 8); a clear ValueError for anything else."""
    parts = [p.strip() for p in text.replace(";", ",").split(",") if p.strip()]
    if not parts:
        raise ValueError("hidden layers: give sizes like 8,8")
    sizes = []
    for part in parts:
        if not part.isdigit() or not 1 <= int(part) <= MAX_HIDDEN_UNITS:
            raise ValueError(
                f"hidden layers: {part!r} is not a size from 1 to {MAX_HIDDEN_UNITS}"
            )
        sizes.append(int(part))
    return tuple(sizes)


def weight_shapes(layers: list[int]) -> dict[str, tuple[int, ...]]:
    """W1, b1, ..., WL, bL and their shapes: the names of the graph's variables and the files'."""
    shapes: dict[str, tuple[int, ...]] = {}
    for i, (fan_in, fan_out) in enumerate(itertools.pairwise(layers), start=1):
        shapes[f"W{i}"] = (fan_in, fan_out)
        shapes[f"b{i}"] = (fan_out,)
    return shapes


def initial_weights(settings: ModelSettings) -> dict[str, np.ndarray]:
    """Random starting weights from the settings' seed.

    The perceptron starts as the tutorial's does (standard normal W and b); MLP layers use
    Glorot scaling and zero biases so tanh/sigmoid units start out of saturation.
    """
    rng = np.random.default_rng(settings.seed)
    weights: dict[str, np.ndarray] = {}
    for name, shape in weight_shapes(settings.layers).items():
        if settings.kind == "perceptron":
            weights[name] = rng.standard_normal(shape)
        elif name.startswith("W"):
            weights[name] = rng.standard_normal(shape) * np.sqrt(2.0 / sum(shape))
        else:
            weights[name] = np.zeros(shape)
    return weights


class Model:
    """The engine graph for some settings: inputs, variables, class probabilities and loss."""

    def __init__(self, settings: ModelSettings, weights: dict[str, np.ndarray] | None = None):
        self.settings = settings
        start = weights if weights is not None else initial_weights(settings)
        self.graph = ts.Graph()
        with self.graph:
            self.x = ts.placeholder("x")
            self.one_hot = ts.placeholder("one_hot")
            self.variables = {name: ts.Variable(start[name], name) for name in start}
            activation = ACTIVATIONS[settings.activation]
            layer_count = len(settings.layers) - 1
            h = self.x
            for i in range(1, layer_count + 1):
                h = ts.add(ts.matmul(h, self.variables[f"W{i}"]), self.variables[f"b{i}"])
                if i < layer_count:
                    h = activation(h)
            self.probabilities = ts.softmax(h, name="probabilities")
            self.loss = ts.softmax_cross_entropy(h, self.one_hot, name="loss")

    def current_weights(self) -> dict[str, np.ndarray]:
        """Copies of the variables' values, safe to hand to another thread."""
        return {name: v.value.copy() for name, v in self.variables.items()}

    def assign(self, weights: dict[str, np.ndarray]) -> None:
        """Overwrite the variables in place (e.g. a rollback or imported weights)."""
        for name, variable in self.variables.items():
            variable.value[...] = weights[name]
