"""Other pitch trackers, run on the same audio and scored the same way (``evaluate --peers``).

Each peer takes 16 kHz audio and returns its own (times, f0, confidence); its track is
moved onto crepetool's frame times (``i * hop / 16000``) by linear interpolation, and its
confidence stands for periodicity (voiced when > 0.5, as for CREPE). Install them with
``pip install 'crepetool[peers]'``.

| name | package | what |
|---|---|---|
| ``swift-f0`` | ``swift-f0`` | SwiftF0, a small CNN on the STFT (ONNX Runtime), 16 ms hop, 46.9-2,093.8 Hz |
| ``pesto`` | ``pesto-pitch`` | PESTO, self-supervised, on the CQT (its ``mir-1k_g7`` model), 10 ms hop |
| ``fcpe`` | ``torchfcpe`` | FCPE, a conformer on the mel spectrogram (its bundled model), 10 ms hop, 32.7-1,975.5 Hz |
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from crepetool.errors import UserInputError, check_choice
from crepetool.names import FCPE, PESTO, SWIFT_F0
from crepetool.units import SAMPLE_RATE

#: audio16k (ndarray [shape=(time,)] float32) -> (times s, f0 Hz, confidence 0..1), each [shape=(n,)]
Tracker = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]


@dataclasses.dataclass(frozen=True)
class Peer:
    """One other tracker: the module it imports, its pip package, whether it imports torchaudio
    (which needs the guard torchcrepe needs), and the function that builds its :data:`Tracker`."""

    module: str
    package: str
    torchaudio: bool
    build: Callable[[], Tracker]


def parse(text: str | None) -> list[str]:
    """``"swift-f0,pesto"`` as names, each checked (UserInputError for an unknown one)."""
    names = [n.strip() for n in (text or "").split(",") if n.strip()]
    for name in names:
        check_choice("tracker", name, PEERS, "--peers")
    return names


def load(name: str) -> Tracker:
    """The tracker called ``name``; UserInputError naming the extra when it is not installed."""
    check_choice("tracker", name, PEERS, "--peers")
    peer = PEERS[name]
    try:
        if peer.torchaudio:
            from crepetool.compat import guard_torchaudio

            guard_torchaudio()
        __import__(peer.module)
    except ImportError:
        raise UserInputError(
            f"--peers: {name} needs the {peer.package} package: pip install 'crepetool[peers]'"
        ) from None
    return peer.build()


def _swift_f0() -> Tracker:
    from swift_f0 import SwiftF0

    detector = SwiftF0()

    def track(audio16k: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        result = detector.detect(audio16k, SAMPLE_RATE)
        return result.timestamps, result.pitch_hz, result.confidence

    return track


def _pesto() -> Tracker:
    import pesto
    import torch

    def track(audio16k: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        times, f0, confidence, _ = pesto.predict(torch.from_numpy(audio16k), SAMPLE_RATE, step_size=10.0)
        return times.numpy() / 1000.0, f0.numpy(), confidence.numpy()

    return track


def _fcpe() -> Tracker:
    import contextlib
    import io

    import torch
    from torchfcpe import spawn_bundled_infer_model

    with contextlib.redirect_stdout(io.StringIO()):  # its loader prints notes on stdout too
        model = spawn_bundled_infer_model(device="cpu")

    def track(audio16k: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        # it prints notes on stdout (audio beyond +-1, ...), which --json reads
        with torch.no_grad(), contextlib.redirect_stdout(io.StringIO()):
            f0 = model.infer(torch.from_numpy(audio16k).float()[None, :, None], sr=SAMPLE_RATE)[0, :, 0].numpy()
        times = np.arange(f0.size) * model.get_hop_size_ms() / 1000  # the first frame at 0
        # FCPE gives no confidence: its voicing (f0 0 where its salience is under its threshold)
        return times, np.where(f0 > 0, f0, 1e-3), (f0 > 0).astype(np.float64)

    return track


#: Every peer, by its name in :data:`crepetool.names.PEERS`: adding one is one entry here and its function.
PEERS: dict[str, Peer] = {
    SWIFT_F0: Peer("swift_f0", "swift-f0", False, _swift_f0),
    PESTO: Peer("pesto", "pesto-pitch", True, _pesto),
    FCPE: Peer("torchfcpe", "torchfcpe", True, _fcpe),
}


def on_frames(
    times: np.ndarray, f0: np.ndarray, confidence: np.ndarray, frames: int, hop: int
) -> tuple[np.ndarray, np.ndarray]:
    """A peer's track at crepetool's frame times: pitch (Hz, > 0) and confidence, each [shape=(frames,)]."""
    at = np.arange(frames) * hop / SAMPLE_RATE
    times = np.asarray(times, dtype=np.float64)
    pitch = np.interp(at, times, np.maximum(np.asarray(f0, dtype=np.float64), 1e-3))
    return pitch, np.interp(at, times, np.asarray(confidence, dtype=np.float64))
