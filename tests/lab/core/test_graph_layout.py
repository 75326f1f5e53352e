"""The graph view's layered layout: columns follow the data, rows avoid crossings."""

from collections import Counter
from itertools import pairwise

import pytest

from lab.core.graph_layout import columns, crossings, layout
from lab.core.graph_outline import GraphOutline, OutlineNode, outline
from lab.core.model import Model, ModelSettings

MODELS = {
    "perceptron": (ModelSettings(), "none"),
    "perceptron+l2": (ModelSettings(), "l2"),
    "mlp3+l2": (ModelSettings(kind="mlp", hidden=(8, 8, 8)), "l2"),
    "mlp6+l1": (ModelSettings(kind="mlp", hidden=(4,) * 6, activation="relu"), "l1"),
    "regression": (ModelSettings(kind="mlp", hidden=(4,), task="regression"), "l2"),
}


def model_outline(name: str) -> GraphOutline:
    settings, regularization = MODELS[name]
    model = Model(settings, regularization=regularization, penalty_rate=0.01)
    shown = model.probabilities if settings.task == "classification" else model.output
    return outline([model.loss, shown], model.loss)


def evaluation_order_positions(graph: GraphOutline) -> dict[str, tuple[float, float]]:
    """The naive drawing: the same columns, rows in evaluation order."""
    column = columns(graph)
    filled: Counter[int] = Counter()
    positions = {}
    for name in graph.names:
        positions[name] = (float(column[name]), float(filled[column[name]]))
        filled[column[name]] += 1
    return positions


@pytest.fixture(params=list(MODELS))
def graph(request) -> GraphOutline:
    return model_outline(request.param)


def test_every_node_is_placed_once(graph):
    assert sorted(layout(graph)) == sorted(graph.names)


def test_operations_sit_right_of_all_their_inputs(graph):
    positions = layout(graph)
    for node in graph.nodes:
        for name in node.inputs:
            assert positions[node.name][0] > positions[name][0], (name, node.name)


def test_no_two_nodes_share_a_position(graph):
    positions = layout(graph)
    assert len(set(positions.values())) == len(positions)
    by_column: dict[float, list[float]] = {}
    for x, y in positions.values():
        by_column.setdefault(x, []).append(y)
    for rows in by_column.values():
        assert all(b - a >= 0.99 for a, b in pairwise(sorted(rows)))


def test_sources_sit_just_left_of_their_first_consumer(graph):
    positions = layout(graph)
    for node in graph.nodes:
        if node.kind != "operation":
            first = graph.consumers(node.name)[0]
            assert positions[node.name][0] == positions[first][0] - 1, node.name


def test_the_loss_is_on_the_right_and_rows_start_at_the_top(graph):
    positions = layout(graph)
    assert positions[graph.loss][0] == max(x for x, _ in positions.values())
    assert min(y for _, y in positions.values()) == 0


def test_the_drawing_stays_compact(graph):
    positions = layout(graph)
    tallest_column = max(Counter(x for x, _ in positions.values()).values())
    assert max(y for _, y in positions.values()) <= tallest_column


def test_layout_is_deterministic(graph):
    assert layout(graph) == layout(graph)


def test_the_same_model_built_twice_is_drawn_the_same():
    assert layout(model_outline("mlp6+l1")) == layout(model_outline("mlp6+l1"))


def test_weights_sit_by_their_matmul_not_by_the_penalty():
    graph = model_outline("mlp3+l2")
    positions = layout(graph)
    for name in ("W2", "W3", "W4"):
        matmul = graph.consumers(name)[0]
        assert positions[name][0] == positions[matmul][0] - 1


def test_the_perceptron_has_no_crossings():
    graph = model_outline("perceptron")
    assert crossings(graph, layout(graph)) == 0


@pytest.mark.parametrize("name", ["perceptron+l2", "mlp3+l2", "mlp6+l1"])
def test_no_more_crossings_than_the_evaluation_order(name):
    graph = model_outline(name)
    assert crossings(graph, layout(graph)) <= crossings(graph, evaluation_order_positions(graph))


def test_crossings_counts_edges_that_cross_but_not_ones_that_share_an_end():
    graph = GraphOutline(
        (
            OutlineNode("a", "placeholder", "placeholder"),
            OutlineNode("b", "placeholder", "placeholder"),
            OutlineNode("c", "operation", "add", ("a", "b")),
            OutlineNode("d", "operation", "negative", ("a",)),
        ),
        loss="c",
    )
    crossed = {"a": (0, 0), "b": (0, 1), "c": (1, 1), "d": (1, 0)}
    assert crossings(graph, crossed) == 0  # a-c and a-d share a; b-c meets neither
    crossed["d"] = (1, 2)
    assert crossings(graph, crossed) == 1  # a-d crosses b-c


def test_a_loss_that_finishes_early_is_still_drawn_last_with_its_target_beside_it():
    graph = GraphOutline(
        (
            OutlineNode("x", "placeholder", "placeholder"),
            OutlineNode("f", "operation", "tanh", ("x",)),
            OutlineNode("g", "operation", "tanh", ("f",)),
            OutlineNode("h", "operation", "tanh", ("g",)),
            OutlineNode("target", "placeholder", "placeholder"),
            OutlineNode("loss", "operation", "subtract", ("f", "target")),
        ),
        loss="loss",
    )
    positions = layout(graph)
    assert positions["loss"][0] == positions["h"][0] == 3
    assert positions["target"][0] == 2
