"""Optimizers: updates against hand-written numpy, the minimize op's forward pass, the tutorial."""

import numpy as np
import pytest

import engine as ts

# A convex quadratic: loss(W) = Σ (A W − Y)², gradient 2 Aᵀ (A W − Y).
_RNG = np.random.default_rng(0)
A, Y, W0 = _RNG.standard_normal((6, 3)), _RNG.standard_normal((6, 2)), _RNG.standard_normal((3, 2))


def _quadratic_gradient(w: np.ndarray) -> np.ndarray:
    return 2 * A.T @ (A @ w - Y)


def _quadratic_loss(w: np.ndarray) -> float:
    return float(np.sum((A @ w - Y) ** 2))


def _gradient_descent(rates):
    w = W0.copy()
    for rate in rates:
        w = w - rate * _quadratic_gradient(w)
        yield w


def _momentum(rates, momentum=0.9):
    w, velocity = W0.copy(), np.zeros_like(W0)
    for rate in rates:
        velocity = momentum * velocity + _quadratic_gradient(w)
        w = w - rate * velocity
        yield w


def _adam(rates, beta1=0.9, beta2=0.999, epsilon=1e-8):
    """TensorFlow 1's formulation: the bias corrections folded into the step size."""
    w, m, v = W0.copy(), np.zeros_like(W0), np.zeros_like(W0)
    for t, rate in enumerate(rates, start=1):
        g = _quadratic_gradient(w)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        step = rate * np.sqrt(1 - beta2**t) / (1 - beta1**t)
        w = w - step * m / (np.sqrt(v) + epsilon)
        yield w


OPTIMIZERS = {
    "gradient descent": (ts.GradientDescentOptimizer, _gradient_descent, 0.01),
    "momentum": (ts.MomentumOptimizer, _momentum, 0.01),
    "adam": (ts.AdamOptimizer, _adam, 0.1),
}


def _quadratic(optimizer):
    with ts.Graph().as_default():
        W = ts.Variable(W0)
        loss = ts.reduce_sum(ts.square(ts.subtract(ts.matmul(ts.constant(A), W), Y)))
        train = optimizer.minimize(loss)
    return W, loss, train


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_optimizer_matches_a_hand_written_update_and_decreases_the_loss(name):
    make, reference, rate = OPTIMIZERS[name]
    W, loss, train = _quadratic(make(learning_rate=rate))
    session = ts.Session()
    losses = []
    for expected in reference([rate] * 3):
        losses.append(session.run([train, loss])[1])
        np.testing.assert_allclose(W.value, expected, rtol=1e-12, atol=1e-12)
    losses.append(session.run(loss))
    assert losses == sorted(losses, reverse=True) and losses[-1] < losses[0]
    assert losses[0] == pytest.approx(_quadratic_loss(W0))


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_a_changed_learning_rate_takes_effect_on_the_next_step(name):
    make, reference, rate = OPTIMIZERS[name]
    optimizer = make(learning_rate=rate)
    W, _, train = _quadratic(optimizer)
    session = ts.Session()
    rates = [rate, rate / 10, 0.0, rate * 2]
    for new_rate, expected in zip(rates, reference(rates), strict=True):
        optimizer.learning_rate = new_rate
        session.run(train)
        np.testing.assert_allclose(W.value, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_reset_state_after_rolling_the_weights_back_restarts_the_run(name):
    """The app rolls back a diverged run this way: the next step is a first step again."""
    make, reference, rate = OPTIMIZERS[name]
    W, _, train = _quadratic(make(learning_rate=rate))
    session = ts.Session()
    session.run(train)
    session.run(train)
    train.reset_state()
    W.value[...] = W0
    session.run(train)
    np.testing.assert_allclose(W.value, next(reference([rate])), rtol=1e-12, atol=1e-12)


def test_var_list_limits_what_is_trained():
    with ts.Graph().as_default():
        a, b = ts.Variable([1.0, 2.0]), ts.Variable([3.0])
        unused = ts.Variable([5.0])
        loss = ts.add(ts.reduce_sum(ts.square(a)), ts.reduce_sum(ts.square(b)))
        train = ts.GradientDescentOptimizer(0.25).minimize(loss, var_list=[b, unused])
    ts.Session().run(train)
    np.testing.assert_array_equal(a.value, [1.0, 2.0])
    np.testing.assert_array_equal(b.value, [1.5])
    np.testing.assert_array_equal(unused.value, [5.0])


def _linear_model():
    with ts.Graph().as_default():
        X, y = ts.placeholder(), ts.placeholder()
        W = ts.Variable([[0.5], [-0.5]])
        loss = ts.reduce_sum(ts.square(ts.subtract(ts.matmul(X, W), y)))
        train = ts.GradientDescentOptimizer(learning_rate=0.1).minimize(loss)
    return X, y, W, loss, train


def test_minimize_runs_its_own_forward_pass_with_its_feed():
    """The tutorial's minimize op reused whatever forward pass ran last."""
    X, y, W, loss, train = _linear_model()
    first = {X: [[1.0, 0.0], [0.0, 1.0]], y: [[1.0], [2.0]]}
    second = {X: [[2.0, 1.0], [1.0, 3.0]], y: [[-1.0], [0.5]]}
    w = W.value.copy()
    x2, y2 = np.array(second[X]), np.array(second[y])
    expected = w - 0.1 * 2 * x2.T @ (x2 @ w - y2)
    session = ts.Session()
    session.run(loss, first)
    session.run(train, second)
    np.testing.assert_allclose(W.value, expected, rtol=1e-12)


def test_run_train_and_loss_computes_the_forward_pass_once_and_returns_the_loss_before_the_step(
    own_registry,
):
    calls = []

    class counted(ts.Operation):
        def __init__(self, a):
            super().__init__([a])

        def compute(self, a_value):
            calls.append(1)
            return a_value

    @ts.RegisterGradient("counted")
    def _counted_gradient(op, grad):
        return grad

    with ts.Graph().as_default():
        X, y = ts.placeholder(), ts.placeholder()
        W = ts.Variable([[0.5], [-0.5]])
        loss = ts.reduce_sum(ts.square(ts.subtract(counted(ts.matmul(X, W)), y)))
        train = ts.GradientDescentOptimizer(learning_rate=0.01).minimize(loss)
    feed = {X: [[1.0, 2.0], [3.0, 1.0]], y: [[1.0], [2.0]]}
    session = ts.Session()
    before = session.run(loss, feed)
    calls.clear()
    for fetches in ([train, loss], [loss, train]):
        values = session.run(fetches, feed)
        assert len(calls) == 1
        calls.clear()
        reported = values[fetches.index(loss)]
        assert reported == before
        after = session.run(loss, feed)
        calls.clear()
        assert after < before
        before = after


def _tutorial_perceptron(seed: int) -> list[float]:
    """The tutorial's perceptron, as it is written there, returning J before each step."""
    np.random.seed(seed)
    red_points = np.random.randn(50, 2) - 2 * np.ones((50, 2))
    blue_points = np.random.randn(50, 2) + 2 * np.ones((50, 2))

    ts.Graph().as_default()
    X = ts.placeholder()
    c = ts.placeholder()
    W = ts.Variable(np.random.randn(2, 2))
    b = ts.Variable(np.random.randn(2))
    p = ts.softmax(ts.add(ts.matmul(X, W), b))
    J = ts.negative(ts.reduce_sum(ts.reduce_sum(ts.multiply(c, ts.log(p)), axis=1)))
    minimization_op = ts.GradientDescentOptimizer(learning_rate=0.01).minimize(J)
    feed_dict = {
        X: np.concatenate((blue_points, red_points)),
        c: [[1, 0]] * len(blue_points) + [[0, 1]] * len(red_points),
    }
    session = ts.Session()
    losses = []
    for _step in range(100):
        losses.append(session.run(J, feed_dict))
        session.run(minimization_op, feed_dict)
    losses.append(session.run(J, feed_dict))
    return losses


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_the_tutorials_perceptron_trains(seed, fresh_default):
    losses = _tutorial_perceptron(seed)
    assert all(np.isfinite(losses))
    assert losses[0] > 10 * losses[-1]
    assert losses[-1] < 1.0
