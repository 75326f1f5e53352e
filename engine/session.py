"""Session.run: evaluate fetches given a feed, with one execution plan cached per fetch set."""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.graph import Node, Operation, placeholder, topological_order


class _Plan:
    """The ops to compute, in order, and the placeholders they need, for one fetch set.

    Steps are flat tuples with the bound `compute` looked up once: per-op Python overhead is
    a large part of a step on small data.
    """

    def __init__(self, fetches: list[Node]) -> None:
        for node in fetches:
            if not isinstance(node, Node):
                raise TypeError(f"can only fetch graph nodes, got {node!r}")
        # Holding the fetched nodes keeps their ids, the cache key, from being reused.
        self.fetches = fetches
        order = topological_order(fetches)
        self.feeds = tuple((n, n.dtype) for n in order if isinstance(n, placeholder))
        # (op, compute, first input, second input, all inputs): ops with one or two inputs,
        # nearly all of them, are run without building an argument tuple.
        self.steps = tuple(_step(n) for n in order if isinstance(n, Operation))


def _step(op: Operation) -> tuple[Any, ...]:
    inputs = tuple(op.input_nodes)
    if len(inputs) == 1:
        return (op, op.compute, inputs[0], None, inputs)
    if len(inputs) == 2:
        return (op, op.compute, inputs[0], inputs[1], inputs)
    return (op, op.compute, None, None, inputs)


class Session:
    """Runs parts of a graph.

    Fetched values are copies: later steps update variables and reuse op buffers in place,
    and a caller (another thread, say) must never see its result change under it.
    """

    def __init__(self) -> None:
        self._plans: dict[Any, _Plan] = {}

    def run(self, fetches: Node | list[Node] | tuple[Node, ...], feed_dict: dict | None = None):
        """Compute `fetches` (a node or a list of nodes), feeding placeholders from `feed_dict`."""
        single = isinstance(fetches, Node)
        if single:
            key: Any = id(fetches)
        else:
            if not isinstance(fetches, list | tuple):
                fetches = list(fetches)  # a generator, say: read it once
            key = tuple(map(id, fetches))
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = _Plan([fetches] if single else list(fetches))
        _feed(plan, feed_dict or {})
        op = None
        try:
            for op, compute, a, b, inputs in plan.steps:
                if b is not None:
                    a_value, b_value = a.output, b.output
                    op.inputs = [a_value, b_value]
                    op.output = compute(a_value, b_value)
                elif a is not None:
                    a_value = a.output
                    op.inputs = [a_value]
                    op.output = compute(a_value)
                else:
                    op.inputs = values = [n.output for n in inputs]
                    op.output = compute(*values)
        except Exception as error:
            if op is not None and op.name not in str(error):
                error.add_note(f"while computing {op!r}")
            raise
        if single:
            return _copy(fetches.output)
        return [_copy(n.output) for n in plan.fetches]


def _feed(plan: _Plan, feed_dict: dict) -> None:
    for node, dtype in plan.feeds:
        try:
            value = feed_dict[node]
        except KeyError:
            message = f"placeholder {node.name!r} needs a value: pass it in feed_dict"
            raise KeyError(message) from None
        if type(value) is not np.ndarray or (dtype is not None and value.dtype != dtype):
            value = np.asarray(value, dtype=dtype)
        node.output = value


def _copy(value: Any) -> Any:
    return value.copy() if isinstance(value, np.ndarray) else value
