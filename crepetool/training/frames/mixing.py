"""Interference mixed under the lead voice of training frames, before the recording chain: a
band (:func:`accompany`, :mod:`crepetool.training.frames.accompaniment`). The label stays the
lead voice's f0. Off by default (``prune --bleed`` turns it on)."""

from __future__ import annotations

import torch

from crepetool.training.frames import accompaniment
from crepetool.training.frames.oscillators import uniform

#: Share of voiced frames whose voice is mixed over a band (:mod:`crepetool.training.frames.accompaniment`),
#: before the recording chain, and the signal-to-interference ratios drawn for them (dB). Off by
#: default: every share measured lifts the hard set and costs the realistic set, on every seed
#: tried (docs/recovery.md); ``prune --bleed`` (``RecoveryOptions.bleed_share``) turns it on.
BLEED_SHARE = 0.0
BLEED_SIR = (5.0, 15.0)


def accompany(
    audio: torch.Tensor, voice_f0: torch.Tensor, rows: torch.Tensor, generator: torch.Generator
) -> torch.Tensor:
    """The voiced ``rows`` (Bool Tensor [shape=(B,)]) of ``audio`` mixed over a band at
    :data:`BLEED_SIR` (the label stays the voice's f0): Tensor [shape=(B, T)] in and out."""
    picked = rows.nonzero()[:, 0]
    if picked.numel() == 0:
        return audio
    band = accompaniment.accompaniment(voice_f0[picked], generator, audio.size(-1)).audio
    sir = uniform((picked.numel(), 1), *BLEED_SIR, generator)
    return audio.index_copy(0, picked, accompaniment.mix(audio[picked], band, sir))
