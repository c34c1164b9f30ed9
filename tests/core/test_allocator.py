"""keep_freed_memory: large freed blocks are reused instead of being unmapped and faulted in again."""

from __future__ import annotations

import subprocess
import sys

import pytest

_CHURN = """
import resource, torch
from xmem_core.inference.allocator import keep_freed_memory

def churn():  # minor page faults of five 64 MB tensors, each freed at once
    start = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(5):
        torch.ones(16 * 2**20)
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - start

churn()
before = churn()
applied = keep_freed_memory()
for _ in range(3):  # the heap grows to its working size once
    churn()
print(before, churn(), applied)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc tuning")
def test_large_blocks_are_reused_without_page_faults() -> None:
    res = subprocess.run([sys.executable, "-c", _CHURN], capture_output=True, text=True)  # process-wide setting
    assert res.returncode == 0, res.stderr
    before, after, applied = res.stdout.split()
    if applied != "True":
        pytest.skip("not glibc: keep_freed_memory does nothing here")
    assert int(before) > 5 * 10_000  # unmapped on free, faulted in again: 16,384 pages of 4 KB per tensor
    assert int(after) < int(before) / 20


def test_does_nothing_off_linux() -> None:
    from xmem_core.inference.allocator import _tune_malloc

    assert _tune_malloc("darwin") is False  # would load libc and apply (True on this Linux) without the guard
