"""Training frames with known f0 for recovery, synthesised in batches (vectorised torch).

(This is what recovery trains on; the test signals that measure models live in
:mod:`crepetool.evaluation.signals`.)

Each frame is one 1024-sample window at 16 kHz, labelled with the f0 at its
centre (0 when unvoiced), over CREPE's whole range (32-1,975 Hz). Voiced frames
are harmonic sources with a random spectral tilt, odd-only or weak-fundamental
spectra, a random formant envelope (speech-like) or a flat one (instrument-like),
glides, portamento, vibrato and note changes, onsets and offsets, breath noise.
Unvoiced frames are coloured noise. A share of voiced frames is mixed over a band
(:func:`accompany`, :mod:`crepetool.training.accompaniment`). Then the recording chain users meet, each
applied to a random share of frames by a small function of its own:
:func:`reverberate` (a room, RT60 0.2-1.0 s), :func:`band_limit` (telephone
band), :func:`codec` (a lossy coder's dropped spectral detail), :func:`clip`,
:func:`quantise` (a take at -50 dBFS in 16 bits) and :func:`add_noise` (white to
brown and speech-shaped noise, -5 to 40 dB SNR). Frames come out normalised as
the network sees them.

Each source is synthesised over a context of :data:`CONTEXT` samples before the
window, so a room's tail carries earlier notes into the frame. Synthesis is a
wavetable lookup (one period per frame, built by an inverse FFT of the harmonic
amplitudes), which costs O(samples) per frame instead of O(samples x harmonics).
"""

from __future__ import annotations

import math

import torch

from crepetool.training import accompaniment
from crepetool.training.synthesis import chance, uniform, unit, wavetable
from crepetool.units import (
    CENTS_OFFSET,
    CENTS_PER_BIN,
    PITCH_BINS,
    SAMPLE_RATE,
    WINDOW_SIZE,
    frequency_to_cents,
)

#: CREPE's range: the centres of its first and last bins (32.7 and 1,975.5 Hz).
FMIN, FMAX = 32.7, 1975.5
MAX_HARMONICS = int(SAMPLE_RATE / 2 / FMIN)
#: Samples synthesised before each window, for reverberation tails (128 ms).
CONTEXT = 2048
#: Standard deviation of CREPE's Gaussian-blurred targets, in cents.
TARGET_CENTS = 25.0

#: Share of frames each degradation is applied to (independently).
SHARES = {
    "room": 0.3,
    "band": 0.15,
    "codec": 0.1,
    "clip": 0.1,
    "quiet": 0.05,
    "noise": 0.6,
}
#: Share of voiced frames whose voice is mixed over a band (:mod:`crepetool.training.accompaniment`),
#: before the recording chain, and the signal-to-interference ratios drawn for them (dB). Off by
#: default: every share measured lifts the hard set and costs the realistic set, on every seed
#: tried (docs/recovery.md); ``prune --bleed`` (``RecoveryOptions.bleed_share``) turns it on.
BLEED_SHARE = 0.0
BLEED_SIR = (5.0, 15.0)
#: Share of voiced frames whose voice is mixed over other talkers (:func:`babble`), their number,
#: and the signal-to-babble ratios drawn (dB). Off by default unless it wins on every set.
BABBLE_SHARE = 0.0
BABBLE_TALKERS = (3, 6)
BABBLE_SNR = (0.0, 12.0)


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
    count: int, generator: torch.Generator, length: int = CONTEXT + WINDOW_SIZE, speech_only: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """Harmonic sources whose f0 is known at sample ``length - 512`` (the window's centre).

    Returns audio (Tensor [shape=(count, length)], unit RMS, dry) and the centre f0
    (Tensor [shape=(count,)], Hz), drawn over CREPE's range: half log-uniform over
    32-1,975 Hz, 35% in the speech range (60-450 Hz), 15% high (600-1,975 Hz);
    ``speech_only``: all in the speech range (the same draws).
    """
    wide = torch.exp(uniform((count,), math.log(FMIN), math.log(FMAX), generator))
    speech = torch.exp(uniform((count,), math.log(60), math.log(450), generator))
    high = torch.exp(uniform((count,), math.log(600), math.log(FMAX), generator))
    pick = torch.rand(count, generator=generator)
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


# ---- the recording chain: each a function of (audio [B, T], per-row parameters) ---------------


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
    """A lossy coder's losses: in 16 ms blocks (Hann, 50% overlap-add), spectral detail below
    ``floor`` times the block's peak (Tensor [shape=(B, 1)]) is dropped, and nothing passes
    above ``cutoff`` Hz (Tensor [shape=(B, 1)]). Returns Tensor [shape=(B, T)].
    """
    size, hop = 256, 128
    count, length = audio.shape
    padded = torch.nn.functional.pad(audio, (hop, hop + (-length) % hop))
    blocks = padded.unfold(-1, size, hop) * torch.hann_window(size, periodic=True)  # [B, F, 256]
    spectrum = torch.fft.rfft(blocks)
    magnitude = spectrum.abs()
    freqs = torch.fft.rfftfreq(size, 1 / SAMPLE_RATE)
    keep = (magnitude >= floor[:, :, None] * magnitude.amax(dim=-1, keepdim=True)) & (
        freqs < cutoff[:, :, None]
    )
    blocks = torch.fft.irfft(spectrum * keep, n=size)
    # periodic Hann windows at 50% overlap sum to one: overlap-add restores the signal
    positions = (torch.arange(blocks.size(1))[:, None] * hop + torch.arange(size)).reshape(-1)
    out = torch.zeros(count, padded.size(-1)).index_add_(1, positions, blocks.reshape(count, -1))
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
    band limit, codec, clipping, a quiet take. Tensor [shape=(B, T)] in and out."""
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


def accompany(
    audio: torch.Tensor, voice_f0: torch.Tensor, rows: torch.Tensor, generator: torch.Generator
) -> torch.Tensor:
    """The voiced ``rows`` (Bool Tensor [shape=(B,)]) of ``audio`` mixed over a band at
    :data:`BLEED_SIR` (the label stays the voice's f0): Tensor [shape=(B, T)] in and out."""
    picked = rows.nonzero()[:, 0]
    if picked.numel() == 0:
        return audio
    band = accompaniment.accompaniment(voice_f0[picked], generator, audio.size(-1)).audio
    sir = uniform((picked.numel(), 1), *BLEED_SIR, generator)
    return audio.index_copy(0, picked, accompaniment.mix(audio[picked], band, sir))


def babble(audio: torch.Tensor, rows: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """The ``rows`` (Bool Tensor [shape=(B,)]) of ``audio`` mixed over :data:`BABBLE_TALKERS`
    other speech-range talkers at :data:`BABBLE_SNR` (the label stays the lead's f0): a crowd,
    a room of people, a second speaker. Tensor [shape=(B, T)] in and out."""
    picked = rows.nonzero()[:, 0]
    if picked.numel() == 0:
        return audio
    most = BABBLE_TALKERS[1]
    talkers, _ = sources(picked.numel() * most, generator, audio.size(-1), speech_only=True)
    talkers = talkers.reshape(picked.numel(), most, -1)
    count = torch.randint(BABBLE_TALKERS[0], most + 1, (picked.numel(), 1), generator=generator)
    present = (torch.arange(most)[None, :] < count).float()
    gains = present * uniform((picked.numel(), most), 0.5, 1.0, generator)
    crowd = unit((gains[:, :, None] * talkers).sum(1))
    snr = uniform((picked.numel(), 1), *BABBLE_SNR, generator)
    return audio.index_copy(0, picked, add_noise(audio[picked], crowd, snr))


def frames(
    count: int,
    generator: torch.Generator,
    voiced_share: float = 0.8,
    bleed_share: float | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``count`` random frames and their centre f0.

    ``bleed_share``: the share of voiced frames over a band (:func:`accompany`); None is
    :data:`BLEED_SHARE`. Returns frames (Tensor [shape=(count, 1024)], zero mean, unit std, as
    the network sees them) and f0 (Tensor [shape=(count,)], Hz, 0 = unvoiced).
    """
    voiced = torch.rand(count, generator=generator) < voiced_share
    audio, centre = sources(count, generator)
    # unvoiced: coloured noise alone (fricatives, breath, rooms)
    unvoiced = coloured_noise(count, audio.size(-1), generator)
    audio = torch.where(voiced[:, None], audio, unvoiced)
    bleed_share = BLEED_SHARE if bleed_share is None else bleed_share
    if bleed_share > 0:  # (no draw when off: the frames stay those the default was measured on)
        audio = accompany(audio, centre, voiced & chance(count, bleed_share, generator)[:, 0], generator)
    if BABBLE_SHARE > 0:  # (likewise)
        audio = babble(audio, voiced & chance(count, BABBLE_SHARE, generator)[:, 0], generator)
    audio = degrade(audio, generator)[:, -WINDOW_SIZE:]
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
