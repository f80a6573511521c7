"""Build a realistic held-out evaluation set with exactly known f0: speech and instruments.

Speech: espeak-ng speaks sentences in several languages and voices; the WORLD vocoder
(pyworld) analyses each utterance and resynthesises it on a new, known f0 contour
(the spoken contour smoothed and transposed, or a sung melody with vibrato), so the
f0 of the output is known exactly while the spectral envelope and the aperiodicity
(breath, consonants) stay those of speech. Instruments: melodies of harmonic notes
with instrument-like spectra, attack/decay envelopes, vibrato, breath noise and a
mild room. Some clips get white or pink background noise (10-30 dB SNR).

Nothing here is used for training: crepetool's recovery trains on its own
generator (crepetool.training.frames), so this set measures how recovery carries over.

Needs (development only, not crepetool's runtime): ``apt-get install espeak-ng``,
``pip install pyworld "setuptools<81"``.

    python benchmarks/realistic.py OUT_DIR [--seed 0] [--speech 24] [--instruments 12]

Writes ``NAME.wav`` (16 kHz) and ``NAME.f0.csv`` (``time,f0``, 0 = unvoiced or
ambiguous) pairs that ``crepetool evaluate --audio OUT_DIR`` reads.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

SR = 16000
HOP = 160
SENTENCES = {
    "en-us": [
        "The quick brown fox jumps over the lazy dog near the river bank.",
        "Would you like a cup of tea, or shall we go out for a walk?",
        "She sells sea shells by the sea shore every summer morning.",
        "Measuring pitch in noisy rooms is harder than it looks.",
    ],
    "en-gb": [
        "A rainbow is a division of white light into many beautiful colours.",
        "Please call Stella and ask her to bring these things from the store.",
    ],
    "de": ["Der Wind und die Sonne stritten sich, wer von ihnen beiden wohl der Stärkere wäre."],
    "fr": ["La bise et le soleil se disputaient, chacun assurant qu'il était le plus fort."],
    "es": ["El viento norte y el sol porfiaban sobre cuál de ellos era el más fuerte."],
    "it": ["Si bisticciavano un giorno il vento di tramontana e il sole."],
    "pt": ["O vento norte e o sol discutiam qual dos dois era o mais forte."],
    "nl": ["De noordenwind en de zon hadden een discussie over wie de sterkste was."],
}
VARIANTS = ["m1", "m2", "m3", "m4", "m7", "f1", "f2", "f3", "f4", "f5"]


def _espeak(text: str, voice: str, pitch: int, speed: int) -> np.ndarray:
    import resampy
    import soundfile

    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "s.wav"
        subprocess.run(
            ["espeak-ng", "-v", voice, "-p", str(pitch), "-s", str(speed), "-w", str(wav), text],
            check=True,
            capture_output=True,
        )
        audio, rate = soundfile.read(str(wav), dtype="float64")
    return resampy.resample(audio, rate, SR)


def _smooth(values: np.ndarray, width: int) -> np.ndarray:
    kernel = np.hanning(width + 2)[1:-1]
    kernel /= kernel.sum()
    padded = np.pad(values, width, mode="edge")
    return np.convolve(padded, kernel, mode="same")[width:-width]


def _melody_contour(voiced: np.ndarray, rng: np.random.Generator, base: float) -> np.ndarray:
    """A sung melody over the voiced frames: notes of 15-40 frames, portamento, vibrato."""
    n = voiced.size
    scale = np.array([0, 2, 4, 5, 7, 9, 11, 12])
    semitones = np.zeros(n)
    i = 0
    while i < n:
        length = int(rng.integers(15, 40))
        semitones[i : i + length] = rng.choice(scale) - 5
        i += length
    semitones = _smooth(semitones, 5)
    t = np.arange(n) * HOP / SR
    vibrato = rng.uniform(20, 70) / 100 * np.sin(2 * np.pi * rng.uniform(4.5, 6.5) * t)
    return base * 2 ** ((semitones + vibrato) / 12)


def speech_clip(
    index: int,
    rng: np.random.Generator,
    register: tuple[float, float] | None = None,
    sung: bool | None = None,
) -> tuple[str, np.ndarray, np.ndarray]:
    """A WORLD-resynthesised utterance on a known contour. ``register`` (Hz) moves the
    contour's median there (bass voices, high sung lines); ``sung`` forces the style."""
    import pyworld

    language = list(SENTENCES)[index % len(SENTENCES)]
    text = SENTENCES[language][int(rng.integers(len(SENTENCES[language])))]
    variant = VARIANTS[int(rng.integers(len(VARIANTS)))]
    audio = _espeak(text, f"{language}+{variant}", int(rng.integers(20, 80)), int(rng.integers(130, 175)))
    f0, times = pyworld.harvest(audio, SR, f0_floor=50.0, f0_ceil=800.0, frame_period=1000 * HOP / SR)
    envelope = pyworld.cheaptrick(audio, f0, times, SR)
    aperiodicity = pyworld.d4c(audio, f0, times, SR)
    voiced = f0 > 0
    sung = index % 3 == 2 if sung is None else sung
    if sung:
        low, high = register or (110, 520)
        base = float(np.exp(rng.uniform(np.log(low), np.log(high))))
        contour = _melody_contour(voiced, rng, base)
        style = "sung"
    else:
        # the spoken contour, smoothed (harvest's raw track has jitter) and transposed
        filled = np.interp(np.arange(f0.size), np.flatnonzero(voiced), f0[voiced])
        contour = _smooth(filled, 7) * 2 ** (rng.uniform(-5, 7) / 12)
        if register is not None:
            target = float(np.exp(rng.uniform(np.log(register[0]), np.log(register[1]))))
            contour *= target / np.median(contour[voiced])
        style = "spoken"
    contour = np.clip(contour, 55.0, 1000.0) if register is None else np.clip(contour, 50.0, 1950.0)
    new_f0 = np.where(voiced, contour, 0.0)
    out = pyworld.synthesize(new_f0, envelope, aperiodicity, SR, 1000 * HOP / SR)
    name = f"speech-{index:02d}-{language}-{variant}-{style}"
    return name, out, new_f0


def _room(audio: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    length = int(SR * rng.uniform(0.15, 0.4))
    tail = rng.normal(size=length) * np.exp(-6.9 * np.arange(length) / length)
    tail[0] = 0.0
    wet = np.convolve(audio, tail)[: audio.size]
    return audio + rng.uniform(0.05, 0.2) * wet / max(np.abs(wet).max(), 1e-9) * np.abs(audio).max()


INSTRUMENTS = {
    # (spectral slope per harmonic in dB, odd-only, breath noise, attack s, decay per s)
    "flute": (-14.0, False, 0.04, 0.06, 0.0),
    "clarinet": (-5.0, True, 0.01, 0.03, 0.0),
    "strings": (-4.0, False, 0.005, 0.08, 0.0),
    "brass": (-3.0, False, 0.003, 0.04, 0.0),
    "plucked": (-6.0, False, 0.0, 0.004, 3.0),
    "organ": (-8.0, False, 0.0, 0.01, 0.0),
}


def instrument_clip(
    index: int, rng: np.random.Generator, register: tuple[float, float] = (80, 700)
) -> tuple[str, np.ndarray, np.ndarray]:
    """A melody of one instrument; ``register`` (Hz) bounds its base note (notes span +-7 semitones)."""
    kind = list(INSTRUMENTS)[index % len(INSTRUMENTS)]
    slope, odd, breath, attack, decay = INSTRUMENTS[kind]
    base = float(np.exp(rng.uniform(np.log(register[0]), np.log(register[1]))))
    seconds = rng.uniform(2.0, 3.0)
    samples = int(seconds * SR)
    t = np.arange(samples) / SR
    f0 = np.zeros(samples)
    gain = np.zeros(samples)
    start = 0
    while start < samples:
        length = int(SR * rng.uniform(0.2, 0.6))
        note = base * 2 ** (int(rng.integers(-7, 8)) / 12)
        end = min(start + length, samples)
        f0[start:end] = note
        local = np.arange(end - start) / SR
        envelope = np.minimum(local / attack, 1.0) * np.exp(-decay * local)
        gap = int(SR * rng.uniform(0, 0.08)) if rng.random() < 0.3 else 0
        envelope[max(0, end - start - gap) :] = 0.0
        gain[start:end] = envelope
        start = end
    vibrato_cents = rng.uniform(0, 40) if kind in ("flute", "strings", "clarinet") else 0.0
    f0 = f0 * 2 ** (vibrato_cents / 1200 * np.sin(2 * np.pi * 5.5 * t))
    phase = 2 * np.pi * np.cumsum(f0) / SR
    audio = np.zeros(samples)
    for h in range(1, int(SR / 2 / f0.max()) + 1):
        if odd and h % 2 == 0:
            amplitude = 10 ** ((slope * h - 20) / 20)
        else:
            amplitude = 10 ** (slope * (h - 1) / 20)
        audio += amplitude * np.sin(h * phase + rng.uniform(0, 2 * np.pi))
    audio = audio * gain + breath * rng.normal(size=samples) * gain
    audio = _room(audio, rng)
    frames = 1 + samples // HOP
    centres = np.minimum(np.arange(frames) * HOP, samples - 1)
    truth = np.where(gain[centres] > 0.05, f0[centres], 0.0)
    return f"instrument-{index:02d}-{kind}", audio, truth


def _mark_ambiguous(audio: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Set 0 where a 1024-sample window straddles a voicing edge or the signal is near silent."""
    voiced = truth > 0
    keep = voiced.copy()
    for shift in range(1, 4):
        keep[shift:] &= voiced[:-shift]
        keep[:-shift] &= voiced[shift:]
    padded = np.pad(audio, 512)
    energy = np.array([np.sqrt(np.mean(padded[i * HOP : i * HOP + 1024] ** 2)) for i in range(truth.size)])
    loud = energy > 10 ** (-35 / 20) * np.percentile(energy, 95)
    return np.where(keep & loud, truth, 0.0)


def _add_noise(audio: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    choice = rng.random()
    if choice < 0.4:
        return audio, "clean"
    snr = float(rng.choice([10, 20, 30]))
    noise = rng.normal(size=audio.size)
    colour = "white"
    if rng.random() < 0.5:
        spectrum = np.fft.rfft(noise)
        spectrum /= np.sqrt(np.maximum(np.arange(spectrum.size), 1))
        noise = np.fft.irfft(spectrum, n=audio.size)
        colour = "pink"
    active = audio[np.abs(audio) > 0.01 * np.abs(audio).max()]
    power = np.mean(active**2)
    noise *= np.sqrt(power / 10 ** (snr / 10) / np.mean(noise**2))
    return audio + noise, f"{colour}{snr:.0f}dB"


def build(folder: Path, seed: int = 0, speech: int = 24, instruments: int = 12) -> list[Path]:
    warnings.filterwarnings("ignore", category=UserWarning)  # pyworld imports pkg_resources
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    made = []
    jobs = [(speech_clip, i) for i in range(speech)] + [(instrument_clip, i) for i in range(instruments)]
    for make, index in jobs:
        name, audio, truth = make(index, rng)
        audio, noise = _add_noise(audio, rng)
        truth = _mark_ambiguous(audio, truth)
        audio = 0.7 * audio / max(np.abs(audio).max(), 1e-9)
        made.append(write_clip(folder / f"{name}-{noise}.wav", audio, truth))
    return made


def write_clip(path: Path, audio: np.ndarray, truth: np.ndarray, subtype: str = "FLOAT") -> Path:
    """``NAME.wav`` (16 kHz) and its ground truth ``NAME.f0.csv`` (``time,f0``; 0 = unvoiced)."""
    import soundfile

    soundfile.write(str(path), audio.astype(np.float32), SR, subtype=subtype)
    table = np.stack([np.arange(truth.size) * HOP / SR, truth], axis=1)
    np.savetxt(
        path.with_name(path.stem + ".f0.csv"),
        table,
        fmt=["%.3f", "%.4f"],
        delimiter=",",
        header="time,f0",
        comments="",
    )
    print(f"{path.name}: {audio.size / SR:.1f} s, {int((truth > 0).sum())} voiced frames", file=sys.stderr)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--speech", type=int, default=24)
    parser.add_argument("--instruments", type=int, default=12)
    args = parser.parse_args()
    build(args.folder, args.seed, args.speech, args.instruments)


if __name__ == "__main__":
    main()
