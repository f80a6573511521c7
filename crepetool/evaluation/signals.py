"""Test signals with known f0: harmonic tones, vibrato, glides, noise, unvoiced stretches.

Seeded and deterministic. Audio is 16 kHz; ground truth is one f0 per 10 ms
frame (frame ``i`` is centred on sample ``160 * i``, as torchcrepe frames with
padding), 0 where the signal is unvoiced.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from crepetool.errors import check_choice
from crepetool.names import DEFAULT_HOP
from crepetool.prediction.framing import frame_count
from crepetool.units import SAMPLE_RATE

if TYPE_CHECKING:
    from crepetool.network.model import Crepe

#: The signals' frame hop: predict's default step at 16 kHz.
HOP = DEFAULT_HOP
TIMBRES = ("saw", "odd", "decaying", "missing-fundamental", "sine")


@dataclasses.dataclass
class Signal:
    """audio (ndarray [shape=(time,)] float32, 16 kHz); f0 (ndarray [shape=(frames,)] Hz, 0 = unvoiced)."""

    name: str
    audio: np.ndarray
    f0: np.ndarray


def harmonic(
    f0_start: float,
    f0_end: float | None = None,
    seconds: float = 1.0,
    timbre: str = "saw",
    vibrato_cents: float = 0.0,
    vibrato_hz: float = 5.5,
    snr_db: float | None = None,
    unvoiced: tuple[float, float] | None = None,
    seed: int = 0,
    name: str | None = None,
) -> Signal:
    """A harmonic tone gliding geometrically from ``f0_start`` to ``f0_end``.

    ``unvoiced=(a, b)`` silences the tone from a to b seconds (noise stays, if any).
    """
    check_choice("timbre", timbre, TIMBRES)
    rng = np.random.default_rng(seed)
    samples = int(seconds * SAMPLE_RATE)
    t = np.arange(samples) / SAMPLE_RATE
    end = f0_start if f0_end is None else f0_end
    f0 = f0_start * (end / f0_start) ** (t / seconds)
    if vibrato_cents:
        f0 = f0 * 2 ** (vibrato_cents / 1200 * np.sin(2 * np.pi * vibrato_hz * t + rng.uniform(0, 2 * np.pi)))
    phase = 2 * np.pi * np.cumsum(f0) / SAMPLE_RATE + rng.uniform(0, 2 * np.pi)
    audio = np.zeros(samples)
    for h in range(1, int(SAMPLE_RATE / 2 / f0.max()) + 1):
        amplitude = _amplitude(timbre, h)
        if amplitude:
            audio += amplitude * np.sin(h * phase + rng.uniform(0, 2 * np.pi))
    audio *= 0.5 / max(np.abs(audio).max(), 1e-9)
    voiced = np.ones(samples, dtype=bool)
    if unvoiced is not None:
        a, b = (int(x * SAMPLE_RATE) for x in unvoiced)
        voiced[a:b] = False
        audio[~voiced] = 0.0
    if snr_db is not None:
        power = np.mean(audio[voiced] ** 2) if voiced.any() else 0.01
        audio += rng.normal(0, np.sqrt(power / 10 ** (snr_db / 10)), samples)
    frames = frame_count(samples, HOP)
    centres = np.minimum(np.arange(frames) * HOP, samples - 1)
    truth = np.where(voiced[centres], f0[centres], 0.0)
    # frames whose window straddles a voicing boundary are ambiguous: leave them out as unvoiced
    edges = np.flatnonzero(np.diff(voiced.astype(int))) if unvoiced else []
    for edge in edges:
        truth[np.abs(centres - edge) < 512] = 0.0
    label = name or f"{timbre}-{f0_start:.0f}" + (f"-{end:.0f}" if end != f0_start else "")
    return Signal(label, audio.astype(np.float32), truth)


def _amplitude(timbre: str, h: int) -> float:
    if timbre == "sine":
        return 1.0 if h == 1 else 0.0
    if timbre == "saw":
        return 1.0 / h
    if timbre == "odd":
        return 1.0 / h if h % 2 else 0.0
    if timbre == "decaying":
        return float(np.exp(-0.35 * (h - 1)))
    return 1.0 / h if h > 1 else 0.0  # missing fundamental


def verify_set(seed: int = 0) -> list[Signal]:
    """Moderate signals for ``verify`` over the whole default range (fmin 50 Hz, fmax 2006 Hz):
    55-1,900 Hz, vibrato, glides of a few semitones a second, light noise, one unvoiced stretch.
    Three sit above 1.4 kHz and one at 52 Hz, so a model that lost either end of the range fails.
    Full and tiny score well above 0.9 here."""
    specs = [
        dict(f0_start=52, f0_end=58, timbre="saw", snr_db=30),
        dict(f0_start=55, timbre="saw", vibrato_cents=30),
        dict(f0_start=82, f0_end=110, timbre="decaying", snr_db=30),
        dict(f0_start=130, timbre="odd", vibrato_cents=50),
        dict(f0_start=196, f0_end=247, timbre="saw", snr_db=25),
        dict(f0_start=220, timbre="missing-fundamental", vibrato_cents=20),
        dict(f0_start=294, timbre="decaying", unvoiced=(0.35, 0.65), snr_db=30),
        dict(f0_start=392, f0_end=349, timbre="saw", vibrato_cents=40),
        dict(f0_start=523, timbre="odd", snr_db=25),
        dict(f0_start=659, f0_end=740, timbre="decaying"),
        dict(f0_start=880, timbre="sine", vibrato_cents=30, snr_db=30),
        dict(f0_start=988, timbre="saw"),
        dict(f0_start=150, f0_end=180, timbre="saw", vibrato_cents=60, snr_db=20),
        dict(f0_start=1480, timbre="decaying", vibrato_cents=30),
        dict(f0_start=1568, f0_end=1760, timbre="saw", snr_db=30),
        dict(f0_start=1865, timbre="sine", vibrato_cents=20),
    ]
    return [harmonic(seed=seed * 100 + i, **spec) for i, spec in enumerate(specs)]


def track(
    model: Crepe, signal_set: list[Signal], context: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Track each signal whole with predict's defaults, the network alone unless ``context`` (the
    context stage after it); returns the concatenated pitch, periodicity and ground truth, each
    ndarray [shape=(frames,)]."""
    from crepetool.prediction import predict

    was_training = model.training
    model.eval()
    pitch, periodicity = [], []
    for signal in signal_set:
        result = predict(signal.audio, SAMPLE_RATE, model, context=context)
        pitch.append(result.pitch[0].cpu().numpy())
        periodicity.append(result.periodicity[0].cpu().numpy())
    model.train(was_training)
    truth = np.concatenate([s.f0 for s in signal_set])
    return np.concatenate(pitch), np.concatenate(periodicity), truth


def write(signals: list[Signal], folder: str | Path) -> list[Path]:
    """Write ``NAME.wav`` and its ground truth ``NAME.f0.csv`` (``time,f0``; 0 = unvoiced)."""
    import soundfile

    from crepetool.atomic import atomic_path

    folder = Path(folder)
    written = []
    for signal in signals:
        wav = folder / f"{signal.name}.wav"
        with atomic_path(wav) as tmp:
            soundfile.write(str(tmp), signal.audio, SAMPLE_RATE, format="WAV")
        table = np.stack([np.arange(signal.f0.size) * HOP / SAMPLE_RATE, signal.f0], axis=1)
        with atomic_path(folder / f"{signal.name}.f0.csv") as tmp:
            np.savetxt(tmp, table, fmt=["%.3f", "%.3f"], delimiter=",", header="time,f0", comments="")
        written.append(wav)
    return written
