"""What the graph view draws of an engine graph: its nodes, their inputs and output shapes.

A plain, picklable description (names, not nodes), so that the worker thread can hand it to
the GUI thread, which never touches the engine graph a run trains.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from engine.graph import Node, Operation, Variable, placeholder, topological_order

KINDS = ("placeholder", "variable", "constant", "operation")


@dataclass(frozen=True)
class OutlineNode:
    """One node: its name, what kind it is, which engine op, its inputs by name, its shape."""

    name: str
    kind: str  # one of KINDS
    op: str  # the engine's class name: "matmul", "tanh", "Variable", "placeholder", ...
    inputs: tuple[str, ...] = ()
    shape: tuple[int, ...] | None = None  # of its last value; () for a number, None unknown


@dataclass(frozen=True)
class NodeGroup:
    """Nodes drawn in one box, e.g. a dense layer's matmul, weights, bias and activation."""

    label: str
    names: tuple[str, ...]


@dataclass(frozen=True)
class GraphOutline:
    """The nodes a loss (and any other outputs) depends on, in the engine's evaluation order."""

    nodes: tuple[OutlineNode, ...]
    loss: str
    groups: tuple[NodeGroup, ...] = ()
    _index: dict[str, OutlineNode] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._index.update((node.name, node) for node in self.nodes)
        if len(self._index) != len(self.nodes):
            raise ValueError("graph nodes need distinct names")
        if self.loss not in self._index:
            raise ValueError(f"the loss {self.loss!r} is not among the nodes")

    @property
    def names(self) -> list[str]:
        return [node.name for node in self.nodes]

    def node(self, name: str) -> OutlineNode:
        return self._index[name]

    def consumers(self, name: str) -> list[str]:
        """The nodes that take `name` as an input, in evaluation order."""
        return [node.name for node in self.nodes if name in node.inputs]

    def edges(self) -> list[tuple[str, str]]:
        """(input, consumer) pairs, once per input slot."""
        return [(source, node.name) for node in self.nodes for source in node.inputs]


def kind_of(node: Node) -> str:
    if isinstance(node, placeholder):
        return "placeholder"
    if isinstance(node, Variable):
        return "variable"
    if isinstance(node, Operation):
        return "operation"
    return "constant"


def outline(
    outputs: Iterable[Node], loss: Node, groups: Iterable[NodeGroup] = ()
) -> GraphOutline:
    """The outline of everything `outputs` depend on, with shapes from their last values."""
    nodes = tuple(
        OutlineNode(
            node.name,
            kind_of(node),
            type(node).__name__,
            tuple(n.name for n in node.input_nodes),
            None if node.output is None else tuple(np.shape(node.output)),
        )
        for node in topological_order(list(outputs))
    )
    return GraphOutline(nodes, loss.name, tuple(groups))
