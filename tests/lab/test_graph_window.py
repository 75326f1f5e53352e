"""The Graph tab and the Point tab, driven as a user would: the engine graph drawn live, a
node inspected, a step walked through stage by stage, gradients checked, a point explained,
the graph exported."""

import numpy as np
import pytest
from PySide6.QtCore import Qt
from test_playground_window import choose, tick
from test_window import click_data, train, type_into, widget

import engine as ts
from engine.ops import _tanh_gradient
from lab.core.model import Model

LEFT = Qt.MouseButton.LeftButton


def open_graph(qtbot, w):
    """Show the Graph tab and wait for the worker's values of every node."""
    w.center.setCurrentWidget(w.graph_page)
    qtbot.waitUntil(lambda: w.graph_page._values is not None, timeout=5000)


def use_mlp(qtbot, w, hidden="8,8,8"):
    choose(w, "modelKind", "mlp")
    type_into(qtbot, widget(w, "hiddenLayers"), hidden)
    qtbot.keyClick(widget(w, "hiddenLayers"), Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: w.workspace.model.hidden == tuple(map(int, hidden.split(","))))


def workspace_model(w):
    """A model like the window's, at its latest weights, fed its training points."""
    ws = w.workspace
    model = Model(ws.model, ws.current()[1])
    columns = ws.points.columns
    feed = {model.x: model.inputs(columns.xy),
            model.target: model.targets(columns.labels, columns.values)}
    return model, feed


def test_the_graph_tab_draws_the_models_engine_graph(qtbot, window):
    open_graph(qtbot, window)
    assert window.graph_node_names() == ["x", "W1", "matmul1", "b1", "z1", "target", "loss",
                                         "probabilities"]  # the tutorial's perceptron
    use_mlp(qtbot, window)
    qtbot.waitUntil(lambda: "h3" in window.graph_node_names(), timeout=5000)
    model, _feed = workspace_model(window)
    assert window.graph_node_names() == [n.name for n in model.nodes()]


def test_an_inspected_node_shows_the_engines_value_and_gradient(qtbot, window):
    open_graph(qtbot, window)
    shown = window.inspect_node("W1")
    model, feed = workspace_model(window)
    ts.Session().run(model.loss, feed)
    gradient = ts.compute_gradients(model.loss)[model.variables["W1"]]
    np.testing.assert_allclose(shown["value"], model.variables["W1"].value)
    np.testing.assert_allclose(shown["gradient"], gradient, rtol=1e-5, atol=1e-6)
    assert window.graph_page.view.selected() == "W1"
    assert "W1" in widget(window, "nodeTitle").text()
    assert f"{gradient[0, 0]:.4g}"[:5] in widget(window, "nodeGradient").text()
    assert not widget(window, "valueHistogram").isVisible()  # 2×2: shown in full
    assert window.inspect_node("probabilities")["gradient"] is None
    assert "does not depend" in widget(window, "nodeGradient").text()
    z1 = window.inspect_node("z1")  # 100×2: summed up, with the histogram of its entries
    histogram = widget(window, "valueHistogram")
    assert histogram.isVisible() and "‖·‖" in widget(window, "nodeValue").text()
    assert histogram.counts.sum() == z1["value"].size


def test_clicking_a_node_in_the_view_inspects_it(qtbot, window):
    open_graph(qtbot, window)
    view = window.graph_page.view
    centre = view.mapFromScene(view.node_scene_rect("b1").center())
    qtbot.mouseClick(view.viewport(), LEFT, pos=centre)
    assert view.selected() == "b1"
    assert "b1" in widget(window, "nodeTitle").text()


def test_step_through_walks_one_step_forward_backward_and_update(qtbot, window):
    qtbot.mouseClick(widget(window, "stepThrough"), LEFT)
    qtbot.waitUntil(lambda: window.graph_page.frame() is not None, timeout=5000)
    page, view = window.graph_page, window.graph_page.view
    assert window.center.currentWidget() is page and window.workspace.latest.step == 1
    trace = page._walk.trace
    assert page.frame().node == "x" and "Forward 1 of" in widget(window, "stageTitle").text()
    seen = [page.frame()]
    sent_to_w1 = None
    for _ in range(len(page._walk) - 1):
        qtbot.keyClick(window, Qt.Key.Key_F10)
        seen.append(page.frame())
        assert view.stage_of(seen[-1].node) == "current"
        if seen[-1].phase == "backward":
            sent_to_w1 = view.edge_label("W1", "matmul1")
    assert [f.node for f in seen if f.phase == "forward"] == [s.node for s in trace.forward]
    assert [f.node for f in seen if f.phase == "backward"] == [s.node for s in trace.backward]
    assert sent_to_w1  # by the end of the backward pass, the gradient W1 got is on its edge
    assert not widget(window, "stepNext").isEnabled()
    rate = window.workspace.training.learning_rate
    for stage in trace.update:  # gradient descent: new = value − rate × gradient
        np.testing.assert_allclose(stage.new_value, stage.value - rate * stage.gradient,
                                   rtol=1e-6, atol=1e-7)
        np.testing.assert_array_equal(stage.new_value, window.workspace.latest.weights[
            stage.variable])
    qtbot.keyClick(window, Qt.Key.Key_F10, Qt.KeyboardModifier.ShiftModifier)
    assert page.frame() == seen[-2]
    qtbot.mouseClick(widget(window, "stepPrevious"), LEFT)
    assert page.frame() == seen[-3]


def check(qtbot, window):
    """Press Check gradients and wait for its table (the check runs off the GUI thread)."""
    table = widget(window, "gradientCheck")
    table.clear()
    qtbot.mouseClick(widget(window, "checkGradients"), LEFT)
    qtbot.waitUntil(lambda: bool(table.rows()), timeout=20000)
    assert widget(window, "checkGradients").isEnabled()  # ready for the next
    return table.rows()


def test_check_gradients_agrees_and_shows_a_wrong_registered_gradient_in_red(qtbot, window):
    use_mlp(qtbot, window, "4,4")
    rows = check(qtbot, window)
    assert [row["Variable"] for row in rows] == ["W1", "b1", "W2", "b2", "W3", "b3"]
    assert not any(row["mismatch"] for row in rows)

    @ts.RegisterGradient("tanh")
    def wrong(op, grad):
        return grad * (1 - op.output)  # should be 1 - output²

    try:
        rows = check(qtbot, window)
    finally:
        ts.RegisterGradient("tanh")(_tanh_gradient)
    bad = {row["Variable"] for row in rows if row["mismatch"]}
    assert {"W1", "b1", "W2", "b2"} <= bad and not {"W3", "b3"} & bad
    assert "disagree" in window.statusBar().currentMessage()


def test_alt_click_explains_the_nearest_point(qtbot, window):
    xy = window.workspace.points.columns.xy
    click_data(qtbot, window, *xy[7], modifier=Qt.KeyboardModifier.AltModifier)
    assert window.tabs.currentWidget() is window.point_view
    shown = window.point_view.shown()
    np.testing.assert_allclose(np.ravel(shown["xy"]), xy[7])
    assert len(window.workspace.points) == len(xy)  # no point added
    assert widget(window, "explainIndex").value() == 7
    assert "loss" in widget(window, "explainText").toPlainText().lower()


def test_explained_shares_sum_to_the_full_gradient(qtbot, window):
    ws = window.workspace
    shares = [window.explain_point(i)["shares"] for i in range(len(ws.points))]
    model, feed = workspace_model(window)
    ts.Session().run(model.data_loss, feed)
    full = ts.compute_gradients(model.data_loss)
    for name, variable in model.variables.items():
        total = sum(share[name] for share in shares)
        np.testing.assert_allclose(total, full[variable], rtol=1e-4, atol=1e-6)
    assert window.explain_point(len(ws.points)) is None


@pytest.mark.parametrize("suffix", [".dot", ".svg", ".png"])
def test_the_graph_exports_with_values_in_its_labels(qtbot, window, tmp_path, suffix):
    open_graph(qtbot, window)
    tick(qtbot, widget(window, "graphValueLabels"))
    path = tmp_path / f"graph{suffix}"
    window.export_graph(path)
    data = path.read_bytes()
    if suffix == ".png":
        assert data.startswith(b"\x89PNG")
        return
    text = data.decode("utf-8")
    assert all(name in text for name in window.graph_node_names())
    assert "∂" in text


def test_the_graph_follows_training(qtbot, window):
    open_graph(qtbot, window)
    train(qtbot, window, 200)
    page = window.graph_page
    qtbot.waitUntil(lambda: page._values.step == 200, timeout=5000)
    model, feed = workspace_model(window)
    assert page.inspect("loss")["value"] == pytest.approx(ts.Session().run(model.loss, feed))
    assert widget(window, "stepThrough").isEnabled()


def test_step_through_says_why_it_cannot_step_and_a_new_model_ends_the_walk(qtbot, window):
    qtbot.mouseClick(widget(window, "stepThrough"), LEFT)
    qtbot.waitUntil(lambda: window.graph_page.frame() is not None, timeout=5000)
    use_mlp(qtbot, window, "3")
    assert window.graph_page.frame() is None and not widget(window, "stepNext").isEnabled()
    window.workspace.points.clear()
    window.step_through()
    assert "two classes" in window.statusBar().currentMessage()
    assert window.graph_page.frame() is None and window.workspace.current()[0] == 0


def test_the_walk_shows_the_walked_steps_numbers_until_training_moves_on(qtbot, window):
    open_graph(qtbot, window)
    qtbot.mouseClick(widget(window, "stepThrough"), LEFT)
    qtbot.waitUntil(lambda: window.graph_page.frame() is not None, timeout=5000)
    trace = window.graph_page._walk.trace
    update = next(stage for stage in trace.update if stage.variable == "W1")
    shown = window.inspect_node("W1")
    np.testing.assert_array_equal(shown["value"], update.value)  # before the step's update
    np.testing.assert_allclose(shown["gradient"], update.gradient, rtol=1e-5)
    assert "in step 1" in widget(window, "nodeTitle").text()
    with qtbot.waitSignal(window.trainingFinished, timeout=5000):
        window.step()  # an untraced step: the walk is over
    assert window.graph_page.frame() is None
    qtbot.waitUntil(lambda: window.graph_page._values.step == 2, timeout=5000)
    np.testing.assert_array_equal(window.inspect_node("W1")["value"],
                                  window.workspace.latest.weights["W1"])


def test_a_new_model_or_workspace_leaves_nothing_of_the_old_graph_or_point(qtbot, window):
    use_mlp(qtbot, window, "8,8")
    open_graph(qtbot, window)
    window.inspect_node("h2")
    window.explain_point(3)
    window.center.setCurrentWidget(window.data_plot)
    window.workspace.new()  # a perceptron again
    assert window.graph_node_names() == [] and "Click a node" in widget(
        window, "nodeTitle").text()
    with pytest.raises(ValueError, match="no node 'h2'"):
        window.inspect_node("h2")
    qtbot.waitUntil(lambda: window.workspace.latest is not None, timeout=5000)
    shown = window.point_view.shown()
    assert "z1" in shown and "h1" not in shown and "z2" not in shown  # the perceptron's


def test_removing_the_explained_point_clears_its_explanation(qtbot, window):
    xy = window.workspace.points.columns.xy
    window.explain_point(4)
    click_data(qtbot, window, *xy[4], modifier=Qt.KeyboardModifier.ControlModifier)
    assert len(window.workspace.points) == len(xy) - 1
    assert window.point_view.shown() is None


def test_the_graph_exports_before_its_tab_was_ever_open(qtbot, window, tmp_path):
    window.export_graph(tmp_path / "graph.dot")
    text = (tmp_path / "graph.dot").read_text()
    assert "matmul1" in text and "loss" in text
