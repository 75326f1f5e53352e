"""Keep freed memory in the process instead of handing it back to the OS after every step.

glibc's malloc returns large freed blocks to the OS at once (mmap'd blocks and the top of
the heap). A training step frees and re-allocates the same few MB of gradients each time,
so every step faults that memory back in: W3 (an MLP on 10,000 points) ran at half speed,
switching between ~400 and ~800 steps/s with the heap's layout. Qt-free.
"""

from __future__ import annotations

import ctypes
import sys

_M_TRIM_THRESHOLD = -1  # glibc's mallopt parameter numbers (malloc.h)
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20  # blocks this large or larger still come straight from the OS
TRIM_THRESHOLD = 64 << 20  # free memory kept at the top of the heap before trimming


def keep_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds for this process; False without glibc."""
    if not sys.platform.startswith("linux"):
        return False
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)
    if mallopt is None:
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )
