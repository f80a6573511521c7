"""``verify``: checks that tell the truth about a model.

A pruned model can load, run and return pitch of the right shape while being
useless, so verify measures accuracy on signals with known f0, decoded with
predict's defaults (crepetool's Viterbi, fmin 50, fmax 2006). Each check is
``pass``, ``fail``, or ``info`` (measured and reported, never failing).
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path
from typing import Any

import numpy as np
import torch

from crepetool.errors import check_choice
from crepetool.evaluation import metrics, signals
from crepetool.names import (
    DEFAULT_FMAX,
    DEFAULT_FMIN,
    DEFAULT_MIN_ACCURACY,
    DEFAULT_PRECISION,
    WEIGHTED_ARGMAX,
)
from crepetool.network import context
from crepetool.network.loading import load_model, resolve_device
from crepetool.network.model import Crepe
from crepetool.network.precision import with_precision
from crepetool.network.resolver import source_of, weights_of
from crepetool.network.weights import Weights, non_finite_keys, parameter_count
from crepetool.prediction import probabilities
from crepetool.prediction.decode import decode
from crepetool.prediction.framing import frames
from crepetool.units import CENTS_PER_BIN, REFERENCE_HZ, SAMPLE_RATE, cents_to_frequency

ONE_BIN = float(cents_to_frequency(CENTS_PER_BIN) / REFERENCE_HZ)


STATUSES = ("pass", "fail", "info")


@dataclasses.dataclass
class Check:
    """One row of a verify report: ``status`` is ``pass``, ``fail`` or ``info`` (reported only)."""

    name: str
    status: str
    value: str
    detail: str = ""

    def __post_init__(self) -> None:
        check_choice("check status", self.status, STATUSES)

    @classmethod
    def of(cls, name: str, passed: bool, value: str, detail: str = "") -> Check:
        """A pass/fail check."""
        return cls(name, "pass" if passed else "fail", value, detail)

    @property
    def passed(self) -> bool:
        """False only for a failed check (an ``info`` row never fails)."""
        return self.status != "fail"


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
            "checks": [{**dataclasses.asdict(c), "passed": c.passed} for c in self.checks],
        }


def verify(
    weights: str | Path | Weights,
    min_accuracy: float = DEFAULT_MIN_ACCURACY,
    min_agreement: float | None = None,
    device: str | None = None,
    precision: str = DEFAULT_PRECISION,
) -> Report:
    """Run every check. Raises WeightsError only when the file is not CREPE weights at all.

    ``precision`` is the one the accuracy and agreement checks track at (``predict
    --precision``); structure, pitch, embedding and integration stay fp32.
    """
    loaded = weights_of(weights, require_finite=False)
    resolved = resolve_device(device)
    checks: list[Check] = []
    bad = non_finite_keys(loaded.state_dict)
    checks.append(
        Check.of(
            "structure",
            not bad,
            f"capacity {loaded.capacity}/32, {len(loaded.state_dict)} tensors",
            f"NaN or infinite values in {', '.join(bad[:3])}" if bad else "keys, shapes and values valid",
        )
    )
    model = load_model(loaded.state_dict, resolved)
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
        Check.of(
            "pitch", pitch_ok, f"shape {list(pitch.shape)}", f"finite and within [{low:.1f}, {high:.1f}] Hz"
        )
    )

    embedding = _embed(model, audio16k)
    c5 = loaded.state_dict["conv5.weight"].size(0)
    expected = (1, 101, 32, 8 * c5 // 32)
    checks.append(
        Check.of(
            "embedding",
            tuple(embedding.shape) == expected,
            f"shape {list(embedding.shape)}",
            f"expected {list(expected)}",
        )
    )
    checks.append(_integration(model, tone, decode(tone_probabilities, decoder=WEIGHTED_ARGMAX), embedding))

    checks += _accuracy_checks(loaded, model, str(resolved), precision, min_accuracy, min_agreement)
    checks.append(_context_check(model, min_accuracy))
    return Report(loaded.name if loaded.path else str(weights), loaded.capacity, checks)


def _accuracy_checks(
    weights: Weights,
    model: Crepe,
    device: str,
    precision: str,
    min_accuracy: float,
    min_agreement: float | None,
) -> list[Check]:
    """Accuracy on the known-f0 signals at ``precision``, and agreement with ``full`` (unless it is full)."""
    checks: list[Check] = []
    verify_signals = signals.verify_set()
    estimate, periodicity, truth = signals.track(with_precision(model, precision), verify_signals)
    scores = metrics.pitch_metrics(estimate, truth, periodicity)
    accuracy = scores["raw_pitch_accuracy"]
    checks.append(
        Check.of(
            "accuracy",
            accuracy >= min_accuracy,
            f"{accuracy:.1%} within 50 cents",
            f"median {scores['median_cents']:.1f} cents; needs >= {min_accuracy:.0%}"
            + ("" if precision == DEFAULT_PRECISION else f"; at {precision}"),
        )
    )
    if not (
        weights.capacity == 32
        and getattr(source_of(weights), "name", None) == "full"
        and "criterion" not in weights.metadata
    ):
        full_estimate = _full_pitch(device)
        agree = metrics.agreement(estimate, full_estimate, truth > 0)
        value = f"{agree:.1%} within 50 cents"
        if min_agreement is None:
            checks.append(Check("agreement with full", "info", value, "reported only"))
        else:
            checks.append(
                Check.of(
                    "agreement with full", agree >= min_agreement, value, f"needs >= {min_agreement:.0%}"
                )
            )
    return checks


def _context_check(model: Crepe, min_accuracy: float) -> Check:
    """The shipped context stage: its tensors load and are finite, and the model with it tracks
    the known-f0 signals as well as the accuracy bar asks."""
    try:
        stage = context.shipped()
    except Exception as error:  # a missing or damaged package file: the check says so
        return Check.of("context stage", False, "does not load", str(error))
    bad = non_finite_keys(stage.state_dict())
    if bad:
        return Check.of("context stage", False, "non-finite", f"NaN or infinite values in {', '.join(bad[:3])}")
    estimate, periodicity, truth = signals.track(model, signals.verify_set(), context=True)
    accuracy = metrics.pitch_metrics(estimate, truth, periodicity)["raw_pitch_accuracy"]
    return Check.of(
        "context stage",
        accuracy >= min_accuracy,
        f"{accuracy:.1%} within 50 cents",
        f"{parameter_count(stage.state_dict()):,} parameters, ±{stage.reach} frames; needs >= {min_accuracy:.0%}",
    )


@functools.lru_cache(maxsize=4)
def _full_pitch(device: str) -> np.ndarray:
    """``full``'s pitch on the verify signals, tracked once per process and device."""
    pitch, _, _ = signals.track(load_model("full", device), signals.verify_set())
    pitch.setflags(write=False)
    return pitch


@torch.no_grad()
def _embed(model: Crepe, audio16k: torch.Tensor) -> torch.Tensor:
    """torchcrepe's embedding layout: Tensor [shape=(1, frames, 32, C5 * 8 / 32)]."""
    device = next(model.parameters()).device
    parts = [model.embed(batch.to(device)) for batch in frames(audio16k, signals.HOP)]
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
                SAMPLE_RATE,
                signals.HOP,
                DEFAULT_FMIN,
                DEFAULT_FMAX,
                name,
                torchcrepe.decode.weighted_argmax,
                return_periodicity=True,
                device=device,
            )
            theirs_embedding = torchcrepe.embed(audio, SAMPLE_RATE, signals.HOP, name, device=device)
    except Exception as exc:  # an incompatible torchcrepe is a failed check, not a crash
        return Check.of("torchcrepe integration", False, "error", f"{type(exc).__name__}: {exc}"[:200])
    our_pitch, our_periodicity = ours
    cents = float(np.abs(metrics.cents(pitch[0].cpu().numpy(), our_pitch.cpu().numpy())).max())
    embed_diff = float((theirs_embedding.cpu() - embedding.cpu()).abs().max())
    period_diff = float((periodicity[0].cpu() - our_periodicity.cpu()).abs().max())
    passed = cents <= CENTS_PER_BIN + 0.5 and embed_diff < 1e-3 and period_diff < 1e-4
    return Check.of(
        "torchcrepe integration",
        passed,
        f"max {cents:.1f} cents",
        f"pitch within torchcrepe's 20-cent dither, periodicity diff {period_diff:.1e}, embedding diff {embed_diff:.1e}",
    )
