"""Recovery after pruning: make a cut model track pitch again.

This module holds batch-norm re-estimation (``bn``): after channels are removed,
every layer's input statistics change, so the running mean/variance the source
model learnt no longer fit. They are recomputed on calibration audio (seeded
known-f0 signals: assorted timbres, 50-1000 Hz, vibrato, glides, noise) pushed
through the pruned network. Distillation from ``full`` is the next step (issue 5).
"""

from __future__ import annotations

import numpy as np
import torch

from crepetool import signals
from crepetool.prediction import frames
from crepetool.weights import StateDict, Weights


def calibration_frames(count: int = 2048, seed: int = 0) -> torch.Tensor:
    """Normalised frames of random known-f0 signals: Tensor [shape=(count, 1024)]."""
    rng = np.random.default_rng(seed)
    batches, total = [], 0
    while total < count:
        f0 = float(np.exp(rng.uniform(np.log(50), np.log(1000))))
        signal = signals.harmonic(
            f0,
            f0 * 2 ** (rng.uniform(-4, 4) / 12),
            seconds=0.5,
            timbre=str(rng.choice(signals.TIMBRES)),
            vibrato_cents=float(rng.uniform(0, 60)),
            snr_db=float(rng.uniform(10, 40)),
            seed=int(rng.integers(1 << 31)),
        )
        batch = torch.cat(list(frames(torch.from_numpy(signal.audio), signals.HOP)))
        batches.append(batch)
        total += batch.size(0)
    return torch.cat(batches)[:count]


@torch.no_grad()
def recalibrate_batchnorm(
    state_dict: StateDict, count: int = 2048, seed: int = 0, batch_size: int = 256
) -> StateDict:
    """Recompute every BN layer's running mean and variance on calibration frames.

    Returns a new state dict; weights and biases are unchanged.
    """
    from crepetool.model import from_state_dict

    model = from_state_dict(state_dict)
    norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # cumulative average over all calibration batches
    model.train()
    for batch in calibration_frames(count, seed).split(batch_size):
        model(batch)
    for norm in norms:
        norm.momentum = 0.0
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def recover(weights: Weights, method: str = "bn", seed: int = 0, frames_count: int = 2048) -> Weights:
    """Apply a recovery ``method`` (``bn`` or ``none``) and record it in the metadata."""
    if method == "none":
        return weights
    if method != "bn":
        raise ValueError(f"unknown recovery {method!r}")
    state_dict = recalibrate_batchnorm(weights.state_dict, frames_count, seed)
    metadata = {
        **weights.metadata,
        "recovery": {"method": "bn", "calibration_frames": frames_count, "seed": seed},
    }
    return Weights(state_dict, weights.capacity, metadata, None, weights.format)
