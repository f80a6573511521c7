"""Decoders: crepetool's Viterbi against a slow dense version and against torchcrepe's."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from crepetool import units
from crepetool.compat import import_torchcrepe
from crepetool.prediction import decode


def dense_viterbi(log_emissions: np.ndarray) -> np.ndarray:
    """The obvious O(T * S^2) Viterbi with the same transitions (same normaliser on every row)."""
    frames, states = log_emissions.shape
    i, j = np.meshgrid(np.arange(states), np.arange(states), indexing="ij")
    weight = np.maximum(12 - np.abs(i - j), 0) / 144.0
    with np.errstate(divide="ignore"):
        log_transition = np.log(weight)  # [from, to]
    score = log_emissions[0].copy()
    pointers = np.zeros((frames, states), dtype=np.int64)
    for t in range(1, frames):
        candidates = score[:, None] + log_transition
        pointers[t] = candidates.argmax(axis=0)
        score = candidates.max(axis=0) + log_emissions[t]
    path = [int(score.argmax())]
    for t in range(frames - 1, 0, -1):
        path.append(int(pointers[t, path[-1]]))
    return np.array(path[::-1])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_banded_viterbi_equals_dense(seed: int) -> None:
    rng = np.random.default_rng(seed)
    emissions = rng.random((60, 50)) * 3
    assert np.array_equal(decode.viterbi_path(emissions), dense_viterbi(emissions))


@pytest.fixture(scope="module")
def clip_activations(reference_dir) -> torch.Tensor:
    return torch.from_numpy(np.load(reference_dir / "activation-full.npy"))


@pytest.fixture()
def no_dither(monkeypatch: pytest.MonkeyPatch):
    torchcrepe = import_torchcrepe()
    monkeypatch.setattr(torchcrepe.convert, "dither", lambda cents: cents)
    # torchcrepe caches weighted_argmax's bin weights, dithered, on first use: drop any cached copy
    monkeypatch.delattr(torchcrepe.decode.weighted_argmax, "weights", raising=False)
    return torchcrepe


@pytest.mark.parametrize("fmax", [500.0, 1500.0])
def test_same_path_as_torchcrepe_where_it_is_right(clip_activations, fmax: float) -> None:
    lo, hi = decode.bin_range(50.0, fmax)
    ours, _ = decode.viterbi(clip_activations, lo, hi)
    theirs, _ = decode.viterbi_torchcrepe(clip_activations, lo, hi)
    assert torch.equal(ours, theirs)


def test_right_pitch_where_torchcrepe_viterbi_is_wrong(clip_activations) -> None:
    lo, hi = decode.bin_range(50.0, 2006.0)
    theirs, _ = decode.viterbi_torchcrepe(clip_activations, lo, hi)
    assert (theirs == hi - 1).float().mean() > 0.95  # torchcrepe: stuck on the top bin
    ours, _ = decode.viterbi(clip_activations, lo, hi)
    peak = clip_activations.argmax(dim=1)
    voiced = clip_activations.max(dim=1).values > 0.5
    agree = ((ours - peak).abs() <= 2)[voiced].float().mean()
    assert agree > 0.95


@pytest.mark.parametrize(
    ("name", "ours"), [("weighted_argmax", decode.weighted_argmax), ("argmax", decode.argmax)]
)
def test_argmax_decoders_equal_torchcrepe(clip_activations, no_dither, name: str, ours) -> None:
    for fmin, fmax in ((50.0, 2006.0), (80.0, 700.0)):
        theirs = no_dither.postprocess(
            clip_activations.T[None].clone(), fmin, fmax, getattr(no_dither.decode, name)
        )[0]
        _, pitch = ours(clip_activations, *decode.bin_range(fmin, fmax))
        cents = 1200 * torch.log2(pitch.double() / theirs.double())
        assert cents.abs().max() < 0.1


def test_decode_is_deterministic_and_refines_below_a_bin(clip_activations) -> None:
    first, periodicity = decode.decode(clip_activations)
    second, _ = decode.decode(clip_activations)
    assert torch.equal(first, second)
    bins = units.frequency_to_bins(first.double())
    assert (bins % 1).abs().gt(0.05).float().mean() > 0.5  # not stuck on bin centres
    assert periodicity.min() >= 0 and periodicity.max() <= 1


def test_bin_range_refuses_empty_ranges() -> None:
    assert decode.bin_range(50.0, 2006.0) == (39, 360)
    with pytest.raises(ValueError):
        decode.bin_range(3000.0, 4000.0)


def test_cli_offers_exactly_the_library_decoders() -> None:
    # the CLI keeps its own list (importing decode would import torch at --help time)
    from crepetool.cli.predict import Decoder

    assert [d.value for d in Decoder] == list(decode.DECODERS)
