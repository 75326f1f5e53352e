"""Every node's value and gradient in a model's graph, copied for the graph view and for
step-through: made on the training thread, only when a view asks for them.

The forward pass fetches every node, so no op is fused away and each keeps its value; the
gradients come from the engine's reverse sweep over the values of that pass.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

import engine as ts
from lab.core.graph_outline import GraphOutline
from lab.core.model import Model
from lab.core.node_summary import NodeSummary, summarize_all
from lab.core.step_trace import BackwardStage, ForwardStage


@dataclass(frozen=True)
class GraphValues:
    """The nodes' values and the gradients of the loss w.r.t. them (None: the loss does not
    depend on the node), by name, at one step, on all training points."""

    step: int
    outline: GraphOutline
    values: Mapping[str, Any]
    gradients: Mapping[str, Any]
    summaries: Mapping[str, NodeSummary]  # what the view writes about each node


def copy(value: Any) -> Any:
    """A private copy (node values and gradients live in buffers the next step reuses)."""
    return np.array(value) if value is not None else None


def record_forward(session: ts.Session, model: Model, feed: dict) -> tuple[ForwardStage, ...]:
    """Each node's value for `feed`, in the engine's evaluation order."""
    nodes = model.nodes()
    values = session.run(nodes, feed)
    return tuple(ForwardStage(node.name, value) for node, value in zip(nodes, values, strict=True))


def record_backward(model: Model) -> tuple[BackwardStage, ...]:
    """The reverse sweep over the last forward pass, op by op, as the engine runs it."""
    return tuple(
        BackwardStage(flow.op.name, copy(flow.gradient),
                      tuple((node.name, copy(grad)) for node, grad in flow.passed))
        for flow in ts.trace_gradients(model.loss)
    )


def measure_graph(session: ts.Session, model: Model, feed: dict, step: int) -> GraphValues:
    """Values and gradients of every node for `feed` at the current weights."""
    values = {stage.node: stage.value for stage in record_forward(session, model, feed)}
    found = {node.name: copy(grad) for node, grad in ts.compute_gradients(model.loss).items()}
    gradients = {name: found.get(name) for name in values}
    return GraphValues(step, model.outline(), values, gradients,
                       summarize_all(values, gradients))
