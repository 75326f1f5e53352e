"""Engine speed against a hand-fused numpy floor (and PyTorch eager when importable).

    python tests/bench/engine_bench.py [--seconds 2] [--repeats 3]

W1: the tutorial perceptron (summed cross-entropy), 100 points, full batch.
W2: MLP 2-16-16-2, tanh, mean softmax cross-entropy, 1,000 points.  W3: the same on 10,000.
Each engine step is `run([train_op, loss])`, as the app runs it. Prints medians of steps/s;
the runners of a workload take turns within each repeat, so their ratios stay fair on a
machine whose load changes.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time
from collections.abc import Callable

import numpy as np

import engine as ts

Step = Callable[[], object]


def _data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    half = n // 2
    x = np.concatenate([rng.standard_normal((half, 2)) - 2, rng.standard_normal((n - half, 2)) + 2])
    c = np.zeros((n, 2))
    c[:half, 0] = 1
    c[half:, 1] = 1
    return x, c


def _init(sizes: list[int], seed: int = 1) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    params = []
    for fan_in, fan_out in itertools.pairwise(sizes):
        params += [rng.standard_normal((fan_in, fan_out)) / np.sqrt(fan_in), np.zeros(fan_out)]
    return params


def engine_perceptron(n: int) -> Step:
    x, c = _data(n)
    w, b = _init([2, 2])
    with ts.Graph().as_default():
        X, C = ts.placeholder(), ts.placeholder()
        W, B = ts.Variable(w), ts.Variable(b)
        p = ts.softmax(ts.add(ts.matmul(X, W), B))
        loss = ts.negative(ts.reduce_sum(ts.reduce_sum(ts.multiply(C, ts.log(p)), axis=1)))
        train = ts.GradientDescentOptimizer(0.01).minimize(loss)
    session, feed, fetches = ts.Session(), {X: x, C: c}, [train, loss]
    return lambda: session.run(fetches, feed)


def fused_perceptron(n: int) -> Step:
    x, c = _data(n)
    w, b = _init([2, 2])
    xt = x.T.copy()

    def step() -> float:
        z = x @ w
        z += b
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        s = e.sum(axis=1, keepdims=True)
        loss = -float(np.vdot(c, z - np.log(s)))
        e /= s
        e -= c  # dJ/dz for summed cross-entropy with one-hot labels
        w[...] -= 0.01 * (xt @ e)
        b[...] -= 0.01 * e.sum(axis=0)
        return loss

    return step


def engine_mlp(n: int, dtype: type = np.float64) -> Step:
    x, c = _data(n)
    params = _init([2, 16, 16, 2])
    with ts.Graph().as_default():
        X, C = ts.placeholder(dtype=dtype), ts.placeholder(dtype=dtype)
        h = X
        variables = [ts.Variable(p.astype(dtype)) for p in params]
        for i in range(0, len(variables), 2):
            h = h @ variables[i] + variables[i + 1]
            if i + 2 < len(variables):
                h = ts.tanh(h)
        loss = ts.softmax_cross_entropy(h, C)
        train = ts.GradientDescentOptimizer(0.1).minimize(loss)
    session, feed, fetches = ts.Session(), {X: x.astype(dtype), C: c.astype(dtype)}, [train, loss]
    return lambda: session.run(fetches, feed)


def fused_mlp(n: int) -> Step:
    x, c = _data(n)
    w1, b1, w2, b2, w3, b3 = _init([2, 16, 16, 2])
    lr = 0.1

    def step() -> float:
        h1 = np.tanh(x @ w1 + b1)
        h2 = np.tanh(h1 @ w2 + b2)
        z = h2 @ w3 + b3
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        s = e.sum(axis=1, keepdims=True)
        loss = -float(np.vdot(c, z - np.log(s))) / n
        g3 = (e / s - c) / n
        g2 = (g3 @ w3.T) * (1 - h2 * h2)
        g1 = (g2 @ w2.T) * (1 - h1 * h1)
        w3[...] -= lr * (h2.T @ g3)
        b3[...] -= lr * g3.sum(axis=0)
        w2[...] -= lr * (h1.T @ g2)
        b2[...] -= lr * g2.sum(axis=0)
        w1[...] -= lr * (x.T @ g1)
        b1[...] -= lr * g1.sum(axis=0)
        return loss

    return step


def torch_model(n: int, sizes: list[int], summed: bool) -> Step | None:
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    x, c = _data(n)
    xs, labels = torch.tensor(x, dtype=torch.float32), torch.tensor(c.argmax(1))
    params = [torch.tensor(p, dtype=torch.float32, requires_grad=True) for p in _init(sizes)]
    lr = 0.01 if summed else 0.1
    reduction = "sum" if summed else "mean"

    def step() -> float:
        h = xs
        for i in range(0, len(params), 2):
            h = h @ params[i] + params[i + 1]
            if i + 2 < len(params):
                h = torch.tanh(h)
        loss = torch.nn.functional.cross_entropy(h, labels, reduction=reduction)
        for p in params:
            p.grad = None
        loss.backward()
        with torch.no_grad():
            for p in params:
                p -= lr * p.grad
        return loss.item()

    return step


def steps_per_second(step: Step, seconds: float) -> float:
    for _ in range(20):
        step()
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(50):
            step()
        count += 50
    return count / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    workloads = {
        "W1 perceptron, 100 points": {
            "engine": lambda: engine_perceptron(100),
            "fused numpy": lambda: fused_perceptron(100),
            "torch eager": lambda: torch_model(100, [2, 2], summed=True),
        },
        "W2 MLP 2-16-16-2, 1,000 points": {
            "engine": lambda: engine_mlp(1000),
            "engine float32": lambda: engine_mlp(1000, np.float32),
            "fused numpy": lambda: fused_mlp(1000),
            "torch eager": lambda: torch_model(1000, [2, 16, 16, 2], summed=False),
        },
        "W3 MLP 2-16-16-2, 10,000 points": {
            "engine": lambda: engine_mlp(10000),
            "engine float32": lambda: engine_mlp(10000, np.float32),
            "fused numpy": lambda: fused_mlp(10000),
            "torch eager": lambda: torch_model(10000, [2, 16, 16, 2], summed=False),
        },
    }
    print(f"{'workload':34} {'runner':16} {'steps/s':>10} {'vs fused':>9} {'vs torch':>9}")
    for name, runners in workloads.items():
        steps = {runner: make() for runner, make in runners.items()}
        samples: dict[str, list[float]] = {r: [] for r, step in steps.items() if step is not None}
        for _ in range(args.repeats):  # runners take turns, so a change in load hits them alike
            for runner, rates_so_far in samples.items():
                rates_so_far.append(steps_per_second(steps[runner], args.seconds))
        rates = {runner: statistics.median(values) for runner, values in samples.items()}
        for runner, rate in rates.items():
            fused = rate / rates["fused numpy"]
            torch = f"{rate / rates['torch eager']:8.2f}x" if "torch eager" in rates else "      --"
            print(f"{name:34} {runner:16} {rate:10,.0f} {fused:8.2f}x {torch}")


if __name__ == "__main__":
    main()
