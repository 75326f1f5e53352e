"""Backpropagation: graph shapes the tutorial's version got wrong, and the gradient registry."""

import numpy as np
import pytest
from gradcheck import assert_gradient_close, numeric_gradient

import engine as ts


class accuracy(ts.Operation):
    """Share of rows whose most likely class is the labelled one; it has no gradient."""

    def __init__(self, probabilities, labels):
        super().__init__([probabilities, labels])

    def compute(self, probabilities, labels):
        return np.mean(probabilities.argmax(axis=1) == np.asarray(labels).argmax(axis=1))


def _blobs(seed: int, n: int = 20) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = np.concatenate([rng.standard_normal((n, 2)) - 2, rng.standard_normal((n, 2)) + 2])
    c = np.repeat([[1.0, 0.0], [0.0, 1.0]], n, axis=0)
    return x, c


def test_off_path_consumer_and_a_node_reached_at_two_depths():
    """An accuracy op hangs off the softmax and W feeds the loss directly and via the model.

    The tutorial's breadth-first backprop looked up every consumer's gradient, so the
    accuracy op raised KeyError; and it could pass W on before both paths had arrived.
    """
    x, c = _blobs(0)
    rng = np.random.default_rng(1)
    with ts.Graph().as_default():
        X, C = ts.placeholder(), ts.placeholder()
        W, b = ts.Variable(rng.standard_normal((2, 2))), ts.Variable(rng.standard_normal(2))
        p = ts.softmax(ts.add(ts.matmul(X, W), b))
        acc = accuracy(p, C)
        J = ts.negative(ts.reduce_sum(ts.reduce_sum(ts.multiply(C, ts.log(p)), axis=1)))
        loss = ts.add(J, ts.multiply(0.01, ts.reduce_sum(ts.square(W))))
        train = ts.GradientDescentOptimizer(learning_rate=1.0).minimize(loss)
    session, feed = ts.Session(), {X: x, C: c}
    assert 0 <= session.run(acc, feed) <= 1
    session.run(loss, feed)
    grads = ts.compute_gradients(loss)
    assert acc not in grads
    expected = {v: numeric_gradient(session, loss, v, feed) for v in (W, b)}
    for variable in (W, b):
        assert_gradient_close(grads[variable], expected[variable], variable.name)
    before = W.value.copy()
    session.run(train, feed)
    assert_gradient_close(W.value - before, -expected[W], "optimizer step")


def test_gradient_of_an_intermediate_softmax_that_a_log_consumes():
    """The log of a softmax backpropagates in one fused step; the softmax's own gradient
    is still reported in full, as if the softmax output were an input."""
    z = np.random.default_rng(2).standard_normal((3, 4))
    weights = np.random.default_rng(3).standard_normal((3, 4))

    def loss_of(p):
        return ts.reduce_sum(ts.multiply(ts.add(ts.log(p), ts.square(p)), weights))

    with ts.Graph().as_default():
        p = ts.softmax(ts.Variable(z))
        loss = loss_of(p)
        session = ts.Session()
        session.run(loss)
        reported = ts.compute_gradients(loss)[p]
        p_as_input = ts.Variable(session.run(p))
        loss_from_input = loss_of(p_as_input)
    session.run(loss_from_input)
    expected = numeric_gradient(session, loss_from_input, p_as_input)
    assert_gradient_close(reported, expected, "gradient w.r.t. the softmax output")


def test_user_defined_op_inside_a_function_gets_its_registered_gradient(own_registry):
    """The tutorial found gradient functions with eval(class name), which only sees globals."""

    class scaled_sine(ts.Operation):
        def __init__(self, a, b):
            super().__init__([a, b])

        def compute(self, a_value, b_value):
            return a_value * np.sin(b_value)

    @ts.RegisterGradient("scaled_sine")
    def _scaled_sine_gradient(op, grad):
        a, b = op.inputs
        return [grad * np.sin(b), grad * a * np.cos(b)]

    rng = np.random.default_rng(4)
    with ts.Graph().as_default():
        a, b = ts.Variable(rng.standard_normal(3)), ts.Variable(rng.standard_normal(3))
        loss = ts.reduce_sum(ts.square(scaled_sine(a, b)))
        train = ts.GradientDescentOptimizer(learning_rate=0.05).minimize(loss)
    session = ts.Session()
    start = session.run(loss)
    grads = ts.compute_gradients(loss)
    for variable in (a, b):
        expected = numeric_gradient(session, loss, variable)
        assert_gradient_close(grads[variable], expected, variable.name)
    for _ in range(5):
        session.run(train)
    assert session.run(loss) < start


def test_needed_flags_tell_a_gradient_which_inputs_to_compute(own_registry):
    """A gradient function that takes `needed` is told not to bother with a data input."""
    calls = []

    class scale(ts.Operation):
        def __init__(self, a, b):
            super().__init__([a, b])

        def compute(self, a_value, b_value):
            return a_value * b_value

    @ts.RegisterGradient("scale")
    def _scale_gradient(op, grad, needed):
        calls.append(needed)
        a, b = op.inputs
        return [grad * b if needed[0] else None, np.sum(grad * a) if needed[1] else None]

    with ts.Graph().as_default():
        x, w = ts.placeholder(), ts.Variable(2.0)
        loss = ts.reduce_sum(scale(x, w))
        train = ts.GradientDescentOptimizer(learning_rate=0.1).minimize(loss)
    ts.Session().run(train, {x: [1.0, 2.0, 3.0]})
    assert calls == [(False, True)]
    assert w.value == pytest.approx(2.0 - 0.1 * 6.0)


def test_gradient_through_an_op_without_one_names_the_op_type(own_registry):
    class mystery(ts.Operation):
        def __init__(self, a):
            super().__init__([a])

        def compute(self, a_value):
            return a_value

    with ts.Graph().as_default():
        w = ts.Variable([1.0, 2.0])
        loss = ts.reduce_sum(mystery(w))
    ts.Session().run(loss)
    with pytest.raises(LookupError, match="mystery"):
        ts.compute_gradients(loss)
    with pytest.raises(LookupError, match="mystery"), ts.Graph().as_default():
        ts.GradientDescentOptimizer(0.1).minimize(loss)


def test_registering_a_new_log_gradient_replaces_the_fused_log_softmax(own_registry):
    """A user's own gradient for log is used even under a softmax."""

    @ts.RegisterGradient("log")
    def _zero_log_gradient(op, grad):
        return grad * 0.0

    with ts.Graph().as_default():
        w = ts.Variable(np.array([[1.0, 2.0]]))
        loss = ts.reduce_sum(ts.log(ts.softmax(w)))
    ts.Session().run(loss)
    np.testing.assert_array_equal(ts.compute_gradients(loss)[w], [[0.0, 0.0]])


def test_register_gradient_needs_a_name():
    with pytest.raises(TypeError):
        ts.RegisterGradient(None)


def test_gradients_need_a_forward_pass_first():
    with ts.Graph().as_default():
        loss = ts.reduce_sum(ts.Variable([1.0, 2.0]))
    with pytest.raises(RuntimeError, match="forward pass"):
        ts.compute_gradients(loss)


def test_gradient_of_a_non_scalar_loss_sums_its_elements():
    with ts.Graph().as_default():
        w = ts.Variable([1.0, 2.0, 3.0])
        loss = ts.square(w)
    ts.Session().run(loss)
    np.testing.assert_allclose(ts.compute_gradients(loss)[w], [2.0, 4.0, 6.0])
