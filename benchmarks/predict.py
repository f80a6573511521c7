"""crepetool predict vs torchcrepe.predict: frames/s and pitch difference, same audio and weights.

Run: python benchmarks/predict.py [WEIGHTS ...]   (default: full tiny)
Prints one row per model, measured in this run, with ratios against torchcrepe.
torchcrepe's dither is switched off so the pitch can be compared to the cent.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import torch

from crepetool import decode, prediction
from crepetool.audio import resample
from crepetool.compat import import_torchcrepe
from crepetool.model import load_model
from crepetool.weights import load

SECONDS = 20
BATCH = 512


def clip() -> tuple[np.ndarray, int]:
    reference = Path(__file__).resolve().parents[2] / "shared" / "reference" / "torchcrepe" / "test.wav"
    if reference.is_file():
        import soundfile

        audio, rate = soundfile.read(reference, dtype="float32")
        audio = resample(audio, rate)
    else:  # a synthetic voice-like signal when the reference clip is absent
        t = np.arange(10 * 16000) / 16000
        f0 = 150 + 30 * np.sin(2 * np.pi * 0.5 * t)
        phase = 2 * np.pi * np.cumsum(f0) / 16000
        audio = sum(np.sin(h * phase) / h for h in range(1, 8)).astype(np.float32)
    reps = int(np.ceil(SECONDS * 16000 / audio.size))
    return np.tile(audio, reps)[: SECONDS * 16000], 16000


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def main(specs: list[str]) -> None:
    torchcrepe = import_torchcrepe()
    torchcrepe.convert.dither = lambda cents: cents
    torch.set_grad_enabled(False)
    audio, rate = clip()
    x = torch.from_numpy(audio)[None]
    frames = 1 + audio.size // 160
    print(f"{SECONDS} s of audio, {frames} frames, torch threads {torch.get_num_threads()}")
    full_fps = None
    header = f"{'model':>12} {'torchcrepe f/s':>15} {'crepetool f/s':>14} {'ratio':>6} {'max |dcents|':>13} {'viterbi ms':>11} {'tc viterbi ms':>14}"
    print(header)
    for spec in specs:
        full_fps = bench(torchcrepe, spec, audio, x, rate, frames, full_fps)


def bench(torchcrepe, spec: str, audio: np.ndarray, x: torch.Tensor, rate: int, frames: int, full_fps):
    weights = load(spec)
    model = load_model(weights)
    ours, our_time = timed(
        lambda: prediction.predict(audio, rate, model, decoder="weighted-argmax", batch_size=BATCH)
    )
    ours, our_time = timed(
        lambda: prediction.predict(audio, rate, model, decoder="weighted-argmax", batch_size=BATCH)
    )
    fps = frames / our_time
    tc_cells = f"{'-':>15}"
    ratio_cells = f"{'-':>6} {'-':>13}"
    if weights.capacity in (4, 32):  # torchcrepe builds only tiny and full
        name = "full" if weights.capacity == 32 else "tiny"
        tc_model = torchcrepe.Crepe(name)
        tc_model.load_state_dict(weights.state_dict)
        torchcrepe.infer.model, torchcrepe.infer.capacity = tc_model.eval(), f"bench-{spec}"

        def run_tc() -> torch.Tensor:
            return torchcrepe.predict(
                x, rate, 160, 50, 2006, f"bench-{spec}", torchcrepe.decode.weighted_argmax, batch_size=BATCH
            )

        run_tc()
        tc_pitch, tc_time = timed(run_tc)
        cents = (1200 * torch.log2(ours.pitch.double() / tc_pitch.double())).abs().max().item()
        tc_cells = f"{frames / tc_time:15.1f}"
        ratio_cells = f"{tc_time / our_time:5.2f}x {cents:13.4f}"
    probs = prediction.probabilities(model, torch.from_numpy(audio), 160, BATCH)
    _, v_time = timed(lambda: decode.decode(probs, decoder="viterbi"))
    _, tcv_time = timed(lambda: decode.decode(probs, decoder="viterbi-torchcrepe"))
    if weights.capacity == 32:
        full_fps = fps
    versus_full = f"   ({fps / full_fps:.1f}x full)" if full_fps and weights.capacity != 32 else ""
    print(
        f"{Path(spec).name:>12} {tc_cells} {fps:14.1f} {ratio_cells} {v_time * 1000:11.0f} {tcv_time * 1000:14.0f}"
        + versus_full
    )
    return full_fps


if __name__ == "__main__":
    main(sys.argv[1:] or ["full", "tiny"])
