"""conv1 once per group of frames (crepetool.network.shared) equals conv1 once per frame."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from crepetool import prediction
from crepetool.network import shared
from crepetool.network.loading import load_model
from crepetool.network.model import Crepe
from crepetool.network.span import FrameSpan
from crepetool.prediction import decode
from helpers import random_state_dict, voice

#: torchcrepe's budget against the original CREPE's activations (its tests/test_core.py)
BUDGET_MAX, BUDGET_MEAN = 1e-5, 1e-7


def _model(capacity: int) -> Crepe:
    model = Crepe(capacity).eval()
    model.load_state_dict(random_state_dict(capacity, seed=capacity))  # negative BN scales too
    return model


def _span(count: int, hop: int, seed: int = 0) -> FrameSpan:
    samples = torch.from_numpy(voice(4.0, 16000, seed))[: (count - 1) * hop + 1024].float()
    return FrameSpan(samples, hop)


def _same_pitch(ours: torch.Tensor, theirs: torch.Tensor) -> None:
    """The same decoded pitch: the same path, its local averages within float rounding."""
    cents = 1200 * torch.log2(ours.double() / theirs.double())
    assert ours.shape == theirs.shape and cents.abs().max() < 1e-3


def _both(
    model: Crepe, span: FrameSpan | torch.Tensor, monkeypatch: pytest.MonkeyPatch, whole: bool = False
) -> tuple[torch.Tensor, torch.Tensor, int]:
    """(shared, per frame, groups the shared path computed) for a span, or (``whole``) for a
    16 kHz recording through the pipeline (:func:`crepetool.prediction.probabilities`)."""
    calls = []
    activation = shared.activation
    monkeypatch.setattr(shared, "activation", lambda *args: calls.append(1) or activation(*args))
    with torch.no_grad():
        if whole:
            ours = prediction.probabilities(model, span, 160)
            model.conv1_mode = "frame"
            theirs = prediction.probabilities(model, span, 160)
            model.conv1_mode = "shared"
            return ours, theirs, len(calls)
        return model(span), model(span.frames()), len(calls)


@pytest.mark.parametrize("hop", [160, 80, 64])
@pytest.mark.parametrize("capacity", [1, 4, 12, pytest.param(32, marks=pytest.mark.slow)])
def test_shared_equals_per_frame(capacity: int, hop: int, monkeypatch: pytest.MonkeyPatch) -> None:
    model, span = _model(capacity), _span(2 * shared.GROUP + 5, hop)  # two groups and a short one
    ours, theirs, groups = _both(model, span, monkeypatch)
    assert groups == 3
    difference = (ours - theirs).abs()
    assert difference.max() < BUDGET_MAX and difference.mean() < BUDGET_MEAN
    assert torch.equal(ours.argmax(1), theirs.argmax(1))


@pytest.mark.parametrize("hop", [100, 4, 162])
def test_other_hops_run_per_frame(hop: int, monkeypatch: pytest.MonkeyPatch) -> None:
    model, span = _model(4), _span(21, hop)
    ours, theirs, groups = _both(model, span, monkeypatch)
    assert groups == 0 and torch.equal(ours, theirs)


def test_a_frames_bytes_depend_on_its_group_only() -> None:
    model, span = _model(4), _span(3 * shared.GROUP + 7, 160)
    with torch.no_grad():
        whole = model(span)
        parts = [model(part) for part in span.split(shared.GROUP)]
        by_two = [model(part) for part in span.split(2 * shared.GROUP)]
    assert torch.equal(whole, torch.cat(parts)) and torch.equal(whole, torch.cat(by_two))


def test_frame_mode_training_and_embedding_run_per_frame(monkeypatch: pytest.MonkeyPatch) -> None:
    model, span = _model(4), _span(40, 160)
    with torch.no_grad():
        assert model.shares_conv1(160)
        model.conv1_mode = "frame"
        assert not model.shares_conv1(160)
        model.conv1_mode = "shared"
        assert torch.equal(model(span, embed=True), model(span.frames(), embed=True))
    assert not model.shares_conv1(160)  # gradients on: training never shares
    with pytest.raises(ValueError, match="conv1 mode"):
        Crepe(4, conv1_mode="once")


@pytest.mark.parametrize(
    "samples",
    [
        torch.zeros(4 * 160 + 1024),  # silence: every deviation clamped
        1.0 + 0.01 * torch.randn(4 * 160 + 1024, generator=torch.Generator().manual_seed(0)),  # DC
        torch.cat([torch.randn(1500, generator=torch.Generator().manual_seed(1)), 1e-4 * torch.ones(164)]),
    ],
    ids=["silence", "offset", "loud-then-quiet"],
)
def test_shared_holds_where_frames_are_extreme(samples: torch.Tensor, monkeypatch: pytest.MonkeyPatch) -> None:
    ours, theirs, groups = _both(_model(4), FrameSpan(samples, 160), monkeypatch)
    assert groups == 1 and torch.isfinite(ours).all()
    assert (ours - theirs).abs().max() < BUDGET_MAX


@pytest.mark.parametrize("length", [16000 + 77, 4 * 160 + 3, 999])
def test_predict_shares_conv1_at_odd_lengths(length: int, monkeypatch: pytest.MonkeyPatch) -> None:
    audio = torch.from_numpy(voice(2.0, 16000, seed=3)[:length])
    model = load_model("tiny")
    ours, theirs, groups = _both(model, audio, monkeypatch, whole=True)
    assert groups == -(-(1 + length // 160) // shared.GROUP)
    assert (ours - theirs).abs().max() < BUDGET_MAX
    pitch = []
    for mode in ("shared", "frame"):
        model.conv1_mode = mode
        pitch.append(prediction.predict(audio, 16000, model).pitch)
    _same_pitch(*pitch)


@pytest.mark.parametrize("name", ["tiny", pytest.param("full", marks=pytest.mark.slow)])
def test_shared_on_the_reference_clip_is_within_torchcrepes_budget(name: str, reference_dir, request) -> None:
    """The original CREPE's frames of torchcrepe's test clip, as the span they cover."""
    frames = torch.from_numpy(np.load(reference_dir / "frames-crepe.npy"))
    span = FrameSpan(torch.cat([frames[:-1, :160].reshape(-1), frames[-1]]), 160)
    assert torch.equal(span.windows(), frames)
    model = load_model(request.getfixturevalue(f"{name}_weights"))
    with torch.no_grad():
        ours, theirs = model(span), model(span.frames())
    difference = (ours - theirs).abs()
    assert difference.max() < BUDGET_MAX and difference.mean() < BUDGET_MEAN
    _same_pitch(*(decode.decode(p, 32.7, 1975.5, "viterbi")[0] for p in (ours, theirs)))


def test_a_span_is_whole_frames() -> None:
    span = _span(10, 160)
    assert span.count == 10 and span.windows().shape == (10, 1024)
    assert [part.count for part in span.split(4)] == [4, 4, 2]
    assert torch.equal(span.split(4)[1].windows(), span.windows()[4:8])
    with pytest.raises(ValueError, match="whole frames"):
        FrameSpan(span.samples[:-1], 160)
    assert FrameSpan(torch.zeros(0), 160).count == 0
