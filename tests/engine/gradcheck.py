"""Finite-difference gradient checks shared by the engine tests (not a test module)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from hypothesis import settings
from hypothesis import strategies as st

import engine as ts

# float64 central differences with this step are good to ~1e-9 of the gradient's scale.
STEP = 1e-6
RTOL = 1e-6

SETTINGS = settings(max_examples=25, deadline=None)
dims = st.integers(1, 5)
seeds = st.integers(0, 2**32 - 1)


def numeric_gradient(
    session: ts.Session, loss: ts.Node, variable: ts.Variable, feed_dict: dict | None = None
) -> np.ndarray:
    """Central differences of `loss` w.r.t. every element of `variable`, nudged in place."""
    value = variable.value
    result = np.zeros_like(value)
    for index in np.ndindex(value.shape):
        original = value[index]
        value[index] = original + STEP
        above = session.run(loss, feed_dict)
        value[index] = original - STEP
        below = session.run(loss, feed_dict)
        value[index] = original
        result[index] = (above - below) / (2 * STEP)
    return result


def assert_gradient_close(actual: object, expected: np.ndarray, what: str) -> None:
    scale = max(1.0, float(np.max(np.abs(expected), initial=0.0)))
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=RTOL * scale, err_msg=what)


def check_gradients(
    build: Callable[..., ts.Node], *arrays: np.ndarray, seed: int = 0
) -> dict[ts.Variable, np.ndarray]:
    """Check the gradients of `build(*variables)` against central differences.

    The scalar loss is reduce_sum(build(...) * fixed random weights), so every element of the
    output gets its own gradient. Checks `compute_gradients` for each input, then that one
    GradientDescentOptimizer step with learning rate 1 (its restricted backward plan) moves
    each variable by exactly minus that gradient. Returns the gradients.
    """
    rng = np.random.default_rng(seed)
    with ts.Graph().as_default():
        variables = [ts.Variable(a) for a in arrays]
        out = build(*variables)
        session = ts.Session()
        weights = np.asarray(rng.standard_normal(np.shape(session.run(out))))
        loss = ts.reduce_sum(ts.multiply(out, ts.constant(weights)))
        train = ts.GradientDescentOptimizer(learning_rate=1.0).minimize(loss, var_list=variables)
    session.run(loss)
    grads = {v: np.array(g) for v, g in ts.compute_gradients(loss).items() if v in variables}
    for i, variable in enumerate(variables):
        assert np.shape(grads[variable]) == np.shape(variable.value), f"input {i} gradient shape"
        numeric = numeric_gradient(session, loss, variable)
        assert_gradient_close(grads[variable], numeric, f"gradient w.r.t. input {i}")
    before = [v.value.copy() for v in variables]
    session.run(train)
    for i, (variable, old) in enumerate(zip(variables, before, strict=True)):
        assert_gradient_close(variable.value - old, -grads[variable], f"optimizer step, input {i}")
    return grads
