"""Pitch-tracking metrics on frames with a ground-truth f0 (0 = unvoiced)."""

from __future__ import annotations

import numpy as np


def cents(estimate: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Signed error in cents of ``estimate`` against ``reference`` (both Hz, > 0)."""
    return 1200.0 * np.log2(np.asarray(estimate, dtype=np.float64) / np.asarray(reference, dtype=np.float64))


def pitch_metrics(
    estimate: np.ndarray,
    reference: np.ndarray,
    periodicity: np.ndarray | None = None,
    threshold: float = 0.5,
) -> dict[str, float]:
    """Raw pitch accuracy (|error| < 50 cents), raw chroma accuracy (octave errors forgiven),
    median and mean absolute error in cents, on voiced reference frames; voicing recall and
    false alarm of ``periodicity > threshold`` when periodicity is given.
    """
    estimate = np.asarray(estimate, dtype=np.float64).reshape(-1)
    reference = np.asarray(reference, dtype=np.float64).reshape(-1)
    voiced = reference > 0
    result: dict[str, float] = {"voiced_frames": int(voiced.sum())}
    if voiced.any():
        error = cents(np.maximum(estimate[voiced], 1e-6), reference[voiced])
        chroma = np.abs((error + 600.0) % 1200.0 - 600.0)
        result.update(
            raw_pitch_accuracy=float(np.mean(np.abs(error) < 50)),
            raw_chroma_accuracy=float(np.mean(chroma < 50)),
            median_cents=float(np.median(np.abs(error))),
            mean_cents=float(np.mean(np.abs(error))),
        )
    if periodicity is not None:
        decided = np.asarray(periodicity, dtype=np.float64).reshape(-1) > threshold
        result["voicing_recall"] = float(decided[voiced].mean()) if voiced.any() else float("nan")
        result["voicing_false_alarm"] = float(decided[~voiced].mean()) if (~voiced).any() else 0.0
    return result


def agreement(estimate: np.ndarray, reference: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Share of frames (within ``mask``) where two pitch tracks are within 50 cents."""
    error = np.abs(cents(np.maximum(estimate, 1e-6), np.maximum(reference, 1e-6))).reshape(-1)
    if mask is not None:
        error = error[np.asarray(mask).reshape(-1)]
    return float(np.mean(error < 50)) if error.size else float("nan")
