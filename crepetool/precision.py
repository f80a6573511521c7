"""``--precision bf16``: CREPE's convolutions as bfloat16 GEMMs on the CPU's matrix units.

On CPUs with AMX or AVX-512 BF16 (Sapphire Rapids and later), a bf16 matrix product runs
several times faster than fp32 (measured on one: 2,040 GFLOP/s against 353), but
PyTorch's bf16 autocast of the model runs slower than fp32 there, because its
convolutions do not reach those units. So here each convolution is an im2col GEMM over
the time axis, ``[batch * time, C_in * k] @ [C_in * k, C_out]`` in bf16 (the GEMM
accumulates in fp32 and rounds each output once), in chunks of a few frames so the
im2col buffer stays small; bias, ReLU, batch norm and max-pool stay fused, in fp32.
conv1 (on the raw audio, ~10% of the FLOPs) and the classifier stay fp32: with them in
bf16 too, the peak bin agreed with fp32 on 98.4% of CREPE's reference frames, against
99.2% this way (the two that differ are unvoiced, peak probability under 0.25).

On CUDA, bf16 (or fp16) uses the usual autocast. Elsewhere (no bf16 matrix units) the
model falls back to fp32 with one warning line: emulated bf16 would be slower.
"""

from __future__ import annotations

import functools
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F

from crepetool.model import KERNEL_SIZES, LAYER_NAMES, PADDING, STRIDES, Crepe, bn_affine

#: Frames whose im2col buffer is built at a time (full conv2: 8 x 128 x 65,536 bf16 = 134 MB).
CHUNK = 8


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


class Bf16Crepe(Wrapped):
    """A :class:`Crepe` whose GEMMs run in bf16 (same weights, fp32 in and out).

    Arguments: model (Crepe, eval mode). Its weights are cast to bf16 once, here.
    """

    def __init__(self, model: Crepe) -> None:
        super().__init__()
        self.model = model.eval()
        self.kernels = [
            getattr(model, name)
            .weight.detach()[..., 0]
            .permute(0, 2, 1)
            .reshape(getattr(model, name).out_channels, -1)
            for name in LAYER_NAMES
        ]  # conv i as [C_out, k * C_in], matching the im2col column order (time tap, then channel)
        self.kernels = [self.kernels[0].contiguous()] + [
            k.to(torch.bfloat16).contiguous() for k in self.kernels[1:]
        ]

    @torch.no_grad()
    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        """Probabilities of normalised frames: Tensor [shape=(batch, 1024)] -> [shape=(batch, 360)]."""
        return (
            torch.cat([self._chunk(part) for part in frames.split(CHUNK)])
            if frames.size(0)
            else frames.new_zeros(0, 360)
        )

    def _chunk(self, frames: torch.Tensor) -> torch.Tensor:
        model = self.model
        # conv1: windows of 512 every 4 samples, one GEMM; x is [batch, time, C] throughout
        windows = F.pad(frames, PADDING[0]).unfold(1, KERNEL_SIZES[0], STRIDES[0])
        x = torch.addmm(model.conv1.bias, windows.reshape(-1, KERNEL_SIZES[0]), self.kernels[0].t())
        x = x.view(frames.size(0), windows.size(1), -1)
        x = self._activate(x, 0)
        for index in range(1, 6):
            conv = getattr(model, LAYER_NAMES[index])
            padded = F.pad(x.transpose(1, 2), PADDING[index]).to(torch.bfloat16)  # [batch, C, time + 63]
            columns = padded.unfold(2, KERNEL_SIZES[index], 1).permute(0, 2, 3, 1)  # [batch, time, k, C]
            columns = columns.reshape(frames.size(0), x.size(1), -1)
            x = (columns @ self.kernels[index].t()).float() + conv.bias
            x = self._activate(x, index)
        flat = x.reshape(frames.size(0), -1)  # (time, channel), as the classifier reads
        return torch.sigmoid(model.classifier(flat))

    def _activate(self, x: torch.Tensor, index: int) -> torch.Tensor:
        """Max-pool over time, then ReLU and batch norm (fused as in Crepe): [b, T, C] -> [b, T/2, C]."""
        bn = getattr(self.model, f"{LAYER_NAMES[index]}_BN")
        scale, shift = bn_affine(bn)
        pairs = x.unflatten(1, (x.size(1) // 2, 2))
        pooled = torch.where(scale < 0, pairs.amin(dim=2), pairs.amax(dim=2))
        return torch.addcmul(shift, F.relu(pooled), scale)


class Autocast(Wrapped):
    """A CUDA model under autocast at ``dtype`` (fp32 out)."""

    def __init__(self, model: torch.nn.Module, dtype: torch.dtype) -> None:
        super().__init__()
        self.model, self.dtype = model, dtype

    @torch.no_grad()
    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        with torch.autocast("cuda", dtype=self.dtype):
            return self.model(frames).float()


def with_precision(model: Crepe, precision: str, force: bool = False) -> torch.nn.Module:
    """``model`` running at ``precision`` (``fp32``, ``bf16``, ``fp16``), where this device can.

    ``force`` runs the bf16 GEMM path even on a CPU without bf16 units (for tests).
    """
    if precision == "fp32" or isinstance(model, Wrapped):
        return model
    device = next(model.parameters()).device
    if device.type == "cuda":
        return Autocast(model, torch.bfloat16 if precision == "bf16" else torch.float16)
    if precision == "bf16" and (force or cpu_has_bf16()):
        return Bf16Crepe(model)
    warnings.warn(
        f"--precision {precision}: this CPU has no bf16 matrix units (AMX or AVX-512 BF16); running fp32",
        RuntimeWarning,
        stacklevel=2,
    )
    return model
