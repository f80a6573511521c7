"""The evaluation package: metrics (against mir_eval), signals, verify and evaluate."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from crepetool.evaluation import metrics, signals
from crepetool.evaluation.evaluate import evaluate
from crepetool.evaluation.verify import verify
from crepetool.network.weights import save
from crepetool.training.pruning import prune


def test_metrics_on_hand_made_cases() -> None:
    truth = np.array([100.0, 200.0, 400.0, 0.0])
    up_49 = 2 ** (49 / 1200)
    up_51 = 2 ** (51 / 1200)
    estimate = np.array([100.0 * up_49, 200.0 * up_51, 800.0, 300.0])  # 49 c, 51 c, one octave, unvoiced
    result = metrics.pitch_metrics(estimate, truth, periodicity=np.array([0.9, 0.9, 0.2, 0.8]))
    assert result["voiced_frames"] == 3
    assert result["raw_pitch_accuracy"] == pytest.approx(1 / 3)
    assert result["raw_chroma_accuracy"] == pytest.approx(2 / 3)  # the octave error is forgiven
    assert result["median_cents"] == pytest.approx(51.0)
    assert result["mean_cents"] == pytest.approx((49 + 51 + 1200) / 3)
    assert result["voicing_recall"] == pytest.approx(2 / 3)
    assert result["voicing_false_alarm"] == pytest.approx(1.0)


def _mir_eval_scores(estimate, reference, periodicity) -> dict[str, float]:
    """mir_eval's own pipeline, fed the usual way: estimate signed by voicing, times in seconds."""
    import mir_eval

    times = np.arange(reference.size) * 0.01
    signed = np.where(periodicity > 0.5, estimate, -estimate)
    scores = mir_eval.melody.evaluate(times, reference, times, signed)
    return {
        "raw_pitch_accuracy": scores["Raw Pitch Accuracy"],
        "raw_chroma_accuracy": scores["Raw Chroma Accuracy"],
        "voicing_recall": scores["Voicing Recall"],
        "voicing_false_alarm": scores["Voicing False Alarm"],
    }


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(2, 300))
def test_metrics_agree_with_mir_eval_on_random_tracks(seed: int, frames: int) -> None:
    rng = np.random.default_rng(seed)
    reference = np.where(rng.random(frames) < 0.7, rng.uniform(40, 2000, frames), 0.0)
    reference[0] = 100.0  # at least one voiced frame
    # estimates near the reference (some within 50 cents, some octave errors, some far off)
    cents = rng.choice([0.0, 1200.0, -1200.0, 700.0], frames) + rng.normal(0, 40, frames)
    estimate = np.where(reference > 0, reference, rng.uniform(40, 2000, frames)) * 2 ** (cents / 1200)
    periodicity = rng.random(frames)
    ours = metrics.pitch_metrics(estimate, reference, periodicity)
    for key, value in _mir_eval_scores(estimate, reference, periodicity).items():
        assert ours[key] == pytest.approx(value, abs=1e-12), key


def test_ground_truth_is_resampled_to_frame_times() -> None:
    times = np.array([0.0, 0.02, 0.04, 0.06, 0.08])
    f0 = np.array([100.0, 200.0, 0.0, 300.0, 300.0])
    frame_times = np.array([-0.01, 0.0, 0.01, 0.03, 0.05, 0.07, 0.2])
    truth = metrics.resample_truth(times, f0, frame_times)
    # before the start and after the end: unvoiced; 0.01 s: halfway 100 -> 200 Hz;
    # next to an unvoiced sample: unvoiced; inside the last voiced stretch: 300 Hz
    assert truth[[0, 6]].tolist() == [0.0, 0.0]
    assert truth[1] == pytest.approx(100.0) and truth[2] == pytest.approx(150.0)
    assert truth[4] == 0.0 and truth[5] == pytest.approx(300.0)


def test_signals_are_deterministic_and_truthful() -> None:
    first, second = signals.verify_set(seed=3), signals.verify_set(seed=3)
    assert all(np.array_equal(a.audio, b.audio) for a, b in zip(first, second))
    tone = signals.harmonic(200.0, 400.0, seconds=1.0)
    assert (
        tone.f0.shape == (101,)
        and tone.f0[0] == pytest.approx(200.0)
        and tone.f0[-1] == pytest.approx(400.0, rel=0.01)
    )
    gap = signals.harmonic(300.0, unvoiced=(0.3, 0.6))
    assert (gap.f0[35:55] == 0).all() and (gap.f0[:20] > 0).all()
    spectrum = np.abs(np.fft.rfft(signals.harmonic(250.0, timbre="missing-fundamental").audio))
    assert spectrum[250] < 0.01 * spectrum[500]  # 1 s at 16 kHz: bin k is k Hz


def test_write_signals(cli, tmp_path: Path) -> None:
    code, _, err = cli("signals", tmp_path)
    assert code == 0, err
    wav = sorted(tmp_path.glob("*.wav"))
    assert len(wav) == len(signals.verify_set()) == 16
    audio, rate = soundfile.read(wav[0])
    truth = np.loadtxt(wav[0].with_name(wav[0].stem + ".f0.csv"), delimiter=",", skiprows=1)
    assert rate == 16000 and truth.shape == (1 + audio.size // 160, 2)


@pytest.mark.slow
def test_agreement_with_full_is_info_unless_required(cli, tmp_path: Path) -> None:
    path = save(prune("tiny", 2), tmp_path / "two.pth")
    code, out, _ = cli("verify", path, "--json", "--min-accuracy", "0")
    row = next(c for c in json.loads(out)["checks"] if c["name"] == "agreement with full")
    assert row["status"] == "info" and row["passed"] and row["detail"] == "reported only"
    assert code == 0
    code, table, _ = cli("verify", path, "--min-accuracy", "0")
    assert "INFO" in table and "PASS" in table and code == 0


@pytest.mark.slow
def test_verify_passes_tiny_and_full() -> None:
    for name in ("tiny", "full"):
        report = verify(name)
        assert report.passed, report.as_dict()
        names = [c.name for c in report.checks]
        assert names[:5] == ["structure", "pitch", "embedding", "torchcrepe integration", "accuracy"]
    embedding = next(c for c in report.checks if c.name == "embedding")
    assert "[1, 101, 32, 64]" in embedding.value


def test_verify_fails_unrecovered_pruning_with_the_figure(cli, tmp_path: Path) -> None:
    path = save(prune("tiny", 2), tmp_path / "two.pth")
    code, out, err = cli("verify", path, "--json", "--min-agreement", "0.5")
    assert code == 1 and "accuracy" in err and "agreement with full" in err
    report = json.loads(out)
    agreement = next(c for c in report["checks"] if c["name"] == "agreement with full")
    assert agreement["status"] == "fail" and not agreement["passed"]
    accuracy = next(c for c in report["checks"] if c["name"] == "accuracy")
    assert not accuracy["passed"] and accuracy["value"].endswith("within 50 cents")
    assert float(accuracy["value"].split("%")[0]) < 50
    assert next(c for c in report["checks"] if c["name"] == "embedding")["value"] == "shape [1, 101, 32, 4]"


@pytest.mark.slow
def test_verify_nan_weights_fail_a_check_not_the_load(cli, tmp_path: Path, tiny_weights) -> None:
    state = dict(tiny_weights.state_dict)
    state["conv3.bias"] = torch.full_like(state["conv3.bias"], float("nan"))
    path = tmp_path / "nan.pth"
    torch.save(state, path)
    code, out, _ = cli("verify", path, "--json", "--min-accuracy", "0.5")
    assert code == 1
    structure = json.loads(out)["checks"][0]
    assert (
        structure["name"] == "structure" and not structure["passed"] and "conv3.bias" in structure["detail"]
    )


@pytest.mark.slow
def test_evaluate_table_and_json_agree(cli, tmp_path: Path) -> None:
    pruned = save(prune("tiny", 2), tmp_path / "two.pth")
    code, out, _ = cli("evaluate", "tiny", pruned, "--json")
    assert code == 0
    rows = json.loads(out)["models"]
    assert [r["capacity"] for r in rows] == [4, 2]
    assert rows[0]["raw_pitch_accuracy"] > 0.9 > rows[1]["raw_pitch_accuracy"]
    code, table, _ = cli("evaluate", "tiny", pruned)
    assert code == 0 and f"{rows[0]['raw_pitch_accuracy']:.1%}" in table


def test_evaluate_on_user_audio(tmp_path: Path) -> None:
    signals.write(signals.verify_set()[:2], tmp_path / "truth")
    (tmp_path / "plain").mkdir()
    for wav in (tmp_path / "truth").glob("*.wav"):
        (tmp_path / "plain" / wav.name).write_bytes(wav.read_bytes())
    with_truth = evaluate(["tiny"], audio_dir=tmp_path / "truth")["models"][0]
    assert with_truth["raw_pitch_accuracy"] > 0.9
    against_reference = evaluate(["tiny"], audio_dir=tmp_path / "plain", reference="tiny")["models"][0]
    assert against_reference["agreement_with_reference"] == 1.0


def test_registration_restores_torchcrepes_own_model(tiny_weights) -> None:
    from crepetool.compat import import_torchcrepe, registered_with_torchcrepe
    from crepetool.network.loading import from_state_dict

    torchcrepe = import_torchcrepe()
    theirs = torchcrepe.Crepe("tiny")
    torchcrepe.infer.model, torchcrepe.infer.capacity = theirs, "tiny"
    ours = from_state_dict(tiny_weights.state_dict)
    with registered_with_torchcrepe(ours, "mine") as name:
        assert name == "mine" and torchcrepe.infer.model is ours
    assert torchcrepe.infer.model is theirs and torchcrepe.infer.capacity == "tiny"
    del torchcrepe.infer.model, torchcrepe.infer.capacity
    with registered_with_torchcrepe(ours):
        pass
    assert not hasattr(torchcrepe.infer, "model") and not hasattr(torchcrepe.infer, "capacity")


@pytest.mark.slow
def test_verify_fails_a_model_that_lost_the_top_of_the_range(tmp_path: Path, tiny_weights) -> None:
    """tiny passes; tiny with every bin above 1.4 kHz silenced (as a model trained on a narrow
    range behaves) fails: verify's signals reach 1.9 kHz."""
    from crepetool.prediction.decode import bin_range

    assert max(float(s.f0.max()) for s in signals.verify_set()) > 1800
    assert sum(float(s.f0.max()) > 1400 for s in signals.verify_set()) >= 2
    assert min(float(s.f0[s.f0 > 0].min()) for s in signals.verify_set()) < 60
    state = dict(tiny_weights.state_dict)
    bias = state["classifier.bias"].clone()
    bias[bin_range(1400.0, 2006.0)[0] :] = -40.0  # sigmoid ~ 0 above 1.4 kHz
    state["classifier.bias"] = bias
    report = verify(save(state, tmp_path / "narrow.pth"), min_agreement=None)
    accuracy = next(c for c in report.checks if c.name == "accuracy")
    assert accuracy.status == "fail", accuracy
    assert float(accuracy.value.split("%")[0]) < 90
