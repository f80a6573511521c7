"""Pitch-tracking metrics on frames with a ground-truth f0 (0 = unvoiced), through mir_eval.

``mir_eval.melody`` is the field's reference implementation: crepetool's names
are thin wrappers over it. Estimates are passed as positive frequencies with a
separate voicing array (periodicity above a threshold), so pitch is scored apart
from voicing: raw pitch accuracy counts a voiced reference frame whose estimated
pitch is within 50 cents, whatever the estimated voicing says.
"""

from __future__ import annotations

import numpy as np

from crepetool.units import cents_between


def cents(estimate: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Signed error in cents of ``estimate`` against ``reference`` (both Hz, > 0)."""
    return cents_between(estimate, reference)


def resample_truth(times: np.ndarray, f0: np.ndarray, frame_times: np.ndarray) -> np.ndarray:
    """A ground-truth series (``time, f0``; 0 = unvoiced) at new frame times, via mir_eval.

    Frequencies are interpolated linearly; a frame is voiced only where the
    reference is voiced on both sides (mir_eval's voicing resampling), and frames
    outside the reference's time span are unvoiced. Returns ndarray [shape=(frames,)] Hz.
    """
    import warnings

    import mir_eval

    times = np.asarray(times, dtype=np.float64)
    f0 = np.asarray(f0, dtype=np.float64)
    frame_times = np.asarray(frame_times, dtype=np.float64)
    if frame_times.size and frame_times.min() < times[0]:  # unvoiced before the reference starts
        times, f0 = np.r_[frame_times.min(), times], np.r_[0.0, f0]
    with warnings.catch_warnings():  # a hand-made CSV's uneven times are fine here
        warnings.simplefilter("ignore")
        frequency, voicing = mir_eval.melody.resample_melody_series(
            times, np.abs(f0), (f0 > 0).astype(np.float64), frame_times
        )
    return np.where(voicing >= 1.0 - 1e-9, frequency, 0.0)


def pitch_metrics(
    estimate: np.ndarray,
    reference: np.ndarray,
    periodicity: np.ndarray | None = None,
    threshold: float = 0.5,
) -> dict[str, float]:
    """Scores of one pitch track against a frame-aligned reference.

    Arguments
        estimate (ndarray [shape=(frames,)]): Hz, positive.
        reference (ndarray [shape=(frames,)]): Hz, 0 = unvoiced.
        periodicity (ndarray [shape=(frames,)]): voicing is ``periodicity > threshold``.

    Returns ``voiced_frames``; on voiced reference frames ``raw_pitch_accuracy``
    (|error| < 50 cents), ``raw_chroma_accuracy`` (octave errors forgiven), and
    ``median_cents`` / ``mean_cents`` (absolute error); with periodicity,
    ``voicing_recall`` and ``voicing_false_alarm``.
    """
    import warnings

    import mir_eval

    estimate = np.asarray(estimate, dtype=np.float64).reshape(-1)
    reference = np.asarray(reference, dtype=np.float64).reshape(-1)
    voiced = reference > 0
    result: dict[str, float] = {"voiced_frames": int(voiced.sum())}
    times = np.arange(reference.size, dtype=np.float64)
    decided = (
        np.ones(reference.size, dtype=bool)
        if periodicity is None
        else np.asarray(periodicity, dtype=np.float64).reshape(-1) > threshold
    )
    with warnings.catch_warnings():  # mir_eval's "no voiced frames" and the like: the numbers say it
        warnings.simplefilter("ignore")
        ref_voicing, ref_cent, est_voicing, est_cent = mir_eval.melody.to_cent_voicing(
            times, reference, times, np.maximum(estimate, 1e-6), est_voicing=decided.astype(np.float64)
        )
        if voiced.any():
            error = np.abs(est_cent - ref_cent)[voiced]
            args = (ref_voicing, ref_cent, est_voicing, est_cent)
            result.update(
                raw_pitch_accuracy=float(mir_eval.melody.raw_pitch_accuracy(*args)),
                raw_chroma_accuracy=float(mir_eval.melody.raw_chroma_accuracy(*args)),
                median_cents=float(np.median(error)),
                mean_cents=float(np.mean(error)),
            )
        if periodicity is not None:
            recall, false_alarm = mir_eval.melody.voicing_measures(ref_voicing, est_voicing)
            result["voicing_recall"] = float(recall) if voiced.any() else float("nan")
            result["voicing_false_alarm"] = float(false_alarm)
    return result


def agreement(estimate: np.ndarray, reference: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Share of frames (within ``mask``) where two pitch tracks are within 50 cents."""
    error = np.abs(cents(np.maximum(estimate, 1e-6), np.maximum(reference, 1e-6))).reshape(-1)
    if mask is not None:
        error = error[np.asarray(mask).reshape(-1)]
    return float(np.mean(error < 50)) if error.size else float("nan")
