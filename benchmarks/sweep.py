"""CREPE's whole range: a 1-minute exponential sine sweep from 50 Hz to 1,950 Hz.

For each model: the share of frames with confidence (periodicity) > 0.5 and the share
within 50 cents of the sweep's f0, with predict's defaults (fmin 50, fmax 2006), plus the
same above 1.4 kHz alone, where a model trained on a narrower range breaks.

    python benchmarks/sweep.py full tiny regular.pth ...
"""

from __future__ import annotations

import sys

import numpy as np

from crepetool.evaluation import metrics
from crepetool.prediction import predict

SR = 16000
SECONDS = 60.0
LOW, HIGH = 50.0, 1950.0


def sweep() -> tuple[np.ndarray, np.ndarray]:
    """The sweep (float32, 16 kHz) and its f0 at each 10 ms frame centre."""
    t = np.arange(int(SECONDS * SR)) / SR
    rate = np.log(HIGH / LOW) / SECONDS
    f0 = LOW * np.exp(rate * t)
    phase = 2 * np.pi * LOW * (np.exp(rate * t) - 1) / rate
    audio = (0.5 * np.sin(phase)).astype(np.float32)
    centres = np.minimum(np.arange(1 + t.size // 160) * 160, t.size - 1)
    return audio, f0[centres]


def measure(spec: str, audio: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    result = predict(audio, SR, spec)
    pitch = result.pitch[0].numpy()
    confidence = result.periodicity[0].numpy()
    within = np.abs(metrics.cents(pitch, truth)) < 50
    high = truth > 1400
    return {
        "confident": float((confidence > 0.5).mean()),
        "within_50_cents": float(within.mean()),
        "median_cents": float(np.median(np.abs(metrics.cents(pitch, truth)))),
        "confident_above_1400": float((confidence[high] > 0.5).mean()),
        "within_50_cents_above_1400": float(within[high].mean()),
    }


def main(specs: list[str]) -> None:
    audio, truth = sweep()
    print(
        "| model | confident (> 0.5) | within 50 c | median c | confident > 1.4 kHz | within 50 c > 1.4 kHz |"
    )
    print("|---|---|---|---|---|---|")
    for spec in specs:
        m = measure(spec, audio, truth)
        print(
            f"| {spec} | {m['confident']:.1%} | {m['within_50_cents']:.1%} | {m['median_cents']:.1f} "
            f"| {m['confident_above_1400']:.1%} | {m['within_50_cents_above_1400']:.1%} |"
        )


if __name__ == "__main__":
    main(sys.argv[1:] or ["full", "tiny"])
