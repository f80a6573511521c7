"""Training frames with known f0 for recovery, synthesised in batches (vectorised torch).

Each frame is one 1024-sample window at 16 kHz, labelled with the f0 at its
centre (0 when unvoiced). Voiced frames are harmonic sources with a random
spectral tilt, odd-only or missing-fundamental spectra, a random formant
envelope (speech-like) or a flat one (instrument-like), glides and vibrato
inside the window, onsets and offsets, breath noise and background noise.
Unvoiced frames are coloured noise (fricative-like), silence with a noise floor,
or silence. Frames come out normalised as the network sees them.

Clean tones alone do not carry to speech (issue 5: 83.6% on speech against 100%
on tones): formants, noise and fast glides are what make this set useful.
"""

from __future__ import annotations

import math

import torch

from crepetool.decode import CENTS_OFFSET, CENTS_PER_BIN, frequency_to_cents
from crepetool.model import WINDOW_SIZE
from crepetool.presets import PITCH_BINS

SAMPLE_RATE = 16000
FMIN, FMAX = 46.0, 1400.0
MAX_HARMONICS = int(SAMPLE_RATE / 2 / FMIN)
#: Standard deviation of CREPE's Gaussian-blurred targets, in cents.
TARGET_CENTS = 25.0


def _uniform(shape: tuple[int, ...], lo: float, hi: float, generator: torch.Generator) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(shape, generator=generator)


def _noise(count: int, generator: torch.Generator) -> torch.Tensor:
    """White to brown-ish coloured noise, unit RMS: Tensor [shape=(count, 1024)]."""
    white = torch.randn(count, WINDOW_SIZE, generator=generator)
    spectrum = torch.fft.rfft(white)
    freqs = torch.arange(spectrum.size(-1)).clamp(min=1).float()
    slope = _uniform((count, 1), 0.0, 1.0, generator)  # 0 white, 0.5 pink, 1 brown
    shaped = torch.fft.irfft(spectrum / freqs**slope, n=WINDOW_SIZE)
    return shaped / shaped.std(dim=-1, keepdim=True).clamp(min=1e-8)


def _noise_above(cutoff: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """White noise high-passed at ``cutoff`` Hz [B, 1], unit RMS: Tensor [shape=(B, 1024)]."""
    spectrum = torch.fft.rfft(torch.randn(cutoff.size(0), WINDOW_SIZE, generator=generator))
    freqs = torch.fft.rfftfreq(WINDOW_SIZE, 1 / SAMPLE_RATE)
    shaped = torch.fft.irfft(spectrum * torch.sigmoid((freqs - cutoff) / 100), n=WINDOW_SIZE)
    return shaped / shaped.std(dim=-1, keepdim=True).clamp(min=1e-8)


def _formant_gain(frequency: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """A random vocal-tract-like envelope evaluated at ``frequency`` [B, H] (linear gain)."""
    count = frequency.size(0)
    centres = torch.stack(
        [
            _uniform((count,), 250, 900, generator),
            _uniform((count,), 800, 2400, generator),
            _uniform((count,), 2000, 3300, generator),
            _uniform((count,), 3000, 4500, generator),
        ],
        dim=1,
    )
    widths = _uniform((count, 4), 50, 250, generator)
    levels = torch.tensor([1.0, 0.6, 0.3, 0.15]) * _uniform((count, 4), 0.3, 1.0, generator)
    distance = (frequency[:, :, None] - centres[:, None, :]) / widths[:, None, :]
    return (levels[:, None, :] / (1 + distance**2)).sum(-1) + 0.01


def frames(
    count: int, generator: torch.Generator, voiced_share: float = 0.8
) -> tuple[torch.Tensor, torch.Tensor]:
    """``count`` random frames and their centre f0.

    Returns frames (Tensor [shape=(count, 1024)], zero mean, unit std, as the network
    sees them) and f0 (Tensor [shape=(count,)], Hz, 0 = unvoiced).
    """
    voiced = torch.rand(count, generator=generator) < voiced_share
    # f0 log-uniform over the range, with extra weight on the speech range
    wide = torch.exp(_uniform((count,), math.log(FMIN), math.log(FMAX), generator))
    speech = torch.exp(_uniform((count,), math.log(70), math.log(450), generator))
    centre = torch.where(torch.rand(count, generator=generator) < 0.4, speech, wide)
    time = (torch.arange(WINDOW_SIZE) - WINDOW_SIZE // 2).float() / SAMPLE_RATE  # [T], 0 at the centre
    glide = _uniform((count, 1), -1500, 1500, generator) * (torch.rand(count, 1, generator=generator) < 0.6)
    # portamento: a sung note sliding to the next, up to an octave in ~60 ms
    fast = torch.rand(count, 1, generator=generator) < 0.15
    glide = torch.where(fast, _uniform((count, 1), -20000, 20000, generator), glide)
    depth = _uniform((count, 1), 0, 80, generator) * (torch.rand(count, 1, generator=generator) < 0.4)
    rate = _uniform((count, 1), 4, 7, generator)
    offset = _uniform((count, 1), 0, 2 * math.pi, generator)
    cents = glide * time + depth * (torch.sin(2 * math.pi * rate * time + offset) - torch.sin(offset))
    # note changes inside the window (legato, a new syllable); the centre keeps its label
    jump_at = _uniform((count, 1), -0.032, 0.032, generator)
    jump = _uniform((count, 1), -700, 700, generator) * (torch.rand(count, 1, generator=generator) < 0.15)
    cents = cents + jump * ((time >= jump_at).float() - (jump_at <= 0).float())
    f0_curve = centre[:, None] * torch.exp2(cents / 1200)  # [B, T], equals centre at time 0
    phase = 2 * math.pi * torch.cumsum(f0_curve, dim=-1) / SAMPLE_RATE
    phase = (
        phase
        - phase[:, WINDOW_SIZE // 2 : WINDOW_SIZE // 2 + 1]
        + _uniform((count, 1), 0, 2 * math.pi, generator)
    )

    harmonics = torch.arange(1, MAX_HARMONICS + 1).float()  # [H]
    frequency = centre[:, None] * harmonics  # [B, H]
    tilt = harmonics ** -_uniform((count, 1), 0.3, 2.5, generator)
    gain = tilt * torch.exp(0.35 * torch.randn(count, MAX_HARMONICS, generator=generator))  # +-3 dB ripple
    formant = _formant_gain(frequency, generator)
    speechlike = torch.rand(count, 1, generator=generator) < 0.6
    gain = torch.where(speechlike, gain * formant, gain)
    # aspiration: above a cutoff the harmonics give way to noise, as in breathy voices
    cutoff = torch.exp(_uniform((count, 1), math.log(800), math.log(6000), generator))
    breathy = speechlike & (torch.rand(count, 1, generator=generator) < 0.5)
    gain = torch.where(breathy, gain / (1 + (frequency / cutoff) ** 4), gain)
    odd = (torch.rand(count, 1, generator=generator) < 0.1) & (harmonics % 2 == 0)
    gain = torch.where(odd, gain * 0.05, gain)
    weak_fundamental = _uniform((count,), 0.0, 1.0, generator) ** 2
    gain[:, 0] *= torch.where(
        torch.rand(count, generator=generator) < 0.15, weak_fundamental, torch.ones(count)
    )
    top = (f0_curve.max(dim=-1).values / centre)[:, None] * frequency
    gain = gain * (top < 0.95 * SAMPLE_RATE / 2)  # nothing above Nyquist
    start = torch.randint(0, 2, (count, MAX_HARMONICS), generator=generator).float() * math.pi
    audio = torch.einsum(
        "bh,bht->bt", gain, torch.sin(harmonics[None, :, None] * phase[:, None, :] + start[:, :, None])
    )
    audio = audio / audio.std(dim=-1, keepdim=True).clamp(min=1e-8)

    # onsets and offsets that leave the centre sounding, tremolo
    edge = _uniform((count, 1), -0.03, -0.004, generator)
    ramp = ((time - edge) / 0.01).clamp(0, 1)
    envelope = torch.where(torch.rand(count, 1, generator=generator) < 0.1, ramp, torch.ones(1))
    envelope = torch.where(torch.rand(count, 1, generator=generator) < 0.1, envelope.flip(-1), envelope)
    tremolo = 1 + _uniform((count, 1), 0, 0.3, generator) * torch.sin(2 * math.pi * rate * time + offset)
    audio = audio * envelope * tremolo

    level = torch.where(breathy, _uniform((count, 1), 0.1, 0.6, generator), torch.zeros(1))
    audio = audio + level * _noise_above(cutoff, generator)
    breath = _uniform((count, 1), 0, 0.3, generator) * (torch.rand(count, 1, generator=generator) < 0.3)
    audio = audio + breath * _noise(count, generator)
    snr_db = _uniform((count, 1), 0, 40, generator)
    noisy = torch.rand(count, 1, generator=generator) < 0.5
    background = torch.where(noisy, 10 ** (-snr_db / 20), torch.zeros(1))

    # unvoiced: coloured noise alone (fricatives, breath, rooms)
    audio = torch.where(
        voiced[:, None], audio + background * _noise(count, generator), _noise(count, generator)
    )
    audio = audio - audio.mean(dim=-1, keepdim=True)
    audio = audio / audio.std(dim=-1, keepdim=True).clamp(min=1e-10)
    return audio, torch.where(voiced, centre, torch.zeros(count))


def targets(f0: torch.Tensor) -> torch.Tensor:
    """CREPE's Gaussian-blurred 360-bin targets (std 25 cents); all zero where f0 is 0.

    Arguments: f0 (Tensor [shape=(B,)] Hz). Returns Tensor [shape=(B, 360)].
    """
    bin_cents = CENTS_OFFSET + CENTS_PER_BIN * torch.arange(PITCH_BINS).float()
    cents = frequency_to_cents(f0.clamp(min=1.0).float())
    gauss = torch.exp(-((bin_cents[None, :] - cents[:, None]) ** 2) / (2 * TARGET_CENTS**2))
    return gauss * (f0 > 0)[:, None]
