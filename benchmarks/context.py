"""Train the context stage the package ships (crepetool/network/context.safetensors) on real takes.

    python benchmarks/context.py [--cache DIR] [--sequences N] [--raised N] [--sung N] [--steps N] [--seed S]
                                 [--students tiny,full,PATH...] [--out FILE]

Needs G.722 decoding for the sources: ``pip install g722`` (a dev-set tool, not a dependency).

Sources, fetched from Debian's archive with ``apt-get download`` into ``--cache`` (never
committed), both CC-BY-SA-3.0: ``asterisk-core-sounds-fr-g722`` (Canadian French prompts by June
Wallack) and ``asterisk-core-sounds-ru-g722`` (Russian prompts), 16 kHz G.722. Neither speaker is
in the real-voice dev set (``benchmarks/realvoice.py``: Colombian Spanish and Armelle's French),
and no held-out source the project names is used.

The prompts are joined into sequences of about 10 s with short pauses (so a room's tail carries
one prompt into the next), and each sequence is one pair
(:class:`crepetool.training.context.Pair`): ``full`` labels the clean sequence, and each
student network sees the sequence degraded as a whole, seeded: a room (RT60 0.2-1.2 s, the tail
as long as the room), noise (pink, white or speech-shaped, 0-20 dB), a band 3-15 dB under the
voice, a codec after noise, the telephone band, or nothing. The default students are ``tiny``,
``full`` and a 12/32 file when one is given: the stage serves any CREPE.

The prompts are spoken, f0 under about 400 Hz. ``--raised N`` adds N more sequences (from the
prompts the first ``--sequences`` leave) played faster by a ratio drawn log-uniformly in
:data:`RAISE` (soxr), so f0 reaches sung and instrumental registers (to about 1.6 kHz) with the
same degradations: without them the stage has never seen a frame above 400 Hz. ``--sung N`` adds
N sequences (from the prompts after those) resynthesised by WORLD (pyworld) on sung melodies of
the module's own (:func:`sung_contour`: notes of 0.1-0.8 s, portamento, delayed vibrato, a register
drawn from 150 Hz to 1.1 kHz), the prompts' own envelopes and aperiodicity kept.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
import hard
import realvoice

SOURCES = {"fr-june": "asterisk-core-sounds-fr-g722", "ru": "asterisk-core-sounds-ru-g722"}
LICENCE = "CC-BY-SA-3.0"
RATE = 16000
MIN_SECONDS = 0.8
SEQUENCE_SECONDS = 10.0
PAUSE_SECONDS = (0.05, 0.4)
DEGRADATIONS = ("room", "room", "room+noise", "noise", "band", "codec", "phone", "dry")
#: ``--raised``: the range of the speed-up ratio (f0 and formants rise by it, the length shrinks).
RAISE = (1.5, 4.0)


def fetch(cache: Path) -> list[Path]:
    """Every G.722 file of the sources, downloaded and unpacked into ``cache`` once."""
    return [path for paths in realvoice.unpacked(cache, SOURCES, ".g722").values() for path in paths]


def load(path: Path) -> np.ndarray:
    """A G.722 file (64 kbit/s) as float32 at 16 kHz."""
    import G722

    return np.asarray(G722.G722(RATE, 64000).decode(path.read_bytes()), dtype=np.float32) / 32768


def sequences(takes: list[np.ndarray], rng: np.random.Generator) -> list[np.ndarray]:
    """The takes in a random order, joined with short pauses into sequences of about 10 s."""
    out, current, length = [], [], 0
    for index in rng.permutation(len(takes)):
        pause = np.zeros(int(rng.uniform(*PAUSE_SECONDS) * RATE), np.float32)
        current += [takes[index], pause]
        length += takes[index].size
        if length >= SEQUENCE_SECONDS * RATE:
            out.append(np.concatenate(current))
            current, length = [], 0
    return out


def degrade(audio: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    """``audio`` degraded as a whole by one draw of :data:`DEGRADATIONS`, and its name."""
    kind = str(rng.choice(DEGRADATIONS))
    x = audio.astype(np.float64)
    if "room" in kind:
        x = hard.far(0.2, 1.2)(x, rng)
    if "noise" in kind:
        x = hard.noise(str(rng.choice(["pink", "white", "speech"])), rng.uniform(0, 20))(x, rng)
    if kind == "band":
        x = hard._at_snr(x, hard.accompaniment(x.size, float(rng.uniform(120, 300)), rng), rng.uniform(3, 15))
    if kind == "codec":
        noisy = hard.noise("pink", rng.uniform(10, 30))
        x = hard.chain(noisy, hard.lossy_at("OGG", "VORBIS", rng.uniform(0.4, 0.9)))(x, rng)
    if kind == "phone":
        x = hard.phone(x, rng)
    return x.astype(np.float32), kind


def raised(audio: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``audio`` played faster by a ratio drawn log-uniformly in :data:`RAISE`."""
    import soxr

    ratio = float(np.exp(rng.uniform(*np.log(RAISE))))
    return soxr.resample(audio, RATE, RATE / ratio).astype(np.float32)


def sung_contour(frames: int, rng: np.random.Generator, period: float) -> np.ndarray:
    """A sung melody, Hz [frames] every ``period`` s: notes of 0.1-0.8 s a few scale steps apart,
    each reached by a 30-120 ms glide, with vibrato (4-7 Hz, 0-100 cents) after its first 150 ms."""
    base = float(np.exp(rng.uniform(np.log(150.0), np.log(1100.0))))
    semitones, vibrato, at = np.zeros(frames), np.zeros(frames), 0
    note, rate, depth = 0.0, rng.uniform(4, 7), rng.uniform(0, 100)
    while at < frames:
        length = max(1, int(rng.uniform(0.1, 0.8) / period))
        previous, note = note, float(np.clip(note + rng.choice([-5, -3, -2, -1, 1, 2, 3, 4, 5, 7]), -9, 9))
        t = np.arange(length) * period
        glide = np.exp(-t / rng.uniform(0.01, 0.04))
        semitones[at : at + length] = (note + (previous - note) * glide)[: frames - at]
        vibrato[at : at + length] = (depth / 100 * np.sin(2 * np.pi * rate * t) * (t > 0.15))[: frames - at]
        at += length
    return np.clip(base * 2 ** ((semitones + vibrato) / 12), 60.0, 1900.0)


def sung(audio: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``audio`` resynthesised by WORLD on :func:`sung_contour` where it is voiced."""
    import pyworld

    period = 5.0
    x = audio.astype(np.float64)
    f0, times = pyworld.dio(x, RATE, f0_floor=60.0, f0_ceil=600.0, frame_period=period)
    f0 = pyworld.stonemask(x, f0, times, RATE)
    envelope = pyworld.cheaptrick(x, f0, times, RATE)
    aperiodicity = pyworld.d4c(x, f0, times, RATE)
    melody = np.where(f0 > 0, sung_contour(f0.size, rng, period / 1000), 0.0)
    out = pyworld.synthesize(melody, envelope, aperiodicity, RATE, period)
    return (out / max(1e-9, float(np.abs(out).max())) * 0.5).astype(np.float32)


#: The extra sequences (options of their names), in the order they take the prompts left over.
EXTRAS = (("raised", raised), ("sung", sung))


def pairs(args: argparse.Namespace) -> list:
    """The training pairs, each sequence's computed once and kept under ``--cache``."""
    from crepetool.network.loading import load_model

    rng = np.random.default_rng(args.seed)
    takes = [a for p in fetch(args.cache) if (a := load(p)).size >= MIN_SECONDS * RATE]
    every = sequences(takes, rng)
    chosen = every[: args.sequences]
    print(f"{len(takes)} takes; {len(chosen)} sequences, {sum(s.size for s in chosen) / RATE / 60:.1f} min")
    teacher = load_model("full")
    students = {name: load_model(name) for name in args.students}
    made = _pairs(args, chosen, f"{args.seed}-", rng, teacher, students)
    start = args.sequences
    for offset, (name, transform) in enumerate(EXTRAS, start=1):
        count = getattr(args, name)
        if not count:
            continue
        # their own generator: the spoken pairs stay those of a run without them
        more = np.random.default_rng(args.seed + offset)
        extra = [transform(audio, more) for audio in every[start : start + count]]
        print(f"{len(extra)} {name} sequences, {sum(s.size for s in extra) / RATE / 60:.1f} min")
        # the cache names the prompts' first sequence: --sung after --raised takes other prompts
        made += _pairs(args, extra, f"{args.seed}-{name}-{start}-", more, teacher, students)
        start += count
    return made


def _pairs(args: argparse.Namespace, chosen: list[np.ndarray], prefix: str, rng, teacher, students) -> list:
    from crepetool.prediction.recording import probabilities
    from crepetool.training.context import Pair

    made = []
    for index, audio in enumerate(chosen):
        path = args.cache / "pairs" / f"{prefix}{index:04d}.pt"
        if not path.exists():
            started = time.time()
            degraded, kind = degrade(audio, rng)
            record = {"clean": probabilities(teacher, audio, hard.HOP).half(), "kind": kind}
            for name, model in students.items():
                record[name] = probabilities(model, degraded, hard.HOP).half()
            path.parent.mkdir(parents=True, exist_ok=True)
            torch.save(record, path)
            print(f"sequence {index}: {kind}, {time.time() - started:.1f} s", flush=True)
        record = torch.load(path, weights_only=True)
        made += [Pair(record[name].float(), record["clean"].float()) for name in args.students if name in record]
    return made


def main() -> None:
    from crepetool.network import context
    from crepetool.training.context import Schedule, train

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path("context-cache"))
    parser.add_argument("--sequences", type=int, default=60)
    parser.add_argument("--raised", type=int, default=0, help="sequences played faster (sung registers)")
    parser.add_argument("--sung", type=int, default=0, help="sequences resynthesised on sung melodies")
    parser.add_argument("--steps", type=int, default=Schedule.steps)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--students", type=lambda s: s.split(","), default=["tiny", "full"])
    parser.add_argument("--out", type=Path, default=context.WEIGHTS_FILE)
    args = parser.parse_args()
    made = pairs(args)
    started = time.time()
    stage = train(
        made,
        Schedule(steps=args.steps),
        seed=args.seed,
        progress=lambda step, loss: step % 250 or print(f"step {step}: loss {loss:.4f}", flush=True),
    )
    metadata = {
        "sources": ", ".join(f"{p} ({LICENCE})" for p in SOURCES.values()),
        "students": ",".join(Path(s).name for s in args.students),
        "sequences": str(args.sequences),
        "steps": str(args.steps),
        "seed": str(args.seed),
    }
    for extra, _ in EXTRAS:
        if getattr(args, extra):
            metadata[extra] = str(getattr(args, extra))
    context.save(stage, args.out, metadata)
    print(f"trained in {time.time() - started:.0f} s; wrote {args.out}")


if __name__ == "__main__":
    main()
