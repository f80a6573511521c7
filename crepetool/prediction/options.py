"""How to predict: one validated options object, from the CLI through the pipeline."""

from __future__ import annotations

import dataclasses
from typing import Any

from crepetool.errors import UserInputError, check_choice
from crepetool.names import (
    CONTEXT_HOP,
    CONV_MODES,
    DECODERS,
    DEFAULT_DECODER,
    DEFAULT_FMAX,
    DEFAULT_FMIN,
    DEFAULT_PRECISION,
    DEFAULT_RESAMPLER,
    DEFAULT_STEP_MS,
    DEREVERB_DELAY,
    DEREVERB_TAPS,
    PRECISIONS,
    PREDICT_BATCH,
    RESAMPLERS,
    TORCHCREPE_VITERBI,
)
from crepetool.prediction.decode import check_torchcrepe_viterbi
from crepetool.prediction.dereverb import Settings
from crepetool.prediction.voicing import Voicing
from crepetool.units import SAMPLE_RATE, step_to_hop


@dataclasses.dataclass(frozen=True)
class PredictOptions:
    """How to predict: one object from the CLI through the batch to :func:`predict`.

    Validated once, here: a bad value raises UserInputError naming the option.

    Attributes
        hop_length: hop in samples at the input's own rate (torchcrepe's convention), or
        step_size: hop in milliseconds, exactly ``16 * ms`` samples at 16 kHz; neither means 10 ms.
        fmin, fmax: pitch range in Hz.
        decoder: one of :data:`crepetool.names.DECODERS`.
        batch_size: frames per network batch (memory, never results).
        device: ``cpu``, ``cuda``, ``cuda:N``; None is cuda when available.
        resampler: ``resampy`` (torchcrepe's, the default) or ``soxr`` (faster).
        precision: ``fp32``, ``bf16`` (CPU matrix units, or CUDA) or ``fp16`` (CUDA); see
            :mod:`crepetool.network.precision`.
        conv: ``auto``, ``direct`` or ``transform``: how conv2..conv6 run (:mod:`crepetool.network.spectral`);
            None is the model's own (``auto``, or ``CREPETOOL_CONV``).
        context: run the context stage (:mod:`crepetool.network.context`) between the network and
            the decoder, at a 10 ms hop (:data:`crepetool.network.context.HOP`; other hops, and
            False, give plain CREPE output).
        dereverb: remove late reverberation from the 16 kHz audio before framing (online WPE,
            :mod:`crepetool.prediction.dereverb`); dereverb_taps and dereverb_delay: its predictor's
            STFT frames and the frames it skips.
        periodicity_threshold, silence_db, median_filter, mean_filter: voicing and smoothing
            after decoding (:mod:`crepetool.prediction.voicing`), all off by default.
    """

    hop_length: int | None = None
    step_size: float | None = None
    fmin: float = DEFAULT_FMIN
    fmax: float = DEFAULT_FMAX
    decoder: str = DEFAULT_DECODER
    batch_size: int = PREDICT_BATCH
    device: str | None = None
    resampler: str = DEFAULT_RESAMPLER
    precision: str = DEFAULT_PRECISION
    conv: str | None = None
    context: bool = True
    dereverb: bool = False
    dereverb_taps: int = DEREVERB_TAPS
    dereverb_delay: int = DEREVERB_DELAY
    periodicity_threshold: float | None = None
    silence_db: float | None = None
    median_filter: int | None = None
    mean_filter: int | None = None

    def __post_init__(self) -> None:
        for name in ("median_filter", "mean_filter"):
            value = getattr(self, name)
            if value is not None and (value < 1 or value % 2 == 0):
                raise UserInputError(
                    f"--{name.replace('_', '-')}: the window must be an odd number of frames, not {value}"
                )
        if self.periodicity_threshold is not None and not 0 <= self.periodicity_threshold <= 1:
            raise UserInputError(
                f"--periodicity-threshold: must be within 0..1, not {self.periodicity_threshold}"
            )
        if not 0 < self.fmin < self.fmax:
            raise UserInputError(
                f"--fmin/--fmax: need 0 < fmin < fmax, got fmin {self.fmin} Hz and fmax {self.fmax} Hz"
            )
        if self.hop_length is not None and self.step_size is not None:
            raise UserInputError("give --hop-length or --step-size, not both")
        if self.hop_length is not None and self.hop_length <= 0:
            raise UserInputError(f"--hop-length: hop length must be positive, not {self.hop_length}")
        if self.step_size is not None and not self.step_size > 0:
            raise UserInputError(f"--step-size: step size must be positive, not {self.step_size}")
        if self.batch_size < 1:
            raise UserInputError(f"--batch-size: batch size must be at least 1, not {self.batch_size}")
        check_choice("precision", self.precision, PRECISIONS, "--precision")
        if self.conv is not None:
            check_choice("mode", self.conv, CONV_MODES, "--conv")
        check_choice("resampler", self.resampler, RESAMPLERS, "--resampler")
        check_choice("decoder", self.decoder, DECODERS, "--decoder")
        if self.decoder == TORCHCREPE_VITERBI:
            check_torchcrepe_viterbi(self.fmin, self.fmax)
        self.dereverb_settings  # noqa: B018 (built to be checked: Settings refuses bad taps and delay)

    def hop(self, sample_rate: int) -> int:
        """Hop in samples at 16 kHz for an input at ``sample_rate``.

        ``step_size`` gives exactly ``16 * ms`` samples; ``hop_length`` is converted as
        torchcrepe does, ``int(hop * 16000 / rate)``.
        """
        if self.hop_length is not None:
            hop = self.hop_length
            if sample_rate != SAMPLE_RATE:
                hop = int(self.hop_length * SAMPLE_RATE / sample_rate)
        else:
            hop = step_to_hop(DEFAULT_STEP_MS if self.step_size is None else self.step_size)
        if hop < 1:
            raise UserInputError(
                f"the hop is under one sample at 16 kHz (hop length {self.hop_length} at {sample_rate} Hz)"
            )
        return hop

    @property
    def dereverb_settings(self) -> Settings:
        """The dereverberating front end's settings (:class:`crepetool.prediction.dereverb.Settings`)."""
        return Settings(taps=self.dereverb_taps, delay=self.dereverb_delay)

    @property
    def dereverb_record(self) -> dict[str, int] | None:
        """What the outputs record of the front end: its settings, or None when it is off."""
        if not self.dereverb:
            return None
        return {"taps": self.dereverb_taps, "delay": self.dereverb_delay}

    def uses_context(self, hop: int) -> bool:
        """Whether the context stage runs at ``hop`` (samples at 16 kHz)."""
        return self.context and hop == CONTEXT_HOP

    @property
    def voicing(self) -> Voicing:
        return Voicing(self.periodicity_threshold, self.silence_db, self.median_filter, self.mean_filter)

    def replace(self, **changes: Any) -> PredictOptions:
        """A copy with ``changes`` (validated again)."""
        return dataclasses.replace(self, **changes) if changes else self
