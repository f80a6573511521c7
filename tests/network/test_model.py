"""The fast model against torchcrepe's network and the original Keras CREPE."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from crepetool.compat import import_torchcrepe
from crepetool.network.loading import from_state_dict, load_model
from crepetool.network.model import LAYOUT_ENV, Crepe, default_layout
from helpers import random_state_dict


def reference_forward(state: dict[str, torch.Tensor], frames: torch.Tensor) -> torch.Tensor:
    """The obvious, slow CREPE forward pass (torchcrepe's ops, any capacity)."""
    x = frames[:, None, :, None]
    for i in range(1, 7):
        pad = (0, 0, 254, 254) if i == 1 else (0, 0, 31, 32)
        x = F.conv2d(
            F.pad(x, pad), state[f"conv{i}.weight"], state[f"conv{i}.bias"], stride=(4 if i == 1 else 1, 1)
        )
        x = F.batch_norm(
            F.relu(x),
            state[f"conv{i}_BN.running_mean"],
            state[f"conv{i}_BN.running_var"],
            state[f"conv{i}_BN.weight"],
            state[f"conv{i}_BN.bias"],
            eps=0.0010000000474974513,
        )
        x = F.max_pool2d(x, (2, 1), (2, 1))
    x = x.permute(0, 2, 1, 3).reshape(x.size(0), -1)
    return torch.sigmoid(F.linear(x, state["classifier.weight"], state["classifier.bias"]))


@pytest.mark.parametrize("conv", ["direct", "transform"])
@pytest.mark.parametrize("capacity", [1, 3, 12])
def test_any_capacity_matches_slow_reference(capacity: int, conv: str) -> None:
    state = random_state_dict(capacity, seed=capacity)
    assert any(bool((state[f"conv{i}_BN.weight"] < 0).any()) for i in range(1, 7))
    model = from_state_dict(state, conv=conv)
    frames = torch.randn(5, 1024, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        fast = model(frames)
        slow = reference_forward(state, frames)
        model.train()
        trained_path = model(frames)  # the unfused path (BN uses batch statistics here)
    assert fast.shape == (5, 360)
    torch.testing.assert_close(fast, slow, atol=2e-5, rtol=0)
    assert not torch.allclose(trained_path, fast)  # train mode really is another path


@pytest.mark.parametrize("name", [pytest.param("full", marks=pytest.mark.slow), "tiny"])
def test_matches_torchcrepe_network(name: str, request: pytest.FixtureRequest) -> None:
    torchcrepe = import_torchcrepe()
    weights = request.getfixturevalue(f"{name}_weights")
    theirs = torchcrepe.Crepe(name)
    theirs.load_state_dict(weights.state_dict, strict=True)
    theirs.eval()
    ours = from_state_dict(weights.state_dict)
    frames = torch.randn(16, 1024, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(ours(frames), theirs(frames), atol=1e-5, rtol=0)
        torch.testing.assert_close(ours(frames, embed=True), theirs(frames, embed=True), atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("conv", ["direct", "transform"])
@pytest.mark.parametrize("name", [pytest.param("full", marks=pytest.mark.slow), "tiny"])
def test_reproduces_keras_crepe_activations(
    name: str, conv: str, reference_dir, request: pytest.FixtureRequest
) -> None:
    """torchcrepe's own budget (tests/test_core.py): 1e-5 at most, 1e-7 on average."""
    frames = torch.from_numpy(np.load(reference_dir / "frames-crepe.npy"))
    expected = torch.from_numpy(np.load(reference_dir / f"activation-{name}.npy"))
    model = from_state_dict(request.getfixturevalue(f"{name}_weights").state_dict, conv=conv)
    with torch.no_grad():
        got = torch.cat([model(chunk) for chunk in frames.split(256)])
    assert got.shape == expected.shape == (1001, 360)
    difference = (got - expected).abs()
    assert difference.max() < 1e-5
    assert difference.mean() < 1e-7


def test_state_dict_moves_strictly_both_ways(tiny_weights) -> None:
    torchcrepe = import_torchcrepe()
    ours = Crepe("tiny")
    ours.load_state_dict(tiny_weights.state_dict, strict=True)
    theirs = torchcrepe.Crepe("tiny")
    theirs.load_state_dict(ours.state_dict(), strict=True)
    assert set(theirs.state_dict()) == set(ours.state_dict())


def test_embedding_layout() -> None:
    model = from_state_dict(random_state_dict(12))
    with torch.no_grad():
        embedding = model(torch.randn(3, 1024), embed=True)
    assert embedding.shape == (3, 96, 8, 1)  # C5 = 8 * 12


def test_presets_and_bad_capacities() -> None:
    assert Crepe("regular").capacity == 12
    assert Crepe(4).classifier.in_features == 256
    for bad in (0, 33, -1, "huge"):
        with pytest.raises(ValueError):
            Crepe(bad)


def test_both_layouts_agree_in_eval_and_in_training() -> None:
    """ncl (conv1d, with its own backward) and cl (channels-last conv2d) are the same network."""
    from crepetool.network.model import LAYOUTS, Crepe

    state = random_state_dict(3, seed=4)  # negative batch-norm scales included
    frames = torch.randn(8, 1024, generator=torch.Generator().manual_seed(1))
    outputs, grads = {}, {}
    for layout in LAYOUTS:
        model = Crepe(3, layout)
        model.load_state_dict(state)
        outputs[layout] = model.eval()(frames).detach()
        model.train()(frames).pow(2).mean().backward()
        grads[layout] = {name: p.grad for name, p in model.named_parameters()}
    assert torch.allclose(outputs["ncl"], outputs["cl"], atol=1e-5)
    for name, expected in grads["cl"].items():
        # batch norm's batch statistics (8 frames) amplify rounding: against float64, conv1.bias
        # is off by 6.7e-5 (ncl) and 3.8e-5 (cl) of its largest element, the rest by less
        scale = float(expected.abs().max())
        assert torch.allclose(grads["ncl"][name], expected, atol=2e-4 * scale + 1e-9), name


def test_layout_follows_the_device(monkeypatch: pytest.MonkeyPatch) -> None:
    """cl on the CPU, ncl on CUDA (where it ran 1.33x cl), unless CREPETOOL_LAYOUT says otherwise."""
    monkeypatch.delenv(LAYOUT_ENV, raising=False)
    assert (default_layout(), default_layout("cpu"), default_layout("cuda:0")) == ("cl", "cl", "ncl")
    assert load_model(random_state_dict(2), "cpu").layout == "cl"
    monkeypatch.setenv(LAYOUT_ENV, "ncl")
    assert (default_layout(), default_layout("cuda")) == ("ncl", "ncl")
    assert load_model(random_state_dict(2), "cpu").layout == "ncl"
    monkeypatch.setenv(LAYOUT_ENV, "cl")
    assert default_layout("cuda") == "cl"


@pytest.mark.parametrize("layout", ["cl", "ncl"])
def test_inference_in_slices_equals_one_batch(layout: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without gradients the batch runs a slice at a time (bounded activations): same outputs,
    and the slices really are smaller than the batch."""
    from crepetool.network import model as model_module

    model = Crepe(3, layout)
    model.load_state_dict(random_state_dict(3, seed=5))
    model.eval()
    frames = torch.randn(150, 1024, generator=torch.Generator().manual_seed(2))
    sizes: list[int] = []
    features = model._features
    monkeypatch.setattr(model, "_features", lambda x: sizes.append(x.size(0)) or features(x))
    with torch.no_grad():
        whole = model(frames[:64])  # at most 64 frames: one slice
        assert sizes == [64]
        monkeypatch.setattr(model_module, "INFERENCE_BYTES", 1)  # the 64-frame floor
        sliced = model(frames)
    padded = -(-150 // model_module.BATCH_MULTIPLE) * model_module.BATCH_MULTIPLE  # whole blocks
    assert sizes[1:] == [64, 64, padded - 128]
    assert torch.allclose(sliced[:64], whole, atol=1e-6)
    expected = reference_forward(random_state_dict(3, seed=5), frames)
    assert torch.allclose(sliced, expected, atol=1e-5)
    model(frames).sum().backward()  # with gradients: one batch, so training sees the whole batch
    assert sizes[-1] == 150


@pytest.mark.parametrize(
    ("name", "conv"),
    [
        pytest.param("tiny", "direct", marks=pytest.mark.slow),
        ("tiny", "transform"),
        pytest.param("regular", "transform", marks=pytest.mark.slow),
    ],
)
def test_a_frames_output_does_not_depend_on_its_batch(name: str, conv: str) -> None:
    """Bit for bit: without whole blocks of 8, 6 of these 12 slices of tiny differed by ~1e-7
    from the same frames in one batch, and the Ray engine's files from the local engine's; with
    blocks of 8, MKL's 8-column bmm did on an AVX2 EPYC (hence blocks of 16)."""
    from crepetool.network.loading import load_model

    model = load_model("tiny" if name == "tiny" else random_state_dict(12), conv=conv)
    frames = torch.randn(520, 1024, generator=torch.Generator().manual_seed(3))
    generator = torch.Generator().manual_seed(4)
    with torch.no_grad():
        whole = model(frames)
        slices = [(3, 5)]  # one block's worth or less: the shortest matrix products
        for _ in range(12):
            start = int(torch.randint(0, 400, (1,), generator=generator))
            slices.append((start, int(torch.randint(1, 520 - start, (1,), generator=generator))))
        for start, count in slices:
            assert torch.equal(model(frames[start : start + count]), whole[start : start + count]), (
                start,
                count,
            )
