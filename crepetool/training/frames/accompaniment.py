"""A band behind the lead voice of training frames: chords, a bass line and percussion.

Voice-conversion users (RVC, Applio, so-vits-svc) track vocals separated from music by UVR or
Demucs, and the accompaniment leaks through 5-15 dB below the voice. Frames mixed with
:func:`accompaniment` teach the network to follow the lead voice there: their label stays the
voice's f0, while the band brings f0s of its own (a third of its chords rooted an octave, a
fifth or two octaves from the voice, where their partials fall on the voice's), onsets and
percussion. Vectorised over the batch, seeded by the caller's generator.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch

from crepetool.training.frames.oscillators import chance, uniform, wavetable
from crepetool.units import SAMPLE_RATE, WINDOW_SIZE

#: Notes of a chord (the fourth, a seventh, sounds in half of them) and their harmonics.
NOTES, HARMONICS = 4, 24
#: Intervals of a chord's root from the voice, in semitones, where the two are related: an
#: octave, a fifth or two octaves below it, or an octave above.
RELATED = (-12.0, -7.0, -24.0, -19.0, 12.0)


def chord_f0(voice_f0: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Two chords' note f0s around a voice: Tensor [shape=(B,)] Hz -> [shape=(B, 2, NOTES)] Hz.

    Roots are log-uniform over 80-400 Hz, or (a third of them) an octave, a fifth or two octaves
    from the voice; major or minor triads, half of them with a minor or major seventh.
    """
    count = voice_f0.size(0)
    free = torch.exp(uniform((count, 2), math.log(80), math.log(400), generator))
    steps = torch.tensor(RELATED)[torch.randint(0, len(RELATED), (count, 2), generator=generator)]
    related = voice_f0.clamp(min=40.0)[:, None] * torch.exp2(steps / 12)
    root = torch.where(torch.rand(count, 2, generator=generator) < 1 / 3, related, free)
    third = 3 + torch.randint(0, 2, (count, 2), generator=generator).float()
    seventh = 10 + torch.randint(0, 2, (count, 2), generator=generator).float()
    semitones = torch.stack([torch.zeros_like(third), third, torch.full_like(third, 7.0), seventh], -1)
    return root[..., None] * torch.exp2(semitones / 12)


def _envelope(
    time: torch.Tensor, onset: torch.Tensor, decay: torch.Tensor, held: torch.Tensor
) -> torch.Tensor:
    """Struck (exponential decay ``decay`` s from ``onset``) or held (50 ms attack) notes, 0 before
    the onset: Tensor [shape=(B, T)] from ``time`` [T] and per-row [B, 1] parameters."""
    since = time - onset
    struck = torch.exp(-since.clamp(min=0) / decay)
    shape = torch.where(held, (since / 0.05).clamp(0, 1), struck)
    return shape * (since >= 0)


def _notes(
    f0: torch.Tensor, time: torch.Tensor, tilt: torch.Tensor, generator: torch.Generator
) -> torch.Tensor:
    """Harmonic tones of fixed f0 [R] with spectral tilt [R, 1], unit amplitude: Tensor [shape=(R, T)]."""
    harmonics = torch.arange(1, HARMONICS + 1).float()
    gain = harmonics**-tilt * (f0[:, None] * harmonics < 0.45 * SAMPLE_RATE)
    start = uniform(tuple(gain.shape), 0, 2 * math.pi, generator)
    phase = 2 * math.pi * f0[:, None] * time[None] + uniform((f0.size(0), 1), 0, 2 * math.pi, generator)
    return wavetable(gain, start, phase)


def _percussion(count: int, time: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Kick, snare and hi-hats on eighth notes at 70-150 bpm: Tensor [shape=(B, T)]."""
    half_beat = 30 / uniform((count, 1), 70, 150, generator)
    first = uniform((count, 1), -0.4, 0.0, generator) + time[0]
    position = torch.randint(0, 4, (count, 1), generator=generator)  # where in the bar the first falls
    noise = torch.randn(count, time.numel() + 1, generator=generator)
    hiss, rattle = noise.diff(dim=-1), noise[:, 1:]  # a first difference is high-passed
    drums = torch.zeros(count, time.numel())
    events = math.ceil((time[-1] - time[0] + 0.4) / (30 / 150)) + 1
    for k in range(events):
        since = time - (first + k * half_beat)
        on = since >= 0
        since = since.clamp(min=0)
        beat = (position + k) % 4
        kick = torch.sin(2 * math.pi * (45 * since + 70 * 0.03 * (1 - torch.exp(-since / 0.03))))
        snare = 0.6 * rattle + torch.sin(2 * math.pi * 190 * since)
        hit = torch.where(beat == 0, kick * torch.exp(-since / 0.12), torch.zeros(1))
        hit = torch.where(beat == 2, snare * torch.exp(-since / 0.08), hit)
        drums = drums + on * (hit + 0.15 * hiss * torch.exp(-since / 0.02))
    return drums


class Band(NamedTuple):
    """What :func:`accompaniment` made: audio (Tensor [shape=(B, length)], unit RMS over the
    window), the two chords' note f0s (Tensor [shape=(B, 2, NOTES)], Hz; a seventh of gain 0
    where a chord has none) and the change from the first to the second (Tensor [shape=(B, 1)],
    seconds from the window's centre)."""

    audio: torch.Tensor
    notes: torch.Tensor
    change: torch.Tensor


def accompaniment(voice_f0: torch.Tensor, generator: torch.Generator, length: int) -> Band:
    """A band over ``length`` samples ending with the window, behind voices of ``voice_f0``.

    Arguments
        voice_f0 (Tensor [shape=(B,)]): the lead voice's f0 at the window's centre, Hz.

    Returns a :class:`Band`; the second chord sounds from a change drawn inside the ``length``
    samples.
    """
    count = voice_f0.size(0)
    time = (torch.arange(length) - (length - WINDOW_SIZE // 2)).float() / SAMPLE_RATE  # 0 at the centre
    notes = chord_f0(voice_f0, generator)
    change = uniform((count, 1), float(time[0]), float(time[-1]), generator)
    onsets = torch.cat([uniform((count, 1), float(time[0]) - 0.5, float(time[0]), generator), change], 1)
    held = chance(count * 2, 0.5, generator).view(count, 2)
    decay = uniform((count, 2), 0.3, 1.5, generator)
    sevenths = chance(count * 2, 0.5, generator).view(count, 2, 1).float()
    weights = torch.cat([torch.ones(count, 2, NOTES - 1), sevenths], -1)
    tones = _notes(notes.reshape(-1), time, uniform((count * 2 * NOTES, 1), 0.8, 2.0, generator), generator)
    tones = (tones.view(count, 2, NOTES, -1) * weights[..., None]).sum(2)  # shape=(B, 2, T)
    # bass: each chord's root in 40-110 Hz, plucked at the chord's onset
    bass_f0 = notes[..., 0] / torch.exp2(torch.ceil(torch.log2(notes[..., 0] / 110)))
    bass = _notes(bass_f0.reshape(-1), time, torch.full((count * 2, 1), 1.2), generator).view(count, 2, -1)
    chords = torch.zeros(count, length)
    low = torch.zeros(count, length)
    for chord in range(2):
        until = change[:, 0:1] if chord == 0 else torch.full((count, 1), math.inf)
        sounding = time < until
        onset, shape = onsets[:, chord : chord + 1], held[:, chord : chord + 1]
        chords = (
            chords + sounding * _envelope(time, onset, decay[:, chord : chord + 1], shape) * tones[:, chord]
        )
        pluck = _envelope(time, onset, torch.full((count, 1), 0.35), torch.zeros(count, 1, dtype=torch.bool))
        low = low + sounding * pluck * bass[:, chord]
    parts = [chords, low, _percussion(count, time, generator)]
    gains = uniform((count, 3), 0.0, 0.4, generator) + torch.tensor([0.6, 0.3, 0.2])
    window = slice(length - WINDOW_SIZE, length)
    # each part at its level over the whole stretch (a window between two drum hits stays quiet)
    mix = sum(g[:, None] * p / p.std(-1, keepdim=True).clamp(min=1e-8) for g, p in zip(gains.T, parts))
    return Band(mix / mix[:, window].std(-1, keepdim=True).clamp(min=1e-8), notes, change)


def mix(voice: torch.Tensor, band: torch.Tensor, sir_db: torch.Tensor) -> torch.Tensor:
    """``band`` added ``sir_db`` (Tensor [shape=(B, 1)]) below the voice's power over the window
    (the last :data:`~crepetool.units.WINDOW_SIZE` samples, what the network sees)."""
    window = slice(voice.size(-1) - WINDOW_SIZE, voice.size(-1))
    power = voice[:, window].pow(2).mean(-1, keepdim=True)
    band_power = band[:, window].pow(2).mean(-1, keepdim=True).clamp(min=1e-12)
    return voice + band * torch.sqrt(power / band_power / 10 ** (sir_db / 10))
