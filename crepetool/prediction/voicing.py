"""Voicing and smoothing after decoding, as torchcrepe users apply them (RVC, Applio, so-vits-svc).

In torchcrepe's documented order, with torchcrepe's own functions (so the numbers are theirs):

1. ``median_filter`` N: ``torchcrepe.filter.median`` on the periodicity;
2. ``silence_db`` DB: ``torchcrepe.threshold.Silence``: periodicity 0 where the frame's
   A-weighted loudness (:func:`loudness`, torchcrepe's definition) is below DB;
3. ``periodicity_threshold`` P: frames whose periodicity is below P are unvoiced
   (``torchcrepe.threshold.At``);
4. ``mean_filter`` N: ``torchcrepe.filter.mean`` on the pitch of the voiced frames.

Unvoiced frames get frequency 0 in the CSV; the ``.pt`` keeps their decoded pitch (so
nothing is lost) and a ``voiced`` mask. All work on one recording's decided track,
arrays the size of the output.
"""

from __future__ import annotations

import dataclasses
import math

import torch


@dataclasses.dataclass(frozen=True)
class Voicing:
    """The options of this module (all off by default: outputs stay as decoded)."""

    periodicity_threshold: float | None = None
    silence_db: float | None = None
    median_filter: int | None = None
    mean_filter: int | None = None

    @property
    def active(self) -> bool:
        return any(v is not None for v in dataclasses.astuple(self))


def apply(
    pitch: torch.Tensor, periodicity: torch.Tensor, voicing: Voicing, loudness: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Pitch and periodicity after ``voicing``, and the voiced mask.

    Arguments: pitch, periodicity (Tensor [shape=(frames,)]); loudness (Tensor [shape=(frames,)],
    dB, needed with ``silence_db``). Returns pitch (unvoiced frames keep their decoded
    pitch), periodicity, voiced (bool), each Tensor [shape=(frames,)].
    """
    from crepetool.compat import import_torchcrepe

    torchcrepe = import_torchcrepe()
    if not pitch.numel():
        return pitch, periodicity, torch.ones(0, dtype=torch.bool)
    if voicing.median_filter is not None:
        periodicity = torchcrepe.filter.median(periodicity[None].float(), voicing.median_filter)[0]
    if voicing.silence_db is not None:
        assert loudness is not None, "silence_db needs the frames' loudness"
        periodicity = periodicity.clone()
        periodicity[loudness < voicing.silence_db] = 0.0
    voiced = torch.ones_like(pitch, dtype=torch.bool)
    if voicing.periodicity_threshold is not None:
        voiced = periodicity >= voicing.periodicity_threshold  # At(): below the value is unvoiced
    if voicing.mean_filter is not None:
        nan = torch.where(voiced, pitch.float(), torch.full_like(pitch, math.nan, dtype=torch.float32))
        smoothed = torchcrepe.filter.mean(nan[None], voicing.mean_filter)[0]
        pitch = torch.where(voiced, smoothed, pitch.float())
    return pitch, periodicity, voiced
