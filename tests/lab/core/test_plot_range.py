import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lab.core.plot_range import MIN_FILL, nice_range, nice_step, steady_range


@pytest.mark.parametrize(
    ("span", "step"), [(4.0, 1.0), (5.0, 2.0), (10.0, 5.0), (0.3, 0.1), (1900.0, 500.0)]
)
def test_nice_step_is_one_two_or_five_times_a_power_of_ten(span, step):
    assert nice_step(span) == pytest.approx(step)


def is_multiple(value: float, step: float) -> bool:
    return math.isclose(value / step, round(value / step), abs_tol=1e-9)


@given(
    st.floats(-1e9, 1e9, allow_nan=False),
    st.floats(0, 1e9, allow_nan=False),
    st.floats(0, 2),
)
def test_nice_range_holds_the_data_on_round_numbers(low, span, headroom):
    high = low + span
    start, end = nice_range(low, high, headroom)
    assert start <= low and end >= high and end > start
    if span > max(1e-6 * abs(low), 1e-12):
        assert end - start <= 2.5 * span * (1 + headroom)  # and not much wider


def test_nice_range_ends_on_multiples_of_its_step():
    start, end = nice_range(0.13, 2.07)
    assert (start, end) == (0.0, pytest.approx(2.5))
    assert is_multiple(start, 0.5) and is_multiple(end, 0.5)


def test_headroom_leaves_room_above_the_data():
    _, end = nice_range(1, 1000, headroom=0.5)
    assert end >= 1499.5


@pytest.mark.parametrize("value", [0.0, 1.0, -3.0, 1e-7])
def test_a_single_value_gets_a_range_around_it(value):
    start, end = nice_range(value, value)
    assert start < value < end or (start <= value <= end and end - start >= abs(value) / 10)


@pytest.mark.parametrize(("low", "high"), [(0.0, 5e-324), (1e300, 1.7e308), (-1e308, 1e308)])
def test_extreme_data_still_gets_a_finite_range_that_holds_it(low, high):
    start, end = nice_range(low, high)
    assert math.isfinite(start) and math.isfinite(end)
    assert start <= low and end >= high and end > start


def test_steady_range_keeps_what_still_fits():
    shown = (0.0, 3000.0)
    assert steady_range(shown, 1, 2500) == shown
    assert steady_range(shown, 1, 3001) != shown  # the data left it
    smaller = steady_range(shown, 1, 100)  # the data fills too little of it
    assert smaller != shown and MIN_FILL * (smaller[1] - smaller[0]) <= 99


def test_a_growing_curve_moves_its_axis_a_few_times_per_decade():
    shown, changes = None, 0
    for last in range(10, 1_000_001, 97):
        new = steady_range(shown, 1, last, headroom=0.5)
        changes += new != shown
        shown = new
        assert shown[0] <= 1 and shown[1] >= last
    assert changes <= 3 * 5 + 1  # five decades
