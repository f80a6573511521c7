"""One pipeline: the command, :func:`crepetool.prediction.predict` on a file and on samples in
memory give identical arrays, and the block size changes nothing beyond float rounding."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from crepetool import prediction
from crepetool.network import context
from crepetool.network.loading import load_model
from crepetool.prediction import decode, pipeline
from crepetool.prediction.context import ContextFilter
from crepetool.prediction.options import PredictOptions
from crepetool.prediction.resampling import resample, resampled_length
from helpers import voice, write_wav


@pytest.mark.parametrize(
    ("rate", "seconds", "block"),
    [(16000, 0.4, 0.1), (44100, 3.3, 1.0), (22050, 2.05, 0.5), (48000, 1.7, 0.77)],
)
@pytest.mark.parametrize("decoder", ["viterbi", "weighted-argmax"])
def test_the_block_size_changes_nothing(
    tmp_path: Path, rate: int, seconds: float, block: float, decoder: str
) -> None:
    """Blocks shorter than the recording against the recording read in one block."""
    path = write_wav(tmp_path / "voice.wav", voice(seconds, rate, seed=3), rate)
    model = load_model("tiny")
    options = PredictOptions(decoder=decoder, batch_size=37)
    whole = pipeline.track(path, model, options, keep_probabilities=True)
    stretches: list[pipeline.Decided] = []
    info = pipeline.predict_frames(path, model, options, stretches.append, block_seconds=block)
    streamed = pipeline.join(info, stretches)
    assert (
        info.frames
        == whole.pitch.numel()
        == streamed.pitch.numel()
        == 1 + resampled_length(int(seconds * rate), rate) // 160
    )
    cents = 1200 * torch.log2(streamed.pitch.double() / whole.pitch.double())
    assert cents.abs().max() <= 0.01
    assert (streamed.periodicity - whole.periodicity).abs().max() <= 1e-6
    assert streamed.probabilities.shape == (info.frames, 360)


@pytest.mark.parametrize(
    "options",
    [
        {},
        pytest.param({"decoder": "weighted-argmax", "fmax": 900.0}, marks=pytest.mark.slow),
        pytest.param({"median_filter": 3, "silence_db": -60.0}, marks=pytest.mark.slow),
    ],
)
def test_the_command_and_predict_give_identical_arrays(cli, tmp_path: Path, options: dict) -> None:
    """``crepetool predict FILE`` writes what predict(FILE) and predict(samples, rate) return,
    bit for bit: one pipeline, not two kept equal by tolerance."""
    samples = voice(12.5, 22050, seed=4)  # over one 10 s block
    path = write_wav(tmp_path / "take.wav", samples, 22050)
    flag = {"silence_db": "silence"}  # the option's name on the command line
    flags = [f"--{flag.get(k, k).replace('_', '-')}={v}" for k, v in options.items()]
    code, _, err = cli("predict", path, "-w", "tiny", "-f", "pt", *flags)
    assert code == 0, err
    written = torch.load(tmp_path / "take.f0.pt", weights_only=True)
    model = load_model("tiny")
    for result in (
        prediction.predict(path, weights=model, **options),
        prediction.predict(samples, 22050, model, **options),
    ):
        assert torch.equal(written["pitch"], result.pitch)
        assert torch.equal(written["periodicity"], result.periodicity)


def test_the_activation_file_holds_the_probabilities_behind_the_csv(cli, tmp_path: Path) -> None:
    path = write_wav(tmp_path / "take.wav", voice(1.3, 22050, seed=4), 22050)
    code, _, err = cli("predict", path, "-w", "tiny", "-f", "csv", "-f", "npy")
    assert code == 0, err
    activation = np.load(tmp_path / "take.activation.npy")
    rows = np.loadtxt(tmp_path / "take.f0.csv", delimiter=",", skiprows=1)
    assert activation.dtype == np.float32 and activation.shape == (rows.shape[0], 360)
    samples = resample(voice(1.3, 22050, seed=4), 22050)
    network = prediction.probabilities(load_model("tiny"), torch.from_numpy(samples.astype(np.float32)), 160)
    stage = ContextFilter(context.shipped())
    expected = torch.cat([stage.push(network), stage.finish()])
    assert np.abs(activation - expected.numpy()).max() <= 1e-5  # what was decoded: through the context stage
    code, _, err = cli("predict", path, "-w", "tiny", "-f", "npy", "--no-context", "--overwrite")
    assert code == 0 and np.abs(np.load(tmp_path / "take.activation.npy") - network.numpy()).max() <= 1e-5
    pitch, periodicity = decode.decode(torch.from_numpy(activation))  # decoding them gives the CSV
    assert np.abs(rows[:, 1] - pitch.numpy()).max() <= 0.0005 + 1e-9  # %.3f
    assert np.abs(rows[:, 2] - periodicity.numpy()).max() <= 5e-7 + 1e-9  # %.6f


def test_samples_in_memory_are_checked_as_a_file_is() -> None:
    from crepetool.errors import AudioError

    model = load_model("tiny")
    for bad, message in ((np.zeros(0), "empty"), (np.array([0.1, np.nan, 0.2]), "NaN")):
        with pytest.raises(AudioError, match=message):
            prediction.predict(bad, 16000, model)
