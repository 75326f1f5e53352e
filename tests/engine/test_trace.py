"""What a graph view reads: the gradient's flow op by op (trace_gradients) and the gradients
a training step applied (minimization.last_gradients)."""

import itertools

import numpy as np
import pytest
from gradcheck import assert_gradient_close, numeric_gradient

import engine as ts
from engine.graph import topological_order


def _data(n, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 2))
    return x.astype(dtype), np.eye(2, dtype=dtype)[(x[:, 0] * x[:, 1] > 0).astype(int)]


def _perceptron(dtype=np.float64):
    """x @ W + b into softmax_cross_entropy: (X, C, variables, loss)."""
    rng = np.random.default_rng(1)
    X, C = ts.placeholder(dtype=dtype), ts.placeholder(dtype=dtype)
    W = ts.Variable(rng.standard_normal((2, 2)).astype(dtype))
    b = ts.Variable(rng.standard_normal(2).astype(dtype))
    return X, C, [W, b], ts.softmax_cross_entropy(X @ W + b, C)


def _mlp(dtype=np.float64, sizes=(2, 5, 4, 2), l2=0.01):
    """Two tanh hidden layers and softmax_cross_entropy, plus l2 · Σ W² over the weights:
    each weight feeds its layer and the L2 term. (X, C, variables, loss)."""
    rng = np.random.default_rng(2)
    X, C = ts.placeholder(dtype=dtype), ts.placeholder(dtype=dtype)
    variables, h, penalty = [], X, None
    for i, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes)):
        w = ts.Variable((rng.standard_normal((fan_in, fan_out)) / np.sqrt(fan_in)).astype(dtype))
        b = ts.Variable((rng.standard_normal(fan_out) * 0.1).astype(dtype))
        variables += [w, b]
        h = h @ w + b
        if i + 2 < len(sizes):
            h = ts.tanh(h)
        term = ts.reduce_sum(ts.square(w))
        penalty = term if penalty is None else penalty + term
    return X, C, variables, ts.softmax_cross_entropy(h, C) + l2 * penalty


MODELS = {"perceptron": _perceptron, "mlp with l2": _mlp}


def _ops(loss):
    return [n for n in topological_order([loss]) if isinstance(n, ts.Operation)]


def _forward(session, loss, feed):
    """A forward pass fetching every op, so that each holds its own value (none fused)."""
    session.run(_ops(loss), feed)


def _received(flows):
    """The sum of what each node's consumers passed to it, by node."""
    totals = {}
    for flow in flows:
        for node, grad in flow.passed:
            totals[node] = grad if node not in totals else totals[node] + grad
    return totals


@pytest.mark.parametrize("model", MODELS)
def test_the_trace_runs_over_the_ops_on_a_path_to_the_loss_inputs_last(model):
    with ts.Graph().as_default():
        X, C, variables, loss = MODELS[model]()
        ts.square(variables[0])  # off the path to the loss: not traced
    x, c = _data(10)
    _forward(ts.Session(), loss, {X: x, C: c})
    flows = ts.trace_gradients(loss)
    position = {flow.op: i for i, flow in enumerate(flows)}
    assert len(position) == len(flows)
    assert set(position) == set(_ops(loss))
    assert flows[0].op is loss
    for flow in flows:
        for node in flow.op.input_nodes:
            if isinstance(node, ts.Operation):
                assert position[node] > position[flow.op], f"{node!r} before {flow.op!r}"


@pytest.mark.parametrize("model", MODELS)
def test_each_flow_holds_its_ops_gradient_and_the_passed_parts_sum_to_each_nodes(model):
    with ts.Graph().as_default():
        X, C, _, loss = MODELS[model]()
    x, c = _data(10)
    _forward(ts.Session(), loss, {X: x, C: c})
    flows = ts.trace_gradients(loss)
    grads = ts.compute_gradients(loss)
    for flow in flows:
        np.testing.assert_allclose(flow.gradient, grads[flow.op], rtol=1e-12, atol=0)
        assert [node for node, _ in flow.passed] == flow.op.input_nodes
    received = _received(flows)
    assert set(received) == set(grads) - {loss}
    for node, total in received.items():
        np.testing.assert_allclose(total, grads[node], rtol=1e-12, atol=1e-15, err_msg=repr(node))


@pytest.mark.parametrize("model", MODELS)
def test_what_the_trace_passes_to_the_variables_matches_finite_differences(model):
    with ts.Graph().as_default():
        X, C, variables, loss = MODELS[model]()
    x, c = _data(10)
    session, feed = ts.Session(), {X: x, C: c}
    _forward(session, loss, feed)
    received = _received(ts.trace_gradients(loss))
    for variable in variables:
        expected = numeric_gradient(session, loss, variable, feed)
        assert_gradient_close(received[variable], expected, variable.name)


@pytest.mark.parametrize("other_consumer", [False, True], ids=["log only", "log and square"])
def test_a_log_of_a_softmax_passes_its_gradient_to_the_softmaxs_input(other_consumer):
    """The sweep fuses log(softmax(z)) into one step: the flow goes from the log to z, and
    the softmax passes on only what its other consumers sent it."""
    rng = np.random.default_rng(3)
    with ts.Graph().as_default():
        X, C = ts.placeholder(), ts.placeholder()
        W, b = ts.Variable(rng.standard_normal((2, 2))), ts.Variable(rng.standard_normal(2))
        z = X @ W + b
        p = ts.softmax(z)
        log_p = ts.log(p)
        loss = ts.negative(ts.reduce_sum(ts.multiply(C, log_p)))
        if other_consumer:
            loss = loss + ts.reduce_sum(ts.square(p))
    x, c = _data(10)
    session, feed = ts.Session(), {X: x, C: c}
    _forward(session, loss, feed)
    flows = {flow.op: flow for flow in ts.trace_gradients(loss)}
    grads = ts.compute_gradients(loss)
    ((target, sent),) = flows[log_p].passed
    assert target is z
    softmax_flow = flows[p]
    if other_consumer:
        np.testing.assert_allclose(sent + softmax_flow.passed[0][1], grads[z], rtol=1e-12)
    else:
        assert softmax_flow.gradient is None and softmax_flow.passed == ()
        np.testing.assert_allclose(sent, grads[z], rtol=1e-12)
    received = _received(flows.values())
    assert_gradient_close(received[W], numeric_gradient(session, loss, W, feed), "W")


def _step_checked(session, train, loss, variables, feed, rate):
    """One training step, checking last_gradients against compute_gradients at the weights
    it started from and against the update it made; returns last_gradients."""
    _forward(session, loss, feed)
    expected = {v: ts.compute_gradients(loss)[v] for v in variables}
    before = [v.value.copy() for v in variables]
    session.run(train, feed)
    applied = train.last_gradients()
    assert set(applied) == set(variables)
    for variable, old in zip(variables, before, strict=True):
        grad = applied[variable]
        assert grad.dtype == variable.value.dtype and grad.shape == variable.value.shape
        np.testing.assert_allclose(old - rate * grad, variable.value, rtol=1e-12, atol=0)
        np.testing.assert_allclose(grad, expected[variable], rtol=1e-9, atol=1e-12)
    return applied


def _kernel_types(session):
    return {
        type(kernel).__name__
        for plan in session._plans.values()
        for program in plan._programs.values()
        for kernel in program.kernels
    }


def test_last_gradients_is_empty_before_the_first_step():
    with ts.Graph().as_default():
        _, _, _, loss = _mlp()
        train = ts.GradientDescentOptimizer(0.5).minimize(loss)
    assert train.last_gradients() == {}


@pytest.mark.parametrize("model", MODELS)
def test_last_gradients_are_what_the_step_applied_with_fused_layers(model):
    with ts.Graph().as_default():
        X, C, variables, loss = MODELS[model]()
        train = ts.GradientDescentOptimizer(0.5).minimize(loss)
    x, c = _data(12)
    session = ts.Session()
    for _ in range(3):  # the first run prepares the kernels, the next ones replay them
        _step_checked(session, train, loss, variables, {X: x, C: c}, 0.5)
    assert "DenseGradientKernel" in _kernel_types(session)


def test_last_gradients_follow_a_short_last_batch_and_back():
    """Each batch shape has its own program, whose gradients are kept apart."""
    with ts.Graph().as_default():
        X, C, variables, loss = _mlp()
        train = ts.GradientDescentOptimizer(0.5).minimize(loss)
    x, c = _data(12)
    session = ts.Session()
    full, short = {X: x[:8], C: c[:8]}, {X: x[8:], C: c[8:]}
    for feed in (full, short, full, short):
        _step_checked(session, train, loss, variables, feed, 0.5)
    assert len(session._plans[id(train)]._programs) == 2


def test_last_gradients_are_float32_for_float32_variables():
    with ts.Graph().as_default():
        X, C, variables, loss = _mlp(dtype=np.float32)
        train = ts.GradientDescentOptimizer(0.5).minimize(loss)
    x, c = _data(12, dtype=np.float32)
    session = ts.Session()
    for _ in range(2):
        before = [v.value.copy() for v in variables]
        session.run(train, {X: x, C: c})
        applied = train.last_gradients()
        for variable, old in zip(variables, before, strict=True):
            assert applied[variable].dtype == np.float32
            np.testing.assert_allclose(old - 0.5 * applied[variable], variable.value, rtol=1e-6)


def test_last_gradients_are_copies():
    """Changing them changes nothing, and the next step does not change them either."""
    with ts.Graph().as_default():
        X, C, variables, loss = _mlp()
        train = ts.GradientDescentOptimizer(0.5).minimize(loss)
    x, c = _data(12)
    session, feed = ts.Session(), {X: x, C: c}
    session.run(train, feed)
    first = train.last_gradients()
    kept = {v: g.copy() for v, g in first.items()}
    for grad in first.values():
        grad[...] = np.nan
    for variable, grad in train.last_gradients().items():
        np.testing.assert_array_equal(grad, kept[variable])
    second = train.last_gradients()
    _step_checked(session, train, loss, variables, feed, 0.5)
    for variable, grad in second.items():
        np.testing.assert_array_equal(grad, kept[variable])
