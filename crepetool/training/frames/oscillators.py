"""Small pieces of vectorised synthesis shared by the training frames and their accompaniment.

Every function draws from an explicit ``torch.Generator``, so whatever is built from them is
reproducible for a seed.
"""

from __future__ import annotations

import math

import torch

#: Length of one wavetable period.
TABLE = 4096


def uniform(shape: tuple[int, ...], lo: float, hi: float, generator: torch.Generator) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(shape, generator=generator)


def chance(count: int, share: float, generator: torch.Generator) -> torch.Tensor:
    """Bool Tensor [shape=(count, 1)]: True for about ``share`` of the rows."""
    return torch.rand(count, 1, generator=generator) < share


def unit(audio: torch.Tensor) -> torch.Tensor:
    return audio / audio.std(dim=-1, keepdim=True).clamp(min=1e-8)


def wavetable(gain: torch.Tensor, start: torch.Tensor, phase: torch.Tensor) -> torch.Tensor:
    """``sum_h gain[h] * sin(h * phase + start[h])`` by lookup in one synthesised period.

    Arguments: gain, start (Tensor [shape=(B, H)]); phase (Tensor [shape=(B, T)], radians).
    Returns Tensor [shape=(B, T)]. Linear interpolation in a 4,096-sample period.
    """
    count, harmonics = gain.shape
    spectrum = torch.zeros(count, TABLE // 2 + 1, dtype=torch.complex64)
    # irfft of (TABLE/2) * g * exp(i(s - pi/2)) at bin h is g * sin(2 pi h k / TABLE + s)
    spectrum[:, 1 : harmonics + 1] = torch.polar(gain * (TABLE / 2), start - math.pi / 2)
    table = torch.fft.irfft(spectrum, n=TABLE)
    position = torch.remainder(phase, 2 * math.pi) * (TABLE / (2 * math.pi))
    below = position.floor().long().clamp(max=TABLE - 1)
    fraction = position - below
    left = table.gather(1, below)
    right = table.gather(1, (below + 1) % TABLE)
    return left + fraction * (right - left)
