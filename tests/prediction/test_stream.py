"""The live stream: block by block it gives what predict gives on the whole recording, a latency
bound is kept, and ``crepetool stream`` turns standard input into CSV lines as frames are decided."""

from __future__ import annotations

import io
import struct
import subprocess
import sys

import numpy as np
import pytest
import soundfile
import torch

from crepetool.errors import AudioError, UserInputError
from crepetool.prediction import predict
from crepetool.prediction.pcm import PcmFormat, PcmReader
from crepetool.prediction.resampling import BlockResampler
from crepetool.prediction.stream import PitchStream, StreamFrames

RAW = PcmFormat(16000, 1, "<i2")


def _voice(rate: int, seconds: float = 2.3, seed: int = 0) -> np.ndarray:
    """A gliding tone with gaps and a little noise: voiced and unvoiced stretches."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    f0 = 200 * 2 ** (np.sin(2 * np.pi * 0.7 * t) * 4 / 12)
    voiced = np.sin(2 * np.pi * 1.1 * t) > -0.3
    tone = 0.3 * np.sin(2 * np.pi * np.cumsum(f0) / rate) * voiced
    return (tone + 0.01 * rng.standard_normal(t.size)).astype(np.float32)


def _run(stream: PitchStream, audio: np.ndarray, block: int) -> tuple[StreamFrames, list[int]]:
    """Every frame the stream gives, joined, and the input sample count at which each came out."""
    parts, seen = [], []
    for start in range(0, audio.size, block):
        part = stream.push(audio[start : start + block])
        parts.append(part)
        seen += [min(start + block, audio.size)] * len(part)
    last = stream.finish()
    parts.append(last)
    seen += [audio.size] * len(last)
    joined = StreamFrames(*(torch.cat([getattr(p, f) for p in parts]) for f in StreamFrames.__dataclass_fields__))
    return joined, seen


@pytest.mark.parametrize("block", [7, 160, 333, 4000])
def test_without_a_bound_the_stream_equals_predict(block: int) -> None:
    audio = _voice(16000)
    whole = predict(audio, 16000, "tiny")
    frames, _ = _run(PitchStream("tiny", 16000), audio, block)
    assert torch.equal(frames.index, torch.arange(whole.pitch.numel()))
    assert torch.equal(frames.pitch, whole.pitch[0])
    assert torch.equal(frames.periodicity, whole.periodicity[0])
    assert torch.allclose(frames.time, whole.time.double())


def test_voicing_options_in_the_stream_equal_predicts() -> None:
    audio = _voice(16000, seed=1)
    settings = {"median_filter": 5, "mean_filter": 3, "periodicity_threshold": 0.3}
    whole = predict(audio, 16000, "tiny", **settings)
    frames, _ = _run(PitchStream("tiny", 16000, **settings), audio, 320)
    assert torch.equal(frames.pitch, whole.pitch[0])
    assert torch.equal(frames.periodicity, whole.periodicity[0])
    assert torch.equal(frames.voiced, whole.voiced[0])
    assert 0 < int(frames.voiced.sum()) < frames.voiced.numel()  # both kinds of frame were there


def test_another_rate_is_resampled_as_predict_resamples_it() -> None:
    """resampy's pieces differ from one whole call in the last bit of a few samples, so the pitch
    agrees to float rounding, not bit for bit."""
    audio = _voice(44100)
    whole = predict(audio, 44100, "tiny")
    frames, _ = _run(PitchStream("tiny", 44100), audio, 882)
    assert frames.pitch.numel() == whole.pitch.numel()
    cents = 1200 * torch.log2(frames.pitch.double() / whole.pitch[0].double()).abs()
    assert float(cents.max()) < 1e-3
    assert torch.allclose(frames.periodicity, whole.periodicity[0], atol=1e-6)


def test_a_live_resampler_equals_one_that_knows_the_length() -> None:
    audio = _voice(22050)
    known, live = BlockResampler(22050, audio.size), BlockResampler(22050, None)
    ours = [np.concatenate([r.push(audio[i : i + 1000]) for i in range(0, audio.size, 1000)] + [r.finish()])
            for r in (known, live)]  # fmt: skip
    assert np.array_equal(ours[0], ours[1]) and live.total == known.total == ours[1].size


@pytest.mark.parametrize("latency", [0.0, pytest.param(20.0, marks=pytest.mark.slow), 50.0])
def test_the_latency_bound_is_kept(latency: float) -> None:
    audio, block = _voice(16000, seed=2), 320  # 20 ms blocks
    frames, seen = _run(PitchStream("tiny", 16000, latency_ms=latency), audio, block)
    assert torch.equal(frames.index, torch.arange(frames.index.numel()))
    window_end = frames.index.numpy() * 160 + 512  # frame i is complete at input sample 160 i + 512
    late_ms = (np.array(seen) - window_end)[:-10] / 16  # the last frames wait for the end of input
    assert late_ms.max() <= latency + 20 and late_ms.min() >= 0
    unbounded, _ = _run(PitchStream("tiny", 16000), audio, block)
    voiced = unbounded.periodicity > 0.5
    agree = 1200 * torch.log2(frames.pitch / unbounded.pitch).abs() < 50
    assert voiced.sum() > 100 and agree[voiced].float().mean() > 0.98  # voiced frames: the same path


def test_a_finished_stream_takes_nothing_more() -> None:
    stream = PitchStream("tiny", 16000)
    assert len(stream.push(np.zeros(0, dtype=np.float32))) == 0  # an empty block is no frame
    with pytest.raises(UserInputError, match="mono"):
        stream.push(np.zeros((2, 160), dtype=np.float32))
    assert len(stream.finish()) == 0  # no audio, no frame (predict refuses an empty recording)
    with pytest.raises(RuntimeError, match="finished"):
        stream.push(np.zeros(160, dtype=np.float32))


def test_a_bound_shorter_than_the_filters_is_refused() -> None:
    with pytest.raises(UserInputError, match="look-ahead"):
        PitchStream("tiny", 16000, latency_ms=10, median_filter=5)
    with pytest.raises(UserInputError, match="--silence"):
        PitchStream("tiny", 16000, silence_db=-60)


def _wav_bytes(audio: np.ndarray, rate: int, subtype: str = "PCM_16", channels: int = 1) -> bytes:
    buffer = io.BytesIO()
    data = np.repeat(audio[:, None], channels, axis=1) if channels > 1 else audio
    soundfile.write(buffer, data, rate, subtype=subtype, format="WAV")
    return buffer.getvalue()


@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24", "PCM_32", "FLOAT"])
def test_pcm_reader_decodes_wav_as_soundfile_does(subtype: str) -> None:
    audio = _voice(8000, seconds=0.3)
    data = _wav_bytes(audio, 8000, subtype, channels=2)
    reader = PcmReader(io.BytesIO(data), RAW)
    ours = np.concatenate(list(reader.blocks(100)))
    theirs = soundfile.read(io.BytesIO(data), dtype="float32")[0].mean(axis=1)
    assert reader.format.rate == 8000 and reader.format.channels == 2
    assert np.allclose(ours, theirs, atol=1e-6)


def test_pcm_reader_takes_raw_samples_and_an_unbounded_wav() -> None:
    samples = (np.arange(-500, 500) * 30).astype("<i2")
    raw = np.concatenate(list(PcmReader(io.BytesIO(samples.tobytes()), RAW).blocks(64)))
    assert np.allclose(raw, samples / 32768)
    data = bytearray(_wav_bytes(samples / 32768, 16000))
    data[data.index(b"data") + 4 : data.index(b"data") + 8] = struct.pack("<I", 0xFFFFFFFF)  # as arecord writes
    assert np.allclose(np.concatenate(list(PcmReader(io.BytesIO(bytes(data)), RAW).blocks(64))), raw)


def test_pcm_reader_refuses_bad_streams() -> None:
    with pytest.raises(AudioError, match="not WAVE"):
        PcmReader(io.BytesIO(b"RIFF\0\0\0\0AVI LIST"), RAW)
    with pytest.raises(AudioError, match="ends inside a sample"):
        list(PcmReader(io.BytesIO(b"\1\0" * 100 + b"\1"), RAW).blocks(64))
    with pytest.raises(AudioError, match="not supported"):
        PcmReader(io.BytesIO(_wav_bytes(np.zeros(10), 8000, "PCM_U8")), RAW)


@pytest.fixture()
def stream_cli(cli, monkeypatch: pytest.MonkeyPatch):
    """``crepetool stream -w tiny ARGS`` in-process with ``data`` on standard input: (exit
    status, stdout, stderr)."""

    def run(args: list[str], data: bytes) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
        return cli("stream", "-w", "tiny", *args)

    return run


def test_stream_command_writes_a_csv_line_per_frame(stream_cli) -> None:
    audio = _voice(16000, seconds=1.0)
    code, out, err = stream_cli(["--latency", "30"], _wav_bytes(audio, 16000))
    assert code == 0, err
    _check_rows(out, audio)


@pytest.mark.slow
def test_the_stream_command_reads_a_pipe_in_its_own_process() -> None:
    """The same as a user runs it: a process reading a pipe on its standard input."""
    audio = _voice(16000, seconds=1.0)
    command = [sys.executable, "-m", "crepetool", "stream", "-w", "tiny", "--latency", "30"]
    done = subprocess.run(command, input=_wav_bytes(audio, 16000), capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr
    _check_rows(done.stdout.decode(), audio)


def _check_rows(out: str, audio: np.ndarray) -> None:
    lines = out.splitlines()
    assert lines[0] == "time,frequency,confidence"
    rows = np.array([[float(v) for v in line.split(",")] for line in lines[1:]])
    assert rows.shape == (1 + audio.size // 160, 3)
    assert np.allclose(rows[:, 0], np.arange(rows.shape[0]) * 0.01)
    assert ((rows[:, 1] > 0) & (rows[:, 2] >= 0) & (rows[:, 2] <= 1)).all()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00", "header ends inside"),
        (b"RIFF\x24\x00\x00\x00WAVX", "not WAVE"),
        (b"\x01\x00" * 1000 + b"\x01", "ends inside a sample"),
    ],
    ids=["header cut short", "not wave", "truncated sample"],
)
def test_stream_command_refuses_bad_input_with_one_line(stream_cli, data: bytes, message: str) -> None:
    code, _, err = stream_cli([], data)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "<stdin>" in lines[0]
    assert "Traceback" not in err


def _encoded(audio: np.ndarray, fmt: str, subtype: str) -> bytes:
    buffer = io.BytesIO()
    soundfile.write(buffer, audio, 16000, format=fmt, subtype=subtype)
    return buffer.getvalue()


@pytest.mark.parametrize(("fmt", "subtype", "name"), [("OGG", "VORBIS", "Ogg"), ("FLAC", "PCM_16", "FLAC")])
def test_a_compressed_container_on_stdin_is_refused(stream_cli, fmt: str, subtype: str, name: str) -> None:
    data = _encoded(_voice(16000, seconds=0.5), fmt, subtype)
    code, out, err = stream_cli([], data)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and f"this is {name}" in lines[0] and "--raw" in lines[0]
    assert out == ""


def test_raw_reads_any_bytes_as_samples() -> None:
    from crepetool.prediction.pcm import container_of

    assert container_of(b"ID3\x04") == "MP3" and container_of(b"\xff\xfb\x90") == "MPEG audio"
    assert container_of(b"\x01\x00\x02\x00") is None
    ogg = _encoded(_voice(16000, seconds=0.5), "OGG", "VORBIS")
    ogg = ogg[: len(ogg) // 2 * 2]  # whole 16-bit samples
    reader = PcmReader(io.BytesIO(ogg), RAW, raw_only=True)
    assert sum(block.size for block in reader.blocks(1000)) == len(ogg) // 2
