"""What limits CREPE in rooms and on fast intonation, measured on the real-voice set's natural part.

    python benchmarks/limits.py [--clips N] [--seed S] [--cache DIR] [--wpe | --speeds] [--context] [WEIGHTS ...]

Same clips, reference and scoring as ``benchmarks/realvoice.py`` (RPA on the frames where SwiftF0
and CREPE ``full`` agree on the clean clip), SwiftF0 beside every row. Four questions, one table each (and a fifth alone with ``--wpe``):

1. **The room's tail, by how far back it reaches.** The far-microphone room of the dev set (RT60
   0.5-0.9 s, wet and dry at equal energy), its impulse response cut after 32 ms (reflections
   inside the half window), after 128 ms (inside the window and the context training frames carry)
   and whole. If the whole tail costs far more than the first 128 ms, what limits a 64 ms window
   is sound from earlier syllables.
2. **Where the errors go, in the whole room.** Each reference frame a tracker misses, classed:
   an octave (within 50 cents of 2^k times the reference), an earlier pitch (within 50 cents of the
   reference 50-600 ms before, when that differs from now by over a semitone: the tail of an
   earlier syllable), near (under 200 cents off) or other.
3. **The decoder.** CREPE's Viterbi against per-frame weighted argmax, and the share of missed frames
   whose reference pitch is one of the network's three strongest activation peaks (a decoder
   could pick it) rather than absent (the network does not see it).
4. **Fast intonation.** RPA, dry and in the room, by how fast the reference f0 moves (cents per
   10 ms, from the reference track): under 10, 10-40, over 40.
5. **What a dereverberating front end does** (``--wpe``): the room takes through single-channel
   weighted prediction error (``nara_wpe``: 512-sample STFT, hop 128, 10 taps after a delay of 3,
   3 iterations) before each tracker. Needs ``pip install nara-wpe`` (a dev-set tool).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import hard
import realvoice

CUTS_MS = {"32 ms": 32, "128 ms": 128, "whole": None}
SPEEDS = {"< 10 c": (0, 10), "10-40 c": (10, 40), "> 40 c": (40, np.inf)}


def _cents(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return 1200 * np.log2(np.maximum(a, 1e-3) / np.maximum(b, 1e-3))


def classify(pitch: np.ndarray, truth: np.ndarray) -> dict[str, int]:
    """Counts of missed reference frames by kind (see the module's question 2)."""
    counts = dict.fromkeys(("octave", "earlier pitch", "near", "other"), 0)
    n = min(pitch.size, truth.size)
    for i in np.flatnonzero(truth[:n] > 0):
        error = _cents(pitch[i], truth[i])
        if abs(error) < 50:
            continue
        before = truth[max(0, i - 60) : max(0, i - 5)]
        before = before[(before > 0) & (np.abs(_cents(before, truth[i])) > 100)]
        if abs(error) > 600 and abs(error - 1200 * round(error / 1200)) < 50:
            counts["octave"] += 1
        elif before.size and np.min(np.abs(_cents(pitch[i], before))) < 50:
            counts["earlier pitch"] += 1
        elif abs(error) < 200:
            counts["near"] += 1
        else:
            counts["other"] += 1
    return counts


def speeds(truth: np.ndarray) -> np.ndarray:
    """Cents per 10 ms at each reference frame (the larger step to a voiced neighbour; inf if none)."""
    step = np.full(truth.size, np.inf)
    for shift in (1, -1):
        other = np.roll(truth, shift)
        valid = (truth > 0) & (other > 0)
        moved = np.where(valid, np.abs(_cents(truth, other)), np.nan)
        step = np.where(np.isnan(moved), step, np.where(np.isinf(step), moved, np.maximum(step, moved)))
    return step


def _remembered(track):
    """``track`` run once per take: the tables ask of the same room and dry takes again."""
    seen: dict[int, tuple] = {}

    def again(audio: np.ndarray) -> tuple:
        if id(audio) not in seen:
            seen[id(audio)] = track(audio)
        return seen[id(audio)]

    return again


def _per_frame(model):
    """Weighted-argmax pitch and the activations of a loaded CREPE model."""
    import torch

    from crepetool.prediction import predict, probabilities

    def track(audio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        argmax = predict(audio, 16000, model, decoder="weighted-argmax").pitch[0].numpy().astype(np.float64)
        return argmax, probabilities(model, torch.from_numpy(audio), hard.HOP).numpy()

    return track


def in_peaks(activation: np.ndarray, truth: float, top: int = 3) -> bool:
    """Whether ``truth`` lies within 50 cents of one of the ``top`` strongest local maxima."""
    from crepetool import units

    rows = activation
    peaks = np.flatnonzero((rows[1:-1] > rows[:-2]) & (rows[1:-1] >= rows[2:])) + 1
    strongest = peaks[np.argsort(rows[peaks])[::-1][:top]]
    return bool(np.any(np.abs(units.bins_to_cents(strongest) - units.frequency_to_cents(truth)) < 50))


def _rpa(track, takes: list[np.ndarray], truths: list) -> float:
    """RPA (%) of ``track`` pooled over the reference frames of ``takes``."""
    hits = [_hits(track(audio)[0], truth) for audio, truth in zip(takes, truths)]
    return 100 * float(np.concatenate([h[t[: h.size] > 0] for h, t in zip(hits, truths)]).mean())


def _rooms(trackers: dict, chosen: list, truths: list, seed: int, rooms: list[np.ndarray]) -> None:
    print("| tracker | room cut after " + " | ".join(CUTS_MS) + " |")
    print("|---" * (len(CUTS_MS) + 1) + "|")
    cut_rooms = {cut: _room_audio(chosen, seed, cut) for cut in CUTS_MS.values() if cut is not None}
    for name, track in trackers.items():
        cells = [_rpa(track, cut_rooms.get(cut, rooms), truths) for cut in CUTS_MS.values()]
        print(f"| {name} | " + " | ".join(f"{cell:.1f}" for cell in cells) + " |")


def _room_audio(chosen: list, seed: int, cut_ms: int | None = None) -> list[np.ndarray]:
    """The dev set's room takes (its draws: ``realvoice.CONDITIONS`` index 1), cut as asked."""
    return [
        hard.far(0.5, 0.9, cut_ms)(audio.astype(np.float64), np.random.default_rng([seed, index, 1])).astype(
            np.float32
        )
        for index, (_, audio) in enumerate(chosen)
    ]


def _errors(trackers: dict, per_frame: dict, rooms: list[np.ndarray], truths: list) -> None:
    print("\n| tracker | missed in the room | octave | earlier pitch | near | other |")
    print("|---|---|---|---|---|---|")
    for name, track in trackers.items():
        counts = dict.fromkeys(("octave", "earlier pitch", "near", "other"), 0)
        for audio, truth in zip(rooms, truths):
            for kind, count in classify(track(audio)[0], truth).items():
                counts[kind] += count
        missed = sum(counts.values())
        print(
            f"| {name} | {missed} | "
            + " | ".join(f"{100 * c / max(missed, 1):.0f}%" for c in counts.values())
            + " |"
        )
    print(
        "\n| model | room: Viterbi | room: weighted argmax | missed frames whose reference is a top-3 peak |"
    )
    print("|---|---|---|---|")
    for name, track in per_frame.items():
        hits = {"viterbi": 0, "argmax": 0}
        total = missed = seen = 0
        for audio, truth in zip(rooms, truths):
            viterbi = trackers[name](audio)[0]
            argmax, activation = track(audio)
            n = min(viterbi.size, truth.size)
            for i in np.flatnonzero(truth[:n] > 0):
                total += 1
                hits["argmax"] += abs(_cents(argmax[i], truth[i])) < 50
                if abs(_cents(viterbi[i], truth[i])) < 50:
                    hits["viterbi"] += 1
                else:
                    missed += 1
                    seen += in_peaks(activation[i], truth[i])
        print(
            f"| {name} | {100 * hits['viterbi'] / total:.1f} | {100 * hits['argmax'] / total:.1f} | "
            f"{100 * seen / max(missed, 1):.0f}% of {missed} |"
        )


def _hits(pitch: np.ndarray, truth: np.ndarray) -> np.ndarray:
    n = min(pitch.size, truth.size)
    return np.abs(_cents(pitch[:n], truth[:n])) < 50


def _speeds(trackers: dict, dry: list[np.ndarray], rooms: list[np.ndarray], truths: list) -> None:
    fast = [speeds(t) for t in truths]
    counts = {
        label: sum(int(np.sum((f >= lo) & (f < hi) & (t > 0))) for f, t in zip(fast, truths))
        for label, (lo, hi) in SPEEDS.items()
    }
    print(
        "\n| tracker | "
        + " | ".join(f"dry, {k} ({v} frames)" for k, v in counts.items())
        + " | "
        + " | ".join(f"room, {k}" for k in SPEEDS)
        + " |"
    )
    print("|---" * (2 * len(SPEEDS) + 1) + "|")
    for name, track in trackers.items():
        cells = []
        for takes in (dry, rooms):
            outcomes = [_hits(track(a)[0], t) for a, t in zip(takes, truths)]
            for lo, hi in SPEEDS.values():
                picked = [
                    o[(f[: o.size] >= lo) & (f[: o.size] < hi) & (t[: o.size] > 0)]
                    for o, f, t in zip(outcomes, fast, truths)
                ]
                every = np.concatenate(picked)
                cells.append(f"{100 * every.mean():.1f}" if every.size else "–")
        print(f"| {name} | " + " | ".join(cells) + " |")


def dereverberate(audio: np.ndarray) -> np.ndarray:
    """One channel through WPE (see the module's question 5), trimmed to its length."""
    from nara_wpe.utils import istft, stft
    from nara_wpe.wpe import wpe

    spectra = stft(audio[None].astype(np.float64), size=512, shift=128).transpose(2, 0, 1)
    clean = wpe(spectra, taps=10, delay=3, iterations=3).transpose(1, 2, 0)
    out = istft(clean, size=512, shift=128)[0][: audio.size]
    return np.pad(out, (0, audio.size - out.size)).astype(np.float32)


def _wpe(trackers: dict, dry: list[np.ndarray], rooms: list[np.ndarray], truths: list) -> None:
    cleaned = [dereverberate(audio) for audio in rooms]
    print("\n| tracker | room | room after WPE | dry |")
    print("|---|---|---|---|")
    for name, track in trackers.items():
        cells = [_rpa(track, takes, truths) for takes in (rooms, cleaned, dry)]
        print(f"| {name} | " + " | ".join(f"{cell:.1f}" for cell in cells) + " |")


def main() -> None:
    from crepetool.network.loading import load_model

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("weights", nargs="*", default=["full"])
    parser.add_argument("--clips", type=int, default=10, help="clips per source")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache", type=Path, default=Path("realvoice-cache"))
    parser.add_argument("--wpe", action="store_true", help="only question 5: a WPE front end")
    parser.add_argument("--speeds", action="store_true", help="only the table by f0 speed")
    parser.add_argument("--context", action="store_true", help="each CREPE with the context stage too")
    args = parser.parse_args()
    chosen = realvoice.clips(realvoice.fetch(args.cache), args.clips, args.seed)
    swift, full = realvoice._peer(), realvoice._crepe("full")
    truths = [realvoice.reference(audio, swift, full) for _, audio in chosen]
    print(f"{len(chosen)} clips, {sum(int((t > 0).sum()) for t in truths)} reference frames; RPA %\n")
    models = {str(w): load_model(w) for w in args.weights}
    trackers = {"SwiftF0 (peer)": swift, **{name: realvoice._crepe(model) for name, model in models.items()}}
    if args.context:
        trackers |= {f"{name} + context": realvoice._crepe(model, context=True) for name, model in models.items()}
    trackers = {name: _remembered(track) for name, track in trackers.items()}
    dry, rooms = [audio for _, audio in chosen], _room_audio(chosen, args.seed)
    if args.wpe:
        _wpe(trackers, dry, rooms, truths)
        return
    if args.speeds:
        _speeds(trackers, dry, rooms, truths)
        return
    _rooms(trackers, chosen, truths, args.seed, rooms)
    _errors(trackers, {name: _per_frame(model) for name, model in models.items()}, rooms, truths)
    _speeds(trackers, dry, rooms, truths)


if __name__ == "__main__":
    main()
