"""An outline as Graphviz DOT text, for a teacher to render (`dot -Tsvg graph.dot`) into
slides or handouts: the graph the app draws, with the values or gradients of the moment.
"""

from __future__ import annotations

from collections.abc import Mapping

from lab.core.array_text import shape_text
from lab.core.graph_outline import GraphOutline, OutlineNode

# Fed from outside, trained, fixed, computed: each kind its own shape and fill.
KIND_STYLES = {
    "placeholder": 'shape=invhouse, style=filled, fillcolor="#cfe3f7"',
    "variable": 'shape=box, style="rounded,filled", fillcolor="#fbd9b8"',
    "constant": 'shape=octagon, style=filled, fillcolor="#e3e3e3"',
    "operation": 'shape=ellipse, style=filled, fillcolor="#ffffff"',
}
HEADER = [
    'rankdir=LR; fontname="Helvetica";',
    'node [fontname="Helvetica", fontsize=11];',
    'edge [color="#555555", arrowsize=0.7];',
]


def to_dot(outline: GraphOutline, labels: Mapping[str, str] | None = None) -> str:
    """The DOT text of an outline: a node per outline node, labelled with its name, its
    shape when known, and `labels`' text for it if any (several lines allowed, set in a
    fixed-width font so matrices stay aligned); an edge per input slot; a box per group.
    A node named by several groups goes in the first one's box."""
    labels = labels or {}

    def node_statement(node: OutlineNode) -> str:
        return _node(node, labels.get(node.name), node.name == outline.loss)

    known = set(outline.names)  # a group may name nodes the outputs don't depend on
    boxed: dict[str, int] = {}  # node -> the first group naming it
    for index, group in enumerate(outline.groups):
        for name in known.intersection(group.names):
            boxed.setdefault(name, index)
    statements = []
    for index, group in enumerate(outline.groups):
        members = [node for node in outline.nodes if boxed.get(node.name) == index]
        if members:
            statements.append(f"subgraph cluster_{index} {{")
            statements.append(f'  label={_quoted(group.label)}; style=rounded; color="#999999";')
            statements += [f"  {node_statement(node)}" for node in members]
            statements.append("}")
    statements += [node_statement(node) for node in outline.nodes if node.name not in boxed]
    statements += [f"{_quoted(a)} -> {_quoted(b)};" for a, b in outline.edges()]
    return "\n".join(["digraph model {", *(f"  {s}" for s in HEADER + statements), "}", ""])


def _node(node: OutlineNode, extra: str | None, loss: bool) -> str:
    """A node statement in its kind's style; the loss, what training minimizes, ringed twice."""
    label = _escaped(node.name)
    if node.shape is not None:
        label += "\\n" + _escaped(shape_text(node.shape))
    attributes = [KIND_STYLES[node.kind]]
    if extra:
        label += "\\n" + _escaped(extra, "\\l") + "\\l"  # \l ends a line flush left
        attributes.append('fontname="Courier"')
    if loss:
        attributes.append("peripheries=2")
    return f'{_quoted(node.name)} [label="{label}", {", ".join(attributes)}];'


def _escaped(text: str, line_end: str = "\\n") -> str:
    """Text for inside a DOT string: backslashes and quotes escaped, so nothing in it can
    end the string or read as an escape like \\N; its lines joined by `line_end`."""
    lines = text.replace("\\", "\\\\").replace('"', '\\"').splitlines() or [""]
    return line_end.join(lines)


def _quoted(text: str) -> str:
    return f'"{_escaped(text)}"'
