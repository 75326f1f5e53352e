"""One training step recorded node by node: its stages follow the engine's order, its numbers
are the step's own, and the graph's values and gradients are the engine's."""

import numpy as np
import pytest

import engine as ts
from engine.gradients import BackwardPlan
from lab.core.datasets import generate, tutorial_points
from lab.core.model import ModelSettings
from lab.core.points import validate_columns
from lab.core.runner import InlineRunner
from lab.core.settings import TrainingSettings
from lab.core.step_trace import PHASES, StepThrough
from lab.core.training import TrainingRun
from lab.core.workspace import Workspace

PERCEPTRON = ModelSettings(precision="float64")
MLP = ModelSettings(kind="mlp", hidden=(4, 3), precision="float64")


def make_run(settings, training=None, points=None):
    run = TrainingRun(settings, training or TrainingSettings("gradient_descent", 0.1))
    run.set_points(validate_columns(*(points or tutorial_points())))
    return run


def moons():
    return generate("moons", 60, 0.1, 3)


@pytest.mark.parametrize("settings", [PERCEPTRON, MLP], ids=["perceptron", "mlp"])
def test_a_traced_step_visits_the_nodes_in_the_engines_order(settings):
    run = make_run(settings, TrainingSettings("gradient_descent", 0.1, regularization="l2"))
    run.train(3)
    run.traced_step()
    trace = run.snapshot().parts["trace"]
    assert [s.node for s in trace.forward] == [n.name for n in run.model.nodes()]
    sweep = BackwardPlan(run.model.loss).steps
    assert [s.node for s in trace.backward] == [step.op.name for step in sweep]
    assert trace.backward[0].node == run.model.loss.name == trace.outline.loss
    assert {s.variable for s in trace.update} == set(run.model.variables)
    assert trace.step == run.step == 4 and trace.batch_size == run.point_count


def test_the_update_stage_is_value_minus_rate_times_gradient_and_the_run_took_that_step():
    run, twin = make_run(MLP), make_run(MLP)
    run.traced_step()
    twin.train(1)
    trace = run.snapshot().parts["trace"]
    for stage in trace.update:
        expected = stage.value - 0.1 * stage.gradient
        np.testing.assert_allclose(stage.new_value, expected, rtol=0, atol=1e-15)
        np.testing.assert_array_equal(stage.new_value, twin.weights()[stage.variable])
    assert run.history.last == twin.history.last


def test_backward_stages_carry_the_gradients_backprop_and_finite_differences_give():
    run = make_run(MLP, points=moons())
    start = run.model.current_weights()
    run.traced_step()
    trace = run.snapshot().parts["trace"]
    passed = {}
    for stage in trace.backward:
        for source, gradient in stage.passed:
            passed[source] = passed.get(source, 0) + gradient
    model, feed = run.model, run._feed
    model.assign(start)
    loss = lambda: ts.Session().run(model.loss, feed)  # noqa: E731
    for name in ("W1", "b2"):
        variable = model.variables[name].value
        numeric = np.zeros_like(variable)
        for index in np.ndindex(variable.shape):
            kept = variable[index]
            variable[index] = kept + 1e-6
            up = loss()
            variable[index] = kept - 1e-6
            down = loss()
            variable[index] = kept
            numeric[index] = (up - down) / 2e-6
        np.testing.assert_allclose(passed[name], numeric, rtol=1e-6, atol=1e-9)
        update = next(s for s in trace.update if s.variable == name)
        np.testing.assert_allclose(update.gradient, passed[name], rtol=1e-12, atol=1e-15)


def test_a_traced_mini_batch_step_trains_on_the_batch_the_untraced_step_would():
    training = TrainingSettings("momentum", 0.05, batch_size=16)
    run, twin = make_run(MLP, training, moons()), make_run(MLP, training, moons())
    run.train(5)
    twin.train(5)
    run.traced_step()
    twin.train(1)
    trace = run.snapshot().parts["trace"]
    assert trace.batch_size == 16 and run.position == twin.position
    for name, value in twin.weights().items():
        np.testing.assert_array_equal(run.weights()[name], value)
    velocity = next(s for s in trace.update if s.variable == "W1")
    np.testing.assert_allclose(velocity.state_after["velocity"],
                               0.9 * velocity.state_before["velocity"] + velocity.gradient)


def test_adam_shows_its_moments_from_the_first_step_on():
    run = make_run(PERCEPTRON, TrainingSettings("adam", 0.01))
    run.traced_step()
    trace = run.snapshot().parts["trace"]
    stage = trace.update[0]
    assert stage.state_before == {}
    assert set(stage.state_after) == {"m", "v", "t"} and int(stage.state_after["t"]) == 1
    walk = StepThrough(trace)
    while walk.frame().phase != "update":
        walk.next()
    text = walk.frame().text
    assert "t = 1" in text and "m = 0.9 × m + 0.1 × g" in text and "0.999 × v" in text
    m = stage.state_after["m"]
    assert f"{m[0, 0]:.4g}" in text  # the 2×2 moments in full


def test_a_small_matrix_is_written_out_so_the_update_can_be_checked_by_hand():
    run = make_run(PERCEPTRON)
    run.traced_step()
    trace = run.snapshot().parts["trace"]
    walk = StepThrough(trace)
    walk.position = len(walk) - len(trace.update)  # the first update: W1
    frame = walk.frame()
    stage = trace.update[0]
    assert frame.node == stage.variable == "W1"
    for array in (stage.value, stage.gradient, stage.new_value):
        assert all(f"{v:.4g}" in frame.text for v in array.ravel())


def test_the_trace_knows_every_nodes_value_and_gradient_and_summarizes_them():
    run = make_run(MLP, TrainingSettings("gradient_descent", 0.1, regularization="l2"))
    run.traced_step()
    trace = run.snapshot().parts["trace"]
    values, gradients = trace.values(), trace.gradients()
    assert list(values) == trace.outline.names == list(trace.summaries)
    for stage in trace.update:
        np.testing.assert_allclose(gradients[stage.variable], stage.gradient, rtol=1e-12)
    assert gradients["probabilities"] is None
    assert trace.summaries["probabilities"].gradient.startswith("none")
    assert "value" in trace.summaries["z1"].histograms  # 100×4: too big to write out


def test_step_through_walks_forward_then_backward_then_update_and_back():
    run = make_run(PERCEPTRON)
    run.traced_step()
    trace = run.snapshot().parts["trace"]
    walk = StepThrough(trace)
    assert len(walk) == len(trace.forward) + len(trace.backward) + len(trace.update)
    assert not walk.previous()
    frames = [walk.frame()]
    while walk.next():
        frames.append(walk.frame())
    assert [f.phase for f in frames] == sorted((f.phase for f in frames), key=PHASES.index)
    assert frames[0].node == "x" and "fed" in frames[0].text
    backward = [f for f in frames if f.phase == "backward"]
    assert backward[-1].lit == tuple(s.node for s in trace.backward)
    assert ("W1", "matmul1") in backward[-1].edge_labels
    last = frames[-1]
    assert last.phase == "update" and "0.1 ×" in last.text
    assert walk.previous() and walk.frame() == frames[-2]


def test_the_graph_part_has_every_nodes_value_and_gradient():
    run = make_run(MLP, TrainingSettings("gradient_descent", 0.1, regularization="l1"))
    run.train(2)
    values = run.snapshot({"graph": None}).parts["graph"]
    assert list(values.values) == values.outline.names == [n.name for n in run.model.nodes()]
    loss = ts.Session().run(run.model.loss, run._feed)
    expected = ts.compute_gradients(run.model.loss)
    np.testing.assert_allclose(values.gradients["W1"], expected[run.model.variables["W1"]])
    assert values.gradients["probabilities"] is None  # the loss does not depend on it
    assert values.values["loss_with_penalty"] == loss
    assert values.outline.node("z1").shape == (run.point_count, 4)


def test_a_workspace_step_through_takes_one_step_and_its_snapshot_brings_the_trace():
    workspace = Workspace()
    workspace.attach(InlineRunner(workspace, parts=("checkpoint",)))
    workspace.step(trace=True)
    assert workspace.latest.step == 1 and "trace" in workspace.latest.parts
    workspace.step()
    assert workspace.latest.step == 2 and "trace" not in workspace.latest.parts
