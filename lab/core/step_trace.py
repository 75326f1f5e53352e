"""One training step recorded node by node, and the walk through it that "Step through" shows.

A `StepTrace` holds what the engine computed in one step: every node's value in evaluation
order (forward), the gradient of each op and what it passed to each of its inputs in the
order of the reverse sweep (backward), and each variable's value, gradient and new value
with the optimizer's state before and after (update). `StepThrough` walks it one node at a
time, saying what to light up and what to write on the edges.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lab.core.array_text import matrix_text, short_text
from lab.core.graph_outline import GraphOutline
from lab.core.node_summary import NodeSummary

PHASES = ("forward", "backward", "update")


@dataclass(frozen=True)
class ForwardStage:
    node: str
    value: Any


@dataclass(frozen=True)
class BackwardStage:
    """An op's gradient (of the loss w.r.t. its output) and what it sent to each input."""

    node: str
    gradient: Any
    passed: tuple[tuple[str, Any], ...]  # (input name, gradient sent along that edge)


@dataclass(frozen=True)
class UpdateStage:
    """One variable's update: value − learning rate × (what the optimizer made of) gradient."""

    variable: str
    value: np.ndarray
    gradient: np.ndarray
    new_value: np.ndarray
    state_before: Mapping[str, np.ndarray] = field(default_factory=dict)  # optimizer slots
    state_after: Mapping[str, np.ndarray] = field(default_factory=dict)


@dataclass(frozen=True)
class StepTrace:
    """What one training step computed, stage by stage (all arrays are copies)."""

    step: int  # the step taken, counted from 1
    optimizer: str
    learning_rate: float
    batch_size: int  # points the step saw
    outline: GraphOutline
    forward: tuple[ForwardStage, ...]
    backward: tuple[BackwardStage, ...]
    update: tuple[UpdateStage, ...]
    hyper: Mapping[str, float] = field(default_factory=dict)  # momentum, Adam's betas, ε
    summaries: Mapping[str, NodeSummary] = field(default_factory=dict)  # for the view

    def stages(self, phase: str) -> tuple[Any, ...]:
        return getattr(self, phase)

    def values(self) -> dict[str, Any]:
        """Each node's value in the step's forward pass."""
        return {stage.node: stage.value for stage in self.forward}

    def gradients(self) -> dict[str, Any]:
        """Each node's gradient in the step's backward pass: an op's own, the sum of what
        its consumers sent to a placeholder, variable or constant (None: none)."""
        found = {stage.node: stage.gradient for stage in self.backward}
        for stage in self.backward:
            for source, gradient in stage.passed:
                if self.outline.node(source).kind != "operation":
                    found[source] = gradient if source not in found else found[source] + gradient
        return {name: found.get(name) for name in self.outline.names}


@dataclass(frozen=True)
class Frame:
    """What step-through shows at one position: the node explained, the nodes of its phase
    visited so far, texts for edges, and a sentence with the numbers."""

    phase: str
    index: int  # within the phase
    count: int  # stages in the phase
    node: str
    lit: tuple[str, ...]
    edge_labels: Mapping[tuple[str, str], str]
    text: str


class StepThrough:
    """A position in a trace: forward stages, then backward, then update."""

    def __init__(self, trace: StepTrace) -> None:
        self.trace = trace
        self._stops = [(phase, i) for phase in PHASES for i in range(len(trace.stages(phase)))]
        self.position = 0

    def __len__(self) -> int:
        return len(self._stops)

    def next(self) -> bool:
        """Move on one stage; False at the last."""
        if self.position + 1 >= len(self._stops):
            return False
        self.position += 1
        return True

    def previous(self) -> bool:
        """Move back one stage; False at the first."""
        if self.position == 0:
            return False
        self.position -= 1
        return True

    def frame(self) -> Frame:
        phase, index = self._stops[self.position]
        stages = self.trace.stages(phase)
        done = stages[: index + 1]
        stage = stages[index]
        if phase == "forward":
            return Frame(phase, index, len(stages), stage.node,
                         tuple(s.node for s in done), {}, self._forward_text(stage))
        if phase == "backward":
            labels = {(source, s.node): short_text(g) for s in done for source, g in s.passed}
            return Frame(phase, index, len(stages), stage.node,
                         tuple(s.node for s in done), labels, self._backward_text(stage))
        return Frame(phase, index, len(stages), stage.variable,
                     tuple(s.variable for s in done), {}, self._update_text(stage))

    def _forward_text(self, stage: ForwardStage) -> str:
        node = self.trace.outline.node(stage.node)
        value = numbers(stage.value)
        if node.kind == "placeholder":
            return f"{node.name} is fed: {value}"
        if node.kind != "operation":
            return f"{node.name} ({node.kind}) = {value}"
        return f"{node.name} = {node.op}({', '.join(node.inputs)}) = {value}"

    def _backward_text(self, stage: BackwardStage) -> str:
        node = self.trace.outline.node(stage.node)
        lines = [f"∂{self.trace.outline.loss}/∂{node.name} = {numbers(stage.gradient)}"]
        for source, gradient in stage.passed:
            lines.append(f"→ {source}, by {node.op}'s gradient: {numbers(gradient)}")
        return "\n".join(lines)

    def _update_text(self, stage: UpdateStage) -> str:
        trace, name = self.trace, stage.variable
        rate, slope = f"{trace.learning_rate:g}", f"∂{trace.outline.loss}/∂{name}"
        lines = [f"{name} = {numbers(stage.value)}", f"g = {slope} = {numbers(stage.gradient)}"]
        hyper = trace.hyper
        if trace.optimizer == "momentum":
            lines.append(f"velocity = {hyper['momentum']:g} × velocity + g"
                         f" = {numbers(stage.state_after['velocity'])}")
            rule = f"{name} − {rate} × velocity"
        elif trace.optimizer == "adam":
            b1, b2, after = hyper["beta1"], hyper["beta2"], stage.state_after
            lines += [f"t = {int(after['t'])}",
                      f"m = {b1:g} × m + {1 - b1:g} × g = {numbers(after['m'])}",
                      f"v = {b2:g} × v + {1 - b2:g} × g² = {numbers(after['v'])}"]
            rule = (f"{name} − {rate} × √(1 − {b2:g}^t) / (1 − {b1:g}^t)"
                    f" × m / (√v + {hyper['epsilon']:g})")
        else:
            rule = f"{name} − {rate} × g"
        lines.append(f"new {name} = {rule} = {numbers(stage.new_value)}")
        return "\n".join(lines)


def numbers(a: Any) -> str:
    """Every entry when small (a matrix starts on a line of its own), else a summary."""
    full = matrix_text(a)
    if full is None:
        return short_text(a)
    return "\n" + full if "\n" in full else full
