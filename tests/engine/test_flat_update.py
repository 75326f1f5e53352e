"""Updating all variables at once (engine.flat_update) gives what updating them one by one
gives, bit for bit, through everything that replaces arrays between steps."""

import numpy as np
import pytest

import engine as ts
from engine.flat_update import FlatState

OPTIMIZERS = {
    "gradient descent": lambda: ts.GradientDescentOptimizer(0.3),
    "momentum": lambda: ts.MomentumOptimizer(0.1, 0.9),
    "adam": lambda: ts.AdamOptimizer(0.05),
}


def _data(n, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 2)).astype(np.float32)
    return x, np.eye(2, dtype=np.float32)[(x[:, 0] * x[:, 1] > 0).astype(int)]


def _model(optimizer, penalty):
    """A 2-8-2 tanh MLP; with `penalty`, W1 also feeds an L2 term (two gradients to sum)."""
    rng = np.random.default_rng(1)
    X, C = ts.placeholder(dtype=np.float32), ts.placeholder(dtype=np.float32)
    W1 = ts.Variable(rng.standard_normal((2, 8)).astype(np.float32))
    b1 = ts.Variable(np.zeros(8, np.float32))
    W2 = ts.Variable(rng.standard_normal((8, 2)).astype(np.float32))
    b2 = ts.Variable(np.zeros(2, np.float32))
    loss = ts.softmax_cross_entropy(ts.tanh(X @ W1 + b1) @ W2 + b2, C)
    if penalty:
        loss = loss + 0.01 * ts.reduce_sum(ts.square(W1))
    return X, C, [W1, b1, W2, b2], loss, optimizer.minimize(loss)


def _run(optimizer_name, penalty, one_by_one, monkeypatch):
    """Ten mini-batch steps (batches of 24 and a last one of 16, two programs) with a new W1,
    a slot set and a reset between them; the values, slots and losses after."""
    if one_by_one:
        monkeypatch.setattr(FlatState, "fits", staticmethod(lambda targets: False))
    x, c = _data(64)
    optimizer = OPTIMIZERS[optimizer_name]()
    with ts.Graph().as_default():
        X, C, variables, loss, train = _model(optimizer, penalty)
    session, losses = ts.Session(), []
    for step in range(12):
        start = step * 24 % 64
        part = slice(start, min(start + 24, 64))
        losses.append(session.run([train, loss], {X: x[part], C: c[part]})[1])
        if step == 3:
            variables[0].value = variables[0].value * 0.5
        if step == 5 and optimizer.get_slot_names():
            name = optimizer.get_slot_names()[0]
            optimizer.set_slot(variables[2], name, np.full((8, 2), 0.01, np.float32))
        if step == 8:
            train.reset_state()
    if not one_by_one:
        bases = {id(v.value.base) for v in variables}
        assert len(bases) == 1 and variables[0].value.base is not None, "not updated at once"
    slots = {
        (i, name): optimizer.get_slot(v, name)
        for i, v in enumerate(variables)
        for name in optimizer.get_slot_names()
    }
    return losses, [v.value.copy() for v in variables], slots


@pytest.mark.parametrize("penalty", [False, True], ids=["no penalty", "L2 penalty"])
@pytest.mark.parametrize("optimizer_name", OPTIMIZERS)
def test_updating_all_at_once_equals_one_by_one(optimizer_name, penalty, monkeypatch):
    losses, values, slots = _run(optimizer_name, penalty, False, monkeypatch)
    with monkeypatch.context() as patched:
        plain_losses, plain_values, plain_slots = _run(optimizer_name, penalty, True, patched)
    np.testing.assert_array_equal(losses, plain_losses)
    for value, plain in zip(values, plain_values, strict=True):
        np.testing.assert_array_equal(value, plain)
    assert slots.keys() == plain_slots.keys()
    for key, slot in slots.items():
        np.testing.assert_array_equal(slot, plain_slots[key])


def _two_optimizers(one_by_one, monkeypatch):
    """Two training ops over the same variables, taking turns."""
    if one_by_one:
        monkeypatch.setattr(FlatState, "fits", staticmethod(lambda targets: False))
    x, c = _data(40)
    with ts.Graph().as_default():
        X, C, variables, loss, sgd = _model(ts.GradientDescentOptimizer(0.2), penalty=False)
        adam = ts.AdamOptimizer(0.05).minimize(loss)
    session = ts.Session()
    for step in range(8):
        session.run([sgd if step % 2 else adam, loss], {X: x, C: c})
    return [v.value.copy() for v in variables]


def test_two_training_ops_over_the_same_variables_see_each_others_updates(monkeypatch):
    values = _two_optimizers(False, monkeypatch)
    with monkeypatch.context() as patched:
        plain = _two_optimizers(True, patched)
    for value, expected in zip(values, plain, strict=True):
        np.testing.assert_array_equal(value, expected)


def test_adam_steps_counted_differently_per_variable_still_update_right(monkeypatch):
    """Slots that cannot be shared (a different step count for one variable) make the
    update go one by one, with each variable's own bias correction."""

    def run(one_by_one):
        with monkeypatch.context() as patched:
            if one_by_one:
                patched.setattr(FlatState, "fits", staticmethod(lambda targets: False))
            x, c = _data(40)
            optimizer = ts.AdamOptimizer(0.05)
            with ts.Graph().as_default():
                X, C, variables, loss, train = _model(optimizer, penalty=False)
            session = ts.Session()
            for step in range(6):
                session.run([train, loss], {X: x, C: c})
                if step == 1:
                    optimizer.set_slot(variables[1], "t", 50)
            return [v.value.copy() for v in variables], optimizer.get_slot(variables[0], "t")

    (values, t), (plain, plain_t) = run(False), run(True)
    assert t == plain_t == 6
    for value, expected in zip(values, plain, strict=True):
        np.testing.assert_array_equal(value, expected)


def test_a_variable_keeps_its_array_from_minimize_on_and_a_new_value_is_trained():
    x, c = _data(40)
    with ts.Graph().as_default():
        X, C, variables, loss, train = _model(ts.GradientDescentOptimizer(0.2), penalty=False)
    arrays = [v.value for v in variables]
    session = ts.Session()
    session.run([train, loss], {X: x, C: c})
    assert all(v.value is a for v, a in zip(variables, arrays, strict=True))
    variables[3].value = np.array([5.0, -5.0], np.float32)
    session.run([train, loss], {X: x, C: c})
    b2 = variables[3].value
    assert b2.dtype == np.float32 and abs(b2[0] - 5.0) < 0.5 and abs(b2[1] + 5.0) < 0.5
    assert b2[0] != 5.0  # trained from the new value, not from the old array


def test_gradients_of_plain_ops_are_computed_into_the_shared_array(monkeypatch):
    """Not a dense layer: an elementwise product and a sum, each variable's gradient from
    its op's own kernel."""

    def run(one_by_one):
        with monkeypatch.context() as patched:
            if one_by_one:
                patched.setattr(FlatState, "fits", staticmethod(lambda targets: False))
            rng = np.random.default_rng(2)
            x, y = rng.standard_normal((30, 3)), rng.standard_normal((30, 3))
            with ts.Graph().as_default():
                X, Y = ts.placeholder(), ts.placeholder()
                scale, shift = ts.Variable(np.ones(3)), ts.Variable(0.5)
                loss = ts.reduce_mean(ts.square(X * scale + shift - Y))
                train = ts.MomentumOptimizer(0.1).minimize(loss)
            session = ts.Session()
            for _ in range(5):
                session.run([train, loss], {X: x, Y: y})
            grads = train.last_gradients()
            if not one_by_one:
                flat = train._flat
                assert all(train._last[slot] is flat.homes[slot] for _, slot, _ in flat.targets)
            return [scale.value.copy(), shift.value.copy()], [grads[scale], grads[shift]]

    (values, grads), (plain_values, plain_grads) = run(False), run(True)
    for got, expected in zip(values + grads, plain_values + plain_grads, strict=True):
        np.testing.assert_array_equal(got, expected)
