"""Hardening: a table of bad or unusual inputs and faults across the commands, each row with
its expected outcome.

For a bad input: the stated exit status, one line on stderr naming the file and the problem,
no traceback, no partial or temporary output, and the rest of a batch still processed. For an
unusual but legitimate input: success and a correct output. Interrupts (SIGINT, SIGTERM) run
a real process in the middle of a batch, then a re-run completes it.
"""

from __future__ import annotations

import dataclasses
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

from crepetool.network import weights as weights_io
from helpers import random_state_dict, write_keras_file

Build = Callable[[Path], list]
Check = Callable[[Path], None]


def tone(seconds: float, f0: float = 220.0, rate: int = 16000) -> np.ndarray:
    """A buzzy tone at ``f0`` (a harmonic-rich shape), float32."""
    t = np.arange(int(seconds * rate)) / rate
    return (0.4 * np.sign(np.sin(2 * np.pi * f0 * t)) * np.abs(np.sin(2 * np.pi * f0 * t)) ** 0.5).astype(
        np.float32
    )


def wav(path: Path, audio: np.ndarray, rate: int = 16000, subtype: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(str(path), audio, rate, subtype=subtype)
    return path


def good_wav(tmp: Path) -> Path:
    return wav(tmp / "good.wav", tone(0.3))


def csv_rows(path: Path) -> np.ndarray:
    return np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)


@dataclasses.dataclass
class Case:
    id: str
    build: Build
    status: int
    message: str | None = None  # expected in the single stderr line of a failure
    names: str | None = None  # the file the message must name (default: the first argument's name)
    check: Check | None = None


# ---- unusual audio that must work ------------------------------------------------------------


def works(
    name: str, audio: np.ndarray, subtype: str | None = None, frames: int | None = None, rate: int = 16000
) -> Case:
    def build(tmp: Path) -> list:
        return ["predict", wav(tmp / name, audio, rate, subtype=subtype), "-w", "tiny"]

    def check(tmp: Path) -> None:
        rows = csv_rows(tmp / (Path(name).stem + ".f0.csv"))
        assert rows.shape[1] == 3 and np.isfinite(rows).all()
        expected = frames if frames is not None else 1 + audio.shape[0] // 160
        assert rows.shape[0] == expected
        if not np.any(audio):
            assert rows[:, 2].max() < 0.5  # silence is unvoiced
        else:
            # the frames the tracker is surest of (a 30 ms blip is too short to call a voice: the
            # context stage leaves it under 0.5) carry the tone's pitch
            voiced = rows[rows[:, 2] >= min(0.5, rows[:, 2].max() / 2), 1]
            assert rows[:, 2].max() > 0.2 and np.median(np.abs(1200 * np.log2(voiced / 220.0))) < 50

    return Case(f"works:{name}", build, 0, check=check)


SIX = np.tile(tone(0.4)[:, None], (1, 6)) * np.linspace(0.2, 1.0, 6, dtype=np.float32)

# ---- audio that must be refused, with a good file in the same batch -------------------------


def refused_audio(case_id: str, make: Callable[[Path], Path], message: str) -> Case:
    def build(tmp: Path) -> list:
        return ["predict", make(tmp), good_wav(tmp), "-w", "tiny"]

    def check(tmp: Path) -> None:
        assert csv_rows(tmp / "good.f0.csv").shape[0] == 31  # the batch went on
        assert sorted(p.name for p in tmp.glob("*.csv")) == ["good.f0.csv"]

    return Case(f"audio:{case_id}", build, 1, message, check=check)


def _zero_samples(tmp: Path) -> Path:
    return wav(tmp / "zero.wav", np.zeros(0, dtype=np.float32))


def _truncated_header(tmp: Path) -> Path:
    (tmp / "source").mkdir()
    whole = wav(tmp / "source" / "whole.wav", tone(0.2)).read_bytes()
    (tmp / "header.wav").write_bytes(whole[:30])
    return tmp / "header.wav"


def _lying_size(tmp: Path) -> Path:
    data = bytearray(wav(tmp / "lie.wav", tone(0.2)).read_bytes())
    at = data.index(b"data") + 4
    data[at : at + 4] = (10_000_000).to_bytes(4, "little")  # far more than the file holds
    (tmp / "lie.wav").write_bytes(bytes(data))
    return tmp / "lie.wav"


def _with_value(value: float) -> Callable[[Path], Path]:
    def make(tmp: Path) -> Path:
        audio = tone(0.2)
        audio[50] = value
        return wav(tmp / f"bad-{value}.wav", audio, subtype="FLOAT")

    return make


def _directory(tmp: Path) -> Path:
    (tmp / "folder.wav").mkdir()
    return tmp / "folder.wav"


def _bytes(name: str, data: bytes) -> Callable[[Path], Path]:
    def make(tmp: Path) -> Path:
        (tmp / name).write_bytes(data)
        return tmp / name

    return make


# ---- weights that must be refused -------------------------------------------------------------


class Evil:
    def __reduce__(self):
        return (os.system, ("touch PWNED_MARKER",))


def refused_weights(case_id: str, make: Callable[[Path], Path], message: str) -> Case:
    def build(tmp: Path) -> list:
        return ["predict", good_wav(tmp), "-w", make(tmp)]

    def check(tmp: Path) -> None:
        assert not (tmp / "PWNED_MARKER").exists() and not Path("PWNED_MARKER").exists()
        assert not (tmp / "good.f0.csv").exists()

    return Case(f"weights:{case_id}", build, 2, message, names="weights", check=check)


def _pth(name: str, obj: object) -> Callable[[Path], Path]:
    def make(tmp: Path) -> Path:
        torch.save(obj, tmp / name)
        return tmp / name

    return make


def _evil(tmp: Path) -> Path:
    with open(tmp / "evil.pth", "wb") as handle:
        pickle.dump(Evil(), handle)
    return tmp / "evil.pth"


def _weights_file(name: str, data: bytes | None) -> Callable[[Path], Path]:
    """A weights path holding ``data``; None makes a directory of that name."""

    def make(tmp: Path) -> Path:
        if data is None:
            (tmp / name).mkdir()
        else:
            (tmp / name).write_bytes(data)
        return tmp / name

    return make


def _edited(change: Callable[[dict], None]) -> dict:
    state = random_state_dict(2)
    change(state)
    return state


def _safetensors(cut: Callable[[bytes], bytes], name: str) -> Callable[[Path], Path]:
    def make(tmp: Path) -> Path:
        weights_io.save(random_state_dict(2), tmp / "whole.safetensors")
        data = (tmp / "whole.safetensors").read_bytes()
        (tmp / "whole.safetensors").unlink()
        (tmp / name).write_bytes(cut(data))
        return tmp / name

    return make


def _prune(capacity: str) -> Case:
    def build(tmp: Path) -> list:
        return ["prune", "-k", capacity, "--source", "tiny", "--recover", "none", "-o", tmp / "out.pth"]

    def check(tmp: Path) -> None:
        assert not (tmp / "out.pth").exists()

    message = "neither an integer" if capacity == "huge" else "outside 1..32"
    return Case(f"capacity:{capacity}", build, 2, message, names="capacity", check=check)


def _command(
    case_id: str,
    args: Callable[[Path], list],
    status: int,
    message: str,
    names: str,
    check: Check | None = None,
) -> Case:
    return Case(case_id, args, status, message, names=names, check=check)


def _keras(case_id: str, make: Callable[[Path], None], message: str) -> Case:
    def build(tmp: Path) -> list:
        make(tmp / "bad.h5")
        return ["import-keras", tmp / "bad.h5", "--output", tmp / "out.pth"]

    def check(tmp: Path) -> None:
        assert sorted(p.name for p in tmp.iterdir()) == ["bad.h5"]

    return Case(f"import-keras:{case_id}", build, 2, message, names="bad.h5", check=check)


def _h5_not_crepe(path: Path) -> None:
    import h5py

    with h5py.File(path, "w") as file:
        file.create_dataset("something", data=np.zeros(3))


def _h5_wrong_shapes(path: Path) -> None:
    state = random_state_dict(2)
    state["conv3.weight"] = torch.zeros(64, 64, 64, 1)
    write_keras_file(path, state)


def _predict_option(case_id: str, option: list[str], message: str) -> Case:
    def build(tmp: Path) -> list:
        return ["predict", good_wav(tmp), "-w", "tiny", *option]

    def check(tmp: Path) -> None:
        assert not (tmp / "good.f0.csv").exists()

    return Case(f"option:{case_id}", build, 2, message, names=option[0], check=check)


# ---- outputs ----------------------------------------------------------------------------------


def _unwritable(tmp: Path) -> list:
    locked = tmp / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    return ["predict", good_wav(tmp), "-w", "tiny", "-o", locked]


def _collide(tmp: Path) -> list:
    return ["predict", wav(tmp / "a.wav", tone(0.2)), wav(tmp / "a.flac", tone(0.2)), "-w", "tiny"]


def _dotdot(tmp: Path) -> list:
    (tmp / "in" / "deep").mkdir(parents=True)
    wav(tmp / "elsewhere.wav", tone(0.2))
    wav(tmp / "in" / "deep" / "x.wav", tone(0.2))
    inputs = [tmp / "in" / "deep" / ".." / ".." / "elsewhere.wav", tmp / "in" / "deep" / "x.wav"]
    return ["predict", *inputs, "-w", "tiny", "-o", tmp / "in" / "out"]


def _dotdot_check(tmp: Path) -> None:
    outputs = sorted(p.relative_to(tmp) for p in tmp.rglob("*.f0.csv"))
    assert outputs == [Path("in/out/elsewhere.f0.csv"), Path("in/out/in/deep/x.f0.csv")]


def _existing_output(tmp: Path) -> list:
    (tmp / "taken.pth").write_bytes(b"keep me")
    return ["prune", "-k", "2", "--source", "tiny", "-o", tmp / "taken.pth"]


def _kept(tmp: Path) -> None:
    assert (tmp / "taken.pth").read_bytes() == b"keep me"


def _keras_not_hdf5(tmp: Path) -> list:
    (tmp / "model.h5").write_text("not hdf5")
    return ["import-keras", tmp / "model.h5", "-o", tmp / "model.pth"]


def _blocker(tmp: Path) -> list:
    (tmp / "blocker").write_text("")
    return ["predict", good_wav(tmp), "-w", "tiny", "-o", tmp / "blocker" / "out"]


def _tiny_file(tmp: Path, name: str = "two.pth", criterion: str = "l1") -> Path:
    from crepetool.training.pruning import prune

    return weights_io.save(prune("tiny", 2, criterion), tmp / name)


def _prune_args(*args: object) -> Callable[[Path], list]:
    def build(tmp: Path) -> list:
        return [
            "prune",
            "--recover",
            "none",
            "--source",
            "tiny",
            *(a(tmp) if callable(a) else a for a in args),
        ]

    return build


def _folder_named_full(tmp: Path) -> list:
    (tmp / "full").mkdir()  # what an earlier `-o full` leaves behind; the test runs in tmp
    (tmp / "full" / "old.f0.csv").write_text("time,frequency,confidence\n")
    return ["predict", good_wav(tmp), "-w", "full"]


def _exists(tmp: Path) -> Path:
    (tmp / "exists.pth").write_bytes(b"x")
    return tmp / "exists.pth"


CASES = [
    works("u8.wav", tone(0.3), "PCM_U8"),
    works("s24.wav", tone(0.3), "PCM_24"),
    works("f32.wav", tone(0.3), "FLOAT"),
    works("six.wav", SIX),
    works("silence.wav", np.zeros(8000, dtype=np.float32)),
    works("short.wav", tone(0.03)),
    works("clip.flac", tone(0.3, rate=22050), rate=22050, frames=31),
    Case(
        "audio:missing",
        lambda t: ["predict", t / "missing.wav", good_wav(t), "-w", "tiny"],
        1,
        "no such file",
    ),
    Case(  # a folder is every audio file under it (predict DIR); one with none is a usage error
        "audio:empty folder",
        lambda t: ["predict", _directory(t), good_wav(t), "-w", "tiny"],
        2,
        "no audio files",
        check=lambda t: not list(t.glob("*.csv")) or pytest.fail("work started"),
    ),
    refused_audio("empty", _bytes("empty.wav", b""), "empty file"),
    refused_audio("zero samples", _zero_samples, "holds no samples"),
    refused_audio("truncated header", _truncated_header, "not readable audio"),
    refused_audio("lying data size", _lying_size, "truncated or corrupt"),
    refused_audio(
        "random bytes", _bytes("random.wav", np.random.default_rng(1).bytes(5000)), "not readable audio"
    ),
    refused_audio("nan", _with_value(float("nan")), "NaN or infinite samples"),
    refused_audio("inf", _with_value(float("inf")), "NaN or infinite samples"),
    refused_weights("pickle with code", _evil, "not a readable PyTorch state dict"),
    refused_weights("non-dict", _pth("list.pth", [1, 2, 3]), "not a state dict"),
    refused_weights("missing file", lambda t: t / "nope.pth", "no such file"),
    refused_weights("directory", _weights_file("folder.pth", None), "is a directory"),
    refused_weights("empty", _weights_file("empty.pth", b""), "empty file"),
    refused_weights(
        "random bytes",
        _weights_file("random.pth", bytes(range(256)) * 10),
        "not a readable PyTorch state dict",
    ),
    refused_weights(
        "no capacity",
        _pth("cap.pth", _edited(lambda s: s.update({"conv1.weight": torch.zeros(33 * 32, 1, 512, 1)}))),
        "fits no capacity",
    ),
    refused_weights("tensor", _pth("tensor.pth", torch.zeros(3)), "not a state dict"),
    refused_weights(
        "missing key", _pth("m.pth", _edited(lambda s: s.pop("conv3.bias"))), "missing keys conv3.bias"
    ),
    refused_weights(
        "extra key",
        _pth("e.pth", _edited(lambda s: s.update({"conv7.weight": torch.zeros(1)}))),
        "unexpected keys",
    ),
    refused_weights(
        "mis-shaped",
        _pth("s.pth", _edited(lambda s: s.update({"conv2.weight": torch.zeros(8, 63, 64, 1)}))),
        "conv2.weight has shape",
    ),
    refused_weights(
        "nan weights",
        _pth("n.pth", _edited(lambda s: s.update({"conv4.bias": torch.full((8,), float("nan"))}))),
        "NaN or infinite values",
    ),
    refused_weights(
        "truncated safetensors",
        _safetensors(lambda d: d[: len(d) // 2], "t.safetensors"),
        "not a readable safetensors",
    ),
    refused_weights(
        "corrupt safetensors header",
        _safetensors(lambda d: d[:8] + b"{garbage" + d[16:], "c.safetensors"),
        "not a readable safetensors",
    ),
    _prune("0"),
    _prune("33"),
    _prune("-1"),
    _prune("huge"),
    _predict_option("fmin>=fmax", ["--fmin", "500", "--fmax", "500"], "need 0 < fmin < fmax"),
    _predict_option("hop 0", ["--hop-length", "0"], "hop length must be positive"),
    _predict_option("step -1", ["--step-size", "-1"], "step size must be positive"),
    _predict_option("batch 0", ["--batch-size", "0"], "batch size must be at least 1"),
    _predict_option(
        "viterbi-torchcrepe at the default fmax",
        ["--decoder", "viterbi-torchcrepe"],
        "sticks to the end of its pitch bins outside 36.0 to 1786 Hz",
    ),
    Case("stream:negative latency", lambda t: ["stream", "--latency", "-5"], 2, "must be 0 ms or more"),
    Case(
        "weights:a folder named full does not shadow the name",
        _folder_named_full,
        0,
        check=lambda t: csv_rows(t / "good.f0.csv"),
    ),
    _predict_option("device tpu", ["--device", "tpu"], "unknown device"),
    _predict_option("decoder magic", ["--decoder", "magic"], "magic"),
    Case("output:under a file", _blocker, 2, "cannot write", names="blocker"),
    _command("inspect:missing", lambda t: ["inspect", t / "missing.pth"], 2, "no such file", "missing.pth"),
    _command(
        "inspect:not weights",
        lambda t: ["inspect", _weights_file("notweights.pth", b"hello")(t)],
        2,
        "not a readable PyTorch state dict",
        "notweights.pth",
    ),
    _command("inspect:directory", lambda t: ["inspect", t], 2, "is a directory", "inspect"),
    _command("prune:above source", _prune_args("-k", "8"), 2, "above the source's own capacity", "capacity"),
    _command(
        "prune:bad suffix",
        _prune_args("-k", "2", "-o", lambda t: t / "x.txt"),
        2,
        "must end in .pth",
        "x.txt",
    ),
    _command(
        "prune:output under a file",
        _prune_args("-k", "2", "-o", lambda t: _weights_file("a_file", b"")(t) / "x.pth"),
        2,
        "cannot write",
        "x.pth",
    ),
    _command(
        "prune:missing source",
        lambda t: ["prune", "-k", "2", "--source", t / "missing.pth", "--recover", "none", "-o", t / "y.pth"],
        2,
        "no such file",
        "missing.pth",
        check=lambda t: None if not (t / "y.pth").exists() else pytest.fail("y.pth written"),
    ),
    _command(
        "prune:criterion magic",
        lambda t: ["prune", "-k", "2", "--criterion", "magic"],
        2,
        "magic",
        "criterion",
    ),
    _command(
        "finetune:missing weights",
        lambda t: ["finetune", t / "missing.pth"],
        2,
        "no such file",
        "missing.pth",
    ),
    _command(
        "average:two cuts",
        lambda t: ["average", _tiny_file(t), _tiny_file(t, "random.pth", "random"), "-o", t / "mean.pth"],
        2,
        "were cut differently",
        "random.pth",
        check=lambda t: None if not (t / "mean.pth").exists() else pytest.fail("mean.pth written"),
    ),
    _command(
        "convert:exists",
        lambda t: ["convert", _tiny_file(t), _exists(t)],
        2,
        "already exists",
        "exists.pth",
        check=lambda t: None if (t / "exists.pth").read_bytes() == b"x" else pytest.fail("replaced"),
    ),
    _command(
        "export:exists",
        lambda t: ["export", "tiny", _weights_file("taken.onnx", b"keep")(t)],
        2,
        "already exists",
        "taken.onnx",
        check=lambda t: None if (t / "taken.onnx").read_bytes() == b"keep" else pytest.fail("replaced"),
    ),
    _command(
        "export:not onnx", lambda t: ["export", "tiny", t / "model.pth"], 2, "must end in .onnx", "model.pth"
    ),
    _command("verify:missing", lambda t: ["verify", t / "missing.pth"], 2, "no such file", "missing.pth"),
    _command(
        "verify:not weights",
        lambda t: ["verify", _weights_file("text.pth", b"not weights")(t)],
        2,
        "not a readable",
        "text.pth",
    ),
    _command(
        "evaluate:missing weights",
        lambda t: ["evaluate", "tiny", t / "missing.pth"],
        2,
        "no such file",
        "missing.pth",
    ),
    _command(
        "evaluate:unknown peer", lambda t: ["evaluate", "tiny", "--peers", "yin"], 2, "unknown tracker", "yin"
    ),
    _predict_option("even median window", ["--median-filter", "4"], "odd number of frames"),
    _predict_option("threshold above 1", ["--periodicity-threshold", "1.5"], "within 0..1"),
    _predict_option("shard 3/3", ["--shard", "3/3"], "need 0 <= I < N"),
    _command(
        "evaluate:audio not a folder",
        lambda t: ["evaluate", "tiny", "--audio", t / "nothing"],
        2,
        "not a directory",
        "nothing",
    ),
    _command(
        "signals:under a file",
        lambda t: ["signals", _weights_file("plain", b"")(t) / "sub"],
        2,
        "cannot write",
        "sub",
    ),
    Case("output:unwritable dir", _unwritable, 2, "cannot write here", names="locked"),
    Case(
        "output:collision", _collide, 1, "collides", names="a.flac", check=lambda t: csv_rows(t / "a.f0.csv")
    ),
    Case("output:dotdot stays inside", _dotdot, 0, check=_dotdot_check),
    Case(
        "output:an existing directory",
        lambda t: (
            (t / "good.f0.csv").mkdir()
            or ["predict", good_wav(t), wav(t / "other.wav", tone(0.3)), "-w", "tiny"]
        ),
        1,
        "Is a directory",
        names="good",
        check=lambda t: csv_rows(t / "other.f0.csv"),  # the batch went on
    ),
    Case("output:exists", _existing_output, 2, "already exists", names="taken.pth", check=_kept),
    Case("import-keras:not hdf5", _keras_not_hdf5, 2, "not an HDF5 file", names="model.h5"),
    _keras("empty", lambda p: p.write_bytes(b""), "empty"),
    _keras("unreadable", lambda p: p.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 100), "unreadable HDF5"),
    _keras("not crepe", _h5_not_crepe, "layer conv1 is missing"),
    _keras(
        "layer missing",
        lambda p: write_keras_file(p, random_state_dict(2), drop="conv4-BN"),
        "layer conv4-BN is missing",
    ),
    _keras("wrong shapes", _h5_wrong_shapes, "conv3.weight has shape"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_table(case: Case, cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    args = case.build(tmp_path)
    if case.id == "output:unwritable dir" and os.geteuid() == 0:
        _deny_writes_to(monkeypatch, tmp_path / "locked")  # root ignores permission bits
    code, _out, err = cli(*args)
    assert code == case.status, (case.id, code, err)
    assert "Traceback" not in err
    if case.message is not None:
        lines = err.strip().splitlines()
        assert len(lines) == 1, (case.id, err)
        assert case.message in lines[0], (case.id, err)
        named = case.names or Path(str(args[1])).name
        assert named in lines[0], (case.id, named, err)
    if case.check is not None:
        case.check(tmp_path)
    leftovers = [p for p in tmp_path.rglob(".crepetool-*")]
    assert leftovers == [], leftovers


def _deny_writes_to(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    real = tempfile.mkstemp

    def mkstemp(*args, **kwargs):
        if Path(kwargs.get("dir", "")).resolve() == folder.resolve():
            raise PermissionError(13, "Permission denied")
        return real(*args, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)


# ---- interrupts: a real process, signalled in the middle of a batch -----------------------------


def _batch(folder: Path, count: int = 8, seconds: float = 20.0) -> list[Path]:
    folder.mkdir()
    return [wav(folder / f"clip{i}.wav", tone(seconds, 110.0 + 20 * i)) for i in range(count)]


def _run(args: list, **kwargs) -> subprocess.Popen:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env.pop("CREPETOOL_DEBUG", None)
    return subprocess.Popen(
        [sys.executable, "-m", "crepetool", *map(str, args)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, **kwargs,
    )  # fmt: skip


def _valid_outputs(inputs: list[Path]) -> list[Path]:
    done = []
    for path in inputs:
        output = path.with_name(path.stem + ".f0.csv")
        if output.exists():
            rows = csv_rows(output)
            assert rows.shape == (1 + 20 * 16000 // 160, 3), output  # complete, never partial
            done.append(output)
    return done


@pytest.mark.slow
@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupt_mid_batch_then_resume(tmp_path: Path, signum: int, status: int) -> None:
    inputs = _batch(tmp_path / "clips")
    process = _run(["predict", *inputs, "-w", "tiny", "--batch-size", "64"])
    deadline = time.monotonic() + 120
    while not _valid_outputs(inputs) and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    assert process.poll() is None, "the batch finished before it could be interrupted"
    time.sleep(0.3)  # well inside the next file
    sent = time.monotonic()
    process.send_signal(signum)
    _, err = process.communicate(timeout=30)
    assert time.monotonic() - sent < 10, f"did not exit promptly: {err[-2000:]}"
    assert process.returncode == status, err
    assert "Traceback" not in err
    done = _valid_outputs(inputs)
    assert 1 <= len(done) < len(inputs)
    assert list(tmp_path.rglob(".crepetool-*")) == []
    first = {p: p.stat().st_mtime_ns for p in done}

    rerun = _run(["predict", *inputs, "-w", "tiny"])
    _, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err
    assert len(_valid_outputs(inputs)) == len(inputs)
    assert {p: p.stat().st_mtime_ns for p in done} == first  # finished files were skipped, not redone
    assert sorted(p.name for p in (tmp_path / "clips").iterdir() if p.suffix == ".csv") == sorted(
        p.stem + ".f0.csv" for p in inputs
    )


def test_a_signal_whose_exception_was_swallowed_still_stops(cli) -> None:
    from crepetool.cli import interrupts as cli_module

    assert cli("--help")[0] == 0  # main installs its handlers and puts the defaults back
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    for signum, raised in ((signal.SIGINT, KeyboardInterrupt), (signal.SIGTERM, cli_module.Terminated)):
        try:
            cli_module._on_signal(signum, None)
        except raised:
            pass  # what CPython does to an exception raised inside a finaliser: print and drop it
        with pytest.raises(raised):
            cli_module.check_signals()  # predict calls this between batches
        cli_module._received.clear()
    cli_module.check_signals()  # nothing received: nothing raised


@pytest.mark.slow
def test_two_processes_over_the_same_files(tmp_path: Path) -> None:
    inputs = _batch(tmp_path / "clips", count=6, seconds=20.0)
    out = tmp_path / "out"
    first = _run(["predict", *inputs, "-w", "tiny", "-o", out, "--overwrite"])
    second = _run(["predict", *inputs, "-w", "tiny", "-o", out, "--overwrite"])
    for process in (first, second):
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
    outputs = sorted(out.rglob("*"))
    assert [p.name for p in outputs] == sorted(p.stem + ".f0.csv" for p in inputs)
    for path in outputs:
        assert csv_rows(path).shape == (2001, 3)


def test_every_command_has_a_row_in_the_table(tmp_path: Path) -> None:
    import typer.main

    from crepetool.cli import create_app

    covered = set()
    for index, case in enumerate(CASES):
        folder = tmp_path / str(index)
        folder.mkdir()
        covered.add(str(case.build(folder)[0]))
    assert covered == set(typer.main.get_command(create_app()).commands)


# ---- a full disk: a real, small filesystem --------------------------------------------------------


def _unshare_works() -> bool:
    import shutil

    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-rm", "true"], capture_output=True)
    return probe.returncode == 0


@pytest.mark.slow
@pytest.mark.skipif(not _unshare_works(), reason="needs unshare -rm (user and mount namespaces) for a tmpfs")
def test_a_full_disk_fails_each_file_with_one_line(tmp_path: Path) -> None:
    """A 300 KB tmpfs, mounted in a namespace of the test's own: the long file's activation does
    not fit. Every writer (csv, pt, npy, png) keeps the contract there: one line naming the
    file, exit 1, no traceback, no temporary left, and the short file before it written whole.
    (The activation writer once mapped its file and died of SIGBUS on the first page the disk
    could not back.)"""
    inputs = tmp_path / "in"
    inputs.mkdir()
    short = wav(inputs / "a-short.wav", tone(0.5))  # 51 frames: ~74 KB of activation
    long = wav(inputs / "b-long.wav", tone(4.0))  # 401 frames: 577 KB, past the disk
    disk = tmp_path / "disk"
    disk.mkdir()
    predict = [sys.executable, "-m", "crepetool", "predict", str(short), str(long), "-w", "tiny"]
    predict += ["-o", str(disk / "out"), "-f", "csv", "-f", "pt", "-f", "npy", "--plot"]
    script = (
        f"mount -t tmpfs -o size=300k none {disk} || exit 99\n"
        f"{' '.join(predict)}\n"
        "status=$?\n"
        f"echo; echo LISTING; ls -a {disk}/out\n"
        "exit $status\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "CREPETOOL_DEBUG"}
    run = subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True, env=env)
    assert run.returncode == 1, (run.returncode, run.stderr[-3000:])
    assert "Traceback" not in run.stderr
    problems = [line for line in run.stderr.splitlines() if "No space left on device" in line]
    assert problems and all("b-long" in line for line in problems), run.stderr
    listing = run.stdout.split("LISTING", 1)[1].split()
    assert not [name for name in listing if name.startswith(".crepetool-")], listing
    assert not [name for name in listing if name.startswith("b-long")], listing
    assert {"a-short.f0.csv", "a-short.f0.pt", "a-short.activation.npy", "a-short.f0.png"} <= set(listing)


# ---- leftovers of killed runs ---------------------------------------------------------------------


@pytest.mark.slow
def test_kill_9_mid_batch_then_a_rerun_leaves_only_whole_outputs(tmp_path: Path) -> None:
    """A run killed outright cannot clean up: its temporaries (named for its host and pid) stay
    until the next run over the folder removes them, because their process is gone."""
    inputs = _batch(tmp_path / "clips", count=4)
    process = _run(["predict", *inputs, "-w", "tiny", "-f", "csv", "-f", "npy", "--batch-size", "64"])
    deadline = time.monotonic() + 120
    while not _valid_outputs(inputs) and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    assert process.poll() is None, "the batch finished before it could be killed"
    time.sleep(0.3)  # inside the next file: its temporaries are open
    process.kill()
    process.communicate(timeout=30)
    left = list(tmp_path.rglob(".crepetool-*.tmp"))
    assert left and all(f"-{process.pid}-" in p.name for p in left)
    rerun = _run(["predict", *inputs, "-w", "tiny", "-f", "csv", "-f", "npy"])
    _, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err
    assert len(_valid_outputs(inputs)) == len(inputs)
    assert list(tmp_path.rglob(".crepetool-*")) == []


def test_predict_a_folder_mirrors_it_under_the_output_dir(cli, tmp_path: Path) -> None:
    """predict DIR: every audio file under it, recursively (names.AUDIO_SUFFIXES), outputs
    mirrored under -o; other files are left alone."""
    root = tmp_path / "takes"
    (root / "day2" / "late").mkdir(parents=True)
    wav(root / "a.wav", tone(0.3))
    wav(root / "day2" / "b.flac", tone(0.3, 330.0))
    wav(root / "day2" / "late" / "c.wav", tone(0.3, 440.0))
    (root / "notes.txt").write_text("not audio")
    code, _, err = cli("predict", root, "-w", "tiny", "-o", tmp_path / "out")
    assert code == 0, err
    made = sorted(str(p.relative_to(tmp_path / "out")) for p in (tmp_path / "out").rglob("*.csv"))
    assert made == ["a.f0.csv", "day2/b.f0.csv", "day2/late/c.f0.csv"]
    assert csv_rows(tmp_path / "out" / "day2" / "late" / "c.f0.csv").shape == (31, 3)


@pytest.mark.skipif(not _unshare_works(), reason="needs unshare -rm (user and mount namespaces) for a tmpfs")
@pytest.mark.slow
def test_a_read_only_output_folder_is_refused_before_work(tmp_path: Path) -> None:
    """A real read-only filesystem (root ignores permission bits, so a chmod proves nothing)."""
    audio = wav(tmp_path / "a.wav", tone(0.3))
    disk = tmp_path / "disk"
    disk.mkdir()
    command = f"{sys.executable} -m crepetool predict {audio} -w tiny -o {disk}/out"
    script = (
        f"mount -t tmpfs none {disk} && mkdir {disk}/out && mount -o remount,ro {disk} || exit 99\n{command}"
    )
    run = subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True)
    assert run.returncode == 2, (run.returncode, run.stderr)
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "out" in lines[0] and "Read-only file system" in lines[0], lines
    assert "Traceback" not in run.stderr


def test_inputs_that_change_under_a_batch(tmp_path: Path) -> None:
    """Between planning and reading, an input is deleted (one line for it, the rest done), one
    grows as a recording in progress does (read as it was when opened), and the weights file is
    replaced (the batch keeps the model it loaded)."""
    from crepetool.network.weights import save
    from crepetool.prediction.batch import predict_files
    from crepetool.training.pruning import prune

    weights = save(prune("tiny", 2), tmp_path / "two.pth")
    first, gone, growing, last = (
        wav(tmp_path / f"{n}.wav", tone(0.5, 200.0 + 50 * i)) for i, n in enumerate("abcd")
    )
    started: dict[str, int] = {}

    def on_plan(files: int, frames: int) -> None:
        gone.unlink()

    def on_start(path: Path, frames: int) -> None:
        started[path.name] = frames
        if path == growing:  # a recorder appends and rewrites the header after we opened it
            wav(growing, tone(1.5, 300.0))

    def on_file(result) -> None:
        if result.input == first:
            save(prune("tiny", 3), weights, overwrite=True)

    summary = predict_files(
        [first, gone, growing, last], weights, output_dir=tmp_path / "out",
        on_plan=on_plan, on_start=on_start, on_file=on_file,
    )  # fmt: skip
    status = {r.input.name: (r.status, r.message) for r in summary.results}
    assert (
        status["b.wav"][0] == "failed"
        and "b.wav" in status["b.wav"][1]
        and "no such file" in status["b.wav"][1]
    )
    assert [status[n][0] for n in ("a.wav", "c.wav", "d.wav")] == ["done"] * 3
    assert csv_rows(tmp_path / "out" / "c.f0.csv").shape[0] == started["c.wav"] == 1 + 8000 // 160
    assert not list(tmp_path.rglob(".crepetool-*"))
    # the last file was tracked by the two-channel-wide model loaded at the start, not the new file
    again = predict_files(
        [last], tmp_path / "kept.pth" if False else prune("tiny", 2), output_dir=tmp_path / "ref"
    )
    assert again.results[0].status == "done"
    assert (tmp_path / "ref" / "d.f0.csv").read_bytes() == (tmp_path / "out" / "d.f0.csv").read_bytes()
