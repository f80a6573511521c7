"""A dereverberating front end: online weighted prediction error (WPE) on the 16 kHz audio.

A room's late reverberation is predictable from the sound a few tens of milliseconds earlier;
WPE predicts it per frequency bin from the :attr:`Settings.taps` STFT frames that lie
:attr:`Settings.delay` frames back, and subtracts the prediction, keeping the direct sound and
the early reflections (Nakatani et al., 2010; Yoshioka and Nakatani, 2012). The online form
(recursive least squares, as ``nara_wpe.wpe.OnlineWPE``) updates each bin's filter frame by frame
with a forgetting factor, so memory is flat in the length of the recording, a file and a live
stream run the same code, and the output does not depend on the size of the blocks it is given
(every frame is computed alone, in order).

    samples -> STFT (512, shift 128, sqrt-Hann) -> per bin: y_t - g^H [y_{t-delay-taps..t-delay-1}]
    -> RLS update of g weighted by 1 / the recent power -> inverse STFT (overlap-add)

Its output lags its input by :data:`LAG` samples (one STFT window less a shift), which
:class:`Dereverb` takes back out: the samples it returns line up with the samples given, and
:meth:`Dereverb.finish` returns the last :data:`LAG`. ``nara_wpe`` (``crepetool[dereverb]``) is the
reference the tests compare this with; the arithmetic here is numpy, vectorised over bins.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from crepetool.errors import UserInputError
from crepetool.names import DEREVERB_ALPHA, DEREVERB_DELAY, DEREVERB_FLOOR_DB, DEREVERB_TAPS

#: STFT window and shift in samples at 16 kHz (32 ms and 8 ms).
SIZE = 512
SHIFT = 128
#: The most taps and delay (STFT frames) the options take: 800 ms and 160 ms.
MAX_TAPS, MAX_DELAY = 100, 20
#: Samples the output lags the input by before :class:`Dereverb` aligns it.
LAG = SIZE - SHIFT
#: The most samples :meth:`Dereverb.push` holds back: the lag and a frame's shift less one.
HOLD = LAG + SHIFT - 1


@dataclasses.dataclass(frozen=True)
class Settings:
    """taps: STFT frames each bin's predictor reads; delay: frames skipped before them (what is
    kept as direct sound and early reflections: delay x 8 ms); alpha: the RLS forgetting factor
    (memory of about 1 / (1 - alpha) frames); floor_db: the most a bin is attenuated in a frame
    (a held note is as predictable as a tail: this keeps WPE from predicting it away)."""

    taps: int = DEREVERB_TAPS
    delay: int = DEREVERB_DELAY
    alpha: float = DEREVERB_ALPHA
    floor_db: float = DEREVERB_FLOOR_DB

    def __post_init__(self) -> None:
        if not 1 <= self.taps <= MAX_TAPS:
            raise UserInputError(f"--dereverb-taps: must be within 1..{MAX_TAPS}, not {self.taps}")
        if not 1 <= self.delay <= MAX_DELAY:
            raise UserInputError(f"--dereverb-delay: must be within 1..{MAX_DELAY}, not {self.delay}")
        if not 0.5 < self.alpha < 1:
            raise ValueError(f"dereverb alpha must be within 0.5..1, not {self.alpha}")


class Dereverb:
    """Online WPE on 16 kHz mono samples, block by block.

    :meth:`push` takes samples (ndarray [shape=(n,)]) and returns the dereverberated samples that
    are final; :meth:`finish` returns the rest. Concatenated, they are as long as the input and
    aligned with it, whatever the blocks were.
    """

    def __init__(self, settings: Settings = Settings()) -> None:
        self.settings = settings
        bins = SIZE // 2 + 1
        order = settings.taps
        self._window = np.sqrt(np.hanning(SIZE + 1)[:SIZE])  # periodic sqrt-Hann
        self._scale = SHIFT / np.sum(self._window**2)
        self._floor = 10 ** (settings.floor_db / 20)  # overlap-add of window^2 at this shift
        self._input = np.zeros(SIZE - SHIFT)  # samples of the next frame, the first frame's zeros
        self._output = np.zeros(SIZE - SHIFT)  # overlap-add of frames not yet final
        # the last taps + delay + 1 frames; the predictor reads the oldest taps of them
        self._history = np.zeros((settings.taps + settings.delay + 1, bins), dtype=np.complex128)
        self._inverse = np.tile(np.eye(order, dtype=np.complex128), (bins, 1, 1))  # RLS P per bin
        self._filter = np.zeros((bins, order), dtype=np.complex128)
        self._skip = LAG  # output samples before the input's first
        self._pending = 0  # input samples taken and not yet returned

    def push(self, samples: np.ndarray) -> np.ndarray:
        samples = np.asarray(samples, dtype=np.float64)
        self._pending += samples.size
        self._input = np.concatenate([self._input, samples])
        return self._take(self._frames())

    def finish(self) -> np.ndarray:
        """The last samples: the input's end padded with silence until every sample is out."""
        self._input = np.concatenate([self._input, np.zeros(SIZE)])  # enough frames to complete what is held
        out = self._take(self._frames())
        self._input = np.zeros(0)
        return out

    def _take(self, produced: np.ndarray) -> np.ndarray:
        """Drop the lag at the start, and never return more samples than were given."""
        drop = min(self._skip, produced.size)
        self._skip -= drop
        produced = produced[drop:][: self._pending]
        self._pending -= produced.size
        return produced.astype(np.float32)

    def _frames(self) -> np.ndarray:
        """Every whole STFT frame of the input held, through WPE in order; the samples they
        complete (:data:`SHIFT` a frame). The transforms run on all the frames at once."""
        count = 0 if self._input.size < SIZE else (self._input.size - SIZE) // SHIFT + 1
        if not count:
            return np.zeros(0)
        starts = np.arange(count)[:, None] * SHIFT + np.arange(SIZE)
        spectra = np.fft.rfft(self._input[starts] * self._window, axis=1)
        clean = np.empty_like(spectra)
        for index, spectrum in enumerate(spectra):
            clean[index] = self._predict(spectrum)
        # at most floor_db below the frame as it came: the prediction adapts on the full estimate
        clean = np.where(np.abs(clean) < self._floor * np.abs(spectra), self._floor * spectra, clean)
        frames = np.fft.irfft(clean, SIZE, axis=1) * self._window * self._scale
        out = np.concatenate([self._output, np.zeros(count * SHIFT)])
        for index, frame in enumerate(frames):  # in frame order, as one frame at a time would add
            out[index * SHIFT : index * SHIFT + SIZE] += frame
        self._input = self._input[count * SHIFT :]
        self._output = out[count * SHIFT :]
        return out[: count * SHIFT]

    def _predict(self, frame: np.ndarray) -> np.ndarray:
        """y_t less its prediction from the delayed frames, then the RLS update, every bin at once:
        ``nara_wpe.wpe.OnlineWPE.step_frame``'s arithmetic for one channel (the tests compare)."""
        window = self._history[: self.settings.taps].T  # [bins, taps], oldest first
        estimate = frame - (self._filter.conj() * window).sum(axis=1)
        self._history = np.concatenate([self._history[1:], frame[None]])
        power = (self._history.real**2 + self._history.imag**2).mean(axis=0)  # the last taps + delay + 1 frames
        alpha = self.settings.alpha
        px = np.matmul(self._inverse, window[:, :, None])[:, :, 0]  # P x
        denominator = alpha * power + np.einsum("fi,fi->f", window.conj(), px).real
        floor = 1e-10 * denominator.max()
        gain = px / (np.maximum(denominator, floor)[:, None] if floor > 0 else 1.0)
        xp = px.conj()  # x^H P = (P x)^H: P stays Hermitian
        self._inverse -= gain[:, :, None] * xp[:, None, :]
        self._inverse /= alpha
        self._filter += gain * estimate.conj()[:, None]
        return estimate


def dereverberate(audio16k: np.ndarray, settings: Settings = Settings()) -> np.ndarray:
    """A whole 16 kHz recording through :class:`Dereverb` (float32, the same length)."""
    wpe = Dereverb(settings)
    return np.concatenate([wpe.push(audio16k), wpe.finish()])
