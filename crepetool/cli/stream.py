"""``crepetool stream``: live audio on standard input to one CSV line per frame on standard output,
each as soon as it is decided (``arecord -f S16_LE -r 16000 | crepetool stream -w tiny``)."""

from __future__ import annotations

from typing import Annotated

import typer

from crepetool import names
from crepetool.cli.options import (
    ContextOpt,
    Decoder,
    DecoderOpt,
    DereverbDelayOpt,
    DereverbOpt,
    DereverbTapsOpt,
    DeviceOpt,
    FmaxOpt,
    FminOpt,
    MeanFilterOpt,
    MedianFilterOpt,
    PeriodicityThresholdOpt,
    Resampler,
    ResamplerOpt,
    SampleFormat,
    StepSizeOpt,
    WeightsOpt,
)
from crepetool.units import SAMPLE_RATE


def stream_command(
    weights: WeightsOpt = "full",
    latency: Annotated[
        float | None,
        typer.Option(
            "--latency",
            help="Milliseconds a frame may wait after its window is complete; past that it is decided "
            "from the best path so far. The context stage's look-ahead (150 ms) counts against it and is "
            "trimmed to fit. [default: none: wait for the Viterbi and for the frame's group of 64, "
            "the output then equals predict's]",
        ),
    ] = None,
    block: Annotated[float, typer.Option("--block", help="Milliseconds of audio read at a time.")] = names.DEFAULT_BLOCK_MS,
    rate: Annotated[
        int | None,
        typer.Option("--rate", help=f"Sample rate of raw input (a WAV header gives its own). [default: {SAMPLE_RATE}]"),
    ] = None,
    sample_format: Annotated[
        SampleFormat | None,  # type: ignore[valid-type]
        typer.Option(
            "--sample-format",
            help=f"Samples of raw input (a WAV header gives its own). [default: {names.DEFAULT_SAMPLE_FORMAT}]",
        ),
    ] = None,
    raw_input: Annotated[
        bool,
        typer.Option(
            "--raw",
            help="Read standard input as raw samples, whatever its first bytes (so does giving both --rate "
            "and --sample-format); otherwise an MP3, Ogg, FLAC or other container is refused.",
        ),
    ] = False,
    channels: Annotated[int, typer.Option("--channels", min=1, help="Channels of raw input, mixed to mono.")] = 1,
    step_size: StepSizeOpt = None,
    fmin: FminOpt = names.DEFAULT_FMIN,
    fmax: FmaxOpt = names.DEFAULT_FMAX,
    decoder: DecoderOpt = Decoder(names.DEFAULT_DECODER),
    resampler: ResamplerOpt = Resampler(names.DEFAULT_RESAMPLER),
    periodicity_threshold: PeriodicityThresholdOpt = None,
    median_filter: MedianFilterOpt = None,
    mean_filter: MeanFilterOpt = None,
    context: ContextOpt = True,
    dereverb: DereverbOpt = False,
    dereverb_taps: DereverbTapsOpt = names.DEREVERB_TAPS,
    dereverb_delay: DereverbDelayOpt = names.DEREVERB_DELAY,
    device: DeviceOpt = None,
) -> None:
    """Track pitch live: WAV or raw PCM on standard input, a CSV line (time,frequency,confidence)
    per frame on standard output as each is decided."""
    import sys

    from crepetool.prediction.options import PredictOptions
    from crepetool.prediction.pcm import RAW_FORMATS, PcmFormat
    from crepetool.prediction.stream import stream_csv

    options = PredictOptions(
        step_size=step_size,
        fmin=fmin,
        fmax=fmax,
        decoder=decoder.value,
        device=device,
        resampler=resampler.value,
        periodicity_threshold=periodicity_threshold,
        median_filter=median_filter,
        mean_filter=mean_filter,
        context=context,
        dereverb=dereverb,
        dereverb_taps=dereverb_taps,
        dereverb_delay=dereverb_delay,
    )
    raw_only = raw_input or (rate is not None and sample_format is not None)
    fmt = names.DEFAULT_SAMPLE_FORMAT if sample_format is None else sample_format.value
    raw = PcmFormat(SAMPLE_RATE if rate is None else rate, channels, RAW_FORMATS[fmt])
    try:
        stream_csv(
            sys.stdin.buffer, sys.stdout, weights, raw, options, latency_ms=latency, block_ms=block, raw_only=raw_only
        )
    except BrokenPipeError:  # the reader stopped (`| head`): nothing more to say
        sys.stderr.close()


def register(app: typer.Typer) -> None:
    app.command("stream")(stream_command)
