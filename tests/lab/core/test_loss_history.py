import time

import numpy as np
import pytest

from lab.core.loss_history import LossHistory


def noisy_decay(n, seed=0):
    rng = np.random.default_rng(seed)
    return np.exp(-np.arange(n) / (n / 5)) + 0.01 * rng.random(n)


def test_empty_history():
    history = LossHistory()
    steps, losses = history.curve()
    assert history.count == 0
    assert history.last is None
    assert steps.size == losses.size == 0


def test_short_history_is_kept_exactly():
    history = LossHistory()
    values = noisy_decay(100)
    for v in values:
        history.append(float(v))
    steps, losses = history.curve()
    np.testing.assert_array_equal(steps, np.arange(1, 101))
    np.testing.assert_array_equal(losses, values)
    assert history.last == values[-1]


def test_a_million_appends_stay_bounded_and_keep_the_envelope():
    n = 1_000_000
    values = noisy_decay(n)
    values[123_457] = 40.0  # a spike late in training must not be averaged away
    values[999] = -1.0
    history = LossHistory(max_points=2000)
    as_floats = values.tolist()
    start = time.perf_counter()
    for v in as_floats:
        history.append(v)
    elapsed = time.perf_counter() - start
    print(f"\nLossHistory: {n} appends in {elapsed:.3f} s ({elapsed / n * 1e9:.0f} ns each)")

    steps, losses = history.curve()
    assert history.count == n
    assert history.last == values[-1]
    assert 0 < steps.size <= 2000
    assert steps.size == losses.size
    assert np.all(np.diff(steps) > 0)
    assert steps[0] == 1
    assert steps[-1] == n
    assert losses.max() == values.max()
    assert losses.min() == values.min()


@pytest.mark.parametrize("n", [1, 255, 256, 257, 5_000, 70_001])
def test_extend_matches_append(n):
    values = noisy_decay(n, seed=n)
    one_by_one, batched = LossHistory(max_points=300), LossHistory(max_points=300)
    for v in values:
        one_by_one.append(float(v))
    batched.extend(values[: n // 3])
    batched.extend(values[n // 3 :])
    for a, b in zip(one_by_one.curve(), batched.curve(), strict=True):
        np.testing.assert_array_equal(a, b)
    steps, losses = batched.curve()
    assert batched.count == n
    assert steps.size <= 300
    assert steps[0] == 1 and steps[-1] == n
    assert losses.min() == values.min() and losses.max() == values.max()


def test_non_finite_losses_are_counted_but_not_plotted():
    history = LossHistory(max_points=100)
    values = noisy_decay(5_000)
    values[[10, 2_000, 4_999]] = [np.nan, np.inf, np.nan]
    history.extend(values)
    steps, losses = history.curve()
    assert history.count == 5_000
    assert np.isnan(history.last)
    assert np.all(np.isfinite(losses))
    assert losses.max() == values[np.isfinite(values)].max()
    assert steps[-1] <= 5_000


def test_clear_starts_over():
    history = LossHistory()
    history.extend(noisy_decay(50_000))
    history.clear()
    assert history.count == 0
    assert history.last is None
    history.append(0.5)
    steps, losses = history.curve()
    assert list(steps) == [1.0] and list(losses) == [0.5]


def test_curve_returns_copies():
    history = LossHistory()
    history.extend([1.0, 2.0, 3.0])
    _, losses = history.curve()
    losses[:] = 0
    assert list(history.curve()[1]) == [1.0, 2.0, 3.0]


def test_too_small_budget_is_rejected():
    with pytest.raises(ValueError):
        LossHistory(max_points=4)
