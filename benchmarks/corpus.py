"""A folder of files through `predict`: the local engine against a local Ray cluster, same run.

    python benchmarks/corpus.py [--files 40] [--seconds 3] [--weights tiny] [--workers 2]

Writes the folder once (benchmarks/.zoo/corpus/, mixed rates), runs both engines into separate
output folders, checks that every output is byte for byte the same, and prints wall time,
files/s and frames/s of each, and Ray's start-up (ray.init and the workers' model load).
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def folder(count: int, seconds: float) -> list[Path]:
    import soundfile

    root = HERE / ".zoo" / "corpus"
    root.mkdir(parents=True, exist_ok=True)
    paths = []
    rng = np.random.default_rng(0)
    for i in range(count):
        rate = (16000, 22050, 44100, 48000)[i % 4]
        path = root / f"clip{i:03d}.wav"
        if not path.exists():
            t = np.arange(int(seconds * rate)) / rate
            f0 = rng.uniform(90, 600) * 2 ** (np.sin(2 * np.pi * 0.5 * t) / 6)
            phase = 2 * np.pi * np.cumsum(f0) / rate
            audio = 0.2 * sum(np.sin(h * phase) / h for h in range(1, 8)) + 0.005 * rng.normal(size=t.size)
            soundfile.write(str(path), audio.astype(np.float32), rate)
        paths.append(path)
    return paths


def main() -> None:
    from crepetool.prediction.batch import predict_files

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--weights", default="tiny")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    inputs = folder(args.files, args.seconds)
    results = {}
    for engine in ("local", "ray"):
        out = HERE / ".zoo" / "corpus-out" / engine
        shutil.rmtree(out, ignore_errors=True)
        started = time.perf_counter()
        if engine == "ray":
            import ray

            ray.init(
                num_cpus=args.workers,
                _node_ip_address="127.0.0.1",
                include_dashboard=False,
                log_to_driver=False,
            )
            boot = time.perf_counter() - started
        summary = predict_files(inputs, args.weights, output_dir=out, engine=engine, formats=["csv", "pt"])
        wall = time.perf_counter() - started
        if engine == "ray":
            ray.shutdown()
        results[engine] = (wall, summary.frames, summary.count("done"))
    same = all(
        filecmp.cmp(HERE / ".zoo" / "corpus-out" / "local" / p.name, p, shallow=False)
        for p in (HERE / ".zoo" / "corpus-out" / "ray").iterdir()
    )
    print(f"{args.files} files of {args.seconds:g} s, {args.weights}; outputs identical: {same}")
    print("| engine | wall s | files/s | frames/s | vs local |")
    print("|---|---|---|---|---|")
    for engine, (wall, frames, done) in results.items():
        ratio = results["local"][0] / wall
        print(f"| {engine} | {wall:.1f} | {done / wall:.2f} | {frames / wall:.0f} | {ratio:.2f}x |")
    print(f"Ray start-up (ray.init on loopback): {boot:.1f} s")


if __name__ == "__main__":
    main()
