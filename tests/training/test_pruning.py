"""Channel selection: criteria, the slicing function, and the prune API."""

from __future__ import annotations

import pytest
import torch

from crepetool.errors import UserInputError
from crepetool.network.presets import LAYER_NAMES, channels
from crepetool.network.summary import describe
from crepetool.network.weights import Weights, expected_shapes
from crepetool.training import pruning


def test_capacity_32_reproduces_full_exactly(full_weights) -> None:
    state, kept = pruning.prune_state_dict(full_weights.state_dict, 32)
    assert all(kept[layer] == list(range(size)) for layer, size in zip(LAYER_NAMES, channels(32)))
    for key, value in full_weights.state_dict.items():
        assert torch.equal(state[key], value), key


@pytest.mark.parametrize("capacity", [1, 5, 12, 24])
def test_l1_keeps_top_k_in_index_order(full_weights, capacity: int) -> None:
    source = full_weights.state_dict
    _, kept = pruning.prune_state_dict(source, capacity)
    for layer, keep in zip(LAYER_NAMES, channels(capacity)):
        norms = source[f"{layer}.weight"].abs().sum(dim=(1, 2, 3))
        chosen = torch.tensor(kept[layer])
        assert kept[layer] == sorted(kept[layer]) and len(chosen) == keep
        dropped = torch.ones(norms.numel(), dtype=torch.bool)
        dropped[chosen] = False
        if dropped.any():
            assert norms[chosen].min() >= norms[dropped].max()


def test_slices_follow_the_kept_channels(full_weights) -> None:
    source = full_weights.state_dict
    state, kept = pruning.prune_state_dict(source, 3)
    c6 = torch.tensor(kept["conv6"])
    c5 = torch.tensor(kept["conv5"])
    assert torch.equal(state["conv6.weight"], source["conv6.weight"][c6][:, c5])
    assert torch.equal(state["conv6_BN.running_var"], source["conv6_BN.running_var"][c6])
    for h in range(4):  # classifier columns h * C6 + c
        assert torch.equal(
            state["classifier.weight"][:, h * 48 : (h + 1) * 48], source["classifier.weight"][:, h * 512 + c6]
        )
    assert {k: tuple(v.shape) for k, v in state.items()} == expected_shapes(3)


def test_ties_go_to_the_lower_index() -> None:
    scores = torch.tensor([1.0, 3.0, 3.0, 2.0, 3.0])
    assert pruning.select(scores, 2).tolist() == [1, 2]


@pytest.mark.parametrize("name", ["l1", "l2", "bn", "random"])
def test_criteria_score_every_output_channel(full_weights, name: str) -> None:
    score = pruning.get_criterion(name, seed=1)
    for layer, size in zip(LAYER_NAMES, channels(32)):
        assert score(full_weights.state_dict, layer).shape == (size,)
    _, kept = pruning.prune_state_dict(full_weights.state_dict, 8, name, seed=1)
    assert len(kept["conv2"]) == 32


def test_criteria_differ(full_weights) -> None:
    picks = {
        name: pruning.prune_state_dict(full_weights.state_dict, 4, name)[1]["conv1"]
        for name in ("l1", "bn", "random")
    }
    assert picks["l1"] != picks["random"] and picks["l1"] != picks["bn"]


def test_slice_checks_indices(full_weights) -> None:
    source = full_weights.state_dict
    _, kept = pruning.prune_state_dict(source, 2)
    good = {k: torch.tensor(v) for k, v in kept.items()}
    for broken in (
        dict(good, conv2=good["conv2"].flip(0)),  # not increasing
        dict(good, conv3=torch.tensor([0, 1, 2, 4096, 5, 6, 7, 8])),  # out of range
        dict(good, conv4=good["conv4"][:-1]),  # counts form no capacity
    ):
        with pytest.raises(ValueError):
            pruning.slice_state_dict(source, broken)


@pytest.mark.slow
def test_parameter_counts_match_an_independent_count_for_every_capacity(full_weights) -> None:
    for capacity in range(1, 33):
        state, _ = pruning.prune_state_dict(full_weights.state_dict, capacity)
        info = describe(Weights(state, capacity, {}))
        c = channels(capacity)
        ins = [1, *c[:-1]]
        kernels = [512] + [64] * 5
        convs = [o * i * k + 3 * o for o, i, k in zip(c, ins, kernels)]
        classifier = 360 * 4 * c[5] + 360
        assert [layer["parameters"] for layer in info["layers"]] == [*convs, classifier]
        assert info["parameters"] == sum(convs) + classifier
        assert [layer.get("out_channels") for layer in info["layers"][:6]] == c


def test_prune_refuses_capacity_above_the_source(tiny_weights) -> None:
    with pytest.raises(UserInputError, match="above the source"):
        pruning.prune(tiny_weights, 8)


def test_prune_records_metadata(tiny_weights) -> None:
    pruned = pruning.prune("tiny", 2, "l2")
    assert pruned.metadata["criterion"] == "l2"
    assert pruned.metadata["source"]["name"] == "tiny"
    assert len(pruned.metadata["source"]["sha256"]) == 64
    assert len(pruned.metadata["kept_channels"]["conv1"]) == 64
