"""Graphs and nodes: the default graph, names, wiring and operator overloads."""

import numpy as np
import pytest

import engine as ts
from engine import ops


def test_bare_as_default_makes_the_graph_default_as_the_tutorial_writes_it(fresh_default):
    g = ts.Graph()
    assert g.as_default() is g
    x = ts.placeholder()
    assert ts.get_default_graph() is g
    assert x.graph is g and g.placeholders == [x]


def test_with_as_default_restores_the_previous_default(fresh_default):
    outer = ts.Graph().as_default()
    with ts.Graph().as_default() as inner:
        assert ts.get_default_graph() is inner
        w = ts.Variable(1.0)
        with ts.Graph() as innermost:
            assert ts.get_default_graph() is innermost
        assert ts.get_default_graph() is inner
    assert ts.get_default_graph() is outer
    assert inner.variables == [w] and outer.variables == []


def test_a_default_graph_is_made_on_first_use(fresh_default):
    first = ts.get_default_graph()
    assert isinstance(first, ts.Graph) and ts.get_default_graph() is first


def test_names_are_unique_readable_and_can_be_given():
    with ts.Graph().as_default() as g:
        x, y = ts.placeholder(), ts.placeholder()
        w = ts.Variable([1.0])
        c = ts.constant(2.0)
        s1, s2 = ts.add(x, y), ts.add(x, w)
        named = ts.matmul(x, w, name="logits")
    assert [n.name for n in (x, y, w, c, s1, s2, named)] == [
        "placeholder_0",
        "placeholder_1",
        "Variable_0",
        "constant_0",
        "add_0",
        "add_1",
        "logits",
    ]
    assert len(g.operations) == 3
    with ts.Graph().as_default():
        assert ts.placeholder().name == "placeholder_0"  # counted per graph


def test_repr_says_what_a_node_is_and_what_it_consumes():
    with ts.Graph().as_default() as g:
        x = ts.placeholder(name="x")
        w = ts.Variable([[1.0]], name="W")
        y = ts.matmul(x, w, name="y")
    assert repr(x) == "<placeholder 'x'>"
    assert repr(w) == "<Variable 'W'>"
    assert repr(y) == "<matmul 'y' inputs=[x, W]>"
    assert "1 operations" in repr(g) and "1 variables" in repr(g)


def test_input_nodes_and_consumers_are_wired_both_ways():
    with ts.Graph().as_default():
        x, w = ts.placeholder(), ts.Variable([1.0, 2.0])
        product = ts.multiply(x, w)
        total = ts.reduce_sum(product)
        square = ts.square(product)
    assert product.input_nodes == [x, w]
    assert x.consumers == [product] and w.consumers == [product]
    assert product.consumers == [total, square]
    assert total.consumers == []


def test_numbers_and_arrays_become_constants():
    with ts.Graph().as_default() as g:
        node = ts.add(2, np.array([1.0, 2.0]))
    a, b = node.input_nodes
    assert isinstance(a, ts.constant) and isinstance(b, ts.constant)
    assert g.constants == [a, b]
    np.testing.assert_array_equal(ts.Session().run(node), [3.0, 4.0])


def test_variables_copy_their_initial_value_and_are_float():
    initial = np.array([1, 2])
    with ts.Graph().as_default():
        w = ts.Variable(initial)
    w.value += 1
    np.testing.assert_array_equal(initial, [1, 2])
    assert w.value.dtype == np.float64
    with ts.Graph().as_default():
        assert ts.Variable(np.ones(2, np.float32)).value.dtype == np.float32


@pytest.mark.parametrize(
    ("build", "op_type", "expected"),
    [
        (lambda a, b: a + b, ops.add, [4.0, 7.0]),
        (lambda a, b: a - b, ops.subtract, [-2.0, -3.0]),
        (lambda a, b: a * b, ops.multiply, [3.0, 10.0]),
        (lambda a, b: -a, ops.negative, [-1.0, -2.0]),
        (lambda a, b: a + 1, ops.add, [2.0, 3.0]),
        (lambda a, b: 1 + a, ops.add, [2.0, 3.0]),
        (lambda a, b: a - 1, ops.subtract, [0.0, 1.0]),
        (lambda a, b: 1 - a, ops.subtract, [0.0, -1.0]),
        (lambda a, b: a * 3, ops.multiply, [3.0, 6.0]),
        (lambda a, b: 3 * a, ops.multiply, [3.0, 6.0]),
        (lambda a, b: np.array([1.0, 1.0]) + a, ops.add, [2.0, 3.0]),
        (lambda a, b: np.array([1.0, 1.0]) - a, ops.subtract, [0.0, -1.0]),
        (lambda a, b: np.array([2.0, 2.0]) * a, ops.multiply, [2.0, 4.0]),
        (lambda a, b: np.float64(2.0) * a, ops.multiply, [2.0, 4.0]),
    ],
)
def test_operators_build_the_same_ops_as_the_functions(build, op_type, expected):
    with ts.Graph().as_default():
        a, b = ts.Variable([1.0, 2.0]), ts.Variable([3.0, 5.0])
        node = build(a, b)
    assert type(node) is op_type
    np.testing.assert_array_equal(ts.Session().run(node), expected)


def test_matmul_operator_with_nodes_and_arrays_on_either_side():
    m = np.array([[1.0, 2.0], [3.0, 4.0]])
    with ts.Graph().as_default():
        a = ts.Variable(m)
        nodes = [a @ a, a @ m, m @ a]
    for node in nodes:
        assert type(node) is ops.matmul
        np.testing.assert_array_equal(ts.Session().run(node), m @ m)
    assert nodes[2].input_nodes[1] is a


def test_only_the_arithmetic_operators_can_be_overridden():
    with pytest.raises(ValueError, match=r"cannot override '__pow__'.*__add__"):
        ts.Node._override_operator("__pow__", lambda a, b: a)
    assert not hasattr(ts.Node, "__pow__")


def test_assigning_a_variable_keeps_a_private_float_copy():
    with ts.Graph().as_default():
        w = ts.Variable([1.0])
        mine = np.array([3, 4])
        w.value = mine
        assert w.value.dtype.kind == "f"
        w.value -= 1.5  # an integer array could not take this in place
        assert mine.tolist() == [3, 4]


def test_each_thread_has_its_own_default_graph():
    import threading

    main = ts.Graph().as_default()
    seen = []
    worker = threading.Thread(target=lambda: seen.append(ts.get_default_graph()))
    worker.start()
    worker.join()
    assert seen[0] is not main
    assert ts.get_default_graph() is main
