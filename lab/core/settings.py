"""What the user picks for the data and for training, checked where it is made.

Model settings live with the model (lab.core.model). Each settings object is frozen: a
change is a new object, so whoever holds one (the worker, a file being written) never sees it
change under them.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

from lab.core.datasets import DATASETS, TUTORIAL_SEED
from lab.core.model import MAX_SEED, REGULARIZATIONS, whole
from lab.core.optimizers import OPTIMIZERS
from lab.core.points import MAX_POINTS

MAX_STEPS = 10_000_000
MAX_TEST_SPLIT = 90  # percent of the points held out for testing
MAX_PENALTY_RATE = 10.0
MAX_NOISE = 5.0  # a standard deviation in data units; the data sets span about -3 to 3
MIN_LEARNING_RATE = 1e-5
MAX_LEARNING_RATE = 10.0


@dataclass(frozen=True)
class DataSettings:
    """The generator behind Generate: which data set, how many points, noise, seed.

    The defaults give the tutorial's two blobs, the points the app starts with.
    """

    dataset: str = "blobs"
    count: int = DATASETS["blobs"].default_count
    noise: float = DATASETS["blobs"].default_noise
    seed: int = TUTORIAL_SEED
    test_split: int = 0  # percent of the points held out for testing

    def __post_init__(self) -> None:
        if self.dataset not in DATASETS:
            raise ValueError(
                f"unknown data set {self.dataset!r}; choose from {', '.join(DATASETS)}"
            )
        if not whole(self.count, 1, MAX_POINTS):
            raise ValueError(f"the point count must be a whole number from 1 to {MAX_POINTS:,}")
        noise = self.noise
        if not isinstance(noise, numbers.Real) or not 0 <= noise <= MAX_NOISE:
            raise ValueError(f"the noise must be a number from 0 to {MAX_NOISE:g}, not {noise!r}")
        if not whole(self.seed, 0, MAX_SEED):
            raise ValueError(f"the data seed must be a whole number from 0 to {MAX_SEED}")
        if not whole(self.test_split, 0, MAX_TEST_SPLIT):
            raise ValueError(f"the test split must be a whole percentage from 0 to "
                             f"{MAX_TEST_SPLIT}")

    @classmethod
    def for_dataset(
        cls, dataset: str, seed: int = TUTORIAL_SEED, test_split: int = 0
    ) -> DataSettings:
        """A data set with its own default count and noise."""
        if dataset not in DATASETS:
            raise ValueError(f"unknown data set {dataset!r}; choose from {', '.join(DATASETS)}")
        defaults = DATASETS[dataset]
        return cls(dataset, defaults.default_count, defaults.default_noise, seed, test_split)


@dataclass(frozen=True)
class TrainingSettings:
    """How Train trains: the optimizer, its learning rate, and how many steps a Train takes."""

    optimizer: str = "gradient_descent"
    learning_rate: float = 0.1
    steps: int = 300
    batch_size: int = 0  # points per step; 0: all of them, the tutorial's full batch
    regularization: str = "none"  # or "l2", "l1": a penalty on the weights' size
    regularization_rate: float = 0.001

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(
                f"unknown optimizer {self.optimizer!r}; choose from {', '.join(OPTIMIZERS)}"
            )
        rate = self.learning_rate
        if (
            not isinstance(rate, numbers.Real)
            or isinstance(rate, bool)
            or not MIN_LEARNING_RATE <= rate <= MAX_LEARNING_RATE
        ):
            raise ValueError(
                f"the learning rate must be from {MIN_LEARNING_RATE:g} to "
                f"{MAX_LEARNING_RATE:g}, not {rate!r}"
            )
        if not whole(self.steps, 1, MAX_STEPS):
            raise ValueError(f"steps must be a whole number from 1 to {MAX_STEPS:,}")
        if not whole(self.batch_size, 0, MAX_POINTS):
            raise ValueError(f"the batch size must be a whole number from 1 to {MAX_POINTS:,} "
                             f"(0: all points)")
        if self.regularization not in REGULARIZATIONS:
            raise ValueError(f"unknown regularization {self.regularization!r}; choose from "
                             f"{', '.join(REGULARIZATIONS)}")
        rate = self.regularization_rate
        if not isinstance(rate, numbers.Real) or not 0 <= rate <= MAX_PENALTY_RATE:
            raise ValueError(f"the regularization rate must be from 0 to {MAX_PENALTY_RATE:g}, "
                             f"not {rate!r}")
