"""Session.run: evaluate fetches given a feed, with one execution plan cached per fetch set."""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.gradients import topological_order
from engine.graph import Node, Operation, placeholder


class _Plan:
    """The ops to compute, in order, and the placeholders they need, for one fetch set."""

    def __init__(self, fetches: list[Node]) -> None:
        order = topological_order(fetches)
        self.placeholders = [n for n in order if isinstance(n, placeholder)]
        self.operations = [n for n in order if isinstance(n, Operation)]


class Session:
    """Runs parts of a graph.

    Fetched values are copies: later steps update variables and reuse op buffers in place,
    and a caller (another thread, say) must never see its result change under it.
    """

    def __init__(self) -> None:
        self._plans: dict[tuple[int, ...], tuple[list[Node], _Plan]] = {}

    def run(self, fetches: Node | list[Node] | tuple[Node, ...], feed_dict: dict | None = None):
        """Compute `fetches` (a node or a list of nodes), feeding placeholders from `feed_dict`."""
        single = isinstance(fetches, Node)
        nodes = [fetches] if single else list(fetches)
        plan = self._plan_for(nodes)
        self._feed(plan, feed_dict or {})
        op = None
        try:
            for op in plan.operations:
                op.inputs = values = [n.output for n in op.input_nodes]
                op.output = op.compute(*values)
        except Exception as error:
            if op is not None and op.name not in str(error):
                error.add_note(f"while computing {op!r}")
            raise
        results = [_copy(n.output) for n in nodes]
        return results[0] if single else results

    def _plan_for(self, nodes: list[Node]) -> _Plan:
        key = tuple(map(id, nodes))
        cached = self._plans.get(key)
        if cached is None or any(a is not b for a, b in zip(cached[0], nodes, strict=True)):
            for node in nodes:
                if not isinstance(node, Node):
                    raise TypeError(f"can only fetch graph nodes, got {node!r}")
            cached = self._plans[key] = (nodes, _Plan(nodes))
        return cached[1]

    @staticmethod
    def _feed(plan: _Plan, feed_dict: dict) -> None:
        for node in plan.placeholders:
            try:
                value = feed_dict[node]
            except KeyError:
                raise KeyError(
                    f"placeholder {node.name!r} needs a value: pass it in feed_dict"
                ) from None
            if type(value) is not np.ndarray or (
                node.dtype is not None and value.dtype != node.dtype
            ):
                value = np.asarray(value, dtype=node.dtype)
            node.output = value


def _copy(value: Any) -> Any:
    return value.copy() if isinstance(value, np.ndarray) else value
