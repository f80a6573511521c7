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
from crepetool.model import load_model
torch.set_grad_enabled(False)
model = load_model("tiny")
frames = torch.randn(256, 1024)
model(frames), model(frames)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(3):
    model(frames)
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self").exists(), reason="page-fault counts as Linux reports them")
def test_the_command_reuses_freed_activations() -> None:
    """The command's allocator policy (cli.tune_allocator): glibc reuses the freed activations of
    one batch for the next, each page faulting once, not once per batch.

    The control maps every block over 128 KiB afresh (a fixed ``MALLOC_MMAP_THRESHOLD_``, which
    also turns off glibc's own moving threshold, so its count does not depend on the run): it
    shows the count sees fresh pages. glibc's unset default is not the control, since its moving
    threshold makes its count vary between runs (10k-49k pages here)."""
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "THP_"))}

    def faults(policy: str, conv: str) -> int:
        extra = {"MALLOC_MMAP_THRESHOLD_": "131072"} if policy == "fresh" else {}
        command = [sys.executable, "-c", _FAULTS, policy]
        run = subprocess.run(
            command, env={**env, **extra, CONV_ENV: conv}, capture_output=True, text=True, check=True
        )
        return int(run.stdout)

    pages = 3 * 256 * 128 * 256 * 4 // 4096  # conv1's output alone, three batches, in 4 KiB pages
    for conv in ("direct", "transform"):
        counts = {policy: faults(policy, conv) for policy in ("fresh", "tuned")}
        # Under the policy, three batches fault less than a third of one batch's conv1 output
        # (oneDNN's scratch buffers vary: 0-1,556 pages here).
        assert counts["fresh"] > pages and counts["tuned"] < pages // 10, (conv, counts)
