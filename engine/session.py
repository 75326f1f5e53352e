"""Session.run: evaluate fetches given a feed, with one plan cached per fetch set."""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.graph import Node
from engine.plans import Plan


class Session:
    """Runs parts of a graph.

    Fetched values are copies: later steps update variables and reuse op buffers in place,
    and a caller (another thread, say) must never see its result change under it.
    """

    def __init__(self) -> None:
        self._plans: dict[Any, Plan] = {}

    def run(self, fetches: Node | list[Node] | tuple[Node, ...], feed_dict: dict | None = None):
        """Compute `fetches` (a node or a list of nodes), feeding placeholders from `feed_dict`."""
        single = isinstance(fetches, Node)
        if single:
            key: Any = id(fetches)
        else:
            if type(fetches) is not list and type(fetches) is not tuple:
                fetches = list(fetches)  # a generator, say: read it once
            key = tuple(map(id, fetches))
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = Plan([fetches] if single else list(fetches))
        plan.run(feed_dict or {})
        values = [_copy(n.output) for n in plan.fetches]
        return values[0] if single else values


def _copy(value: Any) -> Any:
    return value.copy() if isinstance(value, np.ndarray) else value
