"""A soak of `crepetool predict`: thousands of short files, some bad, through each engine.

    python benchmarks/soak.py [--files 2000] [--weights tiny] [--engines local,ray]

Writes the corpus once under benchmarks/.zoo/soak/: files of 1-3 s at 8, 16, 22.05, 44.1 and
48 kHz, mono and stereo, WAV (16-bit, float) and FLAC, and 2% of them bad (empty, truncated,
random bytes, a lying data size, NaN samples). Each engine runs the whole corpus and, for the
memory baseline, its first 100 files (one folder), in fresh processes under /usr/bin/time -v. Prints
for each run: files done and failed against the corpus's good and bad files, whether every bad
file got its line, peak RSS (and its ratio to the small run's), temporaries left, files/s.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
RATES = (8000, 16000, 22050, 44100, 48000)


def _bad(path: Path, kind: int, rng: np.random.Generator) -> None:
    import soundfile

    if kind == 0:
        path.write_bytes(b"")
    elif kind == 1:
        soundfile.write(str(path), rng.normal(size=16000).astype(np.float32) * 0.1, 16000)
        path.write_bytes(path.read_bytes()[:30])  # the header cut short
    elif kind == 2:
        path.write_bytes(rng.bytes(5000))
    elif kind == 3:
        soundfile.write(str(path), np.zeros(8000, dtype=np.float32), 16000, subtype="PCM_16", format="WAV")
        data = bytearray(path.read_bytes())
        data[40:44] = (10**7).to_bytes(4, "little")  # the WAV data chunk claims far more than is there
        path.write_bytes(bytes(data))
    else:
        audio = np.full(16000, np.nan, dtype=np.float32)
        soundfile.write(str(path), audio, 16000, subtype="FLOAT", format="WAV")


def corpus(count: int, bad_share: float = 0.02, seed: int = 0) -> tuple[Path, list[Path], set[Path]]:
    """The soak's files (written once): (folder, all paths in order, the bad ones)."""
    import soundfile

    folder = HERE / ".zoo" / "soak" / f"n{count}"
    rng = np.random.default_rng(seed)
    paths, bad = [], set()
    every = round(1 / bad_share)
    for i in range(count):
        rate = RATES[i % len(RATES)]
        fmt = ("wav16", "wavf", "flac")[i % 3]
        path = folder / f"{i // 100:02d}" / f"clip{i:05d}.{'flac' if fmt == 'flac' else 'wav'}"
        paths.append(path)
        if i % every == every - 1:
            bad.add(path)
        if path.exists():
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        if path in bad:
            _bad(path, (i // every) % 5, rng)
            continue
        seconds = rng.uniform(1, 3)
        t = np.arange(int(seconds * rate)) / rate
        f0 = rng.uniform(90, 500) * 2 ** (np.sin(2 * np.pi * rng.uniform(0.2, 2) * t) / 6)
        phase = 2 * np.pi * np.cumsum(f0) / rate
        tone = sum(np.sin(h * phase) / h for h in range(1, 8)) * 0.2 + rng.normal(size=t.size) * 0.005
        audio = np.stack([tone, 0.8 * tone], axis=1) if i % 4 == 3 else tone
        subtype = {"wav16": "PCM_16", "wavf": "FLOAT", "flac": "PCM_16"}[fmt]
        soundfile.write(str(path), audio.astype(np.float32), rate, subtype=subtype)
    return folder, paths, bad


def run(folder: Path, weights: str, engine: str, out: Path) -> dict:
    """``predict FOLDER`` in a fresh process: its summary, error lines, peak RSS (of the command's
    own process: a Ray cluster's workers are not its children) and wall time."""
    command = [sys.executable, "-m", "crepetool", "predict", str(folder), "-w", weights]
    command += ["-o", str(out), "--engine", engine, "--json", "--overwrite"]
    result = subprocess.run(["/usr/bin/time", "-v", *command], capture_output=True, text=True)
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr).group(1))
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", result.stderr).group(1)
    seconds = sum(float(part) * 60**i for i, part in enumerate(reversed(wall.split(":"))))
    summary = json.loads(result.stdout)
    errors = [line for line in result.stderr.splitlines() if line.startswith("crepetool: error")]
    leftovers = list(out.rglob(".crepetool-*")) + list(folder.rglob(".crepetool-*"))
    return {"summary": summary, "errors": errors, "rss_mb": rss / 1024, "seconds": seconds, "left": leftovers}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--weights", default="tiny")
    parser.add_argument("--engines", default="local,ray")
    args = parser.parse_args()
    folder, paths, bad = corpus(args.files)
    print(f"{len(paths)} files under {folder}, {len(bad)} bad")
    print(
        "| engine | files | done / good | failed / bad | every bad file named | peak RSS | vs small run | temporaries left | files/s |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for engine in args.engines.split(","):
        # the first folder holds the first 100 files: predict DIR runs each set as users would
        small = run(folder / "00", args.weights, engine, folder.parent / f"out-{engine}-small")
        whole = run(folder, args.weights, engine, folder.parent / f"out-{engine}")
        for measured, subset in ((small, paths[:100]), (whole, paths)):
            expected_bad = [p for p in subset if p in bad]
            named = all(any(str(p) in line for line in measured["errors"]) for p in expected_bad)
            s = measured["summary"]
            print(
                f"| {engine} | {len(subset)} | {s['done']} / {len(subset) - len(expected_bad)} "
                f"| {s['failed']} / {len(expected_bad)} | {named} | {measured['rss_mb']:.0f} MB "
                f"| {measured['rss_mb'] / small['rss_mb']:.2f}x | {len(measured['left'])} "
                f"| {len(subset) / measured['seconds']:.1f} |"
            )


if __name__ == "__main__":
    main()
