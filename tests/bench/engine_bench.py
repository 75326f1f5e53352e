"""Engine speed against hand-fused numpy (and PyTorch eager when importable).

    python tests/bench/engine_bench.py [--seconds 2] [--repeats 3] [--only W1,W6]

W1: the tutorial perceptron (summed cross-entropy), 100 points, full batch.
W2: MLP 2-16-16-2, tanh, mean softmax cross-entropy, 1,000 points.  W3: the same on 10,000.
W4: MLP 2-64-64-2 on 100,000 points.  W5: six hidden layers of 64 on 10,000 points.
W6: 2-16-16-2 on 10,000 points in mini-batches of 32, drawn in order from an epoch
shuffled anew each time it is used up (its last batch is 16 points).

Each engine step is `run([train_op, loss])`, as the app runs it. The reference ("fused") is
numpy written by hand for the one model: the whole step fused, buffers reused, the float32
that the engine runs at best (float64 for the tutorial's W1); "numpy f64" is the first
such step, float64 and allocating, as earlier versions of this bench had it. Every runner
gets its batches the same way (`Batches`), BLAS and PyTorch use one thread (as the app does),
and glibc's malloc is tuned as the app used to tune it (`--untuned` leaves it).
Prints medians of steps/s. The runners of a workload take turns in rounds of a quarter
second each, and a ratio is the median of the rounds' ratios: this machine's speed drifts
by tens of percent over seconds, which runners a quarter second apart share. Then W3 and
W4 again, each measurement in a fresh process with and without the malloc tuning, since
mallopt cannot be undone: the median of at least 5 back-to-back pairs' ratios.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import itertools
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

import numpy as np
from threadpoolctl import threadpool_limits

import engine as ts

Step = Callable[[], object]
F32, F64 = np.float32, np.float64


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


class Batches:
    """(points, one-hot labels, class indices) for each step, in one dtype.

    Full batch: the whole data set every time. Mini-batches: consecutive slices (views) of
    a copy of the data shuffled at the start of each epoch.
    """

    def __init__(self, n: int, dtype: type, batch: int | None = None, seed: int = 2) -> None:
        x, c = _data(n)
        self.data = (x.astype(dtype), c.astype(dtype), c.argmax(axis=1))
        self.batch, self.rng, self.start = batch, np.random.default_rng(seed), n
        self.epoch = self.data

    def next(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self.batch is None:
            return self.data
        n = len(self.data[0])
        if self.start >= n:
            order = self.rng.permutation(n)
            self.epoch, self.start = tuple(a[order] for a in self.data), 0
        part = slice(self.start, self.start + self.batch)
        self.start += self.batch
        x, c, labels = self.epoch
        return x[part], c[part], labels[part]


def engine_perceptron(n: int, dtype: type = F64) -> Step:
    x, c = (a.astype(dtype) for a in _data(n))
    w, b = (p.astype(dtype) for p in _init([2, 2]))
    with ts.Graph().as_default():
        X, C = ts.placeholder(dtype=dtype), ts.placeholder(dtype=dtype)
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


def engine_mlp(n: int, sizes: list[int], dtype: type = F64, batch: int | None = None) -> Step:
    batches = Batches(n, dtype, batch)
    with ts.Graph().as_default():
        X, C = ts.placeholder(dtype=dtype), ts.placeholder(dtype=dtype)
        h = X
        variables = [ts.Variable(p.astype(dtype)) for p in _init(sizes)]
        for i in range(0, len(variables), 2):
            h = h @ variables[i] + variables[i + 1]
            if i + 2 < len(variables):
                h = ts.tanh(h)
        loss = ts.softmax_cross_entropy(h, C)
        train = ts.GradientDescentOptimizer(0.1).minimize(loss)
    run, feed, fetches = ts.Session().run, {}, [train, loss]

    def step() -> object:
        feed[X], feed[C], _ = batches.next()
        return run(fetches, feed)

    return step


def numpy_mlp(n: int, sizes: list[int], batch: int | None = None) -> Step:
    """The whole step by hand in float64, each expression allocating its result."""
    batches = Batches(n, F64, batch)
    params = _init(sizes)
    weights, biases = params[0::2], params[1::2]
    lr = 0.1

    def step() -> float:
        x, c, _ = batches.next()
        rows = len(x)
        hs = [x]
        for w, b in zip(weights[:-1], biases[:-1], strict=True):
            hs.append(np.tanh(hs[-1] @ w + b))
        z = hs[-1] @ weights[-1] + biases[-1]
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        s = e.sum(axis=1, keepdims=True)
        loss = -float(np.vdot(c, z - np.log(s))) / rows
        g = (e / s - c) / rows
        for i in reversed(range(len(weights))):
            h, w = hs[i], weights[i]
            g_below = (g @ w.T) * (1 - h * h) if i else None
            w[...] -= lr * (h.T @ g)
            biases[i][...] -= lr * g.sum(axis=0)
            g = g_below
        return loss

    return step


def fused_mlp(n: int, sizes: list[int], batch: int | None = None, dtype: type = F32) -> Step:
    """The step as one writes it by hand for this one model: fused, every buffer reused.

    Layers compute in place (dot, += bias, tanh into one buffer), column sums and the
    row maximum of two logits avoid numpy's slow reductions, and the softmax's gradient for
    one-hot labels is (p - c) / rows, in the exponentials' buffer. Bias adds and row
    operations use numpy's broadcasting as it comes.
    """
    batches = Batches(n, dtype, batch)
    params = [p.astype(dtype) for p in _init(sizes)]
    weights, biases = params[0::2], params[1::2]
    grad_w, grad_b = [np.empty_like(w) for w in weights], [np.empty_like(b) for b in biases]
    lr, buffers = dtype(0.1), {}

    def make(rows: int) -> tuple[list[np.ndarray], ...]:
        hidden = [np.empty((rows, w.shape[1]), dtype) for w in weights]
        grads = [np.empty_like(h) for h in hidden]
        scratch = [np.empty_like(h) for h in hidden]
        small = (np.ones(rows, dtype), np.empty(rows, dtype), np.empty(rows, dtype))
        return hidden, grads, scratch, small

    def step() -> float:
        x, c, _ = batches.next()
        rows = len(x)
        if rows not in buffers:
            buffers[rows] = make(rows)
        hidden, grads, scratch, (ones, most, total) = buffers[rows]
        h = x
        for i, (w, b, z) in enumerate(zip(weights, biases, hidden, strict=True)):
            np.dot(h, w, out=z)
            z += b
            if i + 1 < len(weights):
                np.tanh(z, out=z)
            h = z
        np.maximum(z[:, 0], z[:, 1], out=most)  # two classes: the row maximum
        z -= most[:, None]
        e = grads[-1]
        np.exp(z, out=e)
        np.dot(e, ones[:2], out=total)
        loss = float(np.vdot(c, z))
        np.log(total, out=most)
        loss = (float(most.sum()) - loss) / rows
        e /= total[:, None]
        e -= c
        e *= dtype(1 / rows)
        for i in reversed(range(len(weights))):
            g, below = grads[i], x if i == 0 else hidden[i - 1]
            np.dot(below.T, g, out=grad_w[i])
            np.dot(ones, g, out=grad_b[i])
            if i:
                d, t = grads[i - 1], scratch[i - 1]
                np.dot(g, weights[i].T, out=d)
                np.multiply(below, below, out=t)
                np.subtract(1, t, out=t)
                d *= t
            grad_w[i] *= lr
            weights[i] -= grad_w[i]
            grad_b[i] *= lr
            biases[i] -= grad_b[i]
        return loss

    return step


def torch_model(n: int, sizes: list[int], summed: bool, batch: int | None = None) -> Step | None:
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    batches = Batches(n, F32, batch)
    params = [torch.tensor(p, dtype=torch.float32, requires_grad=True) for p in _init(sizes)]
    lr = 0.01 if summed else 0.1
    reduction = "sum" if summed else "mean"

    def step() -> float:
        x, _, labels = batches.next()
        h = torch.from_numpy(x)
        for i in range(0, len(params), 2):
            h = h @ params[i] + params[i + 1]
            if i + 2 < len(params):
                h = torch.tanh(h)
        loss = torch.nn.functional.cross_entropy(h, torch.from_numpy(labels), reduction=reduction)
        for p in params:
            p.grad = None
        loss.backward()
        with torch.no_grad():
            for p in params:
                p -= lr * p.grad
        return loss.item()

    return step


def _mlp_runners(n: int, sizes: list[int], batch: int | None = None) -> dict[str, Callable]:
    return {
        "engine f64": lambda: engine_mlp(n, sizes, F64, batch),
        "engine f32": lambda: engine_mlp(n, sizes, F32, batch),
        "fused numpy f32": lambda: fused_mlp(n, sizes, batch),
        "numpy f64": lambda: numpy_mlp(n, sizes, batch),
        "torch eager f32": lambda: torch_model(n, sizes, summed=False, batch=batch),
    }


WORKLOADS: dict[str, Callable[[], dict[str, Callable]]] = {
    "W1 perceptron, 100 points": lambda: {
        "engine f64": lambda: engine_perceptron(100),
        "engine f32": lambda: engine_perceptron(100, F32),
        "fused numpy f64": lambda: fused_perceptron(100),
        "torch eager f32": lambda: torch_model(100, [2, 2], summed=True),
    },
    "W2 MLP 2-16-16-2, 1,000 points": lambda: _mlp_runners(1000, [2, 16, 16, 2]),
    "W3 MLP 2-16-16-2, 10,000 points": lambda: _mlp_runners(10_000, [2, 16, 16, 2]),
    "W4 MLP 2-64-64-2, 100,000 points": lambda: _mlp_runners(100_000, [2, 64, 64, 2]),
    "W5 MLP 2-(64x6)-2, 10,000 points": lambda: _mlp_runners(10_000, [2, *[64] * 6, 2]),
    "W6 2-16-16-2, batches of 32": lambda: _mlp_runners(10_000, [2, 16, 16, 2], 32),
}
MALLOC_WORKLOADS = ("W3", "W4")
MALLOC_RUNNERS = ("engine f64", "engine f32")
ROUND_SECONDS = 0.25


def steps_per_second(step: Step, seconds: float) -> float:
    warm_until = time.perf_counter() + seconds / 4
    for _ in range(20):
        step()
        if time.perf_counter() > warm_until:
            break
    count, start, chunk = 0, time.perf_counter(), 1
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(chunk):
            step()
        count += chunk
        # about 10 ms of steps between two readings of the clock, as measured so far
        chunk = max(1, min(50, int(count / (time.perf_counter() - start) / 100)))
    return count / elapsed


def _workload(prefix: str) -> tuple[str, Callable[[], dict[str, Callable]]]:
    return next((name, make) for name, make in WORKLOADS.items() if name.startswith(prefix))


def _tune_malloc() -> bool:
    """Raise glibc's mmap and trim thresholds (32 and 64 MB), so freed blocks stay in the
    process, as the app did while the engine allocated every step; False without glibc."""
    if not sys.platform.startswith("linux"):
        return False
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)
    if mallopt is None:
        return False
    mmap_threshold, trim_threshold = -3, -1  # mallopt's parameter numbers (malloc.h)
    return bool(mallopt(mmap_threshold, 32 << 20)) and bool(mallopt(trim_threshold, 64 << 20))


def _rate(steps_per_second: float) -> str:
    return f"{steps_per_second:10,.{1 if steps_per_second < 100 else 0}f}"


def _ratio(rates: list[float], reference: list[float] | None) -> str:
    """The median of the rounds' ratios, each against the reference's rate in its round."""
    if reference is None:
        return "      --"
    return f"{statistics.median(r / ref for r, ref in zip(rates, reference, strict=True)):8.2f}x"


def compare(names: list[str], seconds: float, repeats: int) -> None:
    """Each runner gets `seconds` × `repeats` in all, in rounds of ROUND_SECONDS."""
    print(f"{'workload':34} {'runner':16} {'steps/s':>10} {'vs fused':>9} {'vs torch':>9}")
    rounds = max(3, round(seconds * repeats / ROUND_SECONDS))
    for name in names:
        gc.collect()  # the last workload's graphs (cycles) go now, not while this one is timed
        _compare_runners(name, rounds)


def _compare_runners(name: str, rounds: int) -> None:
    steps = {runner: make() for runner, make in WORKLOADS[name]().items()}
    samples: dict[str, list[float]] = {r: [] for r, step in steps.items() if step is not None}
    runners = list(samples)
    for i in range(rounds):
        turn = i % len(runners)  # each runner opens a round in turn
        for runner in runners[turn:] + runners[:turn]:
            samples[runner].append(steps_per_second(steps[runner], ROUND_SECONDS))
    fused = next(values for runner, values in samples.items() if runner.startswith("fused"))
    torch = samples.get("torch eager f32")
    for runner, rates in samples.items():
        print(f"{name:34} {runner:16} {_rate(statistics.median(rates))} "
              f"{_ratio(rates, fused)} {_ratio(rates, torch)}", flush=True)


def _child_rate(prefix: str, runner: str, seconds: float, tuned: bool) -> float:
    command = [sys.executable, __file__, "--child", prefix, runner, "--seconds", str(seconds)]
    output = subprocess.run(command + ([] if tuned else ["--untuned"]),
                            capture_output=True, text=True, check=True)
    return float(output.stdout)


def malloc_comparison(seconds: float, repeats: int) -> None:
    """W3 and W4 with and without the malloc tuning, each sample in a fresh process.

    The two of a pair run back to back, in turn first, and the ratio is the median of the
    pairs' ratios: processes started seconds apart see this machine's drift.
    """
    if not _tune_malloc():
        print("\nno malloc tuning here (it needs glibc): nothing to compare")
        return
    print(f"\n{'workload':34} {'runner':16} {'tuned':>10} {'untuned':>10} {'ratio':>7}  pairs")
    for prefix in MALLOC_WORKLOADS:
        name, _ = _workload(prefix)
        for runner in MALLOC_RUNNERS:
            pairs = []
            for i in range(max(repeats, 5)):
                order = (True, False) if i % 2 == 0 else (False, True)
                rates = {tuned: _child_rate(prefix, runner, seconds, tuned) for tuned in order}
                pairs.append((rates[True], rates[False]))
            tuned, untuned = (statistics.median(p[k] for p in pairs) for k in (0, 1))
            ratios = sorted(u / t for t, u in pairs)
            print(f"{name:34} {runner:16} {_rate(tuned)} {_rate(untuned)} "
                  f"{statistics.median(ratios):6.2f}x  {ratios[0]:.2f}-{ratios[-1]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", default="", help="workloads to run, e.g. W1,W6")
    parser.add_argument("--untuned", action="store_true", help="leave glibc's malloc as it is")
    parser.add_argument("--child", nargs=2, metavar=("WORKLOAD", "RUNNER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    tuned = not args.untuned and _tune_malloc()
    with threadpool_limits(1):
        if args.child:
            _, make = _workload(args.child[0])
            print(steps_per_second(make()[args.child[1]](), args.seconds))
            return
        prefixes = [p.strip() for p in args.only.split(",") if p.strip()]
        names = [n for n in WORKLOADS if not prefixes or any(n.startswith(p) for p in prefixes)]
        print(f"numpy {np.__version__}, one BLAS thread, malloc {'tuned' if tuned else 'untuned'}")
        compare(names, args.seconds, args.repeats)
        if any(n.startswith(MALLOC_WORKLOADS) for n in names):
            malloc_comparison(args.seconds, args.repeats)


if __name__ == "__main__":
    main()
