"""Model settings and the engine graph they describe: a perceptron or an MLP, for
classification or regression, on the chosen input features, with an optional penalty.

Classification ends in softmax with the mean cross-entropy, regression in one linear output
with the mean squared error: either way the loss is a mean over the points, so a learning
rate means the same whatever their number.
"""

from __future__ import annotations

import itertools
import numbers
from dataclasses import dataclass

import numpy as np

import engine as ts
from engine.graph import topological_order
from lab.core.features import DEFAULT_FEATURES, check_features, feature_matrix
from lab.core.graph_outline import GraphOutline, NodeGroup, outline

MODEL_KINDS = {"perceptron": "Perceptron", "mlp": "MLP"}
TASKS = {"classification": "Classification", "regression": "Regression"}
ACTIVATIONS = {"sigmoid": ts.sigmoid, "tanh": ts.tanh, "relu": ts.relu, "linear": None}
REGULARIZATIONS = {"none": "None", "l2": "L2", "l1": "L1"}
# The numbers a model computes in: float32 trains ~2x faster on many points, float64 checks
# gradients to 1e-12.
PRECISIONS = {"float32": "float32 (fast)", "float64": "float64 (exact)"}
MAX_HIDDEN_UNITS = 256
MAX_SEED = 2**31 - 1


def whole(value: object, low: int, high: int) -> bool:
    """An integer (not a bool) from low to high: what counts and sizes from files must be."""
    return (
        isinstance(value, numbers.Integral) and not isinstance(value, bool) and low <= value <= high
    )


@dataclass(frozen=True)
class ModelSettings:
    """What the user picked: model kind, hidden layers, activation, task and class count,
    input features, init seed."""

    kind: str = "perceptron"
    hidden: tuple[int, ...] = (8, 8)
    activation: str = "tanh"
    classes: int = 2
    seed: int = 0
    task: str = "classification"
    features: tuple[str, ...] = DEFAULT_FEATURES
    precision: str = "float32"

    def __post_init__(self) -> None:
        if self.kind not in MODEL_KINDS:
            raise ValueError(f"unknown model kind {self.kind!r}; choose from {list(MODEL_KINDS)}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {self.activation!r}")
        if self.task not in TASKS:
            raise ValueError(f"unknown task {self.task!r}; choose from {list(TASKS)}")
        if self.precision not in PRECISIONS:
            raise ValueError(
                f"unknown precision {self.precision!r}; choose from {', '.join(PRECISIONS)}"
            )
        if not 2 <= self.classes <= 4:
            raise ValueError(f"a model needs 2 to 4 classes, not {self.classes}")
        if self.kind == "mlp" and not self.hidden:
            raise ValueError("an MLP needs at least one hidden layer")
        if not all(whole(size, 1, MAX_HIDDEN_UNITS) for size in self.hidden):
            raise ValueError(f"hidden layer sizes must be 1 to {MAX_HIDDEN_UNITS}")
        if not whole(self.seed, 0, MAX_SEED):
            raise ValueError(f"the seed must be a whole number from 0 to {MAX_SEED}")
        object.__setattr__(self, "features", check_features(tuple(self.features)))

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(self.precision)

    @property
    def outputs(self) -> int:
        """One per class, or the single predicted value."""
        return self.classes if self.task == "classification" else 1

    @property
    def layers(self) -> list[int]:
        """Layer sizes from input to output, e.g. [2, 8, 8, 2]."""
        hidden = list(self.hidden) if self.kind == "mlp" else []
        return [len(self.features), *hidden, self.outputs]


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
    """Random starting weights from the settings' seed, in the settings' precision.

    The perceptron starts as the tutorial's does (standard normal W and b); MLP layers use
    Glorot scaling and zero biases so tanh/sigmoid units start out of saturation. The draws
    are the same in both precisions (float32 rounds them).
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
    return {name: value.astype(settings.dtype) for name, value in weights.items()}


class Model:
    """The engine graph for some settings: inputs, variables, outputs and the loss.

    `data_loss` is the mean cross-entropy or squared error; `loss`, what training minimizes,
    adds the penalty (rate × the sum of the weights' squares or absolute values, biases
    left out) when there is one. The penalty's rate is a constant whose value can change
    between steps (`set_penalty_rate`).
    """

    def __init__(
        self,
        settings: ModelSettings,
        weights: dict[str, np.ndarray] | None = None,
        regularization: str = "none",
        penalty_rate: float = 0.0,
    ):
        if regularization not in REGULARIZATIONS:
            raise ValueError(f"unknown regularization {regularization!r}")
        self.settings = settings
        self.dtype = settings.dtype
        start = weights if weights is not None else initial_weights(settings)
        start = {name: np.array(value, dtype=self.dtype) for name, value in start.items()}
        self.graph = ts.Graph()
        with self.graph:
            self.x = ts.placeholder("x")
            self.target = ts.placeholder("target")  # one-hot classes, or (N, 1) values
            self.variables = {name: ts.Variable(start[name], name) for name in start}
            self.hidden_layers: list[ts.Node] = []  # each hidden layer's activations
            self.pre_activations: list[ts.Node] = []  # each layer's x·W + b, output included
            self.groups: list[NodeGroup] = []  # each layer's nodes, for the graph view
            activation = ACTIVATIONS[settings.activation]
            layer_count = len(settings.layers) - 1
            h = self.x
            for i in range(1, layer_count + 1):
                weights, bias = self.variables[f"W{i}"], self.variables[f"b{i}"]
                product = ts.matmul(h, weights, name=f"matmul{i}")
                h = ts.add(product, bias, name=f"z{i}")
                self.pre_activations.append(h)
                members = [product, weights, bias, h]
                if i < layer_count:
                    if activation is not None:
                        h = activation(h, name=f"h{i}")
                        members.append(h)
                    self.hidden_layers.append(h)
                label = f"hidden layer {i}" if i < layer_count else "output layer"
                self.groups.append(NodeGroup(label, tuple(n.name for n in members)))
            self.output = h
            if settings.task == "classification":
                self.probabilities = ts.softmax(h, name="probabilities")
                self.data_loss = ts.softmax_cross_entropy(h, self.target, name="loss")
            else:
                self.data_loss = ts.reduce_mean(ts.square(ts.subtract(h, self.target)),
                                                name="loss")
            self.penalty_rate = None
            self.loss = self.data_loss
            if regularization != "none":
                self.penalty_rate = ts.constant(np.asarray(penalty_rate, self.dtype),
                                                "penalty_rate")
                size = ts.square if regularization == "l2" else ts.abs
                matrices = [v for name, v in self.variables.items() if name.startswith("W")]
                total = ts.reduce_sum(size(matrices[0]))
                for matrix in matrices[1:]:
                    total = ts.add(total, ts.reduce_sum(size(matrix)))
                penalty = ts.multiply(self.penalty_rate, total, name="penalty")
                self.loss = ts.add(self.data_loss, penalty, name="loss_with_penalty")

    @property
    def outputs(self) -> list[ts.Node]:
        """What the model computes: the loss, and the probabilities or predicted values."""
        prediction = self.probabilities if self.settings.task == "classification" else self.output
        return [self.loss, prediction]

    def nodes(self) -> list[ts.Node]:
        """Every node of the outputs, in the engine's evaluation order."""
        return topological_order(self.outputs)

    def outline(self) -> GraphOutline:
        """The graph as the graph view draws it, shapes from the latest forward pass."""
        return outline(self.outputs, self.loss, self.groups)

    def set_penalty_rate(self, rate: float) -> None:
        """The penalty's rate from the next step on (no penalty, no effect)."""
        if self.penalty_rate is not None:
            self.penalty_rate.output = np.asarray(rate, self.dtype)

    def inputs(self, xy: np.ndarray) -> np.ndarray:
        """What the `x` placeholder is fed for points at these positions: their features (in
        float32, a coordinate beyond its range becomes infinite, and training says so)."""
        with np.errstate(over="ignore"):
            return ts.in_layer_order(
                feature_matrix(xy, self.settings.features).astype(self.dtype, copy=False)
            )

    def targets(self, labels: np.ndarray, values: np.ndarray) -> np.ndarray:
        """What the `target` placeholder is fed for points of these classes or values."""
        if self.settings.task == "regression":
            return np.asarray(values, dtype=self.dtype).reshape(-1, 1)
        one_hot = np.zeros((len(labels), self.settings.classes), dtype=self.dtype)
        one_hot[np.arange(len(labels)), labels] = 1.0
        return one_hot

    def current_weights(self) -> dict[str, np.ndarray]:
        """Copies of the variables' values, safe to hand to another thread."""
        return {name: v.value.copy() for name, v in self.variables.items()}

    def assign(self, weights: dict[str, np.ndarray]) -> None:
        """Overwrite the variables in place (e.g. a rollback or imported weights)."""
        for name, variable in self.variables.items():
            variable.value[...] = weights[name]


def straight_boundary(settings: ModelSettings) -> bool:
    """Whether the classes' boundary is straight lines computed from the weights: a
    perceptron's on x and y; every other classifier's is the decision regions' contour."""
    return settings.kind == "perceptron" and settings.features == DEFAULT_FEATURES


def loss_description(task: str, regularization: str) -> str:
    """What the loss shown is, penalty included, in the words of the app and the CLI."""
    loss = "mean squared error" if task == "regression" else "mean softmax cross-entropy"
    plus = "" if regularization == "none" else f" + the {regularization.upper()} penalty"
    return f"Loss: {loss} over the training points{plus}"
