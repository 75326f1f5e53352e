"""A float32 graph stays float32: through Python numbers, constants, gradients and updates."""

import numpy as np
import pytest

import engine as ts

F32 = np.float32

EXPRESSIONS = {
    "x * 2.0": lambda x: x * 2.0,
    "2.0 * x": lambda x: 2.0 * x,
    "x + 1": lambda x: x + 1,
    "1 - x": lambda x: 1 - x,
    "x - 0.5": lambda x: x - 0.5,
    "constant(0.5) * x": lambda x: ts.constant(0.5) * x,
    "multiply(x, 3)": lambda x: ts.multiply(x, 3),
    "square(x) * 0.5": lambda x: ts.square(x) * 0.5,
    "reduce_mean(x)": lambda x: ts.reduce_mean(x),
    "reduce_sum(x, axis=1) / rows": lambda x: ts.reduce_sum(x, axis=1) * (1 / 3),
    "sigmoid(x) + tanh(x)": lambda x: ts.sigmoid(x) + ts.tanh(x),
    "relu(x) - abs(x)": lambda x: ts.relu(x) - ts.abs(x),
    "log(softmax(x))": lambda x: ts.log(ts.softmax(x)),
    "exp(-x)": lambda x: ts.exp(-x),
}


@pytest.mark.parametrize("name", EXPRESSIONS)
def test_python_numbers_take_the_dtype_of_the_float32_tensors_they_meet(name):
    with ts.Graph().as_default():
        x = ts.placeholder(dtype=F32)
        out = EXPRESSIONS[name](x)
    value = ts.Session().run(out, {x: np.random.default_rng(0).standard_normal((3, 2))})
    assert np.asarray(value).dtype == F32


@pytest.mark.parametrize("name", EXPRESSIONS)
def test_gradients_of_float32_variables_are_float32(name):
    with ts.Graph().as_default():
        w = ts.Variable(np.random.default_rng(1).standard_normal((3, 2)).astype(F32))
        loss = ts.reduce_sum(EXPRESSIONS[name](w) * 0.5)
    session = ts.Session()
    assert np.asarray(session.run(loss)).dtype == F32
    for node, grad in ts.compute_gradients(loss).items():
        assert np.asarray(grad).dtype == F32, node


def test_a_float32_variable_gets_a_float32_gradient_from_float64_data():
    """Unconverted float64 data makes the forward pass float64; the variable's gradient is
    still reported, and applied, in the variable's dtype."""
    rng = np.random.default_rng(2)
    with ts.Graph().as_default():
        x = ts.placeholder()
        w = ts.Variable(rng.standard_normal((2, 2)).astype(F32))
        loss = ts.reduce_sum(ts.square(ts.matmul(x, w)))
        train = ts.GradientDescentOptimizer(0.01).minimize(loss)
    session, feed = ts.Session(), {x: rng.standard_normal((4, 2))}
    session.run(loss, feed)
    assert ts.compute_gradients(loss)[w].dtype == F32
    for _ in range(3):
        session.run(train, feed)
    assert w.value.dtype == F32


def test_numpy_scalars_and_arrays_keep_their_own_dtype():
    """Only Python numbers adapt; a float64 numpy value is a float64 constant."""
    with ts.Graph().as_default():
        x = ts.placeholder(dtype=F32)
        strong = x * np.float64(2.0)
        weak = x * 2.0
    values = ts.Session().run([strong, weak], {x: np.ones(2)})
    assert [v.dtype for v in values] == [np.float64, F32]


@pytest.mark.parametrize(
    "optimizer",
    [
        ts.GradientDescentOptimizer(0.1),
        ts.MomentumOptimizer(0.1, momentum=0.9),
        ts.AdamOptimizer(0.01),
    ],
    ids=["gradient descent", "momentum", "adam"],
)
def test_updates_keep_float32_variables_in_place_and_slots_in_float32(optimizer):
    rng = np.random.default_rng(3)
    with ts.Graph().as_default():
        x, c = ts.placeholder(dtype=F32), ts.placeholder(dtype=F32)
        w = ts.Variable(rng.standard_normal((2, 2)).astype(F32))
        b = ts.Variable(np.zeros(2, F32))
        loss = ts.softmax_cross_entropy(x @ w + b, c)
        train = optimizer.minimize(loss)
    feed = {x: rng.standard_normal((8, 2)), c: np.eye(2)[rng.integers(0, 2, 8)]}
    arrays = (w.value, b.value)
    session = ts.Session()
    for _ in range(3):
        assert np.asarray(session.run([train, loss], feed)[1]).dtype == F32
    assert w.value is arrays[0] and b.value is arrays[1]
    assert w.value.dtype == b.value.dtype == F32
    for name in optimizer.get_slot_names():
        if name != "t":
            assert optimizer.get_slot(w, name).dtype == F32
