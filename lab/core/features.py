"""Input features: what the model sees of a point, computed from its x and y.

As in TensorFlow Playground, a model can be given x², y², x·y, sin x and sin y beside x and y:
a perceptron on x² and y² separates the circles. Features are computed here, in numpy, before
the graph; an exported weights file names the features it expects, in this order.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Feature = Callable[[np.ndarray, np.ndarray], np.ndarray]

# name: (label, function of the x and y columns); the order here is the order of the inputs.
FEATURES: dict[str, tuple[str, Feature]] = {
    "x": ("x", lambda x, y: x),
    "y": ("y", lambda x, y: y),
    "x2": ("x²", lambda x, y: x * x),
    "y2": ("y²", lambda x, y: y * y),
    "xy": ("x·y", lambda x, y: x * y),
    "sinx": ("sin x", lambda x, y: np.sin(x)),
    "siny": ("sin y", lambda x, y: np.sin(y)),
}
DEFAULT_FEATURES = ("x", "y")


def check_features(features: tuple[str, ...]) -> tuple[str, ...]:
    """The features in their input order; ValueError for none, unknown or repeated ones."""
    unknown = [name for name in features if name not in FEATURES]
    if unknown or not features or len(set(features)) != len(features):
        raise ValueError(
            f"features must be one or more of {', '.join(FEATURES)}, each once; got "
            f"{', '.join(map(str, features)) or 'none'}"
        )
    return tuple(name for name in FEATURES if name in features)


def feature_matrix(xy: np.ndarray, features: tuple[str, ...]) -> np.ndarray:
    """(N, len(features)) inputs for points (N, 2)."""
    x, y = xy[:, 0], xy[:, 1]
    if features == ("x", "y"):
        return np.ascontiguousarray(xy, dtype=np.float64)
    return np.column_stack([FEATURES[name][1](x, y) for name in features]).astype(np.float64)
