"""Interference mixed under the lead voice of training frames, before the recording chain: a
band (:func:`accompany`, :mod:`crepetool.training.frames.accompaniment`) or other talkers
(:func:`babble`). The label stays the lead voice's f0. Both are off by default."""

from __future__ import annotations

import torch

from crepetool.training.frames import accompaniment
from crepetool.training.frames.chain import add_noise
from crepetool.training.frames.oscillators import uniform, unit
from crepetool.training.frames.sources import sources

#: Share of voiced frames whose voice is mixed over a band (:mod:`crepetool.training.frames.accompaniment`),
#: before the recording chain, and the signal-to-interference ratios drawn for them (dB). Off by
#: default: every share measured lifts the hard set and costs the realistic set, on every seed
#: tried (docs/recovery.md); ``prune --bleed`` (``RecoveryOptions.bleed_share``) turns it on.
BLEED_SHARE = 0.0
BLEED_SIR = (5.0, 15.0)
#: Share of voiced frames whose voice is mixed over other talkers (:func:`babble`), their number,
#: and the signal-to-babble ratios drawn (dB). Off by default unless it wins on every set.
BABBLE_SHARE = 0.0
BABBLE_TALKERS = (3, 6)
BABBLE_SNR = (0.0, 12.0)


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


def babble(audio: torch.Tensor, rows: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """The ``rows`` (Bool Tensor [shape=(B,)]) of ``audio`` mixed over :data:`BABBLE_TALKERS`
    other speech-range talkers at :data:`BABBLE_SNR` (the label stays the lead's f0): a crowd,
    a room of people, a second speaker. Tensor [shape=(B, T)] in and out."""
    picked = rows.nonzero()[:, 0]
    if picked.numel() == 0:
        return audio
    most = BABBLE_TALKERS[1]
    talkers, _ = sources(picked.numel() * most, generator, audio.size(-1), speech_only=True)
    talkers = talkers.reshape(picked.numel(), most, -1)
    count = torch.randint(BABBLE_TALKERS[0], most + 1, (picked.numel(), 1), generator=generator)
    present = (torch.arange(most)[None, :] < count).float()
    gains = present * uniform((picked.numel(), most), 0.5, 1.0, generator)
    crowd = unit((gains[:, :, None] * talkers).sum(1))
    snr = uniform((picked.numel(), 1), *BABBLE_SNR, generator)
    return audio.index_copy(0, picked, add_noise(audio[picked], crowd, snr))
