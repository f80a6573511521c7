"""--precision bf16: the half-precision copy agrees with fp32, and falls back with one warning
line on a CPU without bf16 matrix units."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

from crepetool.network import precision
from crepetool.network.loading import load_model
from helpers import REFERENCE, random_state_dict


def _frames() -> torch.Tensor:
    if (REFERENCE / "frames-crepe.npy").is_file():
        return torch.from_numpy(np.load(REFERENCE / "frames-crepe.npy")[:256].astype(np.float32))
    # pitched frames, as CREPE's reference frames are (on white noise the peak bin is a near-tie
    # that rounding flips: bf16 agreed with fp32 on 98.4% of them)
    t = torch.arange(1024) / 16000
    f0 = torch.logspace(np.log10(80), np.log10(1000), 256)[:, None]
    frames = sum(torch.sin(2 * np.pi * h * f0 * t + h) / h for h in range(1, 6))
    return (frames - frames.mean(1, keepdim=True)) / frames.std(1, keepdim=True)


@pytest.mark.parametrize("name", ["tiny", "random-3"])
def test_bf16_agrees_with_fp32(name: str) -> None:
    model = load_model("tiny" if name == "tiny" else random_state_dict(3, seed=2))
    frames = _frames()
    with torch.no_grad():
        expected = model(frames)
    fast = precision.with_precision(model, "bf16", force=True)  # the bf16 path, whatever this CPU has
    assert isinstance(fast, precision.HalfCrepe)
    # conv2..conv6 in bf16 in a channels-last copy; conv1, batch norm, classifier and the model given stay fp32
    dtypes = {name: p.dtype for name, p in fast.fast.named_parameters()}
    assert {dtypes[f"conv{i}.weight"] for i in range(2, 7)} == {torch.bfloat16}
    assert {d for n, d in dtypes.items() if n.startswith(("conv1.", "classifier")) or "_BN" in n} == {
        torch.float32
    }
    assert fast.fast.layout == "cl" and {p.dtype for p in model.parameters()} == {torch.float32}
    got = fast(frames)
    # bf16 keeps 8 bits of mantissa: probabilities within 0.05, the peak bin almost always the same
    assert (got - expected).abs().max() < 0.05
    if name == "tiny":
        agree = (got.argmax(1) == expected.argmax(1)).float().mean()
        assert agree >= 0.99, agree


def test_fallback_warns_once_and_runs_fp32(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(precision, "cpu_has_bf16", lambda: False)  # a CPU without bf16 units
    t = np.arange(8000) / 16000
    soundfile.write(str(tmp_path / "clip.wav"), (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), 16000)
    code, _, err = cli("predict", tmp_path / "clip.wav", "-w", "tiny", "--precision", "bf16")
    assert code == 0
    warnings = [line for line in err.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "no bf16 matrix units" in warnings[0] and "fp32" in warnings[0]
    assert (tmp_path / "clip.f0.csv").is_file()
    model = load_model("tiny")
    with pytest.warns(RuntimeWarning, match="running fp32"):
        assert precision.with_precision(model, "bf16") is model
    with pytest.warns(RuntimeWarning, match="fp16 runs on CUDA only; running fp32"):
        assert precision.with_precision(model, "fp16") is model


def test_conv1_stays_fp32_under_cpu_autocast() -> None:
    """On an AMX CPU oneDNN's bf16 convolution of conv1's four phases returned wrong values
    (relative error 1.06): under CPU autocast, conv1 runs fp32 (the rest follows autocast)."""
    model = load_model("tiny")
    frames = _frames()[:64]
    with torch.no_grad():
        expected, probabilities = model.conv1_output(frames), model(frames)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            got, autocast = model.conv1_output(frames), model(frames)
    assert got.dtype == torch.float32 and torch.equal(got, expected)
    assert (autocast.float() - probabilities).abs().max() < 0.05


@pytest.mark.slow
def test_evaluate_tracks_at_bf16(monkeypatch: pytest.MonkeyPatch) -> None:
    """evaluate --precision bf16: the bf16 path really runs, and scores as fp32 does."""
    from crepetool.evaluation.evaluate import evaluate

    monkeypatch.setattr(precision, "cpu_has_bf16", lambda: True)  # the bf16 path, emulated on this CPU
    built, real = [], precision.HalfCrepe
    monkeypatch.setattr(precision, "HalfCrepe", lambda m, d: built.append(m) or real(m, d))
    fp32, bf16 = (evaluate(["tiny"], precision=p)["models"][0] for p in ("fp32", "bf16"))
    assert len(built) == 1 and (fp32["precision"], bf16["precision"]) == ("fp32", "bf16")
    assert abs(bf16["raw_pitch_accuracy"] - fp32["raw_pitch_accuracy"]) <= 0.01
    assert abs(bf16["median_cents"] - fp32["median_cents"]) <= 1.0


@pytest.mark.slow
def test_verify_tracks_at_the_precision_asked(cli, monkeypatch: pytest.MonkeyPatch) -> None:
    """verify --precision: the accuracy check tracks with the bf16 model (its tracking is
    evaluate's, tested above: here the fp32 model inside runs, to keep the suite short)."""
    from crepetool.evaluation import signals

    monkeypatch.setattr(precision, "cpu_has_bf16", lambda: True)
    tracked, track = [], signals.track
    monkeypatch.setattr(
        signals, "track", lambda m, s, **kw: tracked.append(type(m)) or track(getattr(m, "model", m), s, **kw)
    )
    code, out, _ = cli("verify", "tiny", "--precision", "bf16", "--json")
    assert code == 0 and tracked[0] is precision.HalfCrepe  # then full's, for the agreement row
    accuracy = next(c for c in json.loads(out)["checks"] if c["name"] == "accuracy")
    assert accuracy["detail"].endswith("at bf16")
    monkeypatch.setattr(precision, "cpu_has_bf16", lambda: False)  # and the fallback, as predict's
    code, _, err = cli("verify", "tiny", "--precision", "bf16")
    assert code == 0 and sum("running fp32" in line for line in err.splitlines()) == 1
