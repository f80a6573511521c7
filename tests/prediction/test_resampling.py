"""The block resampler equals one whole-recording call, in serial and parallel loops."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from crepetool.prediction import resampling
from crepetool.prediction.resampling import BlockResampler, resample
from helpers import chunks, voice


@pytest.mark.parametrize("method", ["resampy", "soxr"])
@pytest.mark.parametrize(
    ("rate", "seconds"), [(44100, 3.37), (48000, 1.01), (22050, 0.3), (8000, 2.0), (16000, 1.3)]
)
def test_block_resampling_equals_whole_file(method: str, rate: int, seconds: float) -> None:
    signal = voice(seconds, rate)
    whole = resample(signal, rate, method)
    for sizes in ([rate // 3], [977, 13, 4410], [signal.size + 5]):  # uneven blocks, one past the end
        resampler = BlockResampler(rate, signal.size, method)
        pieces = [resampler.push(chunk) for chunk in chunks(signal, sizes)] + [resampler.finish()]
        streamed = np.concatenate(pieces)
        assert streamed.size == whole.size, (sizes, streamed.size, whole.size)
        assert np.abs(streamed - whole).max() <= 1e-6, sizes


@pytest.mark.slow
def test_long_recordings_resample_in_parallel_to_the_same_samples(monkeypatch: pytest.MonkeyPatch) -> None:
    """resampy's parallel loop for long recordings (here: 1 s and more), whole and block by
    block, gives the samples its serial loop gives; a short recording stays serial."""
    import resampy

    serial_resample, calls = resampy.resample, []

    def recorded(*args, **kwargs):
        calls.append(kwargs.get("parallel", False))
        return serial_resample(*args, **kwargs)

    monkeypatch.setattr(resampy, "resample", recorded)
    monkeypatch.setattr(resampling, "PARALLEL_SECONDS", 1.0)
    monkeypatch.setattr(torch, "get_num_threads", lambda: 2)  # a 1-core runner still takes the path
    signal = voice(3.37, 44100)
    serial = serial_resample(signal, 44100, 16000)
    assert np.array_equal(resample(signal, 44100), serial)
    resampler = BlockResampler(44100, signal.size)  # blocks of 1/3 s, of a 3.37 s recording
    pieces = [resampler.push(chunk) for chunk in chunks(signal, [44100 // 3])] + [resampler.finish()]
    assert np.abs(np.concatenate(pieces) - serial).max() <= 1e-6
    assert len(calls) > 2 and all(calls)
    calls.clear()
    resample(signal[:22050], 44100)
    assert calls == [False]


def test_a_recording_pushed_whole_is_one_call_bit_for_bit() -> None:
    """What torchcrepe.resample gives (resampy's default filter on the whole recording)."""
    import resampy

    signal = voice(2.3, 44100)
    assert np.array_equal(resample(signal, 44100), resampy.resample(signal, 44100, 16000))
    resampler = BlockResampler(44100, signal.size)
    assert np.array_equal(
        np.concatenate([resampler.push(signal), resampler.finish()]), resample(signal, 44100)
    )
    assert resampler.finish().size == 0  # and nothing more after the end
