"""Optimizer slots: read and written, so that a saved run resumes exactly where it stopped."""

import numpy as np
import pytest

import engine as ts

SLOT_NAMES = {
    ts.GradientDescentOptimizer: (),
    ts.MomentumOptimizer: ("velocity",),
    ts.AdamOptimizer: ("m", "v", "t"),
}
STEPS = 15  # steps before the save, and again after it

_RNG = np.random.default_rng(0)
POINTS = _RNG.standard_normal((50, 2))
LABELS = np.eye(2)[(POINTS[:, 0] * POINTS[:, 1] > 0).astype(int)]
INITIAL_WEIGHTS = [
    _RNG.standard_normal((2, 8)) / np.sqrt(2),
    np.zeros(8),
    _RNG.standard_normal((8, 2)) / np.sqrt(8),
    np.zeros(2),
]


def _make(kind):
    if kind is ts.MomentumOptimizer:
        return kind(0.1, momentum=0.9)
    return kind(0.05)


class _Run:
    """A 2-8-2 tanh MLP with mean softmax cross-entropy, its optimizer and its session."""

    def __init__(self, optimizer, weights=INITIAL_WEIGHTS):
        self.optimizer = optimizer
        with ts.Graph().as_default():
            X, C = ts.placeholder(), ts.placeholder()
            self.variables = [ts.Variable(w) for w in weights]
            W1, b1, W2, b2 = self.variables
            loss = ts.softmax_cross_entropy(ts.tanh(X @ W1 + b1) @ W2 + b2, C)
            self.train_op = optimizer.minimize(loss)
        self.session = ts.Session()
        self.feed = {X: POINTS, C: LABELS}

    def train(self, steps):
        for _ in range(steps):
            self.session.run(self.train_op, self.feed)
        return self

    def weights(self):
        return [v.value.copy() for v in self.variables]

    def slots(self):
        names = self.optimizer.get_slot_names()
        return [{name: self.optimizer.get_slot(v, name) for name in names} for v in self.variables]

    def restore_slots(self, slots):
        for variable, saved in zip(self.variables, slots, strict=True):
            for name, value in saved.items():
                self.optimizer.set_slot(variable, name, value)


@pytest.mark.parametrize("kind", SLOT_NAMES, ids=lambda kind: kind.__name__)
def test_slot_names_say_what_state_each_optimizer_keeps(kind):
    optimizer = _make(kind)
    assert isinstance(optimizer, ts.train.Optimizer)
    assert optimizer.get_slot_names() == SLOT_NAMES[kind]


@pytest.mark.parametrize("kind", SLOT_NAMES, ids=lambda kind: kind.__name__)
def test_restoring_weights_and_slots_into_a_fresh_graph_continues_the_run_exactly(kind):
    straight = _Run(_make(kind)).train(2 * STEPS)
    saved = _Run(_make(kind)).train(STEPS)
    resumed = _Run(_make(kind), saved.weights())
    resumed.restore_slots(saved.slots())
    resumed.train(STEPS)
    for expected, actual in zip(straight.weights(), resumed.weights(), strict=True):
        np.testing.assert_array_equal(actual, expected)
    if SLOT_NAMES[kind]:  # the slots matter: without them the run goes elsewhere
        forgetful = _Run(_make(kind), saved.weights()).train(STEPS)
        assert not np.array_equal(forgetful.weights()[0], straight.weights()[0])


def test_slots_are_none_before_the_first_update_and_arrays_after():
    run = _Run(ts.AdamOptimizer(0.05))
    W1 = run.variables[0]
    assert all(run.optimizer.get_slot(W1, name) is None for name in ("m", "v", "t"))
    run.train(3)
    m, t = run.optimizer.get_slot(W1, "m"), run.optimizer.get_slot(W1, "t")
    assert m.shape == W1.value.shape and m.dtype == np.float64 and np.any(m != 0)
    assert t.shape == () and t.dtype == np.int64 and t == 3


def test_get_slot_returns_a_copy_and_set_slot_keeps_one():
    run = _Run(ts.MomentumOptimizer(0.1)).train(1)
    W1 = run.variables[0]
    velocity = run.optimizer.get_slot(W1, "velocity")
    velocity[...] = 1e6
    assert np.all(run.optimizer.get_slot(W1, "velocity") != 1e6)
    mine = np.ones((2, 8))
    run.optimizer.set_slot(W1, "velocity", mine)
    mine[...] = 5.0
    np.testing.assert_array_equal(run.optimizer.get_slot(W1, "velocity"), np.ones((2, 8)))
    run.train(1)  # updates its own copy in place
    np.testing.assert_array_equal(mine, 5.0)


def test_a_slot_set_before_minimize_is_used_by_the_first_step():
    with ts.Graph().as_default():
        w = ts.Variable([1.0, -2.0])
        optimizer = ts.MomentumOptimizer(0.1, momentum=0.5)
        optimizer.set_slot(w, "velocity", [4.0, 4.0])
        train = optimizer.minimize(ts.reduce_sum(ts.square(w)))
    ts.Session().run(train)
    velocity = 0.5 * np.array([4.0, 4.0]) + 2 * np.array([1.0, -2.0])
    np.testing.assert_allclose(w.value, [1.0, -2.0] - 0.1 * velocity, rtol=1e-15)
    np.testing.assert_allclose(optimizer.get_slot(w, "velocity"), velocity, rtol=1e-15)


def test_slots_left_unset_start_at_zero():
    """Restoring only Adam's step count: the moments start from zero, the bias correction
    carries on from that step."""
    beta1, beta2, rate = 0.9, 0.999, 0.1
    with ts.Graph().as_default():
        w = ts.Variable([1.0, -2.0])
        optimizer = ts.AdamOptimizer(rate, beta1=beta1, beta2=beta2, epsilon=0.0)
        train = optimizer.minimize(ts.reduce_sum(ts.square(w)))
    optimizer.set_slot(w, "t", 4)
    ts.Session().run(train)
    g = 2 * np.array([1.0, -2.0])
    m, v = (1 - beta1) * g, (1 - beta2) * g**2
    step = rate * np.sqrt(1 - beta2**5) / (1 - beta1**5)
    np.testing.assert_allclose(w.value, [1.0, -2.0] - step * m / np.sqrt(v), rtol=1e-14)
    assert optimizer.get_slot(w, "t") == 5


def test_float_slots_take_the_variables_dtype_and_step_counts_any_whole_number():
    with ts.Graph().as_default():
        w = ts.Variable(np.zeros(3, np.float32))
    optimizer = ts.AdamOptimizer()
    optimizer.set_slot(w, "m", np.arange(3.0))
    assert optimizer.get_slot(w, "m").dtype == np.float32
    for count in (7, np.int32(7), 7.0, np.array(7, np.uint8)):
        optimizer.set_slot(w, "t", count)
        t = optimizer.get_slot(w, "t")
        assert t.shape == () and t.dtype == np.int64 and t == 7


@pytest.mark.parametrize(
    ("kind", "message"),
    [(ts.GradientDescentOptimizer, "none"), (ts.AdamOptimizer, "'m', 'v', 't'")],
)
def test_an_unknown_slot_name_is_an_error_naming_the_valid_ones(kind, message):
    with ts.Graph().as_default():
        w = ts.Variable([1.0])
    optimizer = _make(kind)
    with pytest.raises(ValueError, match=f"no slot 'velocity'; its slots: {message}"):
        optimizer.get_slot(w, "velocity")
    with pytest.raises(ValueError, match=f"no slot 'velocity'; its slots: {message}"):
        optimizer.set_slot(w, "velocity", [0.0])


def test_a_slot_of_the_wrong_shape_is_refused():
    with ts.Graph().as_default():
        w = ts.Variable(np.zeros((2, 3)))
    optimizer = ts.MomentumOptimizer(0.1)
    with pytest.raises(ValueError, match=r"shape \(2, 3\), got \(3, 2\)"):
        optimizer.set_slot(w, "velocity", np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"shape \(2, 3\), got \(\)"):
        optimizer.set_slot(w, "velocity", 0.0)
    assert optimizer.get_slot(w, "velocity") is None


@pytest.mark.parametrize("count", [-1, 2.5, np.nan, [3], "3", None])
def test_a_step_count_must_be_a_whole_number_at_least_zero(count):
    with ts.Graph().as_default():
        w = ts.Variable([1.0])
    with pytest.raises(ValueError, match="'t' is a step count: a whole number >= 0"):
        ts.AdamOptimizer().set_slot(w, "t", count)


def test_slots_belong_to_variables():
    with ts.Graph().as_default():
        x = ts.placeholder()
    optimizer = ts.MomentumOptimizer(0.1)
    with pytest.raises(TypeError, match="Variable"):
        optimizer.set_slot(x, "velocity", [0.0])
    assert optimizer.get_slot(x, "velocity") is None


@pytest.mark.parametrize("kind", [ts.MomentumOptimizer, ts.AdamOptimizer])
def test_reset_state_clears_the_slots_of_its_variables(kind):
    run = _Run(_make(kind)).train(2)
    run.train_op.reset_state()
    for variable in run.variables:
        for name in run.optimizer.get_slot_names():
            assert run.optimizer.get_slot(variable, name) is None
    run.train(1)
    assert run.optimizer.get_slot(run.variables[0], run.optimizer.get_slot_names()[0]) is not None
