"""The online decoders decide what the whole-recording decoders decide."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from crepetool.prediction import decode
from crepetool.prediction.online import OnlineViterbi


def _probabilities(frames: int, seed: int, silence: tuple[int, int] | None = None) -> torch.Tensor:
    """Network-like outputs: a bump on a wandering pitch, with noise; flat where silent."""
    rng = np.random.default_rng(seed)
    centre = np.clip(180 + np.cumsum(rng.normal(0, 1.5, frames)), 45, 340)
    bins = np.arange(360)
    probs = 0.9 * np.exp(-((bins[None] - centre[:, None]) ** 2) / 8) + 0.05 * rng.random((frames, 360))
    if silence is not None:
        probs[silence[0] : silence[1]] = 0.02 * rng.random((silence[1] - silence[0], 360))
    return torch.from_numpy(probs.astype(np.float32))


@pytest.mark.parametrize("fmax", [2006.0, 800.0])
def test_online_viterbi_equals_the_whole_file_decoder(fmax: float) -> None:
    probs = _probabilities(3000, 1, silence=(1000, 1400))
    pitch, periodicity = decode.decode(probs, 50.0, fmax, "viterbi")
    online = OnlineViterbi(50.0, fmax)
    parts = [online.push(chunk) for chunk in probs.split(97)] + [online.finish()]
    streamed_pitch = torch.cat([p for p, _ in parts])
    streamed_periodicity = torch.cat([q for _, q in parts])
    assert torch.equal(streamed_pitch, pitch)
    assert torch.equal(streamed_periodicity, periodicity)


@pytest.mark.slow
def test_online_viterbi_memory_does_not_grow_with_length() -> None:
    peaks = []
    for frames in (1_000, 60_000):  # 10 s and 10 min at 10 ms
        online = OnlineViterbi(50.0, 2006.0)
        for chunk in _probabilities(frames, 2).split(512):
            online.push(chunk)
        online.finish()
        peaks.append(online.peak_undecided)
    assert peaks[1] <= max(2 * peaks[0], 600)  # bounded by the undecided stretch, not the length
