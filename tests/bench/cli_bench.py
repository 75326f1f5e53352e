"""`lab train` against the same model trained headless (a bare TrainingRun), in one process.

    python tests/bench/cli_bench.py [--repeats 5]

Workloads as in the other benches: W1 the tutorial perceptron on its 100 points; W2 an MLP
8,8 tanh on 1,000 moons; W3 the same on 10,000. Each repeat runs `lab train` (its own
steps/s, from its summary line) and then the bare run for the same number of steps; the
ratio is the median of the repeats' ratios, so the machine's drift cancels out.
"""

from __future__ import annotations

import argparse
import io
import re
import statistics
import time

from lab.cli import train_command
from lab.core.datasets import generate, tutorial_points
from lab.core.model import ModelSettings
from lab.core.points import validate_columns
from lab.core.training import TrainingRun

WORKLOADS = {
    "W1 perceptron, 100 pts": ([], ModelSettings(), None, 20_000),
    "W2 MLP 8,8 tanh, 1k pts": (["--data", "moons", "--count", "1000", "--noise", "0.15",
                                 "--data-seed", "0", "--hidden", "8,8"],
                                ModelSettings("mlp", (8, 8)), 1_000, 3_000),
    "W3 MLP 8,8 tanh, 10k pts": (["--data", "moons", "--count", "10000", "--noise", "0.15",
                                  "--data-seed", "0", "--hidden", "8,8"],
                                 ModelSettings("mlp", (8, 8)), 10_000, 400),
}


def cli_rate(flags: list[str], steps: int) -> float:
    out = io.StringIO()
    assert train_command([*flags, "--steps", str(steps)], out, io.StringIO()) == 0
    return float(re.search(r"([\d,]+) steps/s", out.getvalue()).group(1).replace(",", ""))


def bare_rate(settings: ModelSettings, count: int | None, steps: int) -> float:
    run = TrainingRun(settings)
    run.set_points(validate_columns(*(tutorial_points() if count is None
                                    else generate("moons", count, 0.15, 0))))
    started = time.perf_counter()
    run.train(steps)
    return steps / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(f"{'workload':26} {'lab train':>10} {'headless':>10} {'ratio':>6}  (medians of "
          f"{args.repeats})")
    for name, (flags, settings, count, steps) in WORKLOADS.items():
        cli, bare, ratios = [], [], []
        for _ in range(args.repeats):
            cli.append(cli_rate(flags, steps))
            bare.append(bare_rate(settings, count, steps))
            ratios.append(cli[-1] / bare[-1])
        print(f"{name:26} {statistics.median(cli):10,.0f} {statistics.median(bare):10,.0f} "
              f"{statistics.median(ratios):6.2f}")


if __name__ == "__main__":
    main()
