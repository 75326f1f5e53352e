"""Where the graph view draws each node: a small layered (Sugiyama-style) drawing.

Columns run from the inputs on the left to the loss on the right, so data flows one way;
rows are ordered to cut edge crossings and spread out as little as the order allows, so a
teacher can follow each layer's matmul, bias and activation along a line.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations, pairwise

from lab.core.graph_outline import GraphOutline

ORDER_SWEEPS = 8  # barycenter passes (down, up, ...) that reorder the columns' nodes
ROW_SWEEPS = 8  # passes that pull each node's row towards the rows of what it follows
SOURCE_WEIGHT = 0.01  # how firmly a source keeps its row: it makes way for operations

Position = tuple[float, float]


def columns(outline: GraphOutline) -> dict[str, int]:
    """Each operation right of all its inputs, one column past the furthest (longest path);
    each source (placeholder, variable, constant) just left of its first consumer, so a
    layer's weights sit by its matmul rather than by a penalty that also reads them; the
    loss last."""
    column: dict[str, int] = {}
    for node in outline.nodes:  # evaluation order: an operation's inputs come first
        if node.kind == "operation":
            placed = [column[i] for i in node.inputs if i in column]
            column[node.name] = 1 + max(placed, default=0)
            for name in node.inputs:
                column.setdefault(name, column[node.name] - 1)
    for name in outline.names:
        column.setdefault(name, 0)  # a source nothing reads
    loss = outline.loss
    if not outline.consumers(loss):
        column[loss] = max(column.values())
        for name in outline.node(loss).inputs:  # e.g. the target stays by the loss
            if outline.node(name).kind != "operation" and outline.consumers(name) == [loss]:
                column[name] = column[loss] - 1
    return column


def layout(outline: GraphOutline) -> dict[str, Position]:
    """(column, row) per node in grid units: rows start at 0 at the top and may be
    fractional, and no two nodes share a position.

    Columns as `columns` says; an edge that spans several columns gets a point in each
    (so that it too avoids crossings and keeps a lane); barycenter sweeps order each
    column; then rows are pulled towards the nodes they follow, heavier nodes first."""
    column = columns(outline)
    layers, links = _layered(outline, column)
    layers = _ordered(layers, links)
    rows = _rows(layers, links, _weights(outline))
    top = min(rows[name] for name in column)
    return {name: (float(column[name]), round(rows[name] - top, 3)) for name in outline.names}


def crossings(outline: GraphOutline, positions: dict[str, Position]) -> int:
    """How many pairs of edges cross when each is drawn as a straight line."""
    segments = [(positions[a], positions[b]) for a, b in dict.fromkeys(outline.edges())]
    return sum(_cross(*s, *t) for s, t in combinations(segments, 2))


def _cross(p: Position, q: Position, r: Position, s: Position) -> bool:
    """Whether segments pq and rs cross at a point inside both (touching ends don't count)."""

    def side(a: Position, b: Position, c: Position) -> float:
        return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])

    return side(p, q, r) * side(p, q, s) < 0 and side(r, s, p) * side(r, s, q) < 0


# A key is a node's name or, for an edge spanning several columns, one (input, consumer,
# column) point per column it passes, so that every link joins neighbouring columns.
Key = str | tuple[str, str, int]
Links = dict[Key, tuple[list[Key], list[Key]]]  # key -> (its left neighbours, its right ones)


def _layered(outline: GraphOutline, column: dict[str, int]) -> tuple[list[list[Key]], Links]:
    """The columns' keys in evaluation order, and the links between neighbouring columns."""
    layers: list[list[Key]] = [[] for _ in range(max(column.values()) + 1)]
    links: Links = {}

    def add(key: Key, c: int) -> None:
        layers[c].append(key)
        links[key] = ([], [])

    for name in outline.names:
        add(name, column[name])
    for source, consumer in dict.fromkeys(outline.edges()):
        span = range(column[source] + 1, column[consumer])
        path = [source, *((source, consumer, c) for c in span), consumer]
        for c in span:
            add((source, consumer, c), c)
        for left, right in pairwise(path):
            links[left][1].append(right)
            links[right][0].append(left)
    return layers, links


def _ordered(layers: list[list[Key]], links: Links) -> list[list[Key]]:
    """The layers reordered by barycenter sweeps; the order with fewest crossings seen."""
    best, fewest = [list(layer) for layer in layers], _layer_crossings(layers, links)
    for sweep in range(ORDER_SWEEPS):
        down = sweep % 2 == 0
        indices = range(1, len(layers)) if down else range(len(layers) - 2, -1, -1)
        for i in indices:
            neighbours = layers[i - 1] if down else layers[i + 1]
            layers[i] = _by_barycenter(layers[i], neighbours, links, 0 if down else 1)
        count = _layer_crossings(layers, links)
        if count < fewest:
            best, fewest = [list(layer) for layer in layers], count
    return best


def _by_barycenter(
    layer: list[Key], neighbours: list[Key], links: Links, side: int
) -> list[Key]:
    """The layer sorted by the mean place of each key's neighbours on that side (a key
    with none keeps its place; ties keep their order, so the result is deterministic)."""
    rank = {key: r for r, key in enumerate(neighbours)}
    here = {key: r for r, key in enumerate(layer)}
    return sorted(layer, key=lambda k: _mean([rank[n] for n in links[k][side]], here[k]))


def _layer_crossings(layers: list[list[Key]], links: Links) -> int:
    """Crossings between neighbouring columns, counting long edges through their points."""
    count = 0
    for left, right in pairwise(layers):
        rank = {key: r for r, key in enumerate(right)}
        ends = [(a, rank[b]) for a, key in enumerate(left) for b in links[key][1]]
        count += sum((a - c) * (b - d) < 0 for (a, b), (c, d) in combinations(ends, 2))
    return count


def _weights(outline: GraphOutline) -> dict[str, float]:
    """How firmly each node keeps its row in a crowded column: by how much of the graph
    lies behind it (squared, so the main data path clearly wins and runs straight while
    branches such as a penalty, and sources, bend around it)."""
    behind: dict[str, set[str]] = {}
    for node in outline.nodes:
        behind[node.name] = set().union(*(behind[i] | {i} for i in node.inputs))
    return {
        node.name: (1 + len(behind[node.name])) ** 2 if node.kind == "operation" else SOURCE_WEIGHT
        for node in outline.nodes
    }


def _rows(layers: list[list[Key]], links: Links, weight: dict[str, float]) -> dict[Key, float]:
    """Rows that keep each column's order, one apart at least, each as near as its weight
    allows to the mean row of what it follows: an operation its data inputs (not its
    variables), else its consumers; a source its consumers."""
    row = {key: float(r) for layer in layers for r, key in enumerate(layer)}
    # A long edge's points weigh what its input does.
    firm = {key: weight[key if isinstance(key, str) else key[0]] for key in links}
    followed = {  # operations (and their long edges) weigh 1 at least, sources less
        key: [n for n in left if firm[n] >= 1] or right for key, (left, right) in links.items()
    }
    for sweep in range(ROW_SWEEPS):
        for layer in layers if sweep % 2 == 0 else reversed(layers):
            wanted = [_mean([row[n] for n in followed[key]], row[key]) for key in layer]
            spread = _spread(wanted, [firm[key] for key in layer])
            row.update(zip(layer, spread, strict=True))
    return row


def _spread(wanted: Sequence[float], weights: Sequence[float]) -> list[float]:
    """The increasing rows, at least 1 apart, nearest `wanted` in weighted least squares
    (pool adjacent violators on wanted[k] - k)."""
    blocks: list[tuple[float, float, int]] = []  # (mean, weight, size) of runs packed 1 apart
    for k, (w, weight) in enumerate(zip(wanted, weights, strict=True)):
        blocks.append((w - k, weight, 1))
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            (m1, w1, n1), (m2, w2, n2) = blocks.pop(-2), blocks.pop()
            blocks.append(((m1 * w1 + m2 * w2) / (w1 + w2), w1 + w2, n1 + n2))
    shifted = [m for m, _, n in blocks for _ in range(n)]
    return [z + k for k, z in enumerate(shifted)]


def _mean(values: list[float], default: float) -> float:
    return sum(values) / len(values) if values else default
