"""The graph: nodes, the default graph, placeholders, variables and constants, and the order
in which nodes are evaluated.

A node is created inside the default graph and never changes its inputs afterwards,
so anything derived from the wiring (execution plans, gradient plans) can be cached.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

# Each thread has its own default graph, as in TensorFlow 1: a worker thread building its
# model cannot drop nodes into a graph another thread is building.
_thread = threading.local()


class Graph:
    """A set of nodes; each op, placeholder and variable is created in the default graph."""

    def __init__(self) -> None:
        self.operations: list[Operation] = []
        self.placeholders: list[placeholder] = []
        self.variables: list[Variable] = []
        self.constants: list[constant] = []
        self._counters: dict[str, itertools.count] = {}
        self._previous_defaults: list[Graph | None] = []

    def as_default(self) -> Graph:
        """Make this the default graph and return it.

        Works bare, as the tutorial writes it, and as `with Graph().as_default() as g:`,
        which restores the previous default graph on exit.
        """
        self._previous_defaults.append(getattr(_thread, "graph", None))
        _thread.graph = self
        return self

    def __enter__(self) -> Graph:
        if getattr(_thread, "graph", None) is not self:
            self.as_default()
        return self

    def __exit__(self, *exc: object) -> None:
        _thread.graph = self._previous_defaults.pop() if self._previous_defaults else None

    def _unique_name(self, kind: str) -> str:
        counter = self._counters.setdefault(kind, itertools.count())
        return f"{kind}_{next(counter)}"

    def __repr__(self) -> str:
        return (
            f"<Graph: {len(self.operations)} operations, {len(self.variables)} variables, "
            f"{len(self.placeholders)} placeholders>"
        )


def get_default_graph() -> Graph:
    """The graph new nodes go into; one is created on first use."""
    graph = getattr(_thread, "graph", None)
    if graph is None:
        graph = _thread.graph = Graph()
    return graph


class Node:
    """Something with an `output` that operations can consume.

    Arithmetic operators build the same nodes as the named functions (`a + b` is `add(a, b)`);
    engine.ops installs them, so they work once `engine` is imported.
    """

    kind = "node"
    input_nodes: list[Node]
    # Makes numpy hand `array + node` (and -, *, @) to the node's reflected operator instead
    # of building an object array of nodes.
    __array_ufunc__ = None
    # The operators engine.ops installs; any other name is a mistake.
    _OVERLOADABLE_OPERATORS = frozenset(
        {
            "__add__",
            "__radd__",
            "__sub__",
            "__rsub__",
            "__mul__",
            "__rmul__",
            "__matmul__",
            "__rmatmul__",
            "__neg__",
        }
    )

    def __init__(self, name: str | None, graph: Graph) -> None:
        self.input_nodes = []
        self.consumers: list[Operation] = []
        self.output: Any = None
        self.graph = graph
        self.name = name or graph._unique_name(self.kind)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"

    @classmethod
    def _override_operator(cls, operator: str, function: Callable[..., Node]) -> None:
        """Install `function` as the node operator `operator` (e.g. "__add__").

        TensorFlow 1's hook of the same name: the graph knows nothing of the ops, and the
        module defining them (engine.ops) installs the arithmetic operators when imported.
        """
        if operator not in cls._OVERLOADABLE_OPERATORS:
            allowed = ", ".join(sorted(cls._OVERLOADABLE_OPERATORS))
            raise ValueError(f"cannot override {operator!r}: overloadable are {allowed}")
        setattr(cls, operator, function)


class placeholder(Node):
    """An input whose value is given in `Session.run`'s feed_dict.

    With a `dtype`, fed values are converted to it (e.g. float32 for speed).
    """

    kind = "placeholder"

    def __init__(self, name: str | None = None, dtype: Any = None) -> None:
        graph = get_default_graph()
        super().__init__(name, graph)
        self.dtype = None if dtype is None else np.dtype(dtype)
        graph.placeholders.append(self)


class Variable(Node):
    """A trainable array; optimizers update `value` in place.

    From `minimize` on, `value` is a view of an array the training op shares among its
    variables (engine.flat_update), so that it can update them all at once.
    """

    kind = "Variable"
    # How many times any variable was given a new array: sessions' prepared programs check
    # their variables' shapes again when it changes (updates in place change nothing).
    assignments = 0

    def __init__(self, initial_value: Any = None, name: str | None = None) -> None:
        graph = get_default_graph()
        super().__init__(name, graph)
        self.value = initial_value
        graph.variables.append(self)

    # `output` is the plain attribute the session reads every step; `value` is the tutorial's name.
    @property
    def value(self) -> Any:
        return self.output

    @value.setter
    def value(self, value: Any) -> None:
        """A private float copy: optimizers update it in place.

        `w.value -= x` changes the array in place and then assigns it back; that keeps it.
        """
        if value is not None and value is self.output:
            return
        self.output = None if value is None else _as_float_array(value)
        Variable.assignments += 1


class constant(Node):
    """A fixed value.

    A Python number stays a Python number, which numpy treats as having no dtype of its own:
    it takes the dtype of the arrays it meets (`x * 2.0` and `x + 1` stay float32 when x is).
    Anything else (lists, numpy arrays and scalars) becomes an array of its own dtype.
    """

    kind = "constant"

    def __init__(self, value: Any, name: str | None = None) -> None:
        graph = get_default_graph()
        super().__init__(name, graph)
        python_number = type(value) in (int, float)
        self.output = value if python_number else np.asarray(value)
        graph.constants.append(self)

    @property
    def value(self) -> Any:
        return self.output


class Operation(Node):
    """A node computed from its inputs.

    Subclasses implement `compute(*input_values)`; one that also takes an `out` argument is
    given, from its second run on, an array shaped like its last result to write the result
    into (it may ignore it). After a forward pass `inputs` holds the input values and
    `output` the result; gradient functions read both.
    """

    def __init__(self, input_nodes: list[Any] | tuple[Any, ...] = (), name: str | None = None):
        graph = get_default_graph()
        self.kind = type(self).__name__
        super().__init__(name, graph)
        self.input_nodes = [as_node(n) for n in input_nodes]
        for node in self.input_nodes:
            node.consumers.append(self)
        graph.operations.append(self)

    @property
    def inputs(self) -> list[Any]:
        """The input values of the latest forward pass."""
        return [node.output for node in self.input_nodes]

    def compute(self, *input_values: Any) -> Any:
        raise NotImplementedError(f"{self!r} does not implement compute()")

    def __repr__(self) -> str:
        names = ", ".join(n.name for n in self.input_nodes)
        return f"<{type(self).__name__} {self.name!r} inputs=[{names}]>"


def as_node(value: Any) -> Node:
    """Wrap plain numbers and arrays as constants so ops accept them."""
    return value if isinstance(value, Node) else constant(value)


def _as_float_array(value: Any) -> np.ndarray:
    array = np.array(value)  # a private copy: variables are updated in place
    if not np.issubdtype(array.dtype, np.floating):
        array = array.astype(np.float64)
    return array


def topological_order(fetches: Iterable[Node]) -> list[Node]:
    """Every node the fetches depend on, each after all of its inputs (iterative DFS)."""
    order: list[Node] = []
    visited: set[int] = set()
    for root in fetches:
        if id(root) in visited:
            continue
        stack: list[tuple[Node, int]] = [(root, 0)]
        visited.add(id(root))
        while stack:
            node, index = stack.pop()
            if index < len(node.input_nodes):
                stack.append((node, index + 1))
                child = node.input_nodes[index]
                if id(child) not in visited:
                    visited.add(id(child))
                    stack.append((child, 0))
            else:
                order.append(node)
    return order
