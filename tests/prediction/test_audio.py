"""Readers: a file read whole is its blocks joined; samples in memory are checked as a file is."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile

from crepetool.errors import AudioError
from crepetool.prediction import audio
from helpers import voice, write_wav


@pytest.mark.parametrize("subtype", ["PCM_16", "FLOAT"])
def test_a_file_read_whole_is_its_blocks_joined(tmp_path: Path, subtype: str) -> None:
    stereo = np.stack([voice(1.1, 22050, seed=1), voice(1.1, 22050, seed=2)], axis=1)
    path = tmp_path / "take.wav"
    soundfile.write(str(path), stereo, 22050, subtype=subtype)
    samples, rate = audio.load(path)
    reader = audio.open_blocks(path)
    assert (rate, reader.sample_rate, reader.length) == (22050, 22050, stereo.shape[0])
    for size in (1000, 22050, 10**6):
        assert np.array_equal(np.concatenate(list(reader.blocks(size))), samples)
    direct, _ = soundfile.read(str(path), dtype="float32", always_2d=True)
    assert np.array_equal(samples, direct.mean(axis=1, dtype=np.float32))  # channels averaged


def test_samples_in_memory_read_as_a_file_reads() -> None:
    samples = voice(0.5, 16000)
    reader = audio.ArrayReader(samples[None], 16000)  # [1, time] as well as [time]
    assert reader.length == samples.size and reader.path is None
    assert np.array_equal(np.concatenate(list(reader.blocks(777))), samples)
    for bad, rate, message in (
        (samples[:0], 16000, "empty"),
        (samples, 0, "sample rate"),
        (samples * np.inf, 16000, "NaN"),
    ):
        with pytest.raises(AudioError, match=message):
            audio.ArrayReader(bad, rate)


def test_a_truncated_wav_and_a_folder_without_audio_are_refused(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "cut.wav", voice(0.5, 16000))
    path.write_bytes(path.read_bytes()[:-1000])
    with pytest.raises(AudioError, match=r"cut\.wav: WAV data chunk claims"):
        audio.open_blocks(path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(AudioError, match="no audio files"):
        audio.find(tmp_path / "empty")
