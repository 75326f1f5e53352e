"""DOT text of an outline, for a teacher to render with Graphviz."""

import html
import re
import shutil
import subprocess

import numpy as np
import pytest

import engine
from lab.core.graph_dot import KIND_STYLES, to_dot
from lab.core.graph_outline import GraphOutline, NodeGroup, OutlineNode, outline
from lab.core.model import Model, ModelSettings

DOT = shutil.which("dot")  # Graphviz; the rendering test is skipped without it


def mlp_outline() -> GraphOutline:
    """A trained-once MLP with an L2 penalty, shapes known, a box per layer."""
    model = Model(ModelSettings(kind="mlp", hidden=(8, 8, 8)), regularization="l2",
                  penalty_rate=0.01)
    x = np.random.default_rng(0).standard_normal((5, 2)).astype(np.float32)
    target = np.eye(2, dtype=np.float32)[[0, 1, 0, 1, 1]]
    engine.Session().run([model.loss, model.probabilities], {model.x: x, model.target: target})
    boxes = [NodeGroup(f"layer {i}", (f"W{i}", f"b{i}")) for i in range(1, 5)]
    return outline([model.loss, model.probabilities], model.loss, boxes)


def tiny(name: str = "x", groups: tuple[NodeGroup, ...] = ()) -> GraphOutline:
    return GraphOutline(
        (
            OutlineNode(name, "placeholder", "placeholder", (), (5, 2)),
            OutlineNode("W", "variable", "Variable", (), (2, 3)),
            OutlineNode("rate", "constant", "constant", (), ()),
            OutlineNode("y", "operation", "matmul", (name, "W"), (5, 3)),
            OutlineNode("loss", "operation", "multiply", ("rate", "y"), None),
        ),
        loss="loss",
        groups=groups,
    )


def node_lines(dot: str, name: str) -> list[str]:
    return [line for line in dot.splitlines() if line.strip().startswith(f'"{name}" [')]


def test_every_node_appears_once_with_its_name_and_shape():
    graph = mlp_outline()
    dot = to_dot(graph)
    for node in graph.nodes:
        (line,) = node_lines(dot, node.name)
        assert f'label="{node.name}\\n' in line
    (w1,) = node_lines(dot, "W1")
    assert 'label="W1\\n2×8"' in w1
    (loss,) = node_lines(dot, graph.loss)
    assert f'label="{graph.loss}\\nscalar"' in loss and "peripheries=2" in loss


def test_every_edge_appears_once_per_input_slot():
    graph = mlp_outline()
    dot = to_dot(graph)
    edges = re.findall(r'^\s*"([^"]+)" -> "([^"]+)";$', dot, re.MULTILINE)
    assert sorted(edges) == sorted(graph.edges())
    assert len(set(edges)) == len(edges)


def test_each_kind_has_its_own_style():
    dot = to_dot(tiny())
    assert len(set(KIND_STYLES.values())) == 4
    for name, kind in [("x", "placeholder"), ("W", "variable"), ("rate", "constant"),
                       ("y", "operation")]:
        (line,) = node_lines(dot, name)
        assert KIND_STYLES[kind] in line


def test_an_unknown_shape_is_left_out():
    (line,) = node_lines(to_dot(tiny()), "loss")
    assert 'label="loss"' in line


def test_groups_are_boxes_with_their_label():
    dot = to_dot(mlp_outline())
    assert dot.count("subgraph cluster_") == 4
    box = dot[dot.index("subgraph cluster_1 {"):]
    box = box[: box.index("}")]
    assert 'label="layer 2"' in box
    assert node_lines(box, "W2") and node_lines(box, "b2") and not node_lines(box, "W1")


def test_a_node_in_two_groups_is_boxed_once_and_unknown_names_are_skipped():
    groups = (NodeGroup("first", ("W", "y")), NodeGroup("second", ("y", "ghost")))
    dot = to_dot(tiny(groups=groups))
    assert len(node_lines(dot, "y")) == 1
    assert "ghost" not in dot
    assert "second" not in dot  # nothing left to put in its box


def test_names_and_labels_are_escaped():
    name = 'say "hi"\\n'  # a quote, a backslash and an n: no newline
    labels = {name: 'a "quoted"\nsecond line\\', "W": "0.1  0.2\r\n0.3  0.4"}
    dot = to_dot(tiny(name), labels)
    (line,) = node_lines(dot, r'say \"hi\"\\n')
    assert r'label="say \"hi\"\\n\n5×2\na \"quoted\"\lsecond line\\\l"' in line
    (w,) = node_lines(dot, "W")
    assert r"\n0.1  0.2\l0.3  0.4\l" in w and 'fontname="Courier"' in w
    assert r'"say \"hi\"\\n" -> "y";' in dot
    assert "\r" not in dot and dot.count("\n") == len(dot.splitlines())


def test_a_line_break_in_a_name_becomes_an_escape():
    assert r'"two\nlines" -> "y";' in to_dot(tiny("two\nlines"))


@pytest.mark.skipif(DOT is None, reason="Graphviz's dot is not installed")
def test_graphviz_renders_it_with_every_name_and_line(tmp_path):
    name = 'say "hi"\\'
    labels = {name: 'a "quoted"\nline', "W": "0.1  0.2\n0.3  0.4", "loss": "0.6931"}
    for graph, extra in [(mlp_outline(), {"W1": "1  2\n3  4"}), (tiny(name), labels)]:
        path = tmp_path / "graph.dot"
        path.write_text(to_dot(graph, extra), encoding="utf-8")
        result = subprocess.run([DOT, "-Tsvg", str(path)], capture_output=True, text=True,
                                check=False)
        assert result.returncode == 0 and not result.stderr, result.stderr
        svg_texts = re.findall(r"<text[^>]*>([^<]*)</text>", result.stdout)
        shown = {html.unescape(text).replace("\xa0", " ") for text in svg_texts}
        lines = {line for text in extra.values() for line in text.splitlines()}
        assert set(graph.names) | lines <= shown
