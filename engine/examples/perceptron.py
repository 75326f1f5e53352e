"""The tutorial's perceptron, trained with gradient descent on two Gaussian blobs.

    python -m engine.examples.perceptron

Written against the tutorial's API (`import engine as ts`), so it doubles as a check that
code written for the tutorial runs unchanged.
"""

from __future__ import annotations

import numpy as np

import engine as ts


def separating_line(W: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Slope m and intercept q of the line y = m x + q where both classes are equally likely.

    Softmax gives class 0 where its logit is larger, so the boundary is
    (W[:, 0] − W[:, 1]) · (x, y) + (b0 − b1) = 0; a line through W's first column alone
    (as the tutorial plots it) ignores the second class.
    """
    w = W[:, 0] - W[:, 1]
    d = b[0] - b[1]
    if w[1] == 0:
        raise ValueError("the boundary is vertical: it has no slope")
    return float(-w[0] / w[1]), float(-d / w[1])


def main(seed: int = 0) -> None:
    """Train for 100 steps, printing the loss every 10, then the weights and the boundary.

    Seeded, so every run prints the same numbers.
    """
    rng = np.random.default_rng(seed)
    red_points = rng.standard_normal((50, 2)) - 2 * np.ones((50, 2))
    blue_points = rng.standard_normal((50, 2)) + 2 * np.ones((50, 2))

    ts.Graph().as_default()
    X = ts.placeholder()
    c = ts.placeholder()
    W = ts.Variable(rng.standard_normal((2, 2)))
    b = ts.Variable(rng.standard_normal(2))
    p = ts.softmax(ts.add(ts.matmul(X, W), b))
    J = ts.negative(ts.reduce_sum(ts.reduce_sum(ts.multiply(c, ts.log(p)), axis=1)))
    minimization_op = ts.GradientDescentOptimizer(learning_rate=0.01).minimize(J)

    feed_dict = {
        X: np.concatenate((blue_points, red_points)),
        c: [[1, 0]] * len(blue_points) + [[0, 1]] * len(red_points),
    }
    session = ts.Session()
    for step in range(100):
        J_value = session.run(J, feed_dict)
        if step % 10 == 0:
            print("Step:", step, " Loss:", J_value)
        session.run(minimization_op, feed_dict)

    W_value = session.run(W)
    print("Weight matrix:\n", W_value)
    b_value = session.run(b)
    print("Bias:\n", b_value)
    m, q = separating_line(W_value, b_value)
    sign = "-" if q < 0 else "+"
    print(f"Separating line: y = {m:.4f} x {sign} {abs(q):.4f}")


if __name__ == "__main__":
    main()
