"""A batch of training frames with their labels: sources, interference, the recording chain, then
normalised as the network sees them; and CREPE's blurred 360-bin targets of their f0."""

from __future__ import annotations

import torch

from crepetool.network.span import normalise_frames
from crepetool.training.frames import mixing
from crepetool.training.frames.chain import degrade
from crepetool.training.frames.oscillators import chance
from crepetool.training.frames.sources import coloured_noise, sources
from crepetool.units import CENTS_OFFSET, CENTS_PER_BIN, PITCH_BINS, WINDOW_SIZE, frequency_to_cents

#: Standard deviation of CREPE's Gaussian-blurred targets, in cents.
TARGET_CENTS = 25.0


def frames(
    count: int,
    generator: torch.Generator,
    voiced_share: float = 0.8,
    bleed_share: float | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``count`` random frames and their centre f0.

    ``bleed_share``: the share of voiced frames over a band (:func:`~crepetool.training.frames.mixing.accompany`); None is
    :data:`~crepetool.training.frames.mixing.BLEED_SHARE`. Returns frames (Tensor [shape=(count, 1024)], zero mean, unit std, as
    the network sees them) and f0 (Tensor [shape=(count,)], Hz, 0 = unvoiced).
    """
    voiced = torch.rand(count, generator=generator) < voiced_share
    audio, centre = sources(count, generator)
    # unvoiced: coloured noise alone (fricatives, breath, rooms)
    unvoiced = coloured_noise(count, audio.size(-1), generator)
    audio = torch.where(voiced[:, None], audio, unvoiced)
    bleed_share = mixing.BLEED_SHARE if bleed_share is None else bleed_share
    if bleed_share > 0:  # (no draw when off: the frames stay those the default was measured on)
        audio = mixing.accompany(audio, centre, voiced & chance(count, bleed_share, generator)[:, 0], generator)
    audio = normalise_frames(degrade(audio, generator)[:, -WINDOW_SIZE:].clone())
    return audio, torch.where(voiced, centre, torch.zeros(count))


def targets(f0: torch.Tensor) -> torch.Tensor:
    """CREPE's Gaussian-blurred 360-bin targets (std 25 cents); all zero where f0 is 0.

    Arguments: f0 (Tensor [shape=(B,)] Hz). Returns Tensor [shape=(B, 360)].
    """
    bin_cents = CENTS_OFFSET + CENTS_PER_BIN * torch.arange(PITCH_BINS).float()
    cents = frequency_to_cents(f0.clamp(min=1.0).float())
    gauss = torch.exp(-((bin_cents[None, :] - cents[:, None]) ** 2) / (2 * TARGET_CENTS**2))
    return gauss * (f0 > 0)[:, None]
