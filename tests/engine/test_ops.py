"""Every op's gradient against central finite differences, plus each op's forward values."""

import numpy as np
import pytest
from gradcheck import SETTINGS, check_gradients, dims, seeds
from hypothesis import given

import engine as ts


def _normal(seed: int, *shape: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


def _away_from_zero(seed: int, *shape: int) -> np.ndarray:
    """Values at least 0.1 from 0, where relu's kink would spoil finite differences."""
    x = _normal(seed, *shape)
    return np.where(x < 0, x - 0.1, x + 0.1)


def _positive(seed: int, *shape: int) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0.5, 2, shape)


BROADCASTS = {
    "same": lambda n, k: ((n, k), (n, k)),
    "matrix+row": lambda n, k: ((n, k), (k,)),
    "row+matrix": lambda n, k: ((k,), (n, k)),
    "matrix+keepdims row": lambda n, k: ((n, k), (1, k)),
    "matrix+column": lambda n, k: ((n, k), (n, 1)),
    "scalar+matrix": lambda n, k: ((), (n, k)),
    "matrix+scalar": lambda n, k: ((n, k), ()),
}
BINARY = {
    "add": (ts.add, np.add),
    "subtract": (ts.subtract, np.subtract),
    "multiply": (ts.multiply, np.multiply),
}


@pytest.mark.parametrize("name", BINARY)
@pytest.mark.parametrize("broadcast", BROADCASTS)
@SETTINGS
@given(n=dims, k=dims, seed=seeds)
def test_binary_op_gradients_with_broadcasting(name, broadcast, n, k, seed):
    op, reference = BINARY[name]
    shape_a, shape_b = BROADCASTS[broadcast](n, k)
    a, b = _normal(seed, *shape_a), _normal(seed + 1, *shape_b)
    with ts.Graph().as_default():
        out = op(a, b)
        np.testing.assert_allclose(ts.Session().run(out), reference(a, b))
    check_gradients(op, a, b, seed=seed)


def test_add_gradient_broadcasting_sums_over_broadcast_axes():
    """The tutorial's add gradient: a bias broadcast over rows gets the column sums, on
    either side of the add."""
    x, bias, weights = _normal(0, 4, 3), _normal(1, 3), _normal(2, 4, 3)
    for build in (lambda x, b: ts.add(x, b), lambda x, b: ts.add(b, x)):
        with ts.Graph().as_default():
            X, B = ts.Variable(x), ts.Variable(bias)
            loss = ts.reduce_sum(ts.multiply(build(X, B), weights))
        ts.Session().run(loss)
        grads = ts.compute_gradients(loss)
        np.testing.assert_allclose(grads[B], weights.sum(axis=0), rtol=1e-12)
        np.testing.assert_allclose(grads[X], weights, rtol=1e-12)
        check_gradients(build, x, bias)


@SETTINGS
@given(n=dims, k=dims, m=dims, seed=seeds)
def test_matmul_gradient(n, k, m, seed):
    a, b = _normal(seed, n, k), _normal(seed + 1, k, m)
    with ts.Graph().as_default():
        np.testing.assert_allclose(ts.Session().run(ts.matmul(a, b)), a @ b)
    check_gradients(ts.matmul, a, b, seed=seed)


@pytest.mark.parametrize(
    ("shape_a", "shape_b"),
    [((3,), (3, 2)), ((2, 3), (3,)), ((3,), (3,)), ((4, 2, 3), (3, 2)), ((2, 3), (4, 3, 2))],
)
def test_matmul_gradient_for_vectors_and_stacks(shape_a, shape_b):
    check_gradients(ts.matmul, _normal(0, *shape_a), _normal(1, *shape_b))


UNARY = {
    "negative": (ts.negative, np.negative, _normal),
    "square": (ts.square, np.square, _normal),
    "exp": (ts.exp, np.exp, _normal),
    "log": (ts.log, np.log, _positive),
    "sigmoid": (ts.sigmoid, lambda x: 1 / (1 + np.exp(-x)), _normal),
    "tanh": (ts.tanh, np.tanh, _normal),
    "relu": (ts.relu, lambda x: np.maximum(x, 0), _away_from_zero),
    "abs": (ts.abs, np.abs, _away_from_zero),
    "softmax": (
        ts.softmax,
        lambda x: np.exp(x) / np.exp(x).sum(axis=-1, keepdims=True),
        _normal,
    ),
}


@pytest.mark.parametrize("name", UNARY)
@SETTINGS
@given(n=dims, k=dims, seed=seeds)
def test_unary_op_gradients(name, n, k, seed):
    op, reference, sample = UNARY[name]
    x = sample(seed, n, k)
    with ts.Graph().as_default():
        np.testing.assert_allclose(ts.Session().run(op(x)), reference(x), rtol=1e-12, atol=1e-14)
    check_gradients(op, x, seed=seed)


def test_sigmoid_is_finite_and_saturates_for_huge_inputs():
    with ts.Graph().as_default():
        value = ts.Session().run(ts.sigmoid(np.array([-1e4, 0.0, 1e4])))
    np.testing.assert_array_equal(value, [0.0, 0.5, 1.0])


REDUCTIONS = {"reduce_sum": (ts.reduce_sum, np.sum), "reduce_mean": (ts.reduce_mean, np.mean)}


@pytest.mark.parametrize("name", REDUCTIONS)
@pytest.mark.parametrize("axis", [None, 0, 1, -1])
@SETTINGS
@given(n=dims, k=dims, seed=seeds)
def test_reduction_gradients(name, axis, n, k, seed):
    op, reference = REDUCTIONS[name]
    x = _normal(seed, n, k)
    with ts.Graph().as_default():
        np.testing.assert_allclose(ts.Session().run(op(x, axis=axis)), reference(x, axis=axis))
    check_gradients(lambda v: op(v, axis=axis), x, seed=seed)


@pytest.mark.parametrize("name", REDUCTIONS)
@pytest.mark.parametrize("axis", [(0, 2), 1, None])
def test_reduction_gradients_on_three_axes(name, axis):
    op, reference = REDUCTIONS[name]
    x = _normal(0, 2, 3, 4)
    with ts.Graph().as_default():
        np.testing.assert_allclose(ts.Session().run(op(x, axis=axis)), reference(x, axis=axis))
    check_gradients(lambda v: op(v, axis=axis), x)


@SETTINGS
@given(n=dims, k=dims, seed=seeds)
def test_softmax_cross_entropy_gradients_wrt_logits_and_labels(n, k, seed):
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal((n, k))
    labels = rng.uniform(0, 1, (n, k))  # soft, unnormalised labels exercise both gradients
    with ts.Graph().as_default():
        value = ts.Session().run(ts.softmax_cross_entropy(logits, labels))
    log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(value, -(labels * log_p).sum() / n, rtol=1e-12, atol=1e-14)
    check_gradients(ts.softmax_cross_entropy, logits, labels, seed=seed)


SHARED = {
    "x*x": lambda x: ts.multiply(x, x),
    "(x+W)@W": lambda x, w: ts.matmul(ts.add(x, w), w),
    "x*W + x": lambda x, w: ts.add(ts.multiply(x, w), x),
    "softmax(x) * x": lambda x: ts.multiply(ts.softmax(x), x),
    "log(softmax(x)) - softmax(W)": lambda x, w: ts.subtract(ts.log(ts.softmax(x)), ts.softmax(w)),
    "log(softmax(x)) * softmax(x)": lambda x: ts.multiply(ts.log(ts.softmax(x)), ts.softmax(x)),
}


@pytest.mark.parametrize("name", SHARED)
@SETTINGS
@given(k=dims, seed=seeds)
def test_shared_subexpression_gradients(name, k, seed):
    """A node used twice gets both paths' gradients, each counted once."""
    build = SHARED[name]
    arrays = [_normal(seed + i, k, k) for i in range(build.__code__.co_argcount)]
    check_gradients(build, *arrays, seed=seed)


def test_log_and_softmax_sharing_one_softmax_node():
    """The softmax feeds both a log and another consumer: both paths reach the logits."""

    def build(x):
        p = ts.softmax(x)
        return ts.add(ts.log(p), ts.square(p))

    check_gradients(build, _normal(0, 3, 4))


def test_softmax_of_huge_logits_is_finite_and_correct():
    """The tutorial's softmax exponentiated raw logits: e^1000 is inf, inf / inf is nan."""
    with ts.Graph().as_default():
        p = ts.softmax(np.array([[1000.0, 0.0], [-1000.0, 1000.0], [1000.0, 1000.0]]))
        np.testing.assert_array_equal(ts.Session().run(p), [[1, 0], [0, 1], [0.5, 0.5]])


def test_softmax_cross_entropy_of_huge_logits_has_finite_value_and_gradient():
    logits = np.array([[1e4, -1e4], [-1e4, 1e4]])
    labels = np.array([[0.0, 1.0], [1.0, 0.0]])  # confidently wrong: the largest loss
    with ts.Graph().as_default():
        z = ts.Variable(logits)
        loss = ts.softmax_cross_entropy(z, labels)
        train = ts.GradientDescentOptimizer(learning_rate=1.0).minimize(loss)
    session = ts.Session()
    assert session.run(loss) == pytest.approx(2e4)
    np.testing.assert_allclose(ts.compute_gradients(loss)[z], [[0.5, -0.5], [-0.5, 0.5]])
    session.run(train)
    np.testing.assert_allclose(z.value, logits - [[0.5, -0.5], [-0.5, 0.5]])


def test_log_of_softmax_of_huge_logits_is_finite_forward_and_backward():
    """log(p) of an underflowed probability was -inf (or clamped and wrong) and its
    gradient 1/p overflowed; the log of a softmax is now a log-softmax."""
    logits = np.array([[1000.0, 0.0], [-1000.0, 1000.0]])
    labels = np.array([[0.0, 1.0], [1.0, 0.0]])
    with ts.Graph().as_default():
        z = ts.Variable(logits)
        log_p = ts.log(ts.softmax(z))
        loss = ts.negative(ts.reduce_sum(ts.multiply(labels, log_p)))
        train = ts.GradientDescentOptimizer(learning_rate=1.0).minimize(loss)
    session = ts.Session()
    np.testing.assert_array_equal(session.run(log_p), [[0.0, -1000.0], [-2000.0, 0.0]])
    assert session.run(loss) == 3000.0
    expected = [[1.0, -1.0], [-1.0, 1.0]]  # softmax − labels
    np.testing.assert_array_equal(ts.compute_gradients(loss)[z], expected)
    session.run(train)
    np.testing.assert_array_equal(z.value, logits - expected)


def test_log_still_clamps_zero_to_a_finite_value():
    with ts.Graph().as_default():
        value = ts.Session().run(ts.log(np.array([0.0, 1.0])))
    assert np.isfinite(value).all() and value[1] == 0.0


def test_softmax_and_its_log_accept_integer_logits():
    with ts.Graph().as_default():
        p = ts.softmax([[1, 2, 3], [0, 0, 0]])
        log_p = ts.log(p)
        p_value, log_p_value = ts.Session().run([p, log_p])
    expected = np.exp([1, 2, 3]) / np.exp([1, 2, 3]).sum()
    np.testing.assert_allclose(p_value, [expected, [1 / 3] * 3], rtol=1e-12)
    np.testing.assert_allclose(log_p_value, np.log(p_value), rtol=1e-12)


def test_softmax_cross_entropy_accepts_integer_logits():
    with ts.Graph().as_default():
        z, c = ts.placeholder(), ts.placeholder()
        loss = ts.softmax_cross_entropy(z, c)
        got = ts.Session().run(loss, {z: np.array([[2, 0], [0, 3]]), c: [[1, 0], [0, 1]]})
    expected = np.mean([np.log1p(np.exp(-2.0)), np.log1p(np.exp(-3.0))])
    assert np.isclose(got, expected)


def test_softmax_cross_entropy_of_a_perfect_fit_is_positive_zero():
    with ts.Graph().as_default():
        loss = ts.softmax_cross_entropy(np.array([[0.0, -1e4]]), np.array([[1.0, 0.0]]))
        value = ts.Session().run(loss)
    assert value == 0.0 and not np.signbit(value)
