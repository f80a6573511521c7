"""``evaluate``: pitch metrics of several models side by side, with frames/s.

On the built-in known-f0 signals, or on a folder of recordings: a
``NAME.f0.csv`` (``time,f0``; 0 = unvoiced) beside ``NAME.wav`` is its ground
truth, resampled to the frame times by mir_eval; recordings without one are
compared with a reference model on the frames it finds voiced.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from crepetool.evaluation import metrics, signals
from crepetool.model import load_model, resolve_device
from crepetool.names import DEFAULT_PRECISION, SAMPLE_RATE
from crepetool.precision import with_precision
from crepetool.prediction import frame_count, predict
from crepetool.weights import load, parameter_count

#: One recording to score: (name, audio at 16 kHz, ground truth per frame or None).
Item = tuple[str, np.ndarray, "np.ndarray | None"]


def evaluate(
    specs: list[str | Path],
    audio_dir: str | Path | None = None,
    reference: str | Path = "full",
    device: str | None = None,
    group_by: Callable[[str], str] | None = None,
    peers: list[str] | None = None,
    precision: str = DEFAULT_PRECISION,
) -> dict[str, Any]:
    """Metrics of several models side by side, with frames/s on this device.

    Without ``audio_dir``: on the built-in known-f0 signals. With it: against
    ``NAME.f0.csv`` ground truth (``time,f0``) beside each audio file when present,
    else agreement with the ``reference`` model on frames it finds voiced.
    ``group_by(name)`` labels each recording (a condition, a speaker): each row then
    also holds ``groups``, the ground-truth metrics of each label. ``peers`` adds rows
    for other trackers (:mod:`crepetool.evaluation.peers`) on the same audio. ``precision``
    runs the models (not the reference) as ``predict --precision`` does.
    """
    from crepetool.evaluation import peers as peer_trackers

    trackers = {name: peer_trackers.load(name) for name in peers or []}  # refused before any work
    resolved = resolve_device(device)
    items = (
        _audio_items(Path(audio_dir))
        if audio_dir is not None
        else [(s.name, s.audio, s.f0) for s in signals.verify_set()]
    )
    reference_tracks: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    if audio_dir is not None and any(truth is None for _, _, truth in items):
        ref_model = load_model(reference, resolved)
        for name, audio, truth in items:
            if truth is None:
                r = predict(audio, SAMPLE_RATE, ref_model)
                reference_tracks[name] = (r.pitch[0].numpy(), r.periodicity[0].numpy())
    rows = []
    for spec in [*specs, *trackers]:
        peer = trackers.get(str(spec)) if spec not in specs else None
        if peer is None:
            weights = load(spec)
            model = with_precision(load_model(weights, resolved), precision)
        estimates, periodicities, truths, agree_est, agree_ref = [], [], [], [], []
        labels: list[str] = []
        frame_total, started = 0, time.perf_counter()
        for name, audio, truth in items:
            frames = frame_count(audio.size, signals.HOP)
            if peer is None:
                r = predict(audio, SAMPLE_RATE, model)
                pitch, periodicity = r.pitch[0].numpy(), r.periodicity[0].numpy()
            else:
                pitch, periodicity = peer_trackers.on_frames(*peer(audio), frames, signals.HOP)
            frame_total += frames
            if truth is not None:
                estimates.append(pitch)
                periodicities.append(periodicity)
                truths.append(truth[:frames])
                labels.append(group_by(name) if group_by else "")
            else:
                ref_pitch, ref_periodicity = reference_tracks[name]
                voiced = ref_periodicity > 0.5
                agree_est.append(pitch[voiced])
                agree_ref.append(ref_pitch[voiced])
        elapsed = time.perf_counter() - started
        row: dict[str, Any] = {"weights": str(spec)}
        if peer is None:
            row.update(
                capacity=weights.capacity,
                parameters=parameter_count(weights.state_dict),
                precision=precision,
            )
        else:
            row["peer"] = True
        if truths:
            row.update(
                metrics.pitch_metrics(
                    np.concatenate(estimates), np.concatenate(truths), np.concatenate(periodicities)
                )
            )
        if truths and group_by is not None:
            row["groups"] = _groups(estimates, truths, periodicities, labels)
        if agree_est:
            row["agreement_with_reference"] = metrics.agreement(
                np.concatenate(agree_est), np.concatenate(agree_ref)
            )
        row["frames_per_second"] = frame_total / elapsed if elapsed > 0 else math.nan
        rows.append(row)
    return {
        "device": str(resolved),
        "set": str(audio_dir) if audio_dir else "built-in known-f0 signals",
        "models": rows,
    }


def _groups(
    estimates: list[np.ndarray], truths: list[np.ndarray], periodicities: list[np.ndarray], labels: list[str]
) -> dict[str, dict[str, float]]:
    """Each label's metrics over its recordings together, and ``clip_spread``: the standard
    deviation of raw pitch accuracy between its recordings (how far one figure can be trusted)."""
    groups = {}
    for label in dict.fromkeys(labels):
        members = [i for i, g in enumerate(labels) if g == label]
        arrays = [np.concatenate([a[i] for i in members]) for a in (estimates, truths, periodicities)]
        groups[label] = metrics.pitch_metrics(*arrays)
        per_clip = [
            metrics.pitch_metrics(estimates[i], truths[i], periodicities[i])["raw_pitch_accuracy"]
            for i in members
            if np.any(truths[i] > 0)
        ]
        groups[label]["clip_spread"] = float(np.std(per_clip)) if per_clip else math.nan
    return groups


def _audio_items(folder: Path) -> list[Item]:
    from crepetool import audio as audio_io

    items = []
    for path in audio_io.find(folder):
        samples, rate = audio_io.load(path)
        audio16k = audio_io.resample(samples, rate)
        truth_path = path.with_name(path.stem + ".f0.csv")
        truth = None
        if truth_path.is_file():
            table = np.loadtxt(truth_path, delimiter=",", skiprows=1, ndmin=2)
            frame_times = np.arange(frame_count(audio16k.size, signals.HOP)) * signals.HOP / SAMPLE_RATE
            truth = metrics.resample_truth(table[:, 0], table[:, 1], frame_times)
        items.append((str(path.relative_to(folder)), audio16k.astype(np.float32), truth))
    return items
