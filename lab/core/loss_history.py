"""Loss per training step, kept forever in bounded memory.

Training may run for millions of steps while the plot only needs ~2000 points, so old steps
are folded into min/max buckets (spikes stay visible) and the bucket width doubles whenever
the buckets run out. ``append`` sits in the worker's hot loop, so it only writes into a
preallocated buffer; the folding cost is amortised over that buffer's length.
"""

import numpy as np

_MIN_POINTS = 16


class LossHistory:
    """Bounded record of every loss since the last ``clear``.

    Steps are numbered from 1. The newest steps (at most one raw buffer of them) stay at
    full resolution; older ones live in equal-width buckets of (min, max).
    """

    def __init__(self, max_points: int = 2000) -> None:
        if max_points < _MIN_POINTS:
            raise ValueError(f"max_points must be at least {_MIN_POINTS}")
        # Power-of-two sizes keep every fold aligned to whole buckets: the raw buffer always
        # splits into whole buckets, or fills a whole number of raw buffers per bucket.
        self._raw_size = 1 << int(np.log2(max_points / 8))
        budget = (max_points - 2 - self._raw_size) // 2  # 2 points per bucket, 1 partial
        self._capacity = budget // self._raw_size * self._raw_size
        self._raw = np.empty(self._raw_size, dtype=np.float64)
        self._mins = np.empty(self._capacity, dtype=np.float64)
        self._maxs = np.empty(self._capacity, dtype=np.float64)
        self.clear()

    def clear(self) -> None:
        """Forget everything, e.g. when a new model starts training."""
        self._n_raw = 0
        self._n_buckets = 0
        self._bucket_size = 1
        self._partial_count = 0
        self._partial_min = np.nan
        self._partial_max = np.nan
        self._folded_last: float | None = None

    @property
    def count(self) -> int:
        """Number of losses recorded, i.e. the last step number."""
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

        Each bucket contributes its max at its first step and its min at its last step,
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
        steps = np.concatenate((bucket_steps, partial_steps, raw_steps))
        losses = np.concatenate((bucket_vals, partial_vals, self._raw[: self._n_raw]))
        keep = np.isfinite(losses)
        return steps[keep], losses[keep]
