"""The frequency-domain convolution against the direct one: per layer, with gradients, in the model."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from crepetool.names import CONV_ENV
from crepetool.network import spectral
from crepetool.network.model import LAYER_NAMES, Crepe, _plan, _taps
from crepetool.network.presets import channels
from helpers import random_state_dict


def _direct(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, plan: spectral.Plan) -> torch.Tensor:
    """The obvious correlation, batch-major: [(b, C, L)] -> [(b, C', L)]."""
    return F.conv1d(F.pad(x, (plan.before, plan.taps - 1 - plan.before)), weight, bias)


@pytest.mark.parametrize("capacity", [1, 4, 12, pytest.param(32, marks=pytest.mark.slow)])
def test_every_layer_equals_the_direct_convolution(capacity: int) -> None:
    """conv2..conv6 at their real geometry (reachable taps, torchcrepe's padding), against
    conv1d in float64: the error is float32 rounding, as the direct path's own."""
    generator = torch.Generator().manual_seed(capacity)
    widths = channels(capacity)
    for index in range(1, 6):
        steps = 256 >> index
        plan = _plan(index, steps)
        taps = _taps(index, steps, whole_in_export=False)[0]
        c_in, c_out = widths[index - 1], widths[index]
        weight = torch.randn(c_out, c_in, 64, generator=generator)[:, :, taps] / (64 * c_in) ** 0.5
        bias = torch.randn(c_out, generator=generator)
        x = torch.randn(8, c_in, steps, generator=generator)
        expected = _direct(x.double(), weight.double(), bias.double(), plan)
        blocks = spectral.exact_spectrum(weight, plan)
        got = spectral.correlate(x.permute(2, 1, 0).contiguous(), blocks, plan, bias).permute(2, 1, 0)
        assert got.shape == expected.shape == (8, c_out, steps)
        error = float((got.double() - expected).abs().max() / expected.abs().max())
        assert error < 2e-6, (LAYER_NAMES[index], error)


@pytest.mark.parametrize("plan", [spectral.Plan(7, 5, 2), spectral.Plan(6, 4, 0), spectral.Plan(5, 9, 8)])
def test_gradients_are_the_direct_convolutions(plan: spectral.Plan) -> None:
    """Input, kernel and bias gradients through the three matrix products, in float64: against
    conv1d's, and as finite differences (gradcheck), padding on either side."""
    generator = torch.Generator().manual_seed(plan.taps)
    x = torch.randn(3, 2, plan.length, dtype=torch.float64, generator=generator, requires_grad=True)
    weight = torch.randn(4, 2, plan.taps, dtype=torch.float64, generator=generator, requires_grad=True)
    bias = torch.randn(4, dtype=torch.float64, generator=generator, requires_grad=True)

    def transformed(x, weight, bias):
        return spectral.correlate(x.permute(2, 1, 0), spectral.spectrum(weight, plan), plan, bias).permute(
            2, 1, 0
        )

    assert torch.autograd.gradcheck(transformed, (x, weight, bias))
    probe = torch.randn(3, 4, plan.length, dtype=torch.float64, generator=generator)
    ours = torch.autograd.grad((transformed(x, weight, bias) * probe).sum(), (x, weight, bias))
    theirs = torch.autograd.grad((_direct(x, weight, bias, plan) * probe).sum(), (x, weight, bias))
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=1e-10)


@pytest.mark.parametrize("capacity", [3, 12])
@pytest.mark.parametrize(
    ("train", "dtype", "tolerance"),
    [pytest.param(True, torch.float64, 1e-10, marks=pytest.mark.slow), (False, torch.float32, 1e-5)],
)
def test_a_training_step_has_the_direct_paths_gradients(
    capacity: int, train: bool, dtype: torch.dtype, tolerance: float
) -> None:
    """Every parameter's gradient alike in both modes: with batch statistics (train), in float64,
    since 16 frames' statistics amplify float32 rounding (at K=12 the direct path's own conv1
    gradient is 5e-3 off float64's there, the transformed 4e-2); and with frozen statistics, as
    distillation trains the student, in float32."""
    state = random_state_dict(capacity, seed=7)  # negative batch-norm scales included
    frames = torch.randn(16, 1024, generator=torch.Generator().manual_seed(2), dtype=dtype)
    grads = {}
    for conv in ("direct", "transform"):
        # (torch's float64 channels-last convolution has no backward: ncl there)
        model = Crepe(capacity, "ncl" if dtype == torch.float64 else "cl", conv).to(dtype)
        model.load_state_dict(state)
        model.train(train)
        model(frames).pow(2).mean().backward()
        grads[conv] = {name: p.grad for name, p in model.named_parameters()}
    for name, expected in grads["direct"].items():
        scale = float(expected.abs().max())
        assert torch.allclose(grads["transform"][name], expected, atol=tolerance * scale + 1e-12), name


@pytest.mark.parametrize("layout", ["cl", "ncl"])
def test_transformed_and_direct_models_agree(layout: str) -> None:
    state = random_state_dict(5, seed=3)
    frames = torch.randn(24, 1024, generator=torch.Generator().manual_seed(5))
    outputs = {}
    for conv in ("direct", "transform"):
        model = Crepe(5, layout, conv)
        model.load_state_dict(state)
        with torch.no_grad():
            outputs[conv] = (model.eval()(frames), model.embed(frames))
    torch.testing.assert_close(outputs["transform"][0], outputs["direct"][0], atol=1e-5, rtol=0)
    torch.testing.assert_close(outputs["transform"][1], outputs["direct"][1], atol=1e-4, rtol=1e-4)


def test_kept_spectra_follow_the_weights() -> None:
    """Inference keeps each kernel's spectrum; loading other weights (or a training step) must
    not leave the old one in use."""
    frames = torch.randn(8, 1024, generator=torch.Generator().manual_seed(0))
    model = Crepe(3, conv="transform").eval()
    model.load_state_dict(random_state_dict(3, seed=1))
    with torch.no_grad():
        first = model(frames)
        assert len(model._spectra) == 5
        model.load_state_dict(random_state_dict(3, seed=2))
        second = model(frames)
    fresh = Crepe(3, conv="transform").eval()
    fresh.load_state_dict(random_state_dict(3, seed=2))
    with torch.no_grad():
        assert torch.equal(second, fresh(frames))
    assert not torch.allclose(first, second)


def test_the_chooser() -> None:
    """The rule: transform on the CPU in fp32 where it saves multiply-adds; direct where it
    would not, on CUDA and at half precision; a model's conv forces either."""
    cpu, fp32 = torch.device("cpu"), torch.float32
    conv2 = _plan(1, 128)
    assert spectral.choose(conv2, 384, 48, cpu, fp32) == "transform"
    assert spectral.choose(conv2, 384, 48, torch.device("cuda"), fp32) == "direct"
    assert spectral.choose(conv2, 384, 48, cpu, torch.bfloat16) == "direct"
    short = spectral.Plan(8, 2, 0)  # two taps: the direct path does fewer multiply-adds
    direct, transformed = spectral.multiply_adds(short, 64, 64)
    assert direct < transformed
    assert spectral.choose(short, 64, 64, cpu, fp32) == "direct"
    assert Crepe(12).conv_plan() == ("transform",) * 5  # every layer of a CPU model
    assert Crepe(12, conv="direct").conv_plan() == ("direct",) * 5
    half = Crepe(12)
    half.conv6.to(torch.bfloat16)
    assert half.conv_plan() == ("transform",) * 4 + ("direct",)


def test_conv_mode_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CONV_ENV, "direct")
    assert Crepe(2).conv_plan() == ("direct",) * 5
    monkeypatch.setenv(CONV_ENV, "transform")
    assert Crepe(2).conv == "transform"
    with pytest.raises(ValueError, match="conv mode 'fft'"):
        Crepe(2, conv="fft")
