"""Loading a big points CSV: the app's strict loader against plain np.loadtxt on the same file.

    python tests/bench/io_bench.py [--points 1000000] [--repeats 5]

The two take turns; medians of the repeats and the median of their ratios are printed.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from lab.core.datasets import generate
from lab.core.io.points_csv import load_points, save_points


def timed(load) -> float:
    started = time.perf_counter()
    load()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "points.csv"
        save_points(path, *generate("moons", args.points, 0.1, 0))
        ours, numpy_times = [], []
        for _ in range(args.repeats):
            ours.append(timed(lambda: load_points(path)))
            numpy_times.append(timed(lambda: np.loadtxt(path, delimiter=",", skiprows=1)))
        ratios = [a / b for a, b in zip(ours, numpy_times, strict=True)]
        size = path.stat().st_size / 2**20
    print(f"{args.points:,} points ({size:.0f} MB): load_points {statistics.median(ours):.2f} s, "
          f"np.loadtxt {statistics.median(numpy_times):.2f} s, ratio "
          f"{statistics.median(ratios):.2f} (medians of {args.repeats})")


if __name__ == "__main__":
    main()
