"""The optimizers a run can use: their names, the state each keeps, and the engine objects."""

from __future__ import annotations

import engine as ts

OPTIMIZERS = {
    "gradient_descent": "Gradient descent",
    "momentum": "Momentum",
    "adam": "Adam",
}
# The state each keeps per variable (the engine's slot names): what a workspace file holds
# so that a run continues exactly where it stopped.
OPTIMIZER_SLOTS: dict[str, tuple[str, ...]] = {
    "gradient_descent": (),
    "momentum": ("velocity",),
    "adam": ("m", "v", "t"),
}
MOMENTUM = 0.9


def make_optimizer(name: str, learning_rate: float) -> ts.train.Optimizer:
    """The engine optimizer for a name in OPTIMIZERS."""
    if name == "gradient_descent":
        return ts.GradientDescentOptimizer(learning_rate)
    if name == "momentum":
        return ts.MomentumOptimizer(learning_rate, momentum=MOMENTUM)
    if name == "adam":
        return ts.AdamOptimizer(learning_rate)
    raise ValueError(f"unknown optimizer {name!r}; choose from {', '.join(OPTIMIZERS)}")
