"""The dereverberating front end (``--dereverb``) on held notes and sung lines in rooms, and its cost.

    python benchmarks/dereverb.py [--clips N] [--seed S] [WEIGHTS ...]   (default: tiny full)

WPE predicts late reverberation from the sound a few frames earlier and subtracts it; a held note
is as predictable as a tail, so the trap is music. Two synthetic sets with exact f0, each clip in
a diffuse room (``hard.far``: RT60 0.5-0.9 s, wet and dry at equal energy) and dry:

- ``held``: held instrument notes, 1.5-3 s each, 8-20 harmonics with a spectral tilt, some with
  5.5 Hz vibrato of up to 20 cents (organ, strings, winds);
- ``sung``: sung lines, notes of 0.25-0.8 s joined legato (a 40 ms glide), 5.5 Hz vibrato of
  30-60 cents, a vowel-like formant envelope.

RPA % (within 50 cents, frames more than 30 ms from a note change or a clip's ends), each CREPE
at predict's defaults (the context stage on) with and without ``--dereverb``, and SwiftF0 with
and without the same front end; then the front end's milliseconds per second of audio. The
real-voice table by condition is ``benchmarks/realvoice.py --dereverb``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import hard

SR, HOP = hard.SR, hard.HOP


def _harmonics(f0: np.ndarray, count: int, tilt: float, formant: bool, rng: np.random.Generator) -> np.ndarray:
    phase = 2 * np.pi * np.cumsum(f0) / SR
    out = np.zeros(f0.size)
    centre = rng.uniform(500, 900)
    for k in range(1, count + 1):
        gain = k**-tilt
        if formant:  # a vowel's first formant
            gain *= 1 + 3 * np.exp(-(((k * np.median(f0) - centre) / 250) ** 2))
        out += gain * np.sin(k * phase + rng.uniform(0, 2 * np.pi))
    return out


def held(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two to three held notes: audio and the f0 at every frame (0 where not scored)."""
    f0, parts = [], []
    for _ in range(int(rng.integers(2, 4))):
        n = int(rng.uniform(1.5, 3.0) * SR) // HOP * HOP
        note = float(np.exp(rng.uniform(np.log(80), np.log(800))))
        t = np.arange(n) / SR
        contour = note * 2 ** (rng.choice([0.0, rng.uniform(5, 20)]) / 1200 * np.sin(2 * np.pi * 5.5 * t))
        audio = _harmonics(contour, int(rng.integers(8, 21)), rng.uniform(0.7, 1.5), False, rng)
        parts.append(audio * np.minimum(1, t / 0.03))
        f0.append(contour)
    return np.concatenate(parts), _labels(np.concatenate(f0), [p.size for p in parts])


def sung(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A sung line of legato notes with vibrato: audio and the f0 at every frame."""
    base = float(np.exp(rng.uniform(np.log(150), np.log(600))))
    notes = [base * 2 ** (int(rng.integers(-5, 8)) / 12) for _ in range(int(rng.integers(5, 9)))]
    lengths = [int(rng.uniform(0.25, 0.8) * SR) // HOP * HOP for _ in notes]
    steps = np.concatenate([np.full(n, f) for f, n in zip(notes, lengths)])
    glide = np.convolve(np.log(steps), np.ones(640) / 640, mode="same")  # 40 ms legato
    t = np.arange(steps.size) / SR
    f0 = np.exp(glide) * 2 ** (rng.uniform(30, 60) / 1200 * np.sin(2 * np.pi * 5.5 * t))
    audio = _harmonics(f0, 20, 1.0, True, rng) * np.minimum(1, t / 0.05)
    return audio, _labels(f0, lengths)


def _labels(f0: np.ndarray, lengths: list[int]) -> np.ndarray:
    """``f0`` at each 10 ms frame, 0 within 30 ms of a note change or the clip's ends."""
    frames = f0[::HOP].copy()
    edges = np.cumsum([0, *lengths]) // HOP
    for edge in edges:
        frames[max(0, edge - 3) : edge + 3] = 0
    return np.concatenate([frames, [0.0]])


def score(pitch: np.ndarray, truth: np.ndarray) -> float:
    n = min(pitch.size, truth.size)
    keep = truth[:n] > 0
    return 100 * float(np.mean(np.abs(1200 * np.log2(np.maximum(pitch[:n][keep], 1e-3) / truth[:n][keep])) < 50))


def trackers(specs: list[str]) -> dict:
    import realvoice

    found = {"SwiftF0 (peer)": realvoice._peer(), "SwiftF0 (peer) + dereverb": realvoice._peer(dereverb=True)}
    for spec in specs:
        found[spec] = realvoice._crepe(spec, context=True)
        found[f"{spec} + dereverb"] = realvoice._crepe(spec, context=True, dereverb=True)
    return found


def main() -> None:
    from crepetool.prediction.dereverb import dereverberate

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("weights", nargs="*", default=["tiny", "full"])
    parser.add_argument("--clips", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    sets = {name: [make(rng) for _ in range(args.clips)] for name, make in (("held", held), ("sung", sung))}
    room = hard.far(0.5, 0.9)
    takes = {
        f"{name}, {where}": [(room(a, rng) if where == "room" else a, f0) for a, f0 in clips]
        for name, clips in sets.items()
        for where in ("dry", "room")
    }
    print(f"{args.clips} clips a set, seed {args.seed}; RPA %, mean over clips\n")
    print("| tracker | " + " | ".join(takes) + " |")
    print("|---" * (len(takes) + 1) + "|")
    for label, track in trackers(args.weights).items():
        cells = [np.mean([score(track(a.astype(np.float32))[0], f0) for a, f0 in clips]) for clips in takes.values()]
        print(f"| {label} | " + " | ".join(f"{c:.1f}" for c in cells) + " |", flush=True)
    audio = np.concatenate([a for clips in takes.values() for a, _ in clips]).astype(np.float32)
    started = time.perf_counter()
    dereverberate(audio)
    cost = (time.perf_counter() - started) / (audio.size / SR)
    print(f"\n--dereverb: {1000 * cost:.1f} ms per second of audio ({audio.size / SR:.0f} s, one process)")


if __name__ == "__main__":
    main()
