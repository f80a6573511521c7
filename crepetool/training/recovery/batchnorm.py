"""Batch-norm re-estimation: after channels are removed every layer's input statistics change,
so the running mean and variance are recomputed on seeded synthetic frames pushed through the
cut network (seconds)."""

from __future__ import annotations

import torch

from crepetool.network.loading import load_model
from crepetool.network.weights import StateDict
from crepetool.training import frames as training_frames
from crepetool.training.recovery.options import CALIBRATION_FRAMES


def calibration_frames(
    count: int = CALIBRATION_FRAMES, seed: int = 0, chunk: int = 128, bleed_share: float | None = None
) -> torch.Tensor:
    """Seeded synthetic frames (:mod:`crepetool.training.frames`, ``bleed_share`` of the voiced
    ones over a band), normalised: Tensor [shape=(count, 1024)]."""
    generator = torch.Generator().manual_seed(seed)
    return torch.cat(
        [
            training_frames.frames(min(chunk, count - i), generator, bleed_share=bleed_share)[0]
            for i in range(0, count, chunk)
        ]
    )


@torch.no_grad()
def recalibrate_batchnorm(
    state_dict: StateDict,
    count: int = CALIBRATION_FRAMES,
    seed: int = 0,
    batch_size: int = 256,
    bleed_share: float | None = None,
) -> StateDict:
    """Recompute every BN layer's running mean and variance on calibration frames
    (:func:`calibration_frames`: the statistics of the frames distillation then trains on).

    Returns a new state dict; weights and biases are unchanged.
    """
    model = load_model(state_dict)
    norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # cumulative average over all calibration batches
    model.train()
    for batch in calibration_frames(count, seed, bleed_share=bleed_share).split(batch_size):
        model(batch)
    for norm in norms:
        norm.momentum = 0.0
    return {k: v.detach().clone() for k, v in model.state_dict().items()}
