"""The command's allocator policy: freed activations are reused, not mapped afresh."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from crepetool.names import CONV_ENV

_FAULTS = """
import resource, sys
if sys.argv[1] == "tuned":
    from crepetool.allocator import tune_allocator
    tune_allocator()
import torch
from crepetool.network.loading import load_model
torch.set_grad_enabled(False)
model = load_model("tiny")
frames = torch.randn(256, 1024)
model(frames), model(frames)
counts = []
for _ in range(6):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    model(frames)
    counts.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(*counts)
"""


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self").exists(), reason="page-fault counts as Linux reports them")
def test_the_command_reuses_freed_activations() -> None:
    """The command's allocator policy (cli.tune_allocator): glibc reuses the freed activations of
    one batch for the next, each page faulting once, not once per batch.

    The control maps every block over 128 KiB afresh (a fixed ``MALLOC_MMAP_THRESHOLD_``, which
    also turns off glibc's own moving threshold, so its count does not depend on the run): it
    shows the count sees fresh pages. glibc's unset default is not the control, since its moving
    threshold makes its count vary between runs (10k-49k pages here). Each process runs six
    batches and the count is that of its three quietest: the steady state, which a one-off
    oneDNN scratch mapping in one batch (up to ~3,100 pages here) does not speak for."""
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "THP_"))}

    def faults(policy: str, conv: str) -> int:
        """Page faults of the three quietest of six batches."""
        extra = {"MALLOC_MMAP_THRESHOLD_": "131072"} if policy == "fresh" else {}
        command = [sys.executable, "-c", _FAULTS, policy]
        run = subprocess.run(
            command, env={**env, **extra, CONV_ENV: conv}, capture_output=True, text=True, check=True
        )
        return sum(sorted(map(int, run.stdout.split()))[:3])

    pages = 3 * 256 * 128 * 256 * 4 // 4096  # conv1's output alone, three batches, in 4 KiB pages
    for conv in ("direct", "transform"):
        counts = {policy: faults(policy, conv) for policy in ("fresh", "tuned")}
        # Under the policy, three batches fault less than a third of one batch's conv1 output.
        assert counts["fresh"] > pages and counts["tuned"] < pages // 10, (conv, counts)
