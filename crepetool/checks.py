"""``verify``: checks that tell the truth about a model, and ``evaluate``: the numbers to compare.

A pruned model can load, run and return pitch of the right shape while being
useless, so verify measures accuracy on signals with known f0, decoded with
predict's defaults (crepetool's Viterbi, fmin 50, fmax 2006).
"""

from __future__ import annotations

import dataclasses
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from crepetool import metrics, signals
from crepetool.decode import CENTS_PER_BIN, decode
from crepetool.model import Crepe, from_state_dict
from crepetool.prediction import (
    DEFAULT_FMAX,
    DEFAULT_FMIN,
    frame_count,
    frames,
    predict,
    probabilities,
    resolve_device,
)
from crepetool.weights import Weights, load, non_finite_keys, parameter_count

ONE_BIN = 2 ** (CENTS_PER_BIN / 1200)


@dataclasses.dataclass
class Check:
    name: str
    passed: bool
    value: str
    detail: str = ""


@dataclasses.dataclass
class Report:
    weights: str
    capacity: int
    checks: list[Check]

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    def as_dict(self) -> dict[str, Any]:
        return {
            "weights": self.weights,
            "capacity": self.capacity,
            "passed": self.passed,
            "checks": [dataclasses.asdict(c) for c in self.checks],
        }


def _track(model: Crepe, signal_set: list[signals.Signal]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    estimate, periodicity = [], []
    for signal in signal_set:
        result = predict(signal.audio, signals.SAMPLE_RATE, model)
        estimate.append(result.pitch[0].numpy())
        periodicity.append(result.periodicity[0].numpy())
    truth = np.concatenate([s.f0 for s in signal_set])
    return np.concatenate(estimate), np.concatenate(periodicity), truth


def verify(
    spec: str | Path | Weights,
    min_accuracy: float = 0.9,
    min_agreement: float | None = None,
    device: str | None = None,
) -> Report:
    """Run every check. Raises WeightsError only when the file is not CREPE weights at all."""
    weights = spec if isinstance(spec, Weights) else load(spec, require_finite=False)
    resolved = resolve_device(device)
    checks: list[Check] = []
    bad = non_finite_keys(weights.state_dict)
    checks.append(
        Check(
            "structure",
            not bad,
            f"capacity {weights.capacity}/32, {len(weights.state_dict)} tensors",
            f"NaN or infinite values in {', '.join(bad[:3])}" if bad else "keys, shapes and values valid",
        )
    )
    model = from_state_dict(weights.state_dict).to(resolved)
    tone = signals.harmonic(220.0, seconds=1.0, timbre="saw", seed=1)
    audio16k = torch.from_numpy(tone.audio).to(resolved)
    tone_probabilities = probabilities(model, audio16k, signals.HOP)  # one pass, decoded twice below
    pitch, _ = decode(tone_probabilities)  # predict's defaults
    pitch = pitch[None]
    low, high = DEFAULT_FMIN / ONE_BIN, DEFAULT_FMAX * ONE_BIN
    pitch_ok = (
        tuple(pitch.shape) == (1, 101)
        and bool(torch.isfinite(pitch).all())
        and bool(((pitch >= low) & (pitch <= high)).all())
    )
    checks.append(
        Check(
            "pitch", pitch_ok, f"shape {list(pitch.shape)}", f"finite and within [{low:.1f}, {high:.1f}] Hz"
        )
    )

    embedding = _embed(model, audio16k)
    c5 = weights.state_dict["conv5.weight"].size(0)
    expected = (1, 101, 32, 8 * c5 // 32)
    checks.append(
        Check(
            "embedding",
            tuple(embedding.shape) == expected,
            f"shape {list(embedding.shape)}",
            f"expected {list(expected)}",
        )
    )
    checks.append(_integration(model, tone, decode(tone_probabilities, decoder="weighted-argmax"), embedding))

    verify_signals = signals.verify_set()
    estimate, periodicity, truth = _track(model, verify_signals)
    scores = metrics.pitch_metrics(estimate, truth, periodicity)
    accuracy = scores["raw_pitch_accuracy"]
    checks.append(
        Check(
            "accuracy",
            accuracy >= min_accuracy,
            f"{accuracy:.1%} within 50 cents",
            f"median {scores['median_cents']:.1f} cents; needs >= {min_accuracy:.0%}",
        )
    )
    if not (
        weights.capacity == 32
        and weights.metadata.get("source", {}).get("name") == "full"
        and "criterion" not in weights.metadata
    ):
        full_estimate, _, _ = _track(from_state_dict(load("full").state_dict).to(resolved), verify_signals)
        agree = metrics.agreement(estimate, full_estimate, truth > 0)
        passed = min_agreement is None or agree >= min_agreement
        needs = f"needs >= {min_agreement:.0%}" if min_agreement is not None else "reported only"
        checks.append(Check("agreement with full", passed, f"{agree:.1%} within 50 cents", needs))
    return Report(weights.name if weights.path else str(spec), weights.capacity, checks)


@torch.no_grad()
def _embed(model: Crepe, audio16k: torch.Tensor) -> torch.Tensor:
    """torchcrepe's embedding layout: Tensor [shape=(1, frames, 32, C5 * 8 / 32)]."""
    parts = [model.embed(batch) for batch in frames(audio16k, signals.HOP)]
    embedding = torch.cat(parts)
    return embedding.reshape(1, embedding.size(0), 32, -1)


def _integration(
    model: Crepe, tone: signals.Signal, ours: tuple[torch.Tensor, torch.Tensor], embedding: torch.Tensor
) -> Check:
    """Through torchcrepe.predict/embed with our model registered, the same numbers come out.

    ``ours`` is crepetool's (pitch, periodicity) of the tone with the weighted-argmax decoder.
    """
    try:
        from crepetool.compat import import_torchcrepe, registered_with_torchcrepe

        torchcrepe = import_torchcrepe()
        audio = torch.from_numpy(tone.audio)[None]
        device = str(next(model.parameters()).device)
        # torchcrepe dithers its pitch by up to one bin (20 cents) with a global RNG: compare within that
        with registered_with_torchcrepe(model, "crepetool-verify") as name, torch.no_grad():
            pitch, periodicity = torchcrepe.predict(
                audio,
                signals.SAMPLE_RATE,
                signals.HOP,
                DEFAULT_FMIN,
                DEFAULT_FMAX,
                name,
                torchcrepe.decode.weighted_argmax,
                return_periodicity=True,
                device=device,
            )
            theirs_embedding = torchcrepe.embed(audio, signals.SAMPLE_RATE, signals.HOP, name, device=device)
    except Exception as exc:  # an incompatible torchcrepe is a failed check, not a crash
        return Check("torchcrepe integration", False, "error", f"{type(exc).__name__}: {exc}"[:200])
    our_pitch, our_periodicity = ours
    cents = float(np.abs(metrics.cents(pitch[0].cpu().numpy(), our_pitch.cpu().numpy())).max())
    embed_diff = float((theirs_embedding.cpu() - embedding.cpu()).abs().max())
    period_diff = float((periodicity[0].cpu() - our_periodicity.cpu()).abs().max())
    passed = cents <= CENTS_PER_BIN + 0.5 and embed_diff < 1e-3 and period_diff < 1e-4
    return Check(
        "torchcrepe integration",
        passed,
        f"max {cents:.1f} cents",
        f"pitch within torchcrepe's 20-cent dither, periodicity diff {period_diff:.1e}, embedding diff {embed_diff:.1e}",
    )


def evaluate(
    specs: list[str | Path],
    audio_dir: str | Path | None = None,
    reference: str | Path = "full",
    device: str | None = None,
) -> dict[str, Any]:
    """Metrics of several models side by side, with frames/s on this device.

    Without ``audio_dir``: on the built-in known-f0 signals. With it: against
    ``NAME.f0.csv`` ground truth (``time,f0``) beside each audio file when present,
    else agreement with the ``reference`` model on frames it finds voiced.
    """
    resolved = resolve_device(device)
    items = (
        _audio_items(Path(audio_dir))
        if audio_dir is not None
        else [(s.name, s.audio, s.f0) for s in signals.verify_set()]
    )
    reference_tracks: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    if audio_dir is not None and any(truth is None for _, _, truth in items):
        ref_model = from_state_dict(load(reference).state_dict).to(resolved)
        for name, audio, truth in items:
            if truth is None:
                r = predict(audio, signals.SAMPLE_RATE, ref_model)
                reference_tracks[name] = (r.pitch[0].numpy(), r.periodicity[0].numpy())
    rows = []
    for spec in specs:
        weights = load(spec)
        model = from_state_dict(weights.state_dict).to(resolved)
        estimates, periodicities, truths, agree_est, agree_ref = [], [], [], [], []
        frame_total, started = 0, time.perf_counter()
        for name, audio, truth in items:
            r = predict(audio, signals.SAMPLE_RATE, model)
            frame_total += r.pitch.numel()
            if truth is not None:
                estimates.append(r.pitch[0].numpy())
                periodicities.append(r.periodicity[0].numpy())
                truths.append(truth[: r.pitch.numel()])
            else:
                ref_pitch, ref_periodicity = reference_tracks[name]
                voiced = ref_periodicity > 0.5
                agree_est.append(r.pitch[0].numpy()[voiced])
                agree_ref.append(ref_pitch[voiced])
        elapsed = time.perf_counter() - started
        row: dict[str, Any] = {
            "weights": str(spec),
            "capacity": weights.capacity,
            "parameters": parameter_count(weights.state_dict),
        }
        if truths:
            row.update(
                metrics.pitch_metrics(
                    np.concatenate(estimates), np.concatenate(truths), np.concatenate(periodicities)
                )
            )
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


def _audio_items(folder: Path) -> list[tuple[str, np.ndarray, np.ndarray | None]]:
    from crepetool import audio as audio_io

    items = []
    for path in audio_io.find(folder):
        samples, rate = audio_io.load(path)
        audio16k = audio_io.resample(samples, rate)
        truth_path = path.with_name(path.stem + ".f0.csv")
        truth = None
        if truth_path.is_file():
            table = np.loadtxt(truth_path, delimiter=",", skiprows=1, ndmin=2)
            frame_times = (
                np.arange(frame_count(audio16k.size, signals.HOP)) * signals.HOP / signals.SAMPLE_RATE
            )
            truth = np.interp(frame_times, table[:, 0], table[:, 1], left=0.0, right=0.0)
            nearest = np.abs(frame_times[:, None] - table[None, :, 0]).argmin(axis=1)
            truth[table[nearest, 1] <= 0] = 0.0  # never interpolate into unvoiced frames
        items.append((str(path.relative_to(folder)), audio16k.astype(np.float32), truth))
    return items
