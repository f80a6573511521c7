"""Real recorded voices, degraded: the natural part of the real-voice dev set.

    python benchmarks/realvoice.py [--clips N] [--seed S] [--cache DIR] [WEIGHTS ...]

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
CONDITIONS = {
    "dry": lambda audio, rng: audio,
    "room": hard.far(0.5, 0.9),
    "pink-5dB": hard.noise("pink", 5.0),
    "band-8dB": None,  # needs the clip's f0: see _band
    "codec": hard.chain(hard.noise("pink", 20.0), hard.lossy_at("OGG", "VORBIS", 0.6)),
}


def fetch(cache: Path) -> dict[str, list[Path]]:
    """Each source's GSM files, downloaded and unpacked into ``cache`` once."""
    found = {}
    for name, package in SOURCES.items():
        folder = cache / name
        if not folder.is_dir():
            folder.mkdir(parents=True)
            subprocess.run(["apt-get", "download", package], cwd=folder, check=True, capture_output=True)
            deb = next(folder.glob("*.deb"))
            subprocess.run(["dpkg", "-x", str(deb), str(folder / "files")], check=True)
        found[name] = sorted((folder / "files").rglob("*.gsm"))
    return found


def load(path: Path) -> np.ndarray:
    """A GSM 06.10 file at 16 kHz, float32."""
    import soundfile

    from crepetool.prediction.resampling import resample

    audio, _ = soundfile.read(path, format="RAW", subtype="GSM610", samplerate=RATE, channels=1, dtype="float32")
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


def _crepe(weights):
    from crepetool.network.loading import load_model
    from crepetool.prediction import predict

    model = load_model(weights)

    def track(audio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        result = predict(audio, 16000, model)
        return result.pitch[0].numpy().astype(np.float64), result.periodicity[0].numpy().astype(np.float64)

    return track


def _swift():
    from crepetool.evaluation import peers

    tracker = peers.load("swift-f0")

    def track(audio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        frames = 1 + audio.size // hard.HOP
        return peers.on_frames(*tracker(audio), frames, hard.HOP)

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


def score(pitch: np.ndarray, truth: np.ndarray) -> tuple[float, np.ndarray]:
    """RPA (%) on the reference frames, and their cents errors."""
    n = min(pitch.size, truth.size)
    keep = truth[:n] > 0
    cents = np.abs(1200 * np.log2(np.maximum(pitch[:n][keep], 1e-3) / truth[:n][keep]))
    return 100.0 * float(np.mean(cents < 50)), cents


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("weights", nargs="*", default=["tiny", "official-small", "official-medium", "full"])
    parser.add_argument("--clips", type=int, default=10, help="clips per source")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache", type=Path, default=Path("realvoice-cache"))
    args = parser.parse_args()
    chosen = clips(fetch(args.cache), args.clips, args.seed)
    swift, full = _swift(), _crepe("full")
    truths = [reference(audio, swift, full) for _, audio in chosen]
    frames = sum(int((t > 0).sum()) for t in truths)
    print(f"{len(chosen)} clips ({', '.join(SOURCES)}), {frames} reference frames of "
          f"{sum(t.size for t in truths)}; RPA % (mean over clips ± std between them), median cents\n")
    trackers = {"SwiftF0 (peer)": swift, **{str(w): _crepe(w) for w in args.weights}}
    print("| tracker | " + " | ".join(CONDITIONS) + " | whole set |")
    print("|---" * (len(CONDITIONS) + 2) + "|")
    for name, track in trackers.items():
        cells, errors = [], []
        for condition, effect in CONDITIONS.items():
            rates = []
            for index, ((_, audio), truth) in enumerate(zip(chosen, truths)):
                rng = np.random.default_rng([args.seed, index, list(CONDITIONS).index(condition)])
                degraded = _band(audio, truth, rng) if effect is None else effect(audio.astype(np.float64), rng)
                rate, cents = score(track(degraded.astype(np.float32))[0], truth)
                rates.append(rate)
                errors.append(cents)
            cells.append(f"{np.mean(rates):.1f} ±{np.std(rates):.1f}")
        every = np.concatenate(errors)
        cells.append(f"{100 * np.mean(every < 50):.1f} / {np.median(every):.1f} c")
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
