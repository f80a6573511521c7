"""The process's allocator policy for batch after batch of activations (glibc, Linux)."""

from __future__ import annotations

import os

#: glibc's mallopt parameters, and the values set: see :func:`tune_allocator`.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_MMAP_FROM, _TRIM_FROM = 32 * 2**20, 128 * 2**20


def tune_allocator() -> None:
    """Let glibc reuse freed activations instead of mapping fresh pages for every batch (Linux).

    By default glibc maps large blocks afresh (or trims its heap) on every batch, and each
    page of a fresh block faults when first touched: ``tiny`` faulted 100-130 MB of pages per
    512 frames. Blocks under 32 MiB now come from the heap, which keeps up to 128 MiB free
    before giving memory back (docs/benchmarks.md has the figures).
    torch's transparent huge pages (``THP_MEM_ALLOC_ENABLE``, 2 MiB pages for blocks of
    2 MiB and more) keep the faults of larger blocks (``full``'s conv1 slices) fewer.
    Process-wide policies, so the command line sets them, before torch is imported, not the
    library; a notebook may call this too. A user's own ``MALLOC_MMAP_THRESHOLD_`` wins.
    """
    import ctypes

    if "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return
    os.environ.setdefault("THP_MEM_ALLOC_ENABLE", "1")  # read by torch at its first allocation
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_FROM)
        libc.mallopt(_M_TRIM_THRESHOLD, _TRIM_FROM)
    except (OSError, AttributeError):  # not glibc: its allocator decides
        pass
