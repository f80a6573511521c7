"""Sources of training frames: harmonic voices and instruments with known f0 over CREPE's whole
range, and coloured noise, each synthesised over :data:`CONTEXT` samples before its window.

Voiced sources have a random spectral tilt, odd-only or weak-fundamental spectra, a random
formant envelope (speech-like) or a flat one (instrument-like), glides, portamento, vibrato
and note changes, onsets and offsets, breath noise; optionally speech accents (:func:`accents`)
and earlier syllables for a room to carry (:func:`syllables`). Synthesis is a wavetable lookup (one period
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
#: Earlier speech a room carries into the window (:func:`syllables`): 4 syllables of 160 ms.
SYLLABLE = 2560
SYLLABLES = 4
#: Share of sources with an accent's rise and fall (:func:`accents`). Off by default: 0.3 gained
#: 0.3 point in rooms on the real-voice set over three seeds, inside the spread between them, and
#: lost 0.24 on the realistic set (docs/recovery.md).
ACCENT_SHARE = 0.0


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


def accents(count: int, time: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Speech intonation in cents (Tensor [shape=(count, T)], 0 at ``time`` 0): on
    :data:`ACCENT_SHARE` of the rows an accent's rise and fall (or a dip), 1-7 semitones over a
    Gaussian of 30-120 ms standard deviation peaking within 100 ms of the window's centre, so the
    window sees a peak, a fast rise or fall, or a curved glide (up to ~140 cents per 10 ms).
    """
    size = uniform((count, 1), 100, 700, generator) * torch.where(chance(count, 0.7, generator), 1.0, -1.0)
    size = size * chance(count, ACCENT_SHARE, generator)
    width = uniform((count, 1), 0.03, 0.12, generator)
    peak = uniform((count, 1), -0.1, 0.1, generator)
    return size * (torch.exp(-0.5 * ((time - peak) / width) ** 2) - torch.exp(-0.5 * (peak / width) ** 2))


def sources(
    count: int,
    generator: torch.Generator,
    length: int = CONTEXT + WINDOW_SIZE,
    speech_only: bool = False,
    centre: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Harmonic sources whose f0 is known at sample ``length - 512`` (the window's centre).

    Returns audio (Tensor [shape=(count, length)], unit RMS, dry) and the centre f0
    (Tensor [shape=(count,)], Hz), drawn over CREPE's range: half log-uniform over
    32-1,975 Hz, 35% in the speech range (60-450 Hz), 15% high (600-1,975 Hz);
    ``speech_only``: all in the speech range (the same draws); ``centre`` (Tensor
    [shape=(count,)], Hz): these f0 instead (the same draws).
    """
    wide = torch.exp(uniform((count,), math.log(FMIN), math.log(FMAX), generator))
    speech = torch.exp(uniform((count,), math.log(60), math.log(450), generator))
    high = torch.exp(uniform((count,), math.log(600), math.log(FMAX), generator))
    pick = torch.rand(count, generator=generator)
    if centre is None:
        centre = speech if speech_only else torch.where(pick < 0.35, speech, torch.where(pick < 0.5, high, wide))
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
    if ACCENT_SHARE > 0:  # (no draw when off: the frames stay those the default was measured on)
        cents = cents + accents(count, time, generator)
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


def syllables(centre: torch.Tensor, generator: torch.Generator, count: int = SYLLABLES) -> torch.Tensor:
    """Speech before the window: ``count`` syllables of :data:`SYLLABLE` samples each, every one at
    its own pitch within 8 semitones of ``centre`` (Tensor [shape=(B,)], Hz), voiced for 50-90% of
    its length with 20 ms ramps, and at its own level (0.3-1 of unit RMS). A room carries them into
    the window (:func:`crepetool.training.frames.chain.degrade`).

    Returns Tensor [shape=(B, count * SYLLABLE)], the last syllable ending where the window's
    context starts.
    """
    rows = centre.size(0)
    semitones = uniform((rows, count), -8.0, 8.0, generator)
    pitch = (centre[:, None] * torch.exp2(semitones / 12)).clamp(FMIN, FMAX).reshape(-1)
    audio, _ = sources(rows * count, generator, SYLLABLE, speech_only=True, centre=pitch)
    time = torch.arange(SYLLABLE).float() / SAMPLE_RATE
    voiced = uniform((rows * count, 1), 0.5, 0.9, generator) * SYLLABLE / SAMPLE_RATE
    ramp = 0.02
    envelope = (time / ramp).clamp(max=1) * ((voiced - time) / ramp).clamp(0, 1)
    level = uniform((rows * count, 1), 0.3, 1.0, generator)
    return (audio * envelope * level).reshape(rows, count * SYLLABLE)
