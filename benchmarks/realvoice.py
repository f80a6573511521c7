"""Real recorded voices, degraded: the real-voice dev set, natural and resynthesised.

    python benchmarks/realvoice.py [--part natural|resynthesised|both] [--clips N] [--seed S]
                                   [--cache DIR] [--context off|on|both] [--dereverb] [--plot PNG]
                                   [WEIGHTS ...]

The resynthesised part needs WORLD: ``pip install pyworld "setuptools<81"`` (pyworld 0.3.5 imports
``pkg_resources``); it is a dev-set tool, not a dependency of crepetool.

Sources, fetched from Debian's archive with ``apt-get download`` into ``--cache`` (never
committed), both GPL-2: ``asterisk-prompt-es-co`` (Colombian Spanish telephone prompts) and
``asterisk-prompt-fr-armelle`` (French prompts by Armelle Desjardins). They are 8 kHz GSM 06.10
files: real speakers and prosody, in the telephone band. (Kept for measuring crepetool and never
used here: the held-out sources the project names, English and Italian Asterisk prompts among
them.)

The f0 of a real recording is not known, so the reference is where strong trackers agree: on each
clean clip, the frames where SwiftF0 and CREPE ``full`` are both confident (> 0.5) and within 25
cents of each other, at the geometric mean of the two. The table says how many frames that leaves.
Each clip is then degraded, seeded: ``dry``; ``room``, a far microphone in a diffuse room (RT60
0.5-0.9 s, wet and dry at equal energy); ``pink-5dB``; ``band-8dB``, a band 8 dB under the voice;
``codec``, Vorbis after pink noise at 20 dB. Score: the share of reference frames within 50 cents
(RPA, %), per condition the mean over clips and the standard deviation between them, with predict's
defaults; SwiftF0 beside every row. Both reference trackers are scored too: on ``dry`` they agree
with the reference by construction.

The resynthesised part has an exact f0: each clip analysed by WORLD (``pyworld``: harvest,
cheaptrick, d4c), its f0 smoothed in log frequency (a 25 ms moving average inside each voiced
stretch), and resynthesised on it, so the label is the smoothed contour at every voiced frame within
30 dB of the clip's loudest (one frame either side of a voicing change left out). Each label is checked by re-analysis (harvest on
the resynthesised clip: the median cents against the label is printed), and the same five
conditions are scored against it. The last table says how much resynthesis alone moves each
tracker on the dry takes, so that no decision rests on a vocoder's trait.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import hard

SOURCES = {"es-co": "asterisk-prompt-es-co", "fr-armelle": "asterisk-prompt-fr-armelle"}
RATE = 8000
MIN_SECONDS = 2.0
AGREE_CENTS = 25.0
#: A resynthesised frame is labelled only within this many dB of the clip's loudest (harvest marks
#: quiet breathy frames voiced, and they come out of WORLD nearly aperiodic).
QUIET_DB = -30.0
CONDITIONS = {
    "dry": lambda audio, rng: audio,
    "room": hard.far(0.5, 0.9),
    "pink-5dB": hard.noise("pink", 5.0),
    "band-8dB": None,  # needs the clip's f0: see _band
    "codec": hard.chain(hard.noise("pink", 20.0), hard.lossy_at("OGG", "VORBIS", 0.6)),
}


def unpacked(cache: Path, packages: dict[str, str], suffix: str) -> dict[str, list[Path]]:
    """Each Debian package's files ending in ``suffix``, by name: downloaded with ``apt-get
    download`` and unpacked into ``cache/NAME`` once."""
    found = {}
    for name, package in packages.items():
        folder = cache / name
        if not folder.is_dir():
            folder.mkdir(parents=True)
            subprocess.run(["apt-get", "download", package], cwd=folder, check=True, capture_output=True)
            deb = next(folder.glob("*.deb"))
            subprocess.run(["dpkg", "-x", str(deb), str(folder / "files")], check=True)
        found[name] = sorted((folder / "files").rglob(f"*{suffix}"))
    return found


def fetch(cache: Path) -> dict[str, list[Path]]:
    """Each source's GSM files, downloaded and unpacked into ``cache`` once."""
    return unpacked(cache, SOURCES, ".gsm")


def load(path: Path) -> np.ndarray:
    """A GSM 06.10 file at 16 kHz, float32."""
    import soundfile

    from crepetool.prediction.resampling import resample

    audio, _ = soundfile.read(
        path, format="RAW", subtype="GSM610", samplerate=RATE, channels=1, dtype="float32"
    )
    return resample(audio, RATE).astype(np.float32)


def clips(files: dict[str, list[Path]], count: int, seed: int) -> list[tuple[str, np.ndarray]]:
    """``count`` clips of at least :data:`MIN_SECONDS` from each source, drawn with ``seed``."""
    rng = np.random.default_rng(seed)
    chosen = []
    for name, paths in files.items():
        long = [(p, a) for p in paths if (a := load(p)).size >= MIN_SECONDS * 16000]
        for index in rng.choice(len(long), size=min(count, len(long)), replace=False):
            path, audio = long[index]
            chosen.append((f"{name}/{path.stem}", audio))
    return chosen


def _crepe(weights, context: bool = False, dereverb: bool = False):
    """A CREPE tracker at predict's defaults; ``context``: with the context stage; ``dereverb``:
    after the dereverberating front end."""
    from crepetool.network.loading import load_model
    from crepetool.prediction import predict

    model = load_model(weights)

    def track(audio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        result = predict(audio, 16000, model, context=context, dereverb=dereverb)
        return result.pitch[0].numpy().astype(np.float64), result.periodicity[0].numpy().astype(np.float64)

    return track


def _peer(name: str = "swift-f0", dereverb: bool = False):
    """A peer tracker (:mod:`crepetool.evaluation.peers`, SwiftF0 by default) on predict's frames;
    ``dereverb``: after the dereverberating front end."""
    from crepetool.evaluation import peers
    from crepetool.prediction.dereverb import dereverberate

    tracker = peers.load(name)

    def track(audio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        frames = 1 + audio.size // hard.HOP
        return peers.on_frames(*tracker(dereverberate(audio) if dereverb else audio), frames, hard.HOP)

    return track


def reference(audio: np.ndarray, swift, full) -> np.ndarray:
    """The reference f0 of a clean clip (0 where the two trackers do not agree)."""
    (a, ca), (b, cb) = swift(audio), full(audio)
    n = min(a.size, b.size)
    a, ca, b, cb = a[:n], ca[:n], b[:n], cb[:n]
    agree = (ca > 0.5) & (cb > 0.5) & (np.abs(1200 * np.log2(a / b)) < AGREE_CENTS)
    return np.where(agree, np.sqrt(a * b), 0.0)


def _band(audio: np.ndarray, truth: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    voiced = truth[truth > 0]
    band = hard.accompaniment(audio.size, float(np.median(voiced)) if voiced.size else 200.0, rng)
    return hard._at_snr(audio, band, 8.0)


def resynthesise(audio: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """A clip resynthesised by WORLD on its own smoothed f0: the audio (16 kHz), the exact f0 at
    each 10 ms frame (0 where unvoiced or next to a voicing change), and the re-analysis check
    (median cents of harvest on the result against the label, on the labelled frames)."""
    import pyworld

    x = audio.astype(np.float64)
    f0, times = pyworld.harvest(x, 16000, f0_floor=50.0, f0_ceil=1000.0, frame_period=5.0)
    smooth = _smoothed(f0, 5)  # 5 frames of 5 ms
    envelope = pyworld.cheaptrick(x, smooth, times, 16000)
    aperiodicity = pyworld.d4c(x, smooth, times, 16000)
    out = pyworld.synthesize(smooth, envelope, aperiodicity, 16000, frame_period=5.0)[: x.size]
    out = np.pad(out, (0, x.size - out.size)).astype(np.float32)
    level = 10 * np.log10(envelope.sum(axis=1) + 1e-20)
    loud = level > level.max() + QUIET_DB  # harvest calls breath voiced: a label needs a voice
    label = _at_frames(np.where(loud, smooth, 0.0), x.size)
    again, _ = pyworld.harvest(out.astype(np.float64), 16000, f0_floor=50.0, f0_ceil=1000.0, frame_period=5.0)
    check = _at_frames(again, x.size)
    both = (label > 0) & (check > 0)
    drift = (
        float(np.median(np.abs(1200 * np.log2(check[both] / label[both])))) if both.any() else float("nan")
    )
    return out, label, drift


def _smoothed(f0: np.ndarray, width: int) -> np.ndarray:
    """``f0`` averaged in log frequency over ``width`` frames inside each voiced stretch."""
    out = f0.copy()
    voiced = f0 > 0
    edges = np.flatnonzero(np.diff(np.concatenate([[0], voiced.astype(int), [0]])))
    for start, end in zip(edges[0::2], edges[1::2]):
        logs = np.log(f0[start:end])
        kernel = np.ones(min(width, end - start)) / min(width, end - start)
        padded = np.pad(logs, (kernel.size // 2, kernel.size - 1 - kernel.size // 2), mode="edge")
        out[start:end] = np.exp(np.convolve(padded, kernel, mode="valid"))
    return out


def _at_frames(f0: np.ndarray, samples: int) -> np.ndarray:
    """A 5 ms WORLD track at predict's 10 ms frames: frame i is WORLD frame 2i; 0 where it or a
    neighbour is unvoiced (a voicing change is ambiguous)."""
    frames = 1 + samples // hard.HOP
    padded = np.concatenate([f0, np.zeros(2 * frames + 2)])
    at = padded[0 : 2 * frames : 2]
    keep = (at > 0) & (padded[1 : 2 * frames + 1 : 2] > 0) & (np.concatenate([[0], at[:-1]]) > 0)
    keep &= np.concatenate([at[1:], [0]]) > 0
    return np.where(keep, at, 0.0)


def score(pitch: np.ndarray, truth: np.ndarray) -> tuple[float, np.ndarray]:
    """RPA (%) on the reference frames, and their cents errors."""
    n = min(pitch.size, truth.size)
    keep = truth[:n] > 0
    cents = np.abs(1200 * np.log2(np.maximum(pitch[:n][keep], 1e-3) / truth[:n][keep]))
    return 100.0 * float(np.mean(cents < 50)), cents


def table(trackers: dict, chosen: list, truths: list, seed: int) -> dict[str, dict[str, float]]:
    """Print one table of ``trackers`` over the five conditions; return each tracker's RPA by
    condition (the mean over clips)."""
    print("| tracker | " + " | ".join(CONDITIONS) + " | whole set |")
    print("|---" * (len(CONDITIONS) + 2) + "|")
    rates: dict[str, dict[str, float]] = {}
    for name, track in trackers.items():
        cells, errors = [], []
        for condition, effect in CONDITIONS.items():
            clip_rates = []
            for index, ((_, audio), truth) in enumerate(zip(chosen, truths)):
                rng = np.random.default_rng([seed, index, list(CONDITIONS).index(condition)])
                degraded = (
                    _band(audio, truth, rng) if effect is None else effect(audio.astype(np.float64), rng)
                )
                rate, cents = score(track(degraded.astype(np.float32))[0], truth)
                clip_rates.append(rate)
                errors.append(cents)
            cells.append(f"{np.mean(clip_rates):.1f} ±{np.std(clip_rates):.1f}")
            rates.setdefault(name, {})[condition] = float(np.mean(clip_rates))
        every = np.concatenate(errors)
        rates[name]["whole set"] = 100 * float(np.mean(every < 50))
        cells.append(f"{rates[name]['whole set']:.1f} / {np.median(every):.1f} c")
        print(f"| {name} | " + " | ".join(cells) + " |")
    return rates


def _front_end_cost(chosen: list) -> None:
    """Seconds of the dereverberating front end per second of audio, on the clips in a room."""
    import time

    from crepetool.prediction.dereverb import dereverberate

    rng = np.random.default_rng(0)
    rooms = [CONDITIONS["room"](audio.astype(np.float64), rng).astype(np.float32) for _, audio in chosen]
    started = time.perf_counter()
    for audio in rooms:
        dereverberate(audio)
    seconds = sum(audio.size for audio in rooms) / 16000
    print(f"\n--dereverb: {1000 * (time.perf_counter() - started) / seconds:.1f} ms per second of audio")


#: Trained sizes by the names predict takes; anything else (a file) is a pruned or fine-tuned model.
TRAINED = ("tiny", "official-small", "official-medium", "official-large", "full")


def plot(rates: dict[str, dict[str, float]], peer: dict[str, float], path: Path) -> None:
    """Whole-set RPA on the natural part against the network's frames/s on this machine, trained
    sizes joined; SwiftF0's figure in the title (its speed is not a network's)."""
    import zoo

    from crepetool.evaluation.charts import accuracy_against_speed
    from crepetool.network.resolver import weights_of

    points = []
    for name, by_condition in rates.items():
        capacity = weights_of(name).capacity
        trained = name in TRAINED
        label = f"{name} ({capacity}/32)" if trained else f"{Path(name).stem} ({capacity}/32)"
        kind = "trained (official)" if trained else "fine-tuned or pruned (crepetool)"
        points.append({"label": label, "frames_per_second": zoo.speed(capacity),
                       "accuracy": by_condition["whole set"] / 100, "kind": kind})  # fmt: skip
    accuracy_against_speed(
        points,
        path,
        f"CREPE sizes on real voices (SwiftF0: {peer['whole set']:.1f}%) against speed, 2-core Intel Xeon",
        "raw pitch accuracy on the real-voice set (%)",
        join=("trained (official)",),
        legend="upper center",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("weights", nargs="*", default=["tiny", "official-small", "official-medium", "full"])
    parser.add_argument("--part", choices=("natural", "resynthesised", "both"), default="both")
    parser.add_argument("--clips", type=int, default=10, help="clips per source")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache", type=Path, default=Path("realvoice-cache"))
    parser.add_argument(
        "--context", choices=("off", "on", "both"), default="both", help="each CREPE with the context stage, without, or both"
    )
    parser.add_argument(
        "--dereverb", action="store_true", help="every tracker also after the dereverberating front end, and its cost"
    )
    parser.add_argument(
        "--plot", type=Path, default=None, help="draw room RPA against frames/s (natural part)"
    )
    args = parser.parse_args()
    chosen = clips(fetch(args.cache), args.clips, args.seed)
    swift, full = _peer(), _crepe("full")
    trackers = {"SwiftF0 (peer)": swift, "FCPE (peer)": _peer("fcpe")}
    if args.dereverb:
        trackers["SwiftF0 (peer) + dereverb"] = _peer(dereverb=True)
    for w in args.weights:
        for dereverb in (False, True) if args.dereverb else (False,):
            tail = " + dereverb" if dereverb else ""
            if args.context in ("off", "both"):
                trackers[f"{w}{tail}"] = _crepe(w, dereverb=dereverb)
            if args.context in ("on", "both"):
                trackers[f"{w} + context{tail}"] = _crepe(w, context=True, dereverb=dereverb)
    parts: dict[str, dict[str, dict[str, float]]] = {}
    if args.part in ("natural", "both"):
        truths = [reference(audio, swift, full) for _, audio in chosen]
        frames = sum(int((t > 0).sum()) for t in truths)
        print(
            f"natural: {len(chosen)} clips ({', '.join(SOURCES)}), {frames} reference frames of "
            f"{sum(t.size for t in truths)}; RPA % (mean over clips ± std between them), median cents\n"
        )
        parts["natural"] = table(trackers, chosen, truths, args.seed)
    if args.part in ("resynthesised", "both"):
        made = [resynthesise(audio) for _, audio in chosen]
        resynthesised = [(name, audio) for (name, _), (audio, _, _) in zip(chosen, made)]
        labels = [label for _, label, _ in made]
        drift = np.nanmedian([d for _, _, d in made])
        print(
            f"\nresynthesised: {sum(int((lab > 0).sum()) for lab in labels)} labelled frames; the label "
            f"re-analysed by harvest: median {drift:.1f} cents off\n"
        )
        parts["resynthesised"] = table(trackers, resynthesised, labels, args.seed)
    if args.dereverb:
        _front_end_cost(chosen)
    if args.plot is not None and "natural" in parts:
        plot(
            {w: parts["natural"][str(w)] for w in args.weights}, parts["natural"]["SwiftF0 (peer)"], args.plot
        )
    if len(parts) == 2:
        print(
            "\n| tracker | dry, natural (agreement reference) | dry, resynthesised (exact f0) | resynthesis moves it |"
        )
        print("|---|---|---|---|")
        for name in trackers:
            a, b = parts["natural"][name]["dry"], parts["resynthesised"][name]["dry"]
            print(f"| {name} | {a:.1f} | {b:.1f} | {b - a:+.1f} |")


if __name__ == "__main__":
    main()
