"""``--precision bf16|fp16``: CREPE's convolutions at half precision, the rest in fp32.

:class:`HalfCrepe` is a copy of the model whose conv2..conv6 kernels are bf16 (or fp16):
each of those convolutions runs at that precision (the matrix units accumulate in fp32
and round each output once), while conv1, the fused pool/ReLU/batch norm and the
classifier stay fp32. Batch norm must: ``full``'s conv2 running variance is past fp16's range.

- On CPUs with AMX or AVX-512 BF16, bf16 through the model's channels-last layout runs
  oneDNN's AMX convolution; on CUDA, bf16 and fp16 run the same way. (Speed and accuracy
  against fp32: docs/benchmarks.md.)
- conv1 stays fp32: oneDNN's AMX convolution of the four phases (4 input channels, kernel
  128) was measured returning wrong values in bf16; it is ~10% of the multiply-adds.
- Elsewhere (a CPU without bf16 units, fp16 on a CPU) the model runs fp32, with one
  warning line: emulated half precision would be slower.
"""

from __future__ import annotations

import functools
import warnings
from pathlib import Path

import torch

from crepetool.network.model import LAYER_NAMES, Crepe

DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


@functools.lru_cache(maxsize=1)
def cpu_has_bf16() -> bool:
    """Whether this CPU has bf16 matrix units (AMX-BF16 or AVX-512 BF16), from /proc/cpuinfo."""
    try:
        flags = Path("/proc/cpuinfo").read_text().split()
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


class Wrapped(torch.nn.Module):
    """A Crepe (``.model``) running at another precision: used as it is by predict."""

    model: Crepe


class HalfCrepe(Wrapped):
    """A :class:`Crepe` whose conv2..conv6 run at ``dtype`` (fp32 in and out).

    Arguments
        model (Crepe): kept as ``.model``, unchanged; the half-precision copy is built here,
            in the channels-last (``cl``) layout, where oneDNN's matrix-unit convolutions are
            (on a GPU too it measured faster).
        dtype: ``torch.bfloat16`` or ``torch.float16``.
    """

    def __init__(self, model: Crepe, dtype: torch.dtype = torch.bfloat16) -> None:
        super().__init__()
        self.model = model.eval()
        device = next(model.parameters()).device
        # direct: the matrix units' convolutions (a DFT in bf16 would lose the precision), even
        # where CREPETOOL_CONV asks every model for the transform
        self.fast = Crepe(model.capacity, "cl", "direct")
        self.fast.load_state_dict(model.state_dict())
        self.fast.to(device).eval()
        for name in LAYER_NAMES[1:]:  # Crepe runs each convolution at its kernel's dtype
            getattr(self.fast, name).to(dtype)

    @torch.no_grad()
    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        """Probabilities of normalised frames: Tensor [shape=(batch, 1024)] -> [shape=(batch, 360)], fp32."""
        return self.fast(frames)

    def embed(self, frames: torch.Tensor) -> torch.Tensor:
        """:meth:`Crepe.embed` at this precision (fp32 out)."""
        return self.fast.embed(frames).float()


def with_precision(model: Crepe, precision: str, force: bool = False) -> torch.nn.Module:
    """``model`` running at ``precision`` (``fp32``, ``bf16``, ``fp16``), where this device can.

    ``force`` runs bf16 even on a CPU without bf16 units (for tests: emulated, slow).
    """
    if precision == "fp32" or isinstance(model, Wrapped):
        return model
    device = next(model.parameters()).device
    if device.type == "cuda" or (precision == "bf16" and (force or cpu_has_bf16())):
        return HalfCrepe(model, DTYPES[precision])
    why = (
        "fp16 runs on CUDA only"
        if precision == "fp16"
        else "this CPU has no bf16 matrix units (AMX or AVX-512 BF16)"
    )
    warnings.warn(f"--precision {precision}: {why}; running fp32", RuntimeWarning, stacklevel=2)
    return model
