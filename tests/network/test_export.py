"""export: the ONNX model gives the PyTorch model's probabilities, at any capacity and batch."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from crepetool.network.loading import load_model
from crepetool.network.weights import save
from crepetool.training.pruning import prune
from helpers import REFERENCE

ort = pytest.importorskip(
    "onnxruntime", reason="onnxruntime is installed by scripts/test.sh (crepetool[onnx])"
)
onnx = pytest.importorskip("onnx", reason="onnx is installed by scripts/test.sh (crepetool[onnx])")


def _frames(count: int = 64) -> np.ndarray:
    """The reference frames (CREPE's own, from ../shared) or, without them, normalised noise."""
    if (REFERENCE / "frames-crepe.npy").is_file():
        return np.load(REFERENCE / "frames-crepe.npy")[:count].astype(np.float32)
    frames = np.random.default_rng(0).normal(size=(count, 1024)).astype(np.float32)
    return (frames - frames.mean(1, keepdims=True)) / frames.std(1, keepdims=True)


@pytest.mark.parametrize(
    ("source", "conv"),
    [("tiny", None), ("pruned-3", "direct"), *(pytest.param(*case, marks=pytest.mark.slow) for case in [("tiny", "direct"), ("pruned-3", None)])],
)
def test_round_trip_through_onnxruntime(cli, tmp_path: Path, source: str, conv: str | None) -> None:
    """Both graphs (the default, transformed, and --conv direct) give the model's outputs."""
    weights = source if source == "tiny" else save(prune("tiny", 3), tmp_path / "three.pth")
    out = tmp_path / "model.onnx"
    code, _, err = cli("export", weights, out, *(() if conv is None else ("--conv", conv)))
    assert code == 0, err
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    frames = _frames()
    expected = load_model(weights)(torch.from_numpy(frames)).detach().numpy()
    for batch in (1, 7, 64):  # the batch is dynamic
        got = session.run(["probabilities"], {"frames": frames[:batch]})[0]
        assert got.shape == (batch, 360)
        assert np.abs(got - expected[:batch]).max() <= 1e-5  # (the budget: 1e-4)
    props = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    assert props["capacity"] == ("4" if source == "tiny" else "3")
    assert json.loads(props["crepetool"])["capacity"] == int(props["capacity"])
    graph = onnx.load(str(out))
    assert graph.opset_import[0].version >= 17
    convolutions = sum(node.op_type == "Conv" for node in graph.graph.node)
    assert convolutions == (6 if conv == "direct" else 1)  # transformed, conv1 alone stays a Conv
