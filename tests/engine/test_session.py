"""Session.run: feeds, fetches, cached plans, dtypes, errors and copies of results."""

import re

import numpy as np
import pytest

import engine as ts
from engine import plans as plans_module


def test_feeds_accept_nested_lists_and_fetch_shapes_follow_the_request():
    with ts.Graph().as_default():
        X = ts.placeholder()
        W = ts.Variable([[1.0, 0.0], [0.0, 2.0]])
        y = ts.matmul(X, W)
        total = ts.reduce_sum(y)
    session = ts.Session()
    feed = {X: [[1, 2], [3, 4]]}
    single = session.run(y, feed)
    np.testing.assert_array_equal(single, [[1.0, 4.0], [3.0, 8.0]])
    listed = session.run([y, total], feed)
    assert isinstance(listed, list) and len(listed) == 2
    np.testing.assert_array_equal(listed[0], single)
    assert listed[1] == 16.0
    assert isinstance(session.run((total,), feed), list)
    np.testing.assert_array_equal(session.run(W), W.value)


def test_fetching_something_that_is_not_a_node_is_a_type_error():
    with ts.Graph().as_default():
        w = ts.Variable(1.0)
    with pytest.raises(TypeError, match="graph nodes"):
        ts.Session().run([w, "w"])


def test_plans_are_built_once_per_fetch_set(monkeypatch):
    orders = []
    real = plans_module.topological_order

    def counting(fetches):
        orders.append(list(fetches))
        return real(fetches)

    monkeypatch.setattr(plans_module, "topological_order", counting)
    with ts.Graph().as_default():
        x = ts.placeholder()
        a, b = ts.square(x), ts.negative(x)
    session = ts.Session()
    for value in (1.0, 2.0, 3.0):
        assert session.run(a, {x: value}) == value**2
        assert session.run([a, b], {x: value}) == [value**2, -value]
    assert len(orders) == 2
    assert session.run([b, a], {x: 4.0}) == [-4.0, 16.0]
    assert len(orders) == 3


def test_a_cached_plan_never_answers_for_another_fetch_set():
    """Plans are keyed by node ids, which Python reuses once a node is freed."""
    session = ts.Session()
    for i in range(200):
        with ts.Graph().as_default():
            node = ts.add(ts.constant(float(i)), 1.0)
        assert session.run(node) == i + 1
        del node


def test_nodes_added_after_a_run_are_computed_and_old_plans_still_work():
    with ts.Graph().as_default():
        x = ts.placeholder()
        y = ts.square(x)
        session = ts.Session()
        assert session.run(y, {x: 3.0}) == 9.0
        z = ts.add(y, x)
    assert session.run(z, {x: 3.0}) == 12.0
    assert session.run(y, {x: 2.0}) == 4.0


def test_float32_placeholders_keep_an_mlp_in_float32():
    rng = np.random.default_rng(0)
    f32 = np.float32
    with ts.Graph().as_default():
        X, C = ts.placeholder(dtype=f32), ts.placeholder(dtype=f32)
        W1 = ts.Variable(rng.standard_normal((2, 8)).astype(f32))
        b1 = ts.Variable(np.zeros(8, f32))
        W2 = ts.Variable(rng.standard_normal((8, 2)).astype(f32))
        b2 = ts.Variable(np.zeros(2, f32))
        hidden = ts.tanh(ts.add(ts.matmul(X, W1), b1))
        logits = ts.add(ts.matmul(hidden, W2), b2)
        mean_loss = ts.softmax_cross_entropy(logits, C)
        squared_error = ts.square(ts.subtract(ts.softmax(logits), C))
        summed_loss = ts.reduce_mean(ts.reduce_sum(squared_error, axis=1))
        trains = [ts.AdamOptimizer(0.01).minimize(loss) for loss in (mean_loss, summed_loss)]
    feed = {X: rng.standard_normal((16, 2)), C: np.eye(2)[rng.integers(0, 2, 16)]}
    session = ts.Session()
    for loss, train in zip((mean_loss, summed_loss), trains, strict=True):
        value, hidden_value = session.run([loss, hidden], feed)
        assert np.asarray(value).dtype == f32 and hidden_value.dtype == f32
        grads = ts.compute_gradients(loss)
        for variable in (W1, b1, W2, b2):
            assert grads[variable].dtype == f32, variable.name
        session.run([train, loss], feed)
        for variable in (W1, b1, W2, b2):
            assert variable.value.dtype == f32, variable.name


def test_a_missing_placeholder_is_named():
    with ts.Graph().as_default():
        points = ts.placeholder(name="points")
        y = ts.square(points)
    with pytest.raises(KeyError, match="'points'"):
        ts.Session().run(y)
    with pytest.raises(KeyError, match="placeholder_"), ts.Graph().as_default():
        ts.Session().run(ts.negative(ts.placeholder()), {})


@pytest.mark.parametrize(
    ("op", "shape_a", "shape_b"),
    [
        (ts.matmul, (3, 2), (4, 5)),
        (ts.add, (3, 2), (4, 5)),
        (ts.subtract, (3,), (4,)),
        (ts.multiply, (2, 3), (3, 2)),
    ],
)
def test_shape_mismatches_name_both_shapes_and_the_op(op, shape_a, shape_b):
    with ts.Graph().as_default():
        node = op(ts.placeholder(), ts.placeholder(), name="layer")
        a, b = node.input_nodes
    with pytest.raises(ValueError) as raised:
        ts.Session().run(node, {a: np.ones(shape_a), b: np.ones(shape_b)})
    message = str(raised.value)
    for part in (str(shape_a), str(shape_b), "'layer'"):
        assert part in message


def test_a_buffered_op_accepts_new_shapes_between_runs():
    with ts.Graph().as_default():
        a, b = ts.placeholder(), ts.placeholder()
        total, product = ts.add(a, b), ts.matmul(a, b)
    session = ts.Session()
    shapes = [((3, 3), (3, 3)), ((3, 3), (3,)), ((3,), (3, 3)), ((2, 3), (2, 1)), ((), (2, 3))]
    for shape_a, shape_b in shapes:
        x, y = np.ones(shape_a), np.full(shape_b, 2.0)
        np.testing.assert_array_equal(session.run(total, {a: x, b: y}), x + y)
    x, y = np.ones((2, 3)), np.ones((3, 4))
    np.testing.assert_array_equal(session.run(product, {a: x, b: y}), x @ y)
    with pytest.raises(ValueError, match=re.escape("(3, 4) and (2, 3)")):
        session.run(product, {a: y, b: x})


def test_errors_from_inside_an_op_say_which_op():
    class fragile(ts.Operation):
        def __init__(self, a, name):
            super().__init__([a], name)

        def compute(self, a_value):
            raise ZeroDivisionError("boom")

    with ts.Graph().as_default():
        node = fragile(ts.constant(1.0), "fragile_layer")
    with pytest.raises(ZeroDivisionError) as raised:
        ts.Session().run(node)
    assert any("fragile_layer" in note for note in raised.value.__notes__)


def test_fetched_values_do_not_alias_variables_or_op_buffers():
    """Results handed out must not change when later runs update variables and buffers."""
    rng = np.random.default_rng(0)
    with ts.Graph().as_default():
        X, C = ts.placeholder(), ts.placeholder()
        W = ts.Variable(rng.standard_normal((2, 2)))
        b = ts.Variable(rng.standard_normal(2))
        z = ts.add(ts.matmul(X, W), b)
        p = ts.softmax(z)
        loss = ts.negative(ts.reduce_sum(ts.multiply(C, ts.log(p))))
        train = ts.GradientDescentOptimizer(0.1).minimize(loss)
    feed = {X: rng.standard_normal((5, 2)), C: np.eye(2)[[0, 1, 0, 1, 1]]}
    session = ts.Session()
    kept_w, kept_z, kept_p = session.run([W, z, p], feed)
    copies = [kept_w.copy(), kept_z.copy(), kept_p.copy()]
    kept_b = session.run(b)
    b_copy = kept_b.copy()
    for _ in range(3):
        session.run([train, loss], {X: rng.standard_normal((5, 2)), C: feed[C]})
    assert not np.array_equal(W.value, copies[0])
    for kept, copy in zip((kept_w, kept_z, kept_p, kept_b), (*copies, b_copy), strict=True):
        np.testing.assert_array_equal(kept, copy)


def test_fetches_can_be_any_iterable_of_nodes():
    with ts.Graph().as_default():
        a, b = ts.constant(1.0), ts.constant(2.0)
    session = ts.Session()
    assert session.run(n for n in (a, b)) == [1.0, 2.0]
    assert session.run(iter([b, a])) == [2.0, 1.0]
