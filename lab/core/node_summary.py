"""What the graph view writes about a node: its label line and the inspector's texts and
histograms, made where the arrays are (the training thread), so that the GUI thread only
sets texts, however many points the arrays hold."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lab.core.array_text import describe, histogram, matrix_text, short_text

NO_GRADIENT = "none: the loss does not depend on it"

Histogram = tuple[np.ndarray, np.ndarray]  # counts, bin edges


@dataclass(frozen=True)
class NodeSummary:
    """A node's value and gradient as text, and histograms of those too big to show whole."""

    label: str  # "= value" and "∂ gradient", a line each, for the node's label
    value: str
    gradient: str
    histograms: Mapping[str, Histogram] = field(default_factory=dict)  # "value", "gradient"


def summarize(value: Any, gradient: Any) -> NodeSummary:
    label = f"= {short_text(value)}"
    if gradient is not None:
        label += f"\n∂ {short_text(gradient)}"
    histograms = {
        key: histogram(np.asarray(array))
        for key, array in (("value", value), ("gradient", gradient))
        if array is not None and matrix_text(array) is None
    }
    return NodeSummary(label, describe(value),
                       NO_GRADIENT if gradient is None else describe(gradient), histograms)


def summarize_all(
    values: Mapping[str, Any], gradients: Mapping[str, Any]
) -> dict[str, NodeSummary]:
    """A summary per node of `values`, with its gradient (None: none)."""
    return {name: summarize(value, gradients.get(name)) for name, value in values.items()}
