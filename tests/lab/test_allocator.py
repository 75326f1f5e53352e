import subprocess
import sys

import pytest

from lab.allocator import keep_freed_memory

# Allocate, touch and free 20 MB; print how much the process's RSS fell on the free.
SCRIPT = """
import sys
import numpy as np
from lab.allocator import keep_freed_memory

def rss_mb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) / 1024 for line in status if line.startswith("VmRSS:"))

if sys.argv[1] == "keep":
    assert keep_freed_memory()
block = np.ones(20 << 17)
before = rss_mb()
del block
print(before - rss_mb())
"""

glibc_only = pytest.mark.skipif(
    not sys.platform.startswith("linux") or not keep_freed_memory(), reason="needs glibc"
)


def rss_drop_mb(mode: str) -> float:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, check=True
    )
    return float(done.stdout)


@glibc_only
def test_freed_blocks_stay_in_the_process_for_the_next_step():
    assert rss_drop_mb("default") > 15  # glibc hands a 20 MB block straight back
    assert rss_drop_mb("keep") < 5
