"""Peak resident memory and speed of `crepetool predict` on long recordings, streaming against
the whole-file path (`crepetool.prediction.predict`), measured in the same run.

    python benchmarks/memory.py [--minutes 30 120] [--weights tiny] [--rate 44100]

Writes each test recording once (a voice-like tone in noise, 16-bit PCM) under
benchmarks/.zoo/long/, runs each path in a fresh process under /usr/bin/time -v, and prints
peak RSS, wall time and frames/s, with the ratio of streaming to whole-file.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent

WHOLE_FILE = """
import sys
from crepetool.prediction import predict
from crepetool.prediction.outputs import write_prediction
result = predict(sys.argv[1], weights=sys.argv[2])
import torch
write_prediction({"csv": __import__("pathlib").Path(sys.argv[3])}, result.pitch[0], result.periodicity[0],
                 torch.zeros(result.pitch.numel(), 360), result.hop_seconds, {})
"""


def recording(minutes: float, rate: int) -> Path:
    import soundfile

    path = HERE / ".zoo" / "long" / f"voice-{minutes:g}min-{rate}.wav"
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    with soundfile.SoundFile(str(path), "w", rate, 1, subtype="PCM_16") as handle:
        phase = 0.0
        for start in range(0, int(minutes * 60), 10):  # 10 s at a time: the writer needs no memory either
            t = start + np.arange(10 * rate) / rate
            f0 = 160 * 2 ** (np.sin(2 * np.pi * 0.2 * t) / 2)
            step = 2 * np.pi * np.cumsum(f0) / rate + phase
            phase = float(step[-1])
            voice = sum(np.sin(h * step) / h for h in range(1, 10)) * (np.sin(2 * np.pi * 0.3 * t) > -0.5)
            handle.write((0.2 * voice + 0.01 * rng.normal(size=t.size)).astype(np.float32))
    return path


def measure(command: list[str]) -> dict[str, float]:
    result = subprocess.run(["/usr/bin/time", "-v", *command], capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(result.stderr[-2000:])
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr).group(1))
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", result.stderr).group(1)
    seconds = sum(float(part) * 60**i for i, part in enumerate(reversed(wall.split(":"))))
    return {"rss_mb": rss / 1024, "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, nargs="+", default=[30, 120])
    parser.add_argument("--weights", default="tiny")
    parser.add_argument("--rate", type=int, default=44100)
    parser.add_argument("--skip-whole-file", action="store_true")
    args = parser.parse_args()
    out = HERE / ".zoo" / "long" / "out"
    print("| recording | path | peak RSS | wall | frames/s |")
    print("|---|---|---|---|---|")
    for minutes in args.minutes:
        path = recording(minutes, args.rate)
        frames = 1 + int(minutes * 60 * 16000) // 160
        stream = measure(
            [
                sys.executable,
                "-m",
                "crepetool",
                "predict",
                str(path),
                "-w",
                args.weights,
                "-o",
                str(out),
                "--overwrite",
            ]
        )
        rows = [("streaming (predict)", stream)]
        if not args.skip_whole_file:
            whole = measure(
                [
                    sys.executable,
                    "-c",
                    WHOLE_FILE,
                    str(path),
                    args.weights,
                    str(out / f"{path.stem}.whole.csv"),
                ]
            )
            rows.append(("whole file", whole))
        for name, m in rows:
            print(
                f"| {minutes:g} min, {args.rate} Hz | {name} | {m['rss_mb']:.0f} MB | {m['seconds']:.0f} s "
                f"| {frames / m['seconds']:.0f} |"
            )


if __name__ == "__main__":
    main()
