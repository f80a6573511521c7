"""Helpers the test files share (plain functions; fixtures live in conftest.py).

``tests`` is on pytest's ``pythonpath`` (pyproject.toml), so ``from helpers import ...``
works under ``pytest`` and ``python -m pytest`` alike.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile
import torch

from crepetool.network.presets import LAYER_NAMES

#: The repository's root.
ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT.parent / "shared" / "reference" / "torchcrepe"


def random_state_dict(capacity: int, seed: int = 0) -> dict[str, torch.Tensor]:
    """A valid state dict of any capacity with random weights, including negative BN scales."""
    from crepetool.network.model import Crepe

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


def voice(seconds: float, rate: int, seed: int = 0) -> np.ndarray:
    """A voice-like sawtooth gliding around 180 Hz with pauses, and a little noise: float32 [time]."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    f0 = 180 * 2 ** (np.sin(2 * np.pi * 0.7 * t) / 3)
    phase = 2 * np.pi * np.cumsum(f0) / rate
    tone = sum(np.sin(h * phase) / h for h in range(1, 12)) * (np.sin(2 * np.pi * 0.4 * t) > -0.6)
    return (0.3 * tone + 0.01 * rng.normal(size=t.size)).astype(np.float32)


def chunks(signal: np.ndarray, sizes: list[int]) -> list[np.ndarray]:
    """``signal`` cut into consecutive blocks of the given sizes, repeated."""
    out, at, i = [], 0, 0
    while at < signal.size:
        size = sizes[i % len(sizes)]
        out.append(signal[at : at + size])
        at, i = at + size, i + 1
    return out


def write_wav(path: Path, audio: np.ndarray, rate: int = 16000, subtype: str = "FLOAT") -> Path:
    soundfile.write(str(path), audio, rate, subtype=subtype)
    return path


def tone(seconds: float = 0.5, rate: int = 16000, f0: float = 220.0) -> np.ndarray:
    """Five harmonics of ``f0``: float32 [time]."""
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * sum(np.sin(2 * np.pi * f0 * h * t) / h for h in range(1, 6))).astype(np.float32)
