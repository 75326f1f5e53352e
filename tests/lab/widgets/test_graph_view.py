import functools
import itertools
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QImage, QPalette, QWheelEvent
from PySide6.QtWidgets import (
    QApplication,
    QGraphicsPathItem,
    QGraphicsPolygonItem,
    QGraphicsSimpleTextItem,
)

import engine
from lab.core.graph_outline import GraphOutline, NodeGroup, OutlineNode, outline
from lab.core.model import Model, ModelSettings
from lab.widgets.graph_view import ZOOM_RANGE, GraphView, looks


@functools.cache
def model_outline(kind: str, points: int = 5) -> GraphOutline:
    """The outline of a trained-once model with an L2 penalty, as the app builds it."""
    m = Model(ModelSettings(kind=kind, hidden=(8, 8, 8)), regularization="l2", penalty_rate=0.01)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(points, 2)).astype(np.float32)
    T = np.eye(2, dtype=np.float32)[rng.integers(0, 2, points)]
    engine.Session().run([m.loss, m.probabilities], {m.x: X, m.target: T})
    return outline([m.loss, m.probabilities], m.loss)


def first_of_kind(graph: GraphOutline, kind: str) -> str:
    return next(node.name for node in graph.nodes if node.kind == kind)


@pytest.fixture
def view(qtbot):
    widget = GraphView()
    qtbot.addWidget(widget)
    widget.resize(900, 500)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


MODELS = pytest.mark.parametrize("kind", ["perceptron", "mlp"])


def view_point(view, name) -> QPoint:
    return view.mapFromScene(view.node_scene_rect(name).center())


def click(qtbot, view, name):
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=view_point(view, name))


def wheel(view, notches, at=None):
    at = QPointF(view.viewport().rect().center()) if at is None else QPointF(at)
    event = QWheelEvent(
        at, QPointF(view.viewport().mapToGlobal(at.toPoint())), QPoint(0, 0),
        QPoint(0, 120 * notches), Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase, False,
    )
    QApplication.sendEvent(view.viewport(), event)


def fully_visible(view) -> bool:
    shown = view.mapFromScene(view.sceneRect()).boundingRect()
    return view.viewport().rect().adjusted(-1, -1, 1, 1).contains(shown)


def assert_no_overlaps(view):
    rects = {name: view.node_scene_rect(name) for name in view.node_names()}
    for (a, ra), (b, rb) in itertools.combinations(rects.items(), 2):
        assert not ra.intersects(rb), f"{a} overlaps {b}"
    scene = view.sceneRect()
    for name, rect in rects.items():
        assert scene.contains(rect), f"{name} outside the scene rect"


@MODELS
def test_the_nodes_are_exactly_the_outlines(view, kind):
    graph = model_outline(kind)
    view.show_outline(graph)
    assert view.objectName() == "graphView"
    assert view.node_names() == graph.names
    assert len(view.node_names()) == (13 if kind == "perceptron" else 37)


@MODELS
def test_nodes_do_not_overlap_and_lie_in_the_scene(view, kind):
    view.show_outline(model_outline(kind))
    assert_no_overlaps(view)


@MODELS
def test_no_edge_runs_under_a_node(view, kind):
    """Arrows go around the nodes they do not join, so none hides under one."""
    graph = model_outline(kind)
    view.show_outline(graph)
    rects = {name: view.node_scene_rect(name).adjusted(2, 2, -2, -2) for name in graph.names}
    lines = [item for item in view.scene().items()
             if type(item) is QGraphicsPathItem and item.zValue() < 0 and item.childItems()]
    assert len(lines) == len(graph.edges())
    for line in lines:
        path = line.path()
        points = [path.pointAtPercent(t / 200) for t in range(201)]
        ends = [name for name, rect in rects.items()
                if rect.contains(points[0]) or rect.adjusted(-12, -4, 4, 4).contains(points[-1])]
        for name, rect in rects.items():
            if name not in ends:
                assert not any(rect.contains(p) for p in points[1:-1]), f"an edge under {name}"


def test_nodes_show_name_and_shape(view):
    graph = model_outline("mlp")
    view.show_outline(graph)
    assert view.node_text("W1") == "W1\n2×8"
    assert view.node_text("b2") == "b2\n8"
    assert view.node_text(graph.loss) == f"{graph.loss}\nscalar"
    unknown = GraphOutline((OutlineNode("x", "placeholder", "placeholder"),
                            OutlineNode("y", "operation", "tanh", ("x",))), "y")
    view.show_outline(unknown)
    assert view.node_text("x") == "x"  # shape not known yet: the name alone


def test_the_four_kinds_differ_in_colour_and_shape_in_both_themes(view):
    graph = model_outline("perceptron")
    view.show_outline(graph)
    names = [first_of_kind(graph, kind)
             for kind in ("placeholder", "variable", "constant", "operation")]

    def fills():
        return [view.node_item(name).brush().color().name() for name in names]

    light = fills()
    assert len(set(light)) == 4
    paths = [view.node_item(name).path() for name in names]
    assert len({(p.elementCount(), round(p.boundingRect().height())) for p in paths}) == 4

    dark = QPalette(view.palette())
    dark.setColor(QPalette.ColorRole.Base, QColor("#1e1e1e"))
    dark.setColor(QPalette.ColorRole.Text, QColor("#e0e0e0"))
    view.setPalette(dark)
    assert len(set(fills())) == 4
    assert fills() != light
    assert all(QColor(fill).lightness() < 128 for fill in fills())  # light text stays readable
    title = view.node_item(names[0]).childItems()[0]
    assert title.brush().color() == QColor("#e0e0e0")
    assert view.scene().backgroundBrush().color() == QColor("#1e1e1e")


def test_edges_and_groups_are_drawn_behind_the_nodes(view):
    graph = model_outline("perceptron")
    grouped = GraphOutline(graph.nodes, graph.loss, (NodeGroup("layer 1", ("W1", "b1")),))
    view.show_outline(grouped)
    node_z = view.node_item("W1").zValue()
    behind = [item for item in view.scene().items()
              if type(item) is QGraphicsPathItem and item.zValue() < node_z]
    texts = [child.text() for item in behind for child in item.childItems()
             if isinstance(child, QGraphicsSimpleTextItem)]
    assert "layer 1" in texts
    box = next(item for item in behind if any(
        isinstance(c, QGraphicsSimpleTextItem) and c.text() == "layer 1"
        for c in item.childItems()))
    assert box.sceneBoundingRect().contains(view.node_scene_rect("W1"))
    assert box.sceneBoundingRect().contains(view.node_scene_rect("b1"))
    assert_no_overlaps(view)


@MODELS
def test_a_click_on_a_node_selects_it(qtbot, view, kind):
    graph = model_outline(kind)
    view.show_outline(graph)
    for name in (graph.names[0], "W1", graph.loss, graph.names[-1]):
        with qtbot.waitSignal(view.nodeSelected, timeout=1000) as blocker:
            click(qtbot, view, name)
        assert blocker.args == [name]
        assert view.selected() == name


def test_a_click_on_empty_space_keeps_the_selection(qtbot, view):
    view.show_outline(model_outline("perceptron"))
    view.select("W1")
    with qtbot.assertNotEmitted(view.nodeSelected):
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(3, 3))
    assert view.selected() == "W1"


def test_select_programmatically(qtbot, view):
    view.show_outline(model_outline("perceptron"))
    with qtbot.waitSignal(view.nodeSelected) as blocker:
        view.select("b1")
    assert blocker.args == ["b1"] and view.selected() == "b1"
    with qtbot.waitSignal(view.nodeSelected) as blocker:
        view.select(None)
    assert blocker.args == [""] and view.selected() is None
    with pytest.raises(KeyError):
        view.select("no such node")


def test_labels_show_under_the_name_and_go_with_an_empty_mapping(view):
    graph = model_outline("mlp")
    view.show_outline(graph)
    item = view.node_item("W1")
    view.set_labels({"W1": "value +0.123\ngrad -0.004", "b1": "+1.5", "nowhere": "x"})
    assert view.node_text("W1") == "W1\n2×8\nvalue +0.123\ngrad -0.004"
    assert view.node_text("b1") == "b1\n8\n+1.5"
    view.set_labels({name: f"{i:+.3f}\n{-i:+.3f}" for i, name in enumerate(graph.names)})
    assert view.node_text("b1").endswith("+3.000\n-3.000")
    assert_no_overlaps(view)
    view.set_labels({})
    assert view.node_text("W1") == "W1\n2×8"
    assert view.node_item("W1") is item  # updated in place
    assert_no_overlaps(view)


def test_label_updates_keep_the_layout(view):
    graph = model_outline("mlp")
    view.show_outline(graph)
    rng = np.random.default_rng(0)
    view.set_labels({name: f"{0.5:+.4f}" for name in graph.names})
    where = view.node_scene_rect("W2")
    items = len(view.scene().items())
    for _ in range(20):
        values = rng.normal(size=len(graph.names))
        view.set_labels({name: f"{v:+.4f}" for name, v in zip(graph.names, values, strict=True)})
    assert view.node_scene_rect("W2") == where  # same-width numbers: nothing moves
    assert len(view.scene().items()) == items  # texts change in place, no scene rebuilt


def test_the_stage_marks_nodes_and_edges(qtbot, view):
    graph = model_outline("perceptron")
    view.show_outline(graph)
    op = graph.names[2]  # the matmul of x and W1
    assert graph.node(op).inputs == ("x", "W1")
    plain = view.node_item("W1").pen().color()
    view.show_stage(["x", "W1"], op, {("x", op): "∂=0.25", ("W1", op): "-1.5"}, "backward")
    assert view.stage_of(op) == "current"
    assert view.stage_of("x") == view.stage_of("W1") == "lit"
    assert view.stage_of(graph.loss) == ""
    assert view.edge_label("x", op) == "∂=0.25"
    assert view.edge_label("W1", op) == "-1.5"
    assert view.edge_label("b1", graph.names[4]) is None
    backward = view.node_item("W1").pen().color()
    assert backward != plain
    assert_no_overlaps(view)

    view.show_stage(["x", "gone"], "gone", {("b1", "x"): "not an edge"}, "forward")
    assert view.node_item("x").pen().color() != backward  # another role, another colour
    assert view.edge_label("x", op) is None
    assert view.edge_label("b1", "x") is None
    assert view.stage_of("x") == "lit" and view.stage_of("gone") == ""

    view.clear_stage()
    assert all(view.stage_of(name) == "" for name in graph.names)
    assert view.node_item("W1").pen().color() == plain
    with pytest.raises(ValueError):
        view.show_stage([], None, {}, "sideways")


def test_the_current_node_is_scrolled_into_view(qtbot, view):
    graph = model_outline("mlp")
    view.show_outline(graph)
    for _ in range(8):
        wheel(view, 3)  # far in
    view.show_stage([], graph.loss, {}, "forward")
    assert view.viewport().rect().contains(view_point(view, graph.loss))


def test_wheel_and_keys_zoom_within_bounds_and_fit_shows_everything(qtbot, view):
    view.show_outline(model_outline("mlp"))
    assert fully_visible(view)
    fitted = view.zoom()
    wheel(view, 1)
    assert view.zoom() == pytest.approx(fitted * 1.0015**120)
    for _ in range(30):
        wheel(view, 3)
    assert view.zoom() == pytest.approx(ZOOM_RANGE[1])
    for _ in range(60):
        wheel(view, -3)
    assert view.zoom() == pytest.approx(min(ZOOM_RANGE[0], fitted), rel=0.1)
    view.fit()
    assert view.zoom() == pytest.approx(fitted)
    assert fully_visible(view)
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_Plus)
    assert view.zoom() > fitted
    qtbot.keyClick(view, Qt.Key.Key_Minus)
    qtbot.keyClick(view, Qt.Key.Key_Minus)
    assert view.zoom() < fitted


def test_resizing_refits_until_the_user_zooms(qtbot, view):
    view.show_outline(model_outline("mlp"))
    view.resize(1400, 700)
    qtbot.waitUntil(lambda: fully_visible(view) and view.zoom() > 0.4)
    wheel(view, 2)
    zoomed = view.zoom()
    view.resize(600, 400)
    qtbot.wait(10)
    assert view.zoom() == pytest.approx(zoomed)


def test_the_same_outline_keeps_items_selection_and_zoom(qtbot, view):
    view.show_outline(model_outline("mlp"))
    view.select("W2")
    wheel(view, 2)
    zoom, item = view.zoom(), view.node_item("W2")
    view.show_outline(model_outline("mlp"))
    assert view.node_item("W2") is item
    assert (view.selected(), view.zoom()) == ("W2", pytest.approx(zoom))

    view.show_outline(model_outline("mlp", points=200))  # other shapes: written in place
    assert view.node_item("W2") is item and view.zoom() == pytest.approx(zoom)
    assert view.node_text("x") == "x\n200×2"
    assert_no_overlaps(view)

    view.show_outline(model_outline("perceptron"))  # another graph: drawn afresh and fitted
    assert view.node_names() == model_outline("perceptron").names
    assert view.selected() is None  # W2 is gone
    assert fully_visible(view)


def test_svg_export_holds_the_whole_graph_labels_and_stage(view, tmp_path):
    graph = model_outline("mlp")
    view.show_outline(graph)
    wheel(view, 10)  # only part in view: the export has it all
    view.set_labels({"W1": "+0.125"})
    view.show_stage(["x"], "W1", {("W1", graph.names[2]): "grad 0.5"}, "update")
    path = tmp_path / "graph.svg"
    view.write_svg(path, title="The MLP")
    root = ET.parse(path).getroot()
    assert root.tag.endswith("svg")
    text = " ".join("".join(element.itertext()) for element in root.iter())
    for name in graph.names:
        assert name in text
    assert "+0.125" in text and "grad 0.5" in text and "The MLP" in text


def test_png_export_is_twice_the_scene_on_the_base_colour(view, tmp_path):
    view.show_outline(model_outline("perceptron"))
    view.show_stage(["x"], "W1", {}, "forward")
    path = tmp_path / "graph.png"
    view.write_png(path)
    image = QImage(str(path))
    scene = view.sceneRect()
    assert image.width() == 2 * int(np.ceil(scene.width()))
    assert image.height() == 2 * int(np.ceil(scene.height()))
    base = view.palette().color(QPalette.ColorRole.Base)
    assert image.pixelColor(1, 1).rgb() == base.rgb()
    role = looks(view.palette()).roles["forward"]
    centre = view.node_scene_rect("W1")
    # the current node's thick border, in the forward colour, in the picture
    x = int(2 * (centre.left() - scene.left()) + 2)
    y = int(2 * (centre.center().y() - scene.top()))
    assert any(abs(image.pixelColor(x + dx, y).hue() - role.hue()) < 10 for dx in range(-3, 4))


def test_the_scene_holds_only_qt_items(view):
    """Items Qt paints itself: no Python paint() runs while training holds the GIL."""
    graph = model_outline("mlp")
    view.show_outline(graph)
    view.set_labels({name: "1.0" for name in graph.names})
    view.show_stage(graph.names[:3], graph.names[3], {("x", graph.names[2]): "1"}, "forward")
    view.select("W1")
    kinds = {type(item) for item in view.scene().items()}
    assert kinds <= {QGraphicsPathItem, QGraphicsPolygonItem, QGraphicsSimpleTextItem}


def test_layer_boxes_hold_their_operations_and_do_not_overlap(view):
    m = Model(ModelSettings(kind="mlp", hidden=(8, 8, 8)), regularization="l2", penalty_rate=0.01)
    engine.Session().run(m.outputs, {m.x: np.zeros((5, 2), np.float32),
                                     m.target: np.zeros((5, 2), np.float32)})
    graph = m.outline()
    view.show_outline(graph)
    boxes = {label.text(): box.sceneBoundingRect() for box, label, _names in view._groups}
    assert list(boxes) == [group.label for group in graph.groups]
    for group in graph.groups:
        for name in group.names:
            if graph.node(name).kind == "operation":
                assert boxes[group.label].contains(view.node_scene_rect(name))
    rects = list(boxes.values())
    assert not any(a.intersects(b) for i, a in enumerate(rects) for b in rects[i + 1:])
