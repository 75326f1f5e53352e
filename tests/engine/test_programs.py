"""Prepared programs: reused buffers, fused layers and what must not change because of them."""

import itertools
import tracemalloc

import numpy as np
import pytest

import engine as ts
from engine import fusion, kernels, plans
from engine.ops import _add_gradient

ACTIVATIONS = {"tanh": ts.tanh, "sigmoid": ts.sigmoid, "relu": ts.relu}


def _data(n, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 2))
    return x.astype(dtype), np.eye(2, dtype=dtype)[(x[:, 0] * x[:, 1] > 0).astype(int)]


def _mlp(sizes, activation=ts.tanh, dtype=np.float64, optimizer=None, seed=1):
    """An MLP with mean softmax cross-entropy: (X, C, variables, hidden outputs, loss, train)."""
    rng = np.random.default_rng(seed)
    X, C = ts.placeholder(dtype=dtype), ts.placeholder(dtype=dtype)
    variables, hidden, h = [], [], X
    for i, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes)):
        w = ts.Variable((rng.standard_normal((fan_in, fan_out)) / np.sqrt(fan_in)).astype(dtype))
        b = ts.Variable((rng.standard_normal(fan_out) * 0.1).astype(dtype))
        variables += [w, b]
        h = h @ w + b
        if i + 2 < len(sizes):
            h = activation(h)
            hidden.append(h)
    loss = ts.softmax_cross_entropy(h, C)
    train = (optimizer or ts.GradientDescentOptimizer(0.5)).minimize(loss)
    return X, C, variables, hidden, loss, train


def _kernel_types(session):
    return {
        type(kernel).__name__
        for plan in session._plans.values()
        for program in plan._programs.values()
        for kernel in program.kernels
    }


def _train(activation, points, steps=6, fused=True, monkeypatch=None):
    if not fused:
        monkeypatch.setattr(fusion, "dense_layers", lambda ops, fetched: [])
        monkeypatch.setattr(fusion, "fused_gradients", lambda steps, counts: {})
    x, c = _data(points)
    with ts.Graph().as_default():
        X, C, variables, _, loss, train = _mlp([2, 16, 8, 2], ACTIVATIONS[activation])
    session = ts.Session()
    losses = [session.run([train, loss], {X: x, C: c})[1] for _ in range(steps)]
    return losses, [v.value.copy() for v in variables], _kernel_types(session)


@pytest.mark.parametrize("points", [50, 1000], ids=["few points", "many points"])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_fused_layers_compute_what_the_ops_compute(activation, points, monkeypatch):
    """Many points take the faster routes for bias adds (engine.kernels.row_adder)."""
    losses, weights, kinds = _train(activation, points)
    assert {"DenseKernel", "DenseGradientKernel"} <= kinds
    with monkeypatch.context() as patched:
        plain_losses, plain_weights, plain_kinds = _train(
            activation, points, fused=False, monkeypatch=patched
        )
    assert not {"DenseKernel", "DenseGradientKernel"} & plain_kinds
    np.testing.assert_allclose(losses, plain_losses, rtol=1e-12, atol=1e-12)
    for fused, plain in zip(weights, plain_weights, strict=True):
        np.testing.assert_allclose(fused, plain, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("fed", ["row-major", "in layer order"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_narrow_layers_of_many_rows_keep_their_values_column_by_column(dtype, fed, monkeypatch):
    """2-8-8-2 on 1,000 points: the layers' values column-major (kernels.NARROW), training to
    what row-major values train to."""

    def train():
        x, c = _data(1000, dtype=dtype)
        if fed == "in layer order":
            x, c = ts.in_layer_order(x), ts.in_layer_order(c)
        with ts.Graph().as_default():
            X, C, variables, hidden, loss, train = _mlp([2, 8, 8, 2], dtype=dtype)
        session = ts.Session()
        losses = [session.run([train, loss], {X: x, C: c})[1] for _ in range(6)]
        orders = [kernels.in_columns(h.output) for h in hidden]
        return losses, [v.value.copy() for v in variables], orders

    losses, weights, orders = train()
    assert orders == [True, True]
    with monkeypatch.context() as patched:
        patched.setattr(kernels, "NARROW", 0)
        row_major_losses, row_major_weights, row_major_orders = train()
    assert row_major_orders == [False, False]
    tolerance = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(losses, row_major_losses, rtol=tolerance)
    for weight, row_major in zip(weights, row_major_weights, strict=True):
        np.testing.assert_allclose(weight, row_major, rtol=tolerance, atol=tolerance)


CROSS_ENTROPIES = {
    "tutorial": lambda c, p: -ts.reduce_sum(ts.reduce_sum(c * ts.log(p), axis=1)),
    "one sum": lambda c, p: ts.negative(ts.reduce_sum(ts.multiply(ts.log(p), c))),
}


def _train_perceptron(loss_of, trained_labels, steps=5):
    x, c = _data(30)
    rng = np.random.default_rng(5)
    with ts.Graph().as_default():
        X = ts.placeholder()
        C = ts.Variable(c) if trained_labels else ts.placeholder()
        W, b = ts.Variable(rng.standard_normal((2, 2))), ts.Variable(rng.standard_normal(2))
        loss = loss_of(C, ts.softmax(X @ W + b))
        train = ts.GradientDescentOptimizer(0.01).minimize(loss)
    feed = {X: x} if trained_labels else {X: x, C: c}
    session = ts.Session()
    losses = [session.run([train, loss], feed)[1] for _ in range(steps)]
    variables = [W, b, C] if trained_labels else [W, b]
    return losses, [v.value.copy() for v in variables], _kernel_types(session)


@pytest.mark.parametrize("trained_labels", [False, True], ids=["fed labels", "trained labels"])
@pytest.mark.parametrize("loss", CROSS_ENTROPIES)
def test_the_fused_cross_entropy_gradient_is_the_ops_gradient(loss, trained_labels, monkeypatch):
    losses, values, kinds = _train_perceptron(CROSS_ENTROPIES[loss], trained_labels)
    assert "CrossEntropyGradientKernel" in kinds
    monkeypatch.setattr(fusion, "fused_gradients", lambda steps, counts: {})
    plain_losses, plain_values, plain_kinds = _train_perceptron(
        CROSS_ENTROPIES[loss], trained_labels
    )
    assert "CrossEntropyGradientKernel" not in plain_kinds
    np.testing.assert_allclose(losses, plain_losses, rtol=1e-12, atol=1e-12)
    for fused, plain in zip(values, plain_values, strict=True):
        np.testing.assert_allclose(fused, plain, rtol=1e-12, atol=1e-12)


def test_a_registered_gradient_turns_the_fusion_off_and_is_used(own_registry):
    """A gradient of the user's for add is called; the layers then run op by op, and the
    add's output holds its own value (not the activation's, as inside a fused layer)."""
    seen = []

    @ts.RegisterGradient("add")
    def _checked_add_gradient(op, grad, needed):
        a, b = op.inputs
        np.testing.assert_allclose(op.output, a + b)
        seen.append(op)
        return _add_gradient(op, grad, needed)

    x, c = _data(20)
    with ts.Graph().as_default():
        X, C, _, _, loss, train = _mlp([2, 4, 2])
    session = ts.Session()
    for _ in range(3):
        session.run([train, loss], {X: x, C: c})
    assert len(seen) == 6
    assert not {"DenseKernel", "DenseGradientKernel"} & _kernel_types(session)


def test_a_gradient_registered_after_a_run_rebuilds_the_programs(own_registry):
    """Inside a fused layer the pre-activation's output is the activation's array; once a
    gradient of the user's exists for tanh, the next run computes tanh op by op."""
    x, c = _data(20)
    with ts.Graph().as_default():
        X, C, _, hidden, loss, train = _mlp([2, 4, 2])
        pre_activation = hidden[0].input_nodes[0]
    session, feed = ts.Session(), {X: x, C: c}
    session.run([train, loss], feed)
    assert pre_activation.output is hidden[0].output
    ts.RegisterGradient("tanh")(lambda op, grad: grad)  # not used here: minimize came first
    session.run([train, loss], feed)
    assert pre_activation.output is not hidden[0].output
    np.testing.assert_allclose(np.tanh(pre_activation.output), hidden[0].output, rtol=1e-12)


def test_fetched_intermediate_values_are_right_and_do_not_change_afterwards():
    """Fetching a layer's pre-activation keeps that layer from computing in place; what a
    run returned stays as it was while later runs reuse the buffers."""
    x, c = _data(40)
    with ts.Graph().as_default():
        X, C, variables, hidden, loss, train = _mlp([2, 6, 6, 2])
        pre_activation = hidden[1].input_nodes[0]
    session, feed = ts.Session(), {X: x, C: c}
    w1, b1, w2, b2 = (v.value.copy() for v in variables[:4])
    z2, h2, _, first_loss = session.run([pre_activation, hidden[1], train, loss], feed)
    expected_z2 = np.tanh(x @ w1 + b1) @ w2 + b2
    np.testing.assert_allclose(z2, expected_z2, rtol=1e-12)
    np.testing.assert_allclose(h2, np.tanh(expected_z2), rtol=1e-12)
    kept = [z2.copy(), h2.copy()]
    grads = ts.compute_gradients(loss)
    grads_kept = {v: np.array(grads[v]) for v in variables}
    for _ in range(3):
        session.run([pre_activation, hidden[1], train, loss], feed)
    np.testing.assert_array_equal(z2, kept[0])
    np.testing.assert_array_equal(h2, kept[1])
    for v in variables:
        np.testing.assert_array_equal(grads[v], grads_kept[v])
    assert session.run(loss, feed) < first_loss


def test_a_shorter_last_batch_gets_a_program_of_its_own_once(monkeypatch):
    """Epochs of 32, 32, 32 and 4 points: two programs, each built on first use, and the
    same weights as a session that prepares nothing (a fresh one every step)."""
    built = []
    real = plans.Program

    def counting(*args):
        built.append(args)
        return real(*args)

    monkeypatch.setattr(plans, "Program", counting)
    x, c = _data(100)
    with ts.Graph().as_default():
        X, C, variables, _, loss, train = _mlp([2, 8, 8, 2], dtype=np.float32)
    start = [v.value.copy() for v in variables]
    batches = [slice(i, i + 32) for i in range(0, 100, 32)]
    session = ts.Session()
    for _ in range(3):
        for part in batches:
            session.run([train, loss], {X: x[part], C: c[part]})
    assert len(built) == 2
    trained = [v.value.copy() for v in variables]
    for v, value in zip(variables, start, strict=True):
        v.value[...] = value
    for _ in range(3):
        for part in batches:
            ts.Session().run([train, loss], {X: x[part], C: c[part]})
    for v, value in zip(variables, trained, strict=True):
        np.testing.assert_allclose(v.value, value, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("fed", ["row-major", "in layer order"])
@pytest.mark.parametrize("sizes", [[2, 16, 16, 2], [2, 8, 8, 2]], ids=["16 wide", "8 wide"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    "optimizer",
    [ts.GradientDescentOptimizer, ts.MomentumOptimizer, ts.AdamOptimizer],
    ids=["gradient descent", "momentum", "adam"],
)
def test_a_steady_state_training_step_allocates_no_big_array(dtype, optimizer, sizes, fed):
    """A tanh MLP on 10,000 points: no array of the points' size is made per step, whether
    the data come row by row or column by column (as the narrow layers keep their values)."""
    x, c = _data(10_000, dtype=dtype)
    if fed == "in layer order":
        x, c = ts.in_layer_order(x), ts.in_layer_order(c)
    with ts.Graph().as_default():
        X, C, _, _, loss, train = _mlp(sizes, dtype=dtype, optimizer=optimizer(0.01))
    session, fetches, feed = ts.Session(), [train, loss], {X: x, C: c}
    for _ in range(3):
        session.run(fetches, feed)
    tracemalloc.start()
    try:
        for _ in range(3):
            session.run(fetches, feed)
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 1024 and current < 16 * 1024


def test_mini_batches_between_full_evaluations_allocate_no_big_array():
    """Batches of 32 from 10,000 points, the loss on all of them after every 10 steps (as an
    app showing the accuracy does): each shape keeps its arrays, none is made per step."""
    x, c = _data(10_000, dtype=np.float32)
    with ts.Graph().as_default():
        X, C, _, _, loss, train = _mlp([2, 16, 16, 2], dtype=np.float32)
    session = ts.Session()

    def steps(start):
        for i in range(start, start + 30):
            part = slice(32 * i, 32 * i + 32)
            session.run([train, loss], {X: x[part], C: c[part]})
            if i % 10 == 9:
                session.run(loss, {X: x, C: c})

    steps(0)
    tracemalloc.start()
    try:
        steps(30)
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 1024 and current < 16 * 1024


def test_a_variable_given_a_new_shape_gets_a_new_program():
    rng = np.random.default_rng(4)
    with ts.Graph().as_default():
        X = ts.placeholder()
        W = ts.Variable(rng.standard_normal((2, 3)))
        out = ts.tanh(X @ W + 1.0)
        loss = ts.reduce_sum(ts.square(out))
        train = ts.GradientDescentOptimizer(0.01).minimize(loss)
    session, x = ts.Session(), rng.standard_normal((5, 2))
    session.run([train, loss], {X: x})
    W.value = rng.standard_normal((2, 4))
    new = W.value.copy()
    value = session.run(out, {X: x})
    np.testing.assert_allclose(value, np.tanh(x @ new + 1.0), rtol=1e-12)
    session.run([train, loss], {X: x})
    assert W.value.shape == (2, 4) and not np.array_equal(W.value, new)


def test_an_error_in_a_later_run_still_names_the_op():
    class fragile(ts.Operation):
        runs = 0

        def __init__(self, a):
            super().__init__([a], "fragile_op")

        def compute(self, a_value):
            fragile.runs += 1
            if fragile.runs == 3:
                raise FloatingPointError("boom")
            return a_value

    with ts.Graph().as_default():
        X = ts.placeholder()
        out = ts.reduce_sum(fragile(ts.tanh(X)))
    session = ts.Session()
    session.run(out, {X: np.ones(3)})
    session.run(out, {X: np.ones(3)})
    with pytest.raises(FloatingPointError) as raised:
        session.run(out, {X: np.ones(3)})
    assert any("fragile_op" in note for note in raised.value.__notes__)


def _train_classes(classes, points, dtype, soft_labels, monkeypatch=None):
    """Mean softmax cross-entropy over `classes` on a 2-8-classes tanh MLP, five steps;
    with `monkeypatch`, the op's own kernels instead of the column-wise ones."""
    if monkeypatch is not None:
        monkeypatch.setattr(kernels, "FEW_COLUMNS", 1)
    rng = np.random.default_rng(4)
    x = rng.standard_normal((points, 2)).astype(dtype)
    if soft_labels:
        labels = rng.random((points, classes))
        labels = (labels / labels.sum(axis=1, keepdims=True)).astype(dtype)
    else:
        labels = np.eye(classes, dtype=dtype)[rng.integers(0, classes, points)]
    with ts.Graph().as_default():
        X, C, _, _, loss, train = _mlp([2, 8, classes], dtype=dtype)
    session = ts.Session()
    losses = [session.run([train, loss], {X: x, C: labels})[1] for _ in range(5)]
    return losses, loss.probabilities.copy(), _kernel_types(session)


@pytest.mark.parametrize("soft_labels", [False, True], ids=["one-hot", "soft labels"])
@pytest.mark.parametrize("points", [32, 1000], ids=["32 points", "1000 points"])
@pytest.mark.parametrize("classes", [2, 3, 4])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_column_wise_softmax_cross_entropy_is_the_ops_own(
    dtype, classes, points, soft_labels, monkeypatch
):
    losses, probabilities, kinds = _train_classes(classes, points, dtype, soft_labels)
    assert {"SoftmaxCrossEntropyKernel", "SoftmaxCrossEntropyGradientKernel"} <= kinds
    with monkeypatch.context() as patched:
        plain_losses, plain_probabilities, _ = _train_classes(
            classes, points, dtype, soft_labels, patched
        )
    np.testing.assert_array_equal(losses, plain_losses)
    np.testing.assert_array_equal(probabilities, plain_probabilities)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-5)



def _train_tutorial(classes, points, monkeypatch=None):
    """The tutorial's -Σ c · log softmax(xW + b) and a fetched softmax of its own, five
    steps; with `monkeypatch`, without the column-wise kernels."""
    if monkeypatch is not None:
        monkeypatch.setattr(kernels, "FEW_COLUMNS", 1)
    rng = np.random.default_rng(6)
    x = rng.standard_normal((points, 2)).astype(np.float32)
    c = np.eye(classes, dtype=np.float32)[rng.integers(0, classes, points)]
    with ts.Graph().as_default():
        X, C = ts.placeholder(dtype=np.float32), ts.placeholder(dtype=np.float32)
        W = ts.Variable(rng.standard_normal((2, classes)).astype(np.float32))
        b = ts.Variable(np.zeros(classes, np.float32))
        p = ts.softmax(X @ W + b)
        loss = -ts.reduce_sum(ts.reduce_sum(C * ts.log(p), axis=1))
        plain = ts.softmax(X @ W)
        train = ts.GradientDescentOptimizer(0.01).minimize(loss)
    session = ts.Session()
    runs = [session.run([train, loss, p, plain], {X: x, C: c})[1:] for _ in range(5)]
    return runs, _kernel_types(session)


@pytest.mark.parametrize("points", [30, 1000], ids=["30 points", "1000 points"])
@pytest.mark.parametrize("classes", [2, 3, 4])
def test_column_wise_softmax_and_tutorial_cross_entropy_are_the_ops_own(
    classes, points, monkeypatch
):
    runs, kinds = _train_tutorial(classes, points)
    assert {"SoftmaxKernel", "CrossEntropyGradientKernel"} <= kinds
    with monkeypatch.context() as patched:
        plain_runs, _ = _train_tutorial(classes, points, patched)
    for run, plain_run in zip(runs, plain_runs, strict=True):
        for value, plain in zip(run, plain_run, strict=True):
            np.testing.assert_array_equal(value, plain)
