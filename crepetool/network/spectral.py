"""Convolution in the frequency domain: CREPE's wide 1-D convolutions as three matrix products.

A correlation with a k-tap kernel over L time steps costs L·k multiply-adds per pair of input
and output channels when done directly. Through a real DFT of length n it costs one complex
product per frequency bin (n // 2 + 1 of them), and the transforms of input and output grow
with the channel count alone, not with the product of input and output channels. Done as
matrix products over activations stored time-major, ``[time, channel, batch]``:

1. a DFT matrix ``[2F, L]`` times the input viewed as ``[L, C_in·batch]``, which is
   ``[F, 2·C_in, batch]``: each bin's real parts, then its imaginary parts;
2. per bin, the kernel's spectrum as the real block matrix ``[[Hr, -Hi], [Hi, Hr]]``
   (``[F, 2·C_out, 2·C_in]``) times that, one ``bmm``: ``[F, 2·C_out, batch]``;
3. an inverse DFT matrix ``[L, 2F]`` that yields only the L outputs kept: ``[L, C_out, batch]``.

Nothing is permuted or copied between the three, and autograd runs through them, so the same
code trains. n is the least length that keeps the circular convolution's wrap-around out of
the L outputs kept: ``L + max(before, after)`` for zero padding (before, after). The DFT
matrices and a kernel's spectrum are built in float64 and rounded once, so the path is as
exact as the direct one (~1e-7 relative).
"""

from __future__ import annotations

import dataclasses
import functools
import math

import torch

#: A layer runs transformed only where that does fewer multiply-adds than the direct path by
#: at least this factor (:func:`choose`). On the CPU every layer of every CREPE capacity does
#: (1.2x at K=1 to 16x for ``full``'s conv2) and ran faster transformed: see docs/benchmarks.md.
MIN_SAVING = 1.0
#: What :func:`choose` can answer, and what a model's ``conv`` may be (see crepetool.names).
DIRECT, TRANSFORM = "direct", "transform"


@dataclasses.dataclass(frozen=True)
class Plan:
    """The geometry of one correlation: ``out[t] = sum_j w[j] x[t + j - before]`` for t < length,
    with x zero outside ``0 .. length - 1`` and ``taps`` kernel taps."""

    length: int
    taps: int
    before: int

    @property
    def size(self) -> int:
        """n, the DFT length: the shortest whose wrap-around misses every output kept."""
        return self.length + max(self.before, self.taps - 1 - self.before)

    @property
    def bins(self) -> int:
        """F, the bins of a real signal's DFT of length n."""
        return self.size // 2 + 1


@functools.lru_cache(maxsize=64)
def _matrices(plan: Plan, device: torch.device, dtype: torch.dtype) -> tuple[torch.Tensor, ...]:
    """The DFT matrix ``[2F, L]``, the inverse ``[L, 2F]`` and the kernel's DFT ``[k, 2F]``,
    rows and columns ordered (bin, real/imaginary)."""
    n, bins = plan.size, plan.bins
    f = torch.arange(bins, dtype=torch.float64)
    t = torch.arange(plan.length, dtype=torch.float64)
    angle = 2 * math.pi * f[:, None] * t[None] / n  # shape=(F, L)
    forward = torch.stack([torch.cos(angle), -torch.sin(angle)], 1).reshape(2 * bins, plan.length)
    # a real signal's spectrum is conjugate-symmetric: each bin but DC (and n/2) stands for two
    weight = torch.full((bins,), 2.0, dtype=torch.float64)
    weight[0] = 1
    if n % 2 == 0:
        weight[-1] = 1
    inverse = torch.stack([weight * torch.cos(angle.T), -weight * torch.sin(angle.T)], 2) / n
    # the correlation is a convolution with h[d] = w[before - d]: H[f] = sum_j w[j] e^{-2πi f (before - j) / n}
    lag = plan.before - torch.arange(plan.taps, dtype=torch.float64)
    kernel_angle = 2 * math.pi * lag[:, None] * f[None] / n  # shape=(k, F)
    kernel = torch.stack([torch.cos(kernel_angle), -torch.sin(kernel_angle)], 2).reshape(plan.taps, 2 * bins)
    matrices = (forward, inverse.reshape(plan.length, 2 * bins), kernel)
    return tuple(m.to(device=device, dtype=dtype) for m in matrices)


def spectrum(weight: torch.Tensor, plan: Plan) -> torch.Tensor:
    """A kernel's spectrum as real block matrices, in ``weight``'s dtype and with its gradient.

    Arguments
        weight (Tensor [shape=(C_out, C_in, k)])

    Returns
        blocks (Tensor [shape=(F, 2 * C_out, 2 * C_in)]): ``[[Hr, -Hi], [Hi, Hr]]`` per bin.
    """
    c_out, c_in, taps = weight.shape
    kernel = _matrices(plan, weight.device, weight.dtype)[2]
    # shape=(F, 2, C_out, C_in)
    h = (weight.reshape(-1, taps) @ kernel).view(c_out, c_in, plan.bins, 2).permute(2, 3, 0, 1)
    real, imag = h[:, 0], h[:, 1]
    return torch.cat([torch.cat([real, -imag], 2), torch.cat([imag, real], 2)], 1)


def exact_spectrum(weight: torch.Tensor, plan: Plan) -> torch.Tensor:
    """:func:`spectrum` computed in float64 and rounded once to ``weight``'s dtype (no gradient)."""
    with torch.no_grad():
        return spectrum(weight.double(), plan).to(weight.dtype).contiguous()


def correlate(
    x: torch.Tensor, blocks: torch.Tensor, plan: Plan, bias: torch.Tensor | None = None
) -> torch.Tensor:
    """The correlation of ``plan`` with the kernel whose :func:`spectrum` is ``blocks``.

    Arguments
        x (Tensor [shape=(L, C_in, batch)]): time-major.
        blocks (Tensor [shape=(F, 2 * C_out, 2 * C_in)])
        bias (Tensor [shape=(C_out,)], optional)

    Returns
        out (Tensor [shape=(L, C_out, batch)]), contiguous.
    """
    forward, inverse, _ = _matrices(plan, x.device, x.dtype)
    length, c_in = x.shape[:2]
    c_out = blocks.size(1) // 2
    # -1 for the batch: an ONNX export keeps it dynamic
    spectra = (forward @ x.reshape(length, -1)).view(plan.bins, 2 * c_in, -1)
    mixed = torch.bmm(blocks, spectra).view(2 * plan.bins, -1)
    out = (inverse @ mixed).view(length, c_out, -1)
    return out if bias is None else out + bias[:, None]


def multiply_adds(plan: Plan, c_in: int, c_out: int) -> tuple[int, int]:
    """Real multiply-adds of one frame through the layer: (direct, transformed)."""
    direct = plan.length * plan.taps * c_in * c_out
    bins2 = 2 * plan.bins
    transformed = bins2 * plan.length * (c_in + c_out) + 2 * bins2 * c_in * c_out
    return direct, transformed


def choose(plan: Plan, c_in: int, c_out: int, device: torch.device, dtype: torch.dtype) -> str:
    """``transform`` or ``direct`` for a layer, by rule (the same answer in every process, so
    results never depend on a timing): direct on CUDA (cuDNN) and at half precision (the matrix
    units' convolutions; a DFT in bf16 would lose the precision), else transform where it
    saves multiply-adds (:data:`MIN_SAVING`)."""
    if device.type != "cpu" or dtype not in (torch.float32, torch.float64):
        return DIRECT
    direct, transformed = multiply_adds(plan, c_in, c_out)
    return TRANSFORM if direct >= MIN_SAVING * transformed else DIRECT
