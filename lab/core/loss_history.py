"""Loss per training step, kept forever in bounded memory.

Training may run for millions of steps while the plot only needs ~2000 points, so old steps
are folded into min/max buckets (spikes stay visible) and the bucket width doubles whenever
the buckets run out. ``append`` sits in the worker's hot loop, so it only writes into a
preallocated buffer; the folding cost is amortised over that buffer's length.

``state()`` and ``LossHistory.from_state`` carry the exact contents (a workspace file holds
them), so a run that continues from a file draws the same curve as one that never stopped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

_MIN_POINTS = 16


@dataclass(frozen=True)
class HistoryState:
    """Everything a LossHistory holds, as plain values and array copies.

    Losses are those of steps ``first_step + 1`` onwards: the oldest folded into ``mins`` and
    ``maxs`` (``bucket_size`` steps each), then ``partial_count`` steps not yet a whole bucket
    (their envelope ``partial_min``/``partial_max``), then the newest at full resolution in
    ``raw``. ``folded_last`` is the last folded loss (None while nothing is folded).
    """

    first_step: int = 0
    max_points: int = 2000
    bucket_size: int = 1
    mins: np.ndarray = field(default_factory=lambda: np.empty(0))
    maxs: np.ndarray = field(default_factory=lambda: np.empty(0))
    partial_count: int = 0
    partial_min: float = np.nan
    partial_max: float = np.nan
    folded_last: float | None = None
    raw: np.ndarray = field(default_factory=lambda: np.empty(0))

    @property
    def count(self) -> int:
        """Losses recorded: the step they reach is ``first_step + count``."""
        return self.mins.size * self.bucket_size + self.partial_count + self.raw.size

    @property
    def last(self) -> float | None:
        """The most recent loss, or None before the first step."""
        return float(self.raw[-1]) if self.raw.size else self.folded_last


class LossHistory:
    """Bounded record of every loss since the last ``clear``.

    Steps are numbered from 1. The newest steps (at most one raw buffer of them) stay at
    full resolution; older ones live in equal-width buckets of (min, max).
    """

    def __init__(self, max_points: int = 2000, first_step: int = 0) -> None:
        if max_points < _MIN_POINTS:
            raise ValueError(f"max_points must be at least {_MIN_POINTS}")
        self.max_points = max_points
        # Power-of-two sizes keep every fold aligned to whole buckets: the raw buffer always
        # splits into whole buckets, or fills a whole number of raw buffers per bucket.
        self._raw_size = 1 << int(np.log2(max_points / 8))
        budget = (max_points - 2 - self._raw_size) // 2  # 2 points per bucket, 1 partial
        self._capacity = budget // self._raw_size * self._raw_size
        self._raw = np.empty(self._raw_size, dtype=np.float64)
        self._mins = np.empty(self._capacity, dtype=np.float64)
        self._maxs = np.empty(self._capacity, dtype=np.float64)
        self.clear(first_step)

    def clear(self, first_step: int = 0) -> None:
        """Forget everything, e.g. when a new model starts training; the next loss is step
        ``first_step + 1``."""
        self.first_step = first_step
        self._n_raw = 0
        self._n_buckets = 0
        self._bucket_size = 1
        self._partial_count = 0
        self._partial_min = np.nan
        self._partial_max = np.nan
        self._folded_last: float | None = None

    @property
    def count(self) -> int:
        """Number of losses recorded (the last step is ``first_step + count``)."""
        return self._n_buckets * self._bucket_size + self._partial_count + self._n_raw

    @property
    def last(self) -> float | None:
        """Most recent loss, or None before the first step."""
        if self._n_raw:
            return float(self._raw[self._n_raw - 1])
        return self._folded_last

    def append(self, loss: float) -> None:
        """Record the loss of the next step."""
        self._raw[self._n_raw] = loss
        self._n_raw += 1
        if self._n_raw == self._raw_size:
            self._fold()

    def extend(self, losses: np.ndarray) -> None:
        """Record the losses of several consecutive steps."""
        values = np.asarray(losses, dtype=np.float64).ravel()
        start = 0
        while start < values.size:
            take = min(self._raw_size - self._n_raw, values.size - start)
            self._raw[self._n_raw : self._n_raw + take] = values[start : start + take]
            self._n_raw += take
            start += take
            if self._n_raw == self._raw_size:
                self._fold()

    def _fold(self) -> None:
        """Move the full raw buffer into buckets."""
        chunk = self._raw
        self._folded_last = float(chunk[-1])
        # NaN is ignored by fmin/fmax, so one inf or NaN does not hide a bucket's envelope.
        chunk = np.where(np.isfinite(chunk), chunk, np.nan)
        self._n_raw = 0
        size = self._bucket_size
        if size > self._raw_size:
            self._partial_min = np.fmin(self._partial_min, np.fmin.reduce(chunk))
            self._partial_max = np.fmax(self._partial_max, np.fmax.reduce(chunk))
            self._partial_count += self._raw_size
            if self._partial_count < size:
                return
            self._push(np.array([self._partial_min]), np.array([self._partial_max]))
            self._partial_count = 0
            self._partial_min = self._partial_max = np.nan
        else:
            shaped = chunk.reshape(self._raw_size // size, size)
            self._push(np.fmin.reduce(shaped, axis=1), np.fmax.reduce(shaped, axis=1))
        # Capacity is a multiple of the raw size, so a push never overshoots it.
        if self._n_buckets == self._capacity:
            self._merge()

    def _push(self, mins: np.ndarray, maxs: np.ndarray) -> None:
        end = self._n_buckets + mins.size
        self._mins[self._n_buckets : end] = mins
        self._maxs[self._n_buckets : end] = maxs
        self._n_buckets = end

    def _merge(self) -> None:
        """Halve the full bucket array by joining neighbours (the capacity is even)."""
        half = self._capacity // 2
        pairs_min = self._mins.reshape(half, 2)
        pairs_max = self._maxs.reshape(half, 2)
        self._mins[:half] = np.fmin.reduce(pairs_min, axis=1)
        self._maxs[:half] = np.fmax.reduce(pairs_max, axis=1)
        self._n_buckets = half
        self._bucket_size *= 2

    def curve(self) -> tuple[np.ndarray, np.ndarray]:
        """(steps, losses) to plot: the whole history's shape in at most ``max_points``.

        Steps count from ``first_step + 1``. Each bucket contributes its max at its first step
        and its min at its last step,
        so a falling loss reads as falling and spikes survive. Non-finite losses are left out.
        """
        size = self._bucket_size
        n = self._n_buckets
        starts = np.arange(n, dtype=np.float64) * size + 1.0
        if size == 1:
            bucket_steps, bucket_vals = starts, self._mins[:n].copy()
        else:
            bucket_steps = np.column_stack((starts, starts + (size - 1))).ravel()
            bucket_vals = np.column_stack((self._maxs[:n], self._mins[:n])).ravel()

        folded = n * size
        partial_steps = np.empty(0)
        partial_vals = np.empty(0)
        if self._partial_count:
            partial_steps = np.array([folded + 1.0, folded + self._partial_count])
            partial_vals = np.array([self._partial_max, self._partial_min])
            folded += self._partial_count

        raw_steps = np.arange(1, self._n_raw + 1, dtype=np.float64) + folded
        steps = np.concatenate((bucket_steps, partial_steps, raw_steps)) + self.first_step
        losses = np.concatenate((bucket_vals, partial_vals, self._raw[: self._n_raw]))
        keep = np.isfinite(losses)
        return steps[keep], losses[keep]

    def state(self) -> HistoryState:
        """A copy of everything recorded, for saving."""
        n = self._n_buckets
        return HistoryState(
            first_step=self.first_step,
            max_points=self.max_points,
            bucket_size=self._bucket_size,
            mins=self._mins[:n].copy(),
            maxs=self._maxs[:n].copy(),
            partial_count=self._partial_count,
            partial_min=float(self._partial_min),
            partial_max=float(self._partial_max),
            folded_last=self._folded_last,
            raw=self._raw[: self._n_raw].copy(),
        )

    @classmethod
    def from_state(cls, state: HistoryState) -> LossHistory:
        """The history a ``state()`` describes; ValueError saying what does not fit.

        A state from a file may be anything, so every invariant ``append`` relies on is
        checked: sizes within the buffers, power-of-two buckets, whole folds.
        """
        if not _whole(state.max_points) or state.max_points < _MIN_POINTS:
            raise ValueError(f"max_points must be a whole number of at least {_MIN_POINTS}")
        history = cls(state.max_points)
        size = state.bucket_size
        if not _whole(size) or size < 1 or size & (size - 1):
            raise ValueError("bucket_size must be a power of two")
        if not _whole(state.first_step) or state.first_step < 0:
            raise ValueError("first_step must be a whole number >= 0")
        mins, maxs, raw = (np.asarray(a, dtype=np.float64) for a in (state.mins, state.maxs,
                                                                     state.raw))
        if mins.ndim != 1 or maxs.shape != mins.shape or mins.size >= history._capacity:
            raise ValueError(
                f"mins and maxs must be two lists of equal length below {history._capacity}"
            )
        if raw.ndim != 1 or raw.size >= history._raw_size:
            raise ValueError(f"raw must be a list shorter than {history._raw_size}")
        partial = state.partial_count
        whole_folds = partial % history._raw_size == 0 and (
            partial < size if size > history._raw_size else partial == 0
        )
        if not _whole(partial) or partial < 0 or not whole_folds:
            raise ValueError("partial_count does not fit the bucket size")
        if (mins.size * size) % history._raw_size:
            raise ValueError("the buckets do not hold whole folds")
        folded = mins.size > 0 or partial > 0
        if (state.folded_last is None) == folded:
            raise ValueError("folded_last must be given exactly when losses were folded")
        history.first_step = int(state.first_step)
        history._bucket_size = int(size)
        history._n_buckets = mins.size
        history._mins[: mins.size] = mins
        history._maxs[: maxs.size] = maxs
        history._partial_count = int(partial)
        history._partial_min = float(state.partial_min) if partial else np.nan
        history._partial_max = float(state.partial_max) if partial else np.nan
        history._folded_last = None if state.folded_last is None else float(state.folded_last)
        history._n_raw = raw.size
        history._raw[: raw.size] = raw
        return history


def _whole(value: object) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)
