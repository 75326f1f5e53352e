"""The numpy helpers' faster routes give numpy's own results."""

import numpy as np
import pytest

from engine.kernels import MANY_ROWS, by_rows, row_adder

SHAPES = [(5, 3), (MANY_ROWS, 2), (1000, 2), (1000, 3), (1000, 16), (777, 64), (3000, 5)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_adding_a_row_in_place_is_numpys_broadcast_add(shape, dtype):
    rng = np.random.default_rng(0)
    z, row = rng.standard_normal(shape).astype(dtype), rng.standard_normal(shape[1]).astype(dtype)
    expected = z + row
    add = row_adder(z)
    add(row)
    np.testing.assert_array_equal(z, expected)
    add(-row)  # a second call, with another row, adds that one
    np.testing.assert_allclose(z, expected - row, rtol=1e-6)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("ufunc", [np.subtract, np.divide, np.multiply])
def test_a_ufunc_with_one_value_per_row_is_numpys_broadcast(shape, ufunc):
    rng = np.random.default_rng(1)
    a, column = rng.standard_normal(shape), rng.uniform(1, 2, (shape[0], 1))
    np.testing.assert_array_equal(by_rows(ufunc, a, column), ufunc(a, column))
    out = np.empty_like(a)
    assert by_rows(ufunc, a, column, out=out) is out
    np.testing.assert_array_equal(out, ufunc(a, column))
