"""The live stream on one core: real-time factor and the latency frames actually see.

    python benchmarks/stream.py [SECONDS]

For ``tiny`` and the 12/32 (a cut of official medium, or of ``full`` without crepetool[models];
speed does not depend on training), at 10, 20 and 50 ms blocks, with no latency bound and with
``latency_ms=20``, and SwiftF0's ``PitchStream`` beside them. The audio (a gliding tone with gaps
and noise, 16 kHz) is pushed as fast as it is processed, and each frame's latency is taken as a
real-time caller would see it: the input time of the block that released it, plus that push's
processing time, minus the frame's centre. "beyond half window" subtracts CREPE's 32 ms (a frame
cannot be complete before its window is). Real-time factor: seconds of audio per second of work.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import torch

RATE = 16000
HALF_WINDOW_MS = 32.0


def _voice(seconds: float) -> np.ndarray:
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * RATE)) / RATE
    f0 = 180 * 2 ** (np.sin(2 * np.pi * 0.4 * t) * 5 / 12)
    voiced = np.sin(2 * np.pi * 0.9 * t) > -0.4
    harmonics = sum(np.sin(h * 2 * np.pi * np.cumsum(f0) / RATE) / h for h in range(1, 6))
    return (0.2 * harmonics * voiced + 0.01 * rng.standard_normal(t.size)).astype(np.float32)


def _crepe(weights, audio: np.ndarray, block: int, latency: float | None) -> tuple[float, np.ndarray]:
    from crepetool.prediction.stream import PitchStream

    stream = PitchStream(weights, RATE, latency_ms=latency)
    lags, busy = [], 0.0
    for start in range(0, audio.size, block):
        began = time.perf_counter()
        frames = stream.push(audio[start : start + block])
        spent = time.perf_counter() - began
        busy += spent
        now_ms = 1000 * (min(start + block, audio.size) / RATE + spent)
        lags += list(now_ms - 1000 * frames.time.numpy())
    began = time.perf_counter()
    stream.finish()
    busy += time.perf_counter() - began
    return audio.size / RATE / busy, np.array(lags)


def _swift(audio: np.ndarray, block: int) -> tuple[float, np.ndarray] | None:
    try:
        import swift_f0
    except ImportError:
        return None
    stream = swift_f0.PitchStream(swift_f0.SwiftF0())
    lags, busy = [], 0.0
    for start in range(0, audio.size, block):
        began = time.perf_counter()
        result = stream.push(audio[start : start + block], RATE)
        spent = time.perf_counter() - began
        busy += spent
        now_ms = 1000 * (min(start + block, audio.size) / RATE + spent)
        lags += list(now_ms - 1000 * np.asarray(result.timestamps))
    began = time.perf_counter()
    stream.flush()
    busy += time.perf_counter() - began
    return audio.size / RATE / busy, np.array(lags)


def _cut():
    from crepetool.training import pruning

    return pruning.prune("auto", 12)


def main(seconds: float = 30.0) -> None:
    torch.set_num_threads(1)
    audio = _voice(seconds)
    models = {"tiny": "tiny", "12/32": _cut()}
    print(f"{seconds:g} s of 16 kHz audio, one thread; latency in ms (median / 95th percentile / max)\n")
    print("| tracker | block | bound | real time x | latency from frame centre | beyond half window |")
    print("|---|---|---|---|---|---|")
    for block_ms in (10, 20, 50):
        block = RATE * block_ms // 1000
        for name, weights in models.items():
            for bound in (None, 20.0):
                factor, lags = _crepe(weights, audio, block, bound)
                beyond = lags - HALF_WINDOW_MS
                print(
                    f"| {name} | {block_ms} ms | {'none' if bound is None else f'{bound:g} ms'} | {factor:.1f} | "
                    f"{np.median(lags):.0f} / {np.percentile(lags, 95):.0f} / {lags.max():.0f} | "
                    f"{np.median(beyond):.0f} / {np.percentile(beyond, 95):.0f} / {beyond.max():.0f} |"
                )
        swift = _swift(audio, block)
        if swift is not None:
            factor, lags = swift
            print(
                f"| SwiftF0 (peer) | {block_ms} ms | its own | {factor:.1f} | "
                f"{np.median(lags):.0f} / {np.percentile(lags, 95):.0f} / {lags.max():.0f} | – |"
            )


if __name__ == "__main__":
    main(*(float(a) for a in sys.argv[1:2]))
