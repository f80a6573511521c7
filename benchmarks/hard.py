"""Build the hard evaluation set: exactly known f0 under the degradations users' audio has.

The same exact-f0 construction as ``benchmarks/realistic.py`` (espeak-ng speech resynthesised
by WORLD on known contours, synthetic instrument melodies), then one condition per clip:

| condition | what |
|---|---|
| room-0.3 / room-0.6 / room-1.0 | a synthetic room (exponentially decaying noise), RT60 in seconds, DRR -8..0 dB |
| phone | telephone band 300-3,400 Hz (fundamentals below 300 Hz are gone), 8 kHz round trip |
| white-0dB / pink-5dB / speech-10dB | background noise at that SNR (speech-shaped: long-term speech spectrum) |
| vorbis / mp3 | a lossy round trip through soundfile (Ogg Vorbis; MP3 where libsndfile has it) at low quality |
| clipped | hard clipping at 15-30% of the peak |
| quiet | a take peaking at -50 dBFS, stored as 16-bit PCM |
| bass | spoken and sung voices around 60-85 Hz |
| high | sung lines and instrument melodies up to 1,900 Hz |

Seeded (default seed 1000; training never uses these files or numpy seeds). Needs
``apt-get install espeak-ng`` and ``pip install pyworld "setuptools<81"`` (development only).

    python benchmarks/hard.py OUT_DIR [--seed 1000] [--per-condition 3]

Writes ``CONDITION--NAME.wav`` + ``.f0.csv`` pairs; ``crepetool evaluate --audio OUT_DIR`` reads
them, and ``benchmarks/zoo.py --hard OUT_DIR`` reports per condition.
"""

from __future__ import annotations

import argparse
import io
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import realistic  # the exact-f0 construction is shared

SR = realistic.SR
HOP = realistic.HOP

Clip = tuple[str, np.ndarray, np.ndarray]


def _noise(size: int, colour: str, rng: np.random.Generator) -> np.ndarray:
    spectrum = np.fft.rfft(rng.normal(size=size))
    freqs = np.maximum(np.fft.rfftfreq(size, 1 / SR), 1.0)
    if colour == "pink":
        spectrum /= np.sqrt(freqs)
    elif colour == "speech":  # flat to ~500 Hz, then about -9 dB an octave
        spectrum /= (1 + (freqs / 500) ** 2) ** 0.75
    return np.fft.irfft(spectrum, n=size)


def _at_snr(audio: np.ndarray, noise: np.ndarray, snr: float) -> np.ndarray:
    active = audio[np.abs(audio) > 0.01 * np.abs(audio).max()]
    return audio + noise * np.sqrt(np.mean(active**2) / 10 ** (snr / 10) / np.mean(noise**2))


def room(rt60: float) -> Callable[[np.ndarray, np.random.Generator], np.ndarray]:
    def apply(audio: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        length = int(SR * rt60 * 1.2)
        t = np.arange(length) / SR
        tail = rng.normal(size=length) * 10 ** (-3 * t / rt60)
        tail[:16] = 0.0
        drr = rng.uniform(-8, 0)
        tail *= np.sqrt(10 ** (-drr / 10) / np.sum(tail**2))
        tail[0] = 1.0
        return np.convolve(audio, tail)[: audio.size]

    return apply


def phone(audio: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    import resampy
    from scipy import signal

    narrow = resampy.resample(audio, SR, 8000)
    sos = signal.butter(4, [300, 3400], btype="bandpass", fs=8000, output="sos")
    return resampy.resample(signal.sosfilt(sos, narrow), 8000, SR)[: audio.size]


def noise(colour: str, snr: float) -> Callable[[np.ndarray, np.random.Generator], np.ndarray]:
    def apply(audio: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return _at_snr(audio, _noise(audio.size, colour, rng), snr)

    return apply


def lossy(fmt: str, subtype: str) -> Callable[[np.ndarray, np.random.Generator], np.ndarray]:
    def apply(audio: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        import soundfile

        buffer = io.BytesIO()
        scaled = 0.7 * audio / np.abs(audio).max()
        soundfile.write(buffer, scaled, SR, format=fmt, subtype=subtype, compression_level=0.9)
        buffer.seek(0)
        decoded, _ = soundfile.read(buffer, dtype="float64")
        out = np.zeros_like(audio)  # codecs may pad or trim a few samples
        out[: min(out.size, decoded.size)] = decoded[: out.size]
        return out

    return apply


def clipped(audio: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    limit = rng.uniform(0.15, 0.3) * np.abs(audio).max()
    return np.clip(audio, -limit, limit)


def quiet(audio: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    scaled = audio * 10 ** (-50 / 20) / np.abs(audio).max()
    return np.round(scaled * 32768) / 32768  # stored as 16-bit PCM


def _degraded(effect: Callable) -> Callable[[int, np.random.Generator], Clip]:
    """Speech (two clips in three) or an instrument, then ``effect``."""

    def make(index: int, rng: np.random.Generator) -> Clip:
        clip = realistic.instrument_clip(index, rng) if index % 3 == 2 else realistic.speech_clip(index, rng)
        name, audio, truth = clip
        return name, effect(audio, rng), truth

    return make


def _bass(index: int, rng: np.random.Generator) -> Clip:
    return realistic.speech_clip(index, rng, register=(60, 85), sung=index % 2 == 1)


def _high(index: int, rng: np.random.Generator) -> Clip:
    if index % 2:
        return realistic.instrument_clip(index, rng, register=(600, 1270))  # notes up to ~1,900 Hz
    return realistic.speech_clip(index, rng, register=(700, 1400), sung=True)


def conditions() -> dict[str, Callable[[int, np.random.Generator], Clip]]:
    import soundfile

    table = {
        "room-0.3": _degraded(room(0.3)),
        "room-0.6": _degraded(room(0.6)),
        "room-1.0": _degraded(room(1.0)),
        "phone": _degraded(phone),
        "white-0dB": _degraded(noise("white", 0)),
        "pink-5dB": _degraded(noise("pink", 5)),
        "speech-10dB": _degraded(noise("speech", 10)),
        "vorbis": _degraded(lossy("OGG", "VORBIS")),
        "clipped": _degraded(clipped),
        "quiet": _degraded(quiet),
        "bass": _bass,
        "high": _high,
    }
    if "MP3" in soundfile.available_formats():
        table["mp3"] = _degraded(lossy("MP3", "MPEG_LAYER_III"))
    return table


def condition_of(name: str) -> str:
    """The condition a file of this set belongs to (its name up to ``--``)."""
    return Path(name).name.split("--")[0]


def build(folder: Path, seed: int = 1000, per_condition: int = 3) -> list[Path]:
    warnings.filterwarnings("ignore", category=UserWarning)  # pyworld imports pkg_resources
    folder.mkdir(parents=True, exist_ok=True)
    made = []
    for offset, (condition, make) in enumerate(conditions().items()):
        rng = np.random.default_rng(seed + 100 * offset)  # one stream per condition: add one, keep the rest
        for index in range(per_condition):
            # clip indices run on across conditions: languages, voices and instruments vary
            name, audio, truth = make(offset * per_condition + index, rng)
            truth = realistic._mark_ambiguous(audio, truth)
            if condition != "quiet":
                audio = 0.7 * audio / max(np.abs(audio).max(), 1e-9)
            subtype = "PCM_16" if condition == "quiet" else "FLOAT"
            made.append(realistic.write_clip(folder / f"{condition}--{name}.wav", audio, truth, subtype))
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--seed", type=int, default=1000)
    parser.add_argument("--per-condition", type=int, default=3)
    args = parser.parse_args()
    build(args.folder, args.seed, args.per_condition)


if __name__ == "__main__":
    main()
