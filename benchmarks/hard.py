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

The conditions where a cut CREPE lost to the trained ones on audio kept from us, in our own
construction (speech only, many voices and languages):

| condition | what |
|---|---|
| far-0.5 / far-0.9 | a far microphone in a diffuse room: full-band decaying noise tail, RT60 0.5 / 0.9 s (±0.1), reverberant and direct energy equal (DRR -1..+1 dB) |
| far-pink-10dB | far-0.5..0.9, then pink noise at 10 dB SNR |
| vorbis-pink-20dB / mp3-pink-20dB | pink noise at 20 dB SNR, then a round trip at the encoder's default quality |
| vorbis-low-pink-20dB / mp3-low-pink-20dB | the same at compression level 0.9 (libsndfile refuses 1.0 for MP3) |
| pink-0dB | pink noise at 0 dB SNR |
| babble-0dB | four to six other espeak-ng talkers (other voices, languages, pitches) at 0 dB |
| bleed-5dB / bleed-10dB / bleed-15dB | the voice over an accompaniment at that signal-to-interference ratio, labelled with the voice's f0: chords with f0s of their own (a third of them rooted an octave, a fifth or two octaves from the voice), a bass line on the chord roots, kick, snare and hi-hats, at 70-150 bpm (see :func:`accompaniment`) |

Seeded (default seed 1000; training never uses these files or numpy seeds). Needs
``apt-get install espeak-ng`` and ``pip install pyworld "setuptools<81"`` (development only).

    python benchmarks/hard.py OUT_DIR [--seed 1000] [--per-condition 8]

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


def far(
    low: float, high: float, cut_ms: int | None = None
) -> Callable[[np.ndarray, np.random.Generator], np.ndarray]:
    """A far microphone in a diffuse room: RT60 drawn in ``low``..``high`` s, wet and dry at equal energy;
    ``cut_ms``: the impulse response cut after that many ms (the same draws), as
    ``benchmarks/limits.py`` asks how far back the tail matters."""

    def apply(audio: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        rt60 = rng.uniform(low, high)
        length = int(SR * rt60 * 1.2)
        t = np.arange(length) / SR
        tail = rng.normal(size=length) * 10 ** (-3 * t / rt60)
        tail[:16] = 0.0
        tail *= np.sqrt(10 ** (-rng.uniform(-1, 1) / 10) / np.sum(tail**2))  # DRR -1..+1 dB
        tail[0] = 1.0
        if cut_ms is not None:
            tail = tail[: cut_ms * SR // 1000]
        return np.convolve(audio, tail)[: audio.size]

    return apply


def chain(*effects: Callable) -> Callable[[np.ndarray, np.random.Generator], np.ndarray]:
    def apply(audio: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        for effect in effects:
            audio = effect(audio, rng)
        return audio

    return apply


def lossy_at(fmt: str, subtype: str, level: float | None) -> Callable:
    """A round trip at compression ``level`` (0 best .. 1 worst); None: the encoder's default."""

    def apply(audio: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        import soundfile

        buffer = io.BytesIO()
        scaled = 0.7 * audio / np.abs(audio).max()
        extra = {} if level is None else {"compression_level": level}
        soundfile.write(buffer, scaled, SR, format=fmt, subtype=subtype, **extra)
        buffer.seek(0)
        decoded, _ = soundfile.read(buffer, dtype="float64")
        out = np.zeros_like(audio)
        out[: min(out.size, decoded.size)] = decoded[: out.size]
        return out

    return apply


def babble(snr: float) -> Callable[[np.ndarray, np.random.Generator], np.ndarray]:
    """Four to six other talkers (raw espeak-ng: other voices, languages and pitches) at ``snr``."""

    def apply(audio: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        crowd = np.zeros_like(audio)
        for _ in range(int(rng.integers(4, 7))):
            language = list(realistic.SENTENCES)[int(rng.integers(len(realistic.SENTENCES)))]
            text = realistic.SENTENCES[language][int(rng.integers(len(realistic.SENTENCES[language])))]
            variant = realistic.VARIANTS[int(rng.integers(len(realistic.VARIANTS)))]
            talker = realistic._espeak(text, f"{language}+{variant}", int(rng.integers(10, 90)), 160)
            talker = np.resize(talker, audio.size + int(rng.integers(0, SR)))[-audio.size :]
            crowd += talker / max(np.sqrt(np.mean(talker**2)), 1e-9)
        return _at_snr(audio, crowd, snr)

    return apply


def _tone(f0: float, size: int, harmonics: int, tilt: float, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(size) / SR
    partials = [h for h in range(1, harmonics + 1) if h * f0 < 0.45 * SR]
    return sum(h**-tilt * np.sin(2 * np.pi * h * f0 * t + rng.uniform(0, 2 * np.pi)) for h in partials)


def accompaniment(size: int, voice_f0: float, rng: np.random.Generator) -> np.ndarray:
    """A band behind a voice, unit RMS: a chord each bar (triads and sevenths, each note a
    harmonic tone, struck and decaying or held), a bass on the chord roots, kick, snare and
    hi-hats. A third of the chords are rooted an octave, a fifth or two octaves from the
    voice's median f0 ``voice_f0``, so their partials fall on the voice's."""
    beat = 60 / rng.uniform(70, 150)
    bar = int(4 * beat * SR)
    chords, bass, drums = np.zeros(size), np.zeros(size), np.zeros(size)
    for start in range(0, size, bar):
        length = min(bar, size - start)
        t = np.arange(length) / SR
        if rng.random() < 1 / 3:
            root = voice_f0 * 2.0 ** float(rng.choice([-1, -7 / 12, -2, -19 / 12]))
        else:
            root = float(np.exp(rng.uniform(np.log(90), np.log(330))))
        shape = [(0, 4, 7), (0, 3, 7), (0, 4, 7, 10), (0, 3, 7, 10)][int(rng.integers(4))]
        struck = rng.random() < 0.5
        envelope = np.exp(-t / rng.uniform(0.4, 1.5)) if struck else np.minimum(1, t / 0.08)
        for interval in shape:
            chords[start : start + length] += envelope * _tone(
                root * 2 ** (interval / 12), length, 12, rng.uniform(0.8, 2.0), rng
            )
        low = root / 2 ** np.ceil(np.log2(root / 110))  # the root in 55-110 Hz
        for beat_start in range(0, length, int(2 * beat * SR)):
            n = length - beat_start
            pluck = np.exp(-np.arange(n) / SR / 0.35)
            bass[start + beat_start : start + length] += pluck * _tone(low, n, 8, 1.2, rng)
    for index, onset in enumerate(range(0, size, int(beat * SR / 2))):  # eighth notes
        n = min(int(0.3 * SR), size - onset)
        t = np.arange(n) / SR
        hat = np.diff(rng.normal(size=n + 1)) * np.exp(-t / 0.02)  # a first difference: high-passed
        drums[onset : onset + n] += 0.15 * hat
        if index % 4 == 0:  # kick on beats 1 and 3: a falling sine
            sweep = 2 * np.pi * np.cumsum(45 + 70 * np.exp(-t / 0.03)) / SR
            drums[onset : onset + n] += np.sin(sweep) * np.exp(-t / 0.12)
        elif index % 4 == 2:  # snare on 2 and 4: noise and a 190 Hz body
            drums[onset : onset + n] += (0.6 * rng.normal(size=n) + np.sin(2 * np.pi * 190 * t)) * np.exp(
                -t / 0.08
            )
    parts = [chords, bass, drums]
    gains = rng.uniform([0.6, 0.3, 0.2], [1.0, 0.7, 0.6])
    mix = sum(g * p / max(np.sqrt(np.mean(p**2)), 1e-9) for g, p in zip(gains, parts))
    return mix / np.sqrt(np.mean(mix**2))


def bleed(sir: float) -> Callable[[int, np.random.Generator], Clip]:
    """A voice (spoken or sung) over :func:`accompaniment` at ``sir`` dB, labelled with the voice's f0."""

    def make(index: int, rng: np.random.Generator) -> Clip:
        name, voice, truth = realistic.speech_clip(index, rng)
        truth = realistic._mark_ambiguous(voice, truth)  # where the voice itself is audible
        median = float(np.median(truth[truth > 0])) if np.any(truth > 0) else 200.0
        return name, _at_snr(voice, accompaniment(voice.size, median, rng), sir), truth

    return make


def _speech(effect: Callable) -> Callable[[int, np.random.Generator], Clip]:
    """Speech alone (spoken and sung), then ``effect``."""

    def make(index: int, rng: np.random.Generator) -> Clip:
        name, audio, truth = realistic.speech_clip(index, rng)
        return name, effect(audio, rng), truth

    return make


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
    mp3 = "MP3" in soundfile.available_formats()
    if mp3:
        table["mp3"] = _degraded(lossy("MP3", "MPEG_LAYER_III"))
    # the widened conditions: speech, where cut models lost on audio kept from us
    table["far-0.5"] = _speech(far(0.4, 0.6))
    table["far-0.9"] = _speech(far(0.8, 1.0))
    table["far-pink-10dB"] = _speech(chain(far(0.5, 0.9), noise("pink", 10)))
    codecs = [("vorbis", "OGG", "VORBIS")] + ([("mp3", "MP3", "MPEG_LAYER_III")] if mp3 else [])
    for name, fmt, subtype in codecs:
        table[f"{name}-pink-20dB"] = _speech(chain(noise("pink", 20), lossy_at(fmt, subtype, None)))
        table[f"{name}-low-pink-20dB"] = _speech(chain(noise("pink", 20), lossy_at(fmt, subtype, 0.9)))
    table["pink-0dB"] = _speech(noise("pink", 0))
    table["babble-0dB"] = _speech(babble(0))
    for sir in (5, 10, 15):
        table[f"bleed-{sir}dB"] = bleed(sir)
    return table


def condition_of(name: str) -> str:
    """The condition a file of this set belongs to (its name up to ``--``)."""
    return Path(name).name.split("--")[0]


def build(folder: Path, seed: int = 1000, per_condition: int = 8, only: set[str] | None = None) -> list[Path]:
    """Write the set (``only`` these conditions, when given: each has its own seeded stream)."""
    warnings.filterwarnings("ignore", category=UserWarning)  # pyworld imports pkg_resources
    folder.mkdir(parents=True, exist_ok=True)
    made = []
    for offset, (condition, make) in enumerate(conditions().items()):
        if only is not None and condition not in only:
            continue
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
    parser.add_argument("--per-condition", type=int, default=8)
    parser.add_argument("--only", default=None, help="comma-separated conditions to (re)build")
    args = parser.parse_args()
    build(
        args.folder, args.seed, args.per_condition, None if args.only is None else set(args.only.split(","))
    )


if __name__ == "__main__":
    main()
