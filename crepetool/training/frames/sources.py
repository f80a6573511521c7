"""Sources of training frames: harmonic voices and instruments with known f0 over CREPE's whole
range, and coloured noise, each synthesised over :data:`CONTEXT` samples before its window.

Voiced sources have a random spectral tilt, odd-only or weak-fundamental spectra, a random
formant envelope (speech-like) or a flat one (instrument-like), glides, portamento, vibrato
and note changes, onsets and offsets, breath noise. Synthesis is a wavetable lookup (one period
per frame, built by an inverse FFT of the harmonic amplitudes), which costs O(samples) per frame
instead of O(samples x harmonics).
"""

from __future__ import annotations

import math

import torch

from crepetool.training.frames.oscillators import chance, uniform, unit, wavetable
from crepetool.units import CREPE_RANGE_HZ, SAMPLE_RATE, WINDOW_SIZE

#: The f0 range of the sources: CREPE's documented range (:data:`crepetool.units.CREPE_RANGE_HZ`).
FMIN, FMAX = CREPE_RANGE_HZ
MAX_HARMONICS = int(SAMPLE_RATE / 2 / FMIN)
#: Samples synthesised before each window, for reverberation tails (128 ms).
CONTEXT = 2048


def coloured_noise(count: int, length: int, generator: torch.Generator) -> torch.Tensor:
    """Unit-RMS noise from white to brown, a quarter of it speech-shaped: Tensor [shape=(count, length)].

    Speech-shaped: flat to ~500 Hz, then falling 6-12 dB an octave, as the long-term
    spectrum of speech does (babble, crowds, television in the next room).
    """
    spectrum = torch.fft.rfft(torch.randn(count, length, generator=generator))
    freqs = torch.fft.rfftfreq(length, 1 / SAMPLE_RATE).clamp(min=SAMPLE_RATE / length)
    slope = uniform((count, 1), 0.0, 1.0, generator)  # 0 white, 0.5 pink, 1 brown
    shaped = spectrum / (freqs / freqs[0]) ** slope
    knee = uniform((count, 1), 300, 700, generator)
    fall = uniform((count, 1), 1.0, 2.0, generator)  # amplitude exponent: 6-12 dB an octave
    speech = spectrum / (1 + (freqs / knee) ** 2) ** (fall / 2)
    shaped = torch.where(chance(count, 0.25, generator), speech, shaped)
    return unit(torch.fft.irfft(shaped, n=length))


def _noise_above(cutoff: torch.Tensor, length: int, generator: torch.Generator) -> torch.Tensor:
    """White noise high-passed at ``cutoff`` Hz [B, 1], unit RMS: Tensor [shape=(B, length)]."""
    spectrum = torch.fft.rfft(torch.randn(cutoff.size(0), length, generator=generator))
    freqs = torch.fft.rfftfreq(length, 1 / SAMPLE_RATE)
    return unit(torch.fft.irfft(spectrum * torch.sigmoid((freqs - cutoff) / 100), n=length))


def _formant_gain(frequency: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """A random vocal-tract-like envelope evaluated at ``frequency`` [B, H] (linear gain)."""
    count = frequency.size(0)
    centres = torch.stack(
        [
            uniform((count,), 250, 900, generator),
            uniform((count,), 800, 2400, generator),
            uniform((count,), 2000, 3300, generator),
            uniform((count,), 3000, 4500, generator),
        ],
        dim=1,
    )
    widths = uniform((count, 4), 50, 250, generator)
    levels = torch.tensor([1.0, 0.6, 0.3, 0.15]) * uniform((count, 4), 0.3, 1.0, generator)
    distance = (frequency[:, :, None] - centres[:, None, :]) / widths[:, None, :]
    return (levels[:, None, :] / (1 + distance**2)).sum(-1) + 0.01


def sources(
    count: int,
    generator: torch.Generator,
    length: int = CONTEXT + WINDOW_SIZE,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Harmonic sources whose f0 is known at sample ``length - 512`` (the window's centre).

    Returns audio (Tensor [shape=(count, length)], unit RMS, dry) and the centre f0
    (Tensor [shape=(count,)], Hz), drawn over CREPE's range: half log-uniform over
    32-1,975 Hz, 35% in the speech range (60-450 Hz), 15% high (600-1,975 Hz).
    """
    wide = torch.exp(uniform((count,), math.log(FMIN), math.log(FMAX), generator))
    speech = torch.exp(uniform((count,), math.log(60), math.log(450), generator))
    high = torch.exp(uniform((count,), math.log(600), math.log(FMAX), generator))
    pick = torch.rand(count, generator=generator)
    centre = torch.where(pick < 0.35, speech, torch.where(pick < 0.5, high, wide))
    # seconds from the centre: the window's centre is 0, the context lies before it
    time = (torch.arange(length) - (length - WINDOW_SIZE // 2)).float() / SAMPLE_RATE
    glide = uniform((count, 1), -1500, 1500, generator) * chance(count, 0.6, generator)
    # portamento: a sung note sliding to the next, up to an octave in ~60 ms, then holding
    glide = torch.where(chance(count, 0.15, generator), uniform((count, 1), -20000, 20000, generator), glide)
    depth = uniform((count, 1), 0, 80, generator) * chance(count, 0.4, generator)
    rate = uniform((count, 1), 4, 7, generator)
    offset = uniform((count, 1), 0, 2 * math.pi, generator)
    cents = (glide * time).clamp(-1200, 1200)
    cents = cents + depth * (torch.sin(2 * math.pi * rate * time + offset) - torch.sin(offset))
    # note changes (legato, a new syllable), in the window or in the context a room carries over
    jump_at = uniform((count, 1), -0.15, 0.032, generator)
    jump = uniform((count, 1), -700, 700, generator) * chance(count, 0.25, generator)
    cents = cents + jump * ((time >= jump_at).float() - (jump_at <= 0).float())
    f0_curve = centre[:, None] * torch.exp2(cents / 1200)  # [B, T], equals centre at time 0
    phase = 2 * math.pi * torch.cumsum(f0_curve.double(), dim=-1) / SAMPLE_RATE
    phase = (phase - phase[:, -WINDOW_SIZE // 2 :][:, :1]).float() + uniform(
        (count, 1), 0, 2 * math.pi, generator
    )

    harmonics = torch.arange(1, MAX_HARMONICS + 1).float()  # [H]
    frequency = centre[:, None] * harmonics  # [B, H]
    tilt = harmonics ** -uniform((count, 1), 0.3, 2.5, generator)
    gain = tilt * torch.exp(0.35 * torch.randn(count, MAX_HARMONICS, generator=generator))  # +-3 dB ripple
    formant = _formant_gain(frequency, generator)
    speechlike = chance(count, 0.6, generator)
    gain = torch.where(speechlike, gain * formant, gain)
    # aspiration: above a cutoff the harmonics give way to noise, as in breathy voices
    cutoff = torch.exp(uniform((count, 1), math.log(800), math.log(6000), generator))
    breathy = speechlike & chance(count, 0.5, generator)
    gain = torch.where(breathy, gain / (1 + (frequency / cutoff) ** 4), gain)
    odd = chance(count, 0.1, generator) & (harmonics % 2 == 0)
    gain = torch.where(odd, gain * 0.05, gain)
    weak_fundamental = uniform((count,), 0.0, 1.0, generator) ** 2
    gain[:, 0] *= torch.where(
        torch.rand(count, generator=generator) < 0.15, weak_fundamental, torch.ones(count)
    )
    top = (f0_curve.max(dim=-1).values / centre)[:, None] * frequency
    gain = gain * (top < 0.95 * SAMPLE_RATE / 2)  # nothing above Nyquist
    start = torch.randint(0, 2, (count, MAX_HARMONICS), generator=generator).float() * math.pi
    audio = unit(wavetable(gain, start, phase))

    # onsets and offsets that leave the centre sounding, tremolo
    onset = ((time - uniform((count, 1), -0.03, -0.004, generator)) / 0.01).clamp(0, 1)
    offset_ramp = ((uniform((count, 1), 0.004, 0.03, generator) - time) / 0.01).clamp(0, 1)
    envelope = torch.where(chance(count, 0.1, generator), onset, torch.ones(1))
    envelope = torch.where(chance(count, 0.1, generator), envelope * offset_ramp, envelope)
    tremolo = 1 + uniform((count, 1), 0, 0.3, generator) * torch.sin(2 * math.pi * rate * time + offset)
    audio = audio * envelope * tremolo
    level = torch.where(breathy, uniform((count, 1), 0.1, 0.6, generator), torch.zeros(1))
    audio = audio + level * _noise_above(cutoff, length, generator)
    breath = uniform((count, 1), 0, 0.3, generator) * chance(count, 0.3, generator)
    return audio + breath * coloured_noise(count, length, generator), centre
