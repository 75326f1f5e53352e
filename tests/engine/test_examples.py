"""The runnable examples run and learn."""

import re

import numpy as np
import pytest

from engine.examples import perceptron


def test_perceptron_example_trains_and_prints_its_results(capsys, fresh_default):
    perceptron.main()
    out = capsys.readouterr().out
    losses = [float(v) for v in re.findall(r"^Step: \d+  Loss: (\S+)$", out, re.MULTILINE)]
    assert len(losses) == 10
    assert losses[0] > losses[-1] and losses[-1] < 2
    assert "Weight matrix:" in out and "Bias:" in out
    assert re.search(r"^Separating line: y = -?\d+\.\d+ x [+-] \d+\.\d+$", out, re.MULTILINE)


def test_separating_line_is_where_both_classes_are_equally_likely():
    rng = np.random.default_rng(0)
    W, b = rng.standard_normal((2, 2)), rng.standard_normal(2)
    m, q = perceptron.separating_line(W, b)
    for x in (-3.0, 0.0, 2.5):
        logits = np.array([x, m * x + q]) @ W + b
        assert logits[0] == pytest.approx(logits[1])


def test_a_vertical_separating_line_has_no_slope():
    with pytest.raises(ValueError, match="vertical"):
        perceptron.separating_line(np.array([[1.0, 0.0], [2.0, 2.0]]), np.zeros(2))
