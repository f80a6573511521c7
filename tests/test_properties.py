"""Property-based tests: arbitrary bytes and arbitrary shapes never make the loaders raise
anything but crepetool's one-line errors, and never hang (each example has a deadline)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crepetool.errors import UserInputError
from crepetool.network import weights as weights_io
from crepetool.prediction import audio as audio_io
from helpers import random_state_dict

SETTINGS = settings(
    max_examples=40, deadline=3000, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
_VALID = {}


def _valid_bytes(kind: str) -> bytes:
    """A small valid file of each kind, to mutate."""
    if kind not in _VALID:
        buffer = io.BytesIO()
        if kind == "wav":
            soundfile.write(buffer, np.linspace(-0.5, 0.5, 2000, dtype=np.float32), 16000, format="WAV")
        elif kind == "pth":
            torch.save(random_state_dict(1), buffer)
        else:
            from safetensors.torch import save

            buffer.write(save({k: v.contiguous() for k, v in random_state_dict(1).items()}))
        _VALID[kind] = buffer.getvalue()
    return _VALID[kind]


@st.composite
def mutated(draw: st.DrawFn, kind: str) -> bytes:
    """Valid bytes cut short, with random bytes overwritten, or pure noise."""
    data = bytearray(_valid_bytes(kind))
    how = draw(st.sampled_from(["noise", "truncate", "flip"]))
    if how == "noise":
        return draw(st.binary(max_size=4096))
    if how == "truncate":
        return bytes(data[: draw(st.integers(0, len(data) - 1))])
    for _ in range(draw(st.integers(1, 16))):
        at = draw(st.integers(0, min(len(data) - 1, 600)))  # the headers live near the start
        data[at] = draw(st.integers(0, 255))
    return bytes(data)


def _only_clean_errors(load, path: Path) -> None:
    try:
        load(path)
    except UserInputError as exc:
        text = str(exc)
        assert "\n" not in text and str(path) in text, text


@pytest.mark.parametrize(
    ("kind", "name", "loader"),
    [
        ("pth", "w.pth", weights_io.load),
        ("safetensors", "w.safetensors", weights_io.load),
        ("wav", "a.wav", audio_io.load),
    ],
)
@SETTINGS
@given(data=st.data())
def test_loaders_on_arbitrary_bytes(
    tmp_path: Path, kind: str, name: str, loader, data: st.DataObject
) -> None:
    path = tmp_path / name
    path.write_bytes(data.draw(mutated(kind)))
    _only_clean_errors(loader, path)


shapes = st.lists(st.integers(0, 70), min_size=0, max_size=4).map(tuple)


@SETTINGS
@given(
    key=st.sampled_from(sorted(weights_io.expected_shapes(1))),
    shape=shapes,
    fmt=st.sampled_from(["pth", "safetensors"]),
)
def test_state_dicts_of_arbitrary_shapes(tmp_path: Path, key: str, shape: tuple, fmt: str) -> None:
    state = random_state_dict(1)
    state[key] = torch.zeros(shape, dtype=state[key].dtype)
    path = tmp_path / f"w.{fmt}"
    if fmt == "pth":
        torch.save(state, path)
    else:
        from safetensors.torch import save_file

        save_file(state, str(path))
    try:
        loaded = weights_io.load(path)
    except UserInputError as exc:
        assert "\n" not in str(exc) and str(path) in str(exc)
    else:  # accepted only when the shape was the right one
        assert tuple(loaded.state_dict[key].shape) == weights_io.expected_shapes(1)[key]


@SETTINGS
@given(
    frames=st.integers(0, 3000),
    channels=st.integers(1, 8),
    rate=st.sampled_from([8000, 16000, 22050, 44100]),
    subtype=st.sampled_from(["PCM_16", "PCM_U8", "FLOAT"]),
)
def test_audio_of_arbitrary_shapes(
    tmp_path: Path, frames: int, channels: int, rate: int, subtype: str
) -> None:
    audio = np.random.default_rng(frames).uniform(-1, 1, (frames, channels)).astype(np.float32)
    path = tmp_path / "a.wav"
    soundfile.write(str(path), audio, rate, subtype=subtype)
    try:
        samples, loaded_rate = audio_io.load(path)
    except UserInputError as exc:
        assert frames == 0 and "holds no samples" in str(exc)
    else:
        assert samples.shape == (frames,) and loaded_rate == rate and np.isfinite(samples).all()
