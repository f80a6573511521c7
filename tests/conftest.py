"""Shared fixtures: bundled weights, the torchcrepe reference data, a CLI runner."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from crepetool import weights as weights_io
from crepetool.presets import LAYER_NAMES

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "torchcrepe"


@pytest.fixture(scope="session")
def full_weights() -> weights_io.Weights:
    return weights_io.load("full")


@pytest.fixture(scope="session")
def tiny_weights() -> weights_io.Weights:
    return weights_io.load("tiny")


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    if not (REFERENCE / "frames-crepe.npy").is_file():
        pytest.skip(f"torchcrepe reference data not found at {REFERENCE} (../shared is absent)")
    return REFERENCE


@pytest.fixture()
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    """Run ``crepetool ARGS`` in-process; returns (exit status, stdout, stderr)."""
    from crepetool.cli import main

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def random_state_dict(capacity: int, seed: int = 0) -> dict[str, torch.Tensor]:
    """A valid state dict of any capacity with random weights, including negative BN scales."""
    from crepetool.model import Crepe

    generator = torch.Generator().manual_seed(seed)
    model = Crepe(capacity)
    state = {}
    for key, value in model.state_dict().items():
        if key.endswith("num_batches_tracked"):
            state[key] = value.clone()
        elif key.endswith("running_var"):
            state[key] = torch.rand(value.shape, generator=generator) + 0.5
        elif key.endswith("weight") and value.dim() == 4:
            fan_in = value[0].numel()
            state[key] = torch.randn(value.shape, generator=generator) / fan_in**0.5
        else:
            state[key] = torch.randn(value.shape, generator=generator) * 0.5
    return state


def write_keras_file(path: Path, state: dict[str, torch.Tensor], wrap: bool = False, drop: str = "") -> Path:
    """Write ``state`` the way Keras saves CREPE: layer groups holding one numbered sub-group."""
    import h5py

    with h5py.File(path, "w") as file:
        root = file.create_group("model_weights") if wrap else file
        groups = {}
        for name in LAYER_NAMES:
            conv = state[f"{name}.weight"][..., 0].permute(2, 1, 0).numpy()  # (out,in,k) -> (k,in,out)
            groups[name] = {"kernel:0": conv, "bias:0": state[f"{name}.bias"].numpy()}
            bn = f"{name}_BN"
            groups[f"{name}-BN"] = {
                "gamma:0": state[f"{bn}.weight"].numpy(),
                "beta:0": state[f"{bn}.bias"].numpy(),
                "moving_mean:0": state[f"{bn}.running_mean"].numpy(),
                "moving_variance:0": state[f"{bn}.running_var"].numpy(),
            }
        groups["classifier"] = {
            "kernel:0": state["classifier.weight"].t().numpy(),
            "bias:0": state["classifier.bias"].numpy(),
        }
        for layer, datasets in groups.items():
            if layer == drop:
                continue
            inner = root.create_group(layer).create_group(f"{layer}_7")
            for key, value in datasets.items():
                inner.create_dataset(key, data=value)
    return path
