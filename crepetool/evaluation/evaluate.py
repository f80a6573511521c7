"""``evaluate``: pitch metrics of several models side by side, with frames/s.

On the built-in known-f0 signals, or on a folder of recordings: a
``NAME.f0.csv`` (``time,f0``; 0 = unvoiced) beside ``NAME.wav`` is its ground
truth, resampled to the frame times by mir_eval; recordings without one are
compared with a reference model on the frames it finds voiced.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from crepetool.evaluation import metrics, signals
from crepetool.names import DEFAULT_PRECISION
from crepetool.network.loading import load_model, resolve_device
from crepetool.network.precision import with_precision
from crepetool.network.resolver import weights_of
from crepetool.network.weights import Weights, parameter_count
from crepetool.prediction import predict
from crepetool.prediction.framing import frame_count
from crepetool.prediction.resampling import resample, resampled_length
from crepetool.units import SAMPLE_RATE


@dataclasses.dataclass(frozen=True)
class Item:
    """One recording to score: its name, what the pipeline reads (a file, or samples at 16 kHz
    held in memory), its frame count, and its ground truth per frame (None: scored by
    agreement with the reference model)."""

    name: str
    source: Path | np.ndarray
    frames: int
    truth: np.ndarray | None

    def audio16k(self) -> np.ndarray:
        """The samples at 16 kHz, for a peer (CREPE models read :attr:`source` themselves)."""
        if isinstance(self.source, np.ndarray):
            return self.source
        from crepetool.prediction import audio as audio_io

        return resample(*audio_io.load(self.source)).astype(np.float32)


def evaluate(
    weights: list[str | Path | Weights],
    audio_dir: str | Path | None = None,
    reference: str | Path = "full",
    device: str | None = None,
    group_by: Callable[[str], str] | None = None,
    peers: list[str] | None = None,
    precision: str = DEFAULT_PRECISION,
    context: bool = True,
    dereverb: bool = False,
) -> dict[str, Any]:
    """Metrics of several models side by side, with frames/s on this device.

    Without ``audio_dir``: on the built-in known-f0 signals. With it: against
    ``NAME.f0.csv`` ground truth (``time,f0``) beside each audio file when present,
    else agreement with the ``reference`` model on frames it finds voiced.
    ``group_by(name)`` labels each recording (a condition, a speaker): each row then
    also holds ``groups``, the ground-truth metrics of each label. ``peers`` adds rows
    for other trackers (:mod:`crepetool.evaluation.peers`) on the same audio. ``precision``
    runs the models (not the reference) as ``predict --precision`` does. Models track each
    recording through :func:`crepetool.prediction.predict`: the numbers ``predict`` writes,
    with the context stage unless ``context`` is False, and after the dereverberating front end
    with ``dereverb`` (peers too). The reference runs without either, on the audio as it is, so
    every row is measured against the same frames.
    """
    from crepetool.evaluation import peers as peer_trackers

    trackers = {name: peer_trackers.load(name) for name in peers or []}  # refused before any work
    resolved = resolve_device(device)
    if audio_dir is not None:
        items = _audio_items(Path(audio_dir))
    else:
        items = [
            Item(s.name, s.audio, frame_count(s.audio.size, signals.HOP), s.f0) for s in signals.verify_set()
        ]
    references = {}
    if any(item.truth is None for item in items):
        ref_model = load_model(reference, resolved)
        references = {item.name: _track(item, ref_model, {}) for item in items if item.truth is None}
    changes = {"context": context, "dereverb": dereverb}
    rows = []
    for named in weights:
        loaded = weights_of(named)
        model = with_precision(load_model(loaded, resolved), precision)
        row = _score(items, functools.partial(_track, model=model, changes=changes), references, group_by)
        rows.append(
            {
                "weights": str(named),
                "capacity": loaded.capacity,
                "parameters": parameter_count(loaded.state_dict),
                "precision": precision,
                **changes,
                **row,
            }
        )
    for name, peer in trackers.items():
        row = _score(
            items,
            functools.partial(_peer_track, peer=peer, dereverb=dereverb),
            references,
            group_by,
        )
        rows.append({"weights": name, "peer": True, "dereverb": dereverb, **row})
    return {
        "device": str(resolved),
        "set": str(audio_dir) if audio_dir else "built-in known-f0 signals",
        "models": rows,
    }


def _peer_track(item: Item, peer: Callable, dereverb: bool) -> tuple[np.ndarray, np.ndarray]:
    from crepetool.evaluation import peers as peer_trackers
    from crepetool.prediction.dereverb import dereverberate

    audio = item.audio16k()
    return peer_trackers.on_frames(*peer(dereverberate(audio) if dereverb else audio), item.frames, signals.HOP)


def _track(item: Item, model: torch.nn.Module, changes: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    result = predict(item.source, SAMPLE_RATE, model, **changes)
    return result.pitch[0].numpy(), result.periodicity[0].numpy()


def _score(
    items: list[Item],
    tracker: Callable[[Item], tuple[np.ndarray, np.ndarray]],
    references: dict[str, tuple[np.ndarray, np.ndarray]],
    group_by: Callable[[str], str] | None,
) -> dict[str, Any]:
    """One tracker's metrics over the items, by ground truth or by agreement with the reference."""
    estimates, periodicities, truths, agree_est, agree_ref = [], [], [], [], []
    labels: list[str] = []
    frame_total, started = 0, time.perf_counter()
    for item in items:
        pitch, periodicity = tracker(item)
        frame_total += item.frames
        if item.truth is not None:
            estimates.append(pitch)
            periodicities.append(periodicity)
            truths.append(item.truth[: item.frames])
            labels.append(group_by(item.name) if group_by else "")
        else:
            ref_pitch, ref_periodicity = references[item.name]
            voiced = ref_periodicity > 0.5
            agree_est.append(pitch[voiced])
            agree_ref.append(ref_pitch[voiced])
    elapsed = time.perf_counter() - started
    row: dict[str, Any] = {}
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
    return row


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
    from crepetool.prediction import audio as audio_io

    items = []
    for path in audio_io.find(folder):
        samples, rate = audio_io.load(path)  # every file checked whole before any model runs
        frames = frame_count(resampled_length(samples.size, rate), signals.HOP)
        truth_path = path.with_name(path.stem + ".f0.csv")
        truth = None
        if truth_path.is_file():
            table = np.loadtxt(truth_path, delimiter=",", skiprows=1, ndmin=2)
            frame_times = np.arange(frames) * signals.HOP / SAMPLE_RATE
            truth = metrics.resample_truth(table[:, 0], table[:, 1], frame_times)
        items.append(Item(str(path.relative_to(folder)), path, frames, truth))
    return items
