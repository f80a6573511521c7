"""The recording chain users meet, applied to training frames: each degradation a small function
of its own, each applied to a random share of frames (:data:`SHARES`) by :func:`degrade`.

:func:`reverberate` (a room, RT60 0.2-1.0 s), :func:`band_limit` (telephone band),
:func:`codec` (a lossy coder's dropped spectral detail), :func:`clip`, :func:`quantise` (a take
at -50 dBFS in 16 bits) and :func:`add_noise` (white to brown and speech-shaped noise, -5 to 40
dB SNR). Every function takes and gives Tensor [shape=(B, T)].
"""

from __future__ import annotations

import math

import torch

from crepetool.training.frames.oscillators import chance, uniform
from crepetool.training.frames.sources import CONTEXT, coloured_noise
from crepetool.units import SAMPLE_RATE

#: Share of frames each degradation is applied to (independently).
SHARES = {
    "room": 0.3,
    "band": 0.15,
    "codec": 0.1,
    "clip": 0.1,
    "quiet": 0.05,
    "noise": 0.6,
}


def room_response(rt60: torch.Tensor, generator: torch.Generator, length: int = CONTEXT) -> torch.Tensor:
    """Synthetic room impulse responses: a direct path, then exponentially decaying noise.

    Arguments: rt60 (Tensor [shape=(B, 1)], seconds). Returns Tensor [shape=(B, length)],
    reverberant energy 0-10 dB above the direct path (direct-to-reverberant ratio -10..0 dB),
    truncated at ``length`` samples.
    """
    count = rt60.size(0)
    t = torch.arange(length).float() / SAMPLE_RATE
    tail = torch.randn(count, length, generator=generator) * torch.pow(
        10.0, -3.0 * t / rt60
    )  # -60 dB at rt60
    tail[:, :16] = 0.0  # the first reflections arrive after ~1 ms
    drr = uniform((count, 1), -10, 0, generator)
    tail = tail * torch.sqrt(10 ** (-drr / 10) / tail.pow(2).sum(-1, keepdim=True).clamp(min=1e-12))
    tail[:, 0] = 1.0
    return tail


def reverberate(audio: torch.Tensor, response: torch.Tensor) -> torch.Tensor:
    """Each row convolved with its impulse response (causal, same length): Tensor [shape=(B, T)]."""
    n = audio.size(-1) + response.size(-1)
    wet = torch.fft.irfft(torch.fft.rfft(audio, n=n) * torch.fft.rfft(response, n=n), n=n)
    return wet[:, : audio.size(-1)]


def band_limit(audio: torch.Tensor, low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
    """Keep ``low``..``high`` Hz (Tensor [shape=(B, 1)] each), 4th-order-like slopes either side.

    The telephone band is 300-3,400 Hz: a voice below 300 Hz loses its fundamental.
    """
    length = audio.size(-1)
    freqs = torch.fft.rfftfreq(length, 1 / SAMPLE_RATE)
    response = 1 / (1 + (low / freqs.clamp(min=1.0)) ** 8) / (1 + (freqs / high) ** 8)
    return torch.fft.irfft(torch.fft.rfft(audio) * response.sqrt(), n=length)


def codec(audio: torch.Tensor, floor: torch.Tensor, cutoff: torch.Tensor) -> torch.Tensor:
    """A lossy coder's losses: in 16 ms frames of the coder (Hann, 50% overlap-add), spectral detail below
    ``floor`` times the coder frame's peak (Tensor [shape=(B, 1)]) is dropped, and nothing passes
    above ``cutoff`` Hz (Tensor [shape=(B, 1)]). Returns Tensor [shape=(B, T)].
    """
    size, hop = 256, 128
    count, length = audio.shape
    padded = torch.nn.functional.pad(audio, (hop, hop + (-length) % hop))
    pieces = padded.unfold(-1, size, hop) * torch.hann_window(size, periodic=True)  # [B, F, 256]
    spectrum = torch.fft.rfft(pieces)
    magnitude = spectrum.abs()
    freqs = torch.fft.rfftfreq(size, 1 / SAMPLE_RATE)
    keep = (magnitude >= floor[:, :, None] * magnitude.amax(dim=-1, keepdim=True)) & (
        freqs < cutoff[:, :, None]
    )
    pieces = torch.fft.irfft(spectrum * keep, n=size)
    # periodic Hann windows at 50% overlap sum to one: overlap-add restores the signal
    positions = (torch.arange(pieces.size(1))[:, None] * hop + torch.arange(size)).reshape(-1)
    out = torch.zeros(count, padded.size(-1)).index_add_(1, positions, pieces.reshape(count, -1))
    return out[:, hop : hop + length]


def clip(audio: torch.Tensor, level: torch.Tensor) -> torch.Tensor:
    """Hard clipping at ``level`` times each row's peak (Tensor [shape=(B, 1)])."""
    limit = level * audio.abs().amax(dim=-1, keepdim=True)
    return torch.maximum(torch.minimum(audio, limit), -limit)


def quantise(audio: torch.Tensor, peak_db: torch.Tensor, bits: int = 16) -> torch.Tensor:
    """The row at ``peak_db`` dBFS (Tensor [shape=(B, 1)]) rounded to ``bits``-bit steps."""
    step = 2.0 ** (1 - bits)
    scaled = audio * 10 ** (peak_db / 20) / audio.abs().amax(dim=-1, keepdim=True).clamp(min=1e-12)
    return torch.round(scaled / step) * step


def add_noise(audio: torch.Tensor, noise: torch.Tensor, snr_db: torch.Tensor) -> torch.Tensor:
    """``noise`` added at ``snr_db`` (Tensor [shape=(B, 1)]) below the row's power."""
    power = audio.pow(2).mean(dim=-1, keepdim=True)
    scale = torch.sqrt(power / noise.pow(2).mean(dim=-1, keepdim=True).clamp(min=1e-12) / 10 ** (snr_db / 10))
    return audio + scale * noise


def degrade(audio: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """The recording chain, each stage on its share of rows (:data:`SHARES`): room, noise,
    band limit, codec, clipping, a quiet take. Tensor [shape=(B, T)] in and out.
    """
    count, length = audio.shape
    rt60 = uniform((count, 1), 0.2, 1.0, generator)
    wet = reverberate(audio, room_response(rt60, generator))
    audio = torch.where(chance(count, SHARES["room"], generator), wet, audio)
    # noise: a third of it at -5..10 dB SNR, the rest at 10..40
    snr = torch.where(
        chance(count, 1 / 3, generator),
        uniform((count, 1), -5, 10, generator),
        uniform((count, 1), 10, 40, generator),
    )
    noisy = add_noise(audio, coloured_noise(count, length, generator), snr)
    audio = torch.where(chance(count, SHARES["noise"], generator), noisy, audio)
    low = uniform((count, 1), 200, 400, generator)
    high = uniform((count, 1), 2800, 4000, generator)
    audio = torch.where(chance(count, SHARES["band"], generator), band_limit(audio, low, high), audio)
    floor = torch.exp(uniform((count, 1), math.log(0.003), math.log(0.05), generator))
    cutoff = uniform((count, 1), 3500, 7500, generator)
    audio = torch.where(chance(count, SHARES["codec"], generator), codec(audio, floor, cutoff), audio)
    level = uniform((count, 1), 0.1, 0.6, generator)
    audio = torch.where(chance(count, SHARES["clip"], generator), clip(audio, level), audio)
    peak = uniform((count, 1), -55, -45, generator)
    return torch.where(chance(count, SHARES["quiet"], generator), quantise(audio, peak), audio)
