"""``crepetool predict``: audio files to pitch files (.f0.csv, .f0.pt, .activation.npy)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from crepetool import names
from crepetool.cli.interrupts import check_signals
from crepetool.cli.options import (
    ContextOpt,
    ConvOpt,
    Decoder,
    DecoderOpt,
    DereverbDelayOpt,
    DereverbOpt,
    DereverbTapsOpt,
    DeviceOpt,
    Engine,
    FmaxOpt,
    FminOpt,
    Format,
    JsonOpt,
    MeanFilterOpt,
    MedianFilterOpt,
    OverwriteOpt,
    PeriodicityThresholdOpt,
    Precision,
    PrecisionOpt,
    QuietOpt,
    Resampler,
    ResamplerOpt,
    StepSizeOpt,
    WeightsOpt,
)
from crepetool.cli.output import Output, error, error_line, quieten, stderr
from crepetool.units import PITCH_BINS

FilesArg = Annotated[
    list[Path],
    typer.Argument(
        help="Audio files (any format soundfile reads), or folders: every audio file under one, "
        "outputs mirrored under --output-dir.",
        show_default=False,
    ),
]

FormatsOpt = Annotated[
    list[Format] | None,
    typer.Option(
        "--format",
        "-f",
        help="Output format, repeatable: csv (NAME.f0.csv), pt (NAME.f0.pt), npy (NAME.activation.npy, "
        f"the [T, {PITCH_BINS}] salience). [default: csv]",
    ),
]

OutputDirOpt = Annotated[
    Path | None,
    typer.Option("--output-dir", "-o", help="Write outputs here, keeping the inputs' relative paths."),
]

HopLengthOpt = Annotated[
    int | None,
    typer.Option("--hop-length", help="Hop in samples at the input's rate (torchcrepe's convention)."),
]

BatchSizeOpt = Annotated[
    int, typer.Option("--batch-size", help="Frames per network batch (memory, not results).")
]

SilenceOpt = Annotated[
    float | None,
    typer.Option(
        "--silence",
        help="Periodicity 0 where the A-weighted loudness is below this many dB (torchcrepe's "
        "threshold.Silence; so-vits-svc uses -60). Reads each file twice.",
    ),
]

PlotOpt = Annotated[
    bool,
    typer.Option(
        "--plot",
        help="Also write NAME.f0.png: salience, pitch and periodicity over time (needs crepetool[plot]).",
    ),
]

ShardOpt = Annotated[
    str | None,
    typer.Option(
        "--shard",
        help="I/N: process only shard I (0-based) of N, a deterministic size-balanced part of the "
        "sorted inputs; N processes (SLURM array, Kubernetes indexed job) cover every file once.",
    ),
]

EngineOpt = Annotated[
    Engine,
    typer.Option("--engine", help="local (this process) or ray (a Ray cluster; crepetool[ray])."),
]

RayAddressOpt = Annotated[
    str | None,
    typer.Option("--ray-address", help="Ray cluster to use [default: RAY_ADDRESS, else a local cluster]."),
]


def predict_command(
    files: FilesArg,
    weights: WeightsOpt = "full",
    formats: FormatsOpt = None,
    output_dir: OutputDirOpt = None,
    hop_length: HopLengthOpt = None,
    step_size: StepSizeOpt = None,
    fmin: FminOpt = names.DEFAULT_FMIN,
    fmax: FmaxOpt = names.DEFAULT_FMAX,
    decoder: DecoderOpt = Decoder(names.DEFAULT_DECODER),
    batch_size: BatchSizeOpt = names.PREDICT_BATCH,
    resampler: ResamplerOpt = Resampler(names.DEFAULT_RESAMPLER),
    periodicity_threshold: PeriodicityThresholdOpt = None,
    silence: SilenceOpt = None,
    median_filter: MedianFilterOpt = None,
    mean_filter: MeanFilterOpt = None,
    precision: PrecisionOpt = Precision(names.DEFAULT_PRECISION),
    conv: ConvOpt = None,
    context: ContextOpt = True,
    dereverb: DereverbOpt = False,
    dereverb_taps: DereverbTapsOpt = names.DEREVERB_TAPS,
    dereverb_delay: DereverbDelayOpt = names.DEREVERB_DELAY,
    plot: PlotOpt = False,
    device: DeviceOpt = None,
    shard: ShardOpt = None,
    engine: EngineOpt = Engine("local"),
    ray_address: RayAddressOpt = None,
    overwrite: OverwriteOpt = False,
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Track pitch in audio files; writes NAME.f0.csv (time,frequency,confidence) and/or NAME.f0.pt.

    Exit 0 when every file was done or skipped, 1 when any file could not be processed
    (each gets one line; the batch goes on), 2 for bad options or weights.
    """
    from crepetool.prediction.batch import expand_inputs, parse_shard, predict_files
    from crepetool.prediction.batch import shard as take_shard
    from crepetool.prediction.options import PredictOptions

    quieten(quiet)
    options = PredictOptions(
        hop_length=hop_length,
        step_size=step_size,
        fmin=fmin,
        fmax=fmax,
        decoder=decoder.value,
        batch_size=batch_size,
        device=device,
        resampler=resampler.value,
        precision=precision.value,
        conv=None if conv is None else conv.value,
        context=context,
        dereverb=dereverb,
        dereverb_taps=dereverb_taps,
        dereverb_delay=dereverb_delay,
        periodicity_threshold=periodicity_threshold,
        silence_db=silence,
        median_filter=median_filter,
        mean_filter=mean_filter,
    )
    inputs: list[Path] = expand_inputs(files)  # a folder is every audio file under it, as in CREPE
    if shard is not None:
        inputs = take_shard(inputs, *parse_shard(shard))
    with _BatchProgress(len(inputs), remote=engine.value == "ray") as progress:
        summary = predict_files(
            inputs,
            weights,
            options,
            formats=([f.value for f in formats] if formats else ["csv"])
            + ([names.PLOT_FORMAT] if plot else []),
            output_dir=output_dir,
            overwrite=overwrite,
            engine=engine.value,
            ray_address=ray_address,
            on_plan=progress.on_plan,
            on_frames=progress.on_frames,
            on_file=progress.on_file,
        )
    _report({**summary.as_dict(), "context": options.context, "dereverb": options.dereverb_record}, json_output)


class _BatchProgress:
    """Two bars, files and frames across the batch, with rate and ETA; a failed file's line
    printed above them as it happens."""

    def __init__(self, files: int, remote: bool) -> None:
        self.remote = remote  # remote workers report whole files, not batches
        self.progress = Progress(
            TextColumn("{task.description:>6}"),
            BarColumn(),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=stderr,
            transient=True,
        )
        self.files = self.progress.add_task("files", total=files, rate="")
        self.frames = self.progress.add_task("frames", total=None, rate="")

    def __enter__(self) -> _BatchProgress:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(*exc)

    def on_plan(self, count: int, frames: int) -> None:
        self.progress.update(self.frames, total=frames or None)

    def on_frames(self, count: int) -> None:
        check_signals()  # between batches: a Ctrl-C is never lost
        self.progress.advance(self.frames, count)
        speed = self.progress.tasks[self.frames].speed
        self.progress.update(self.frames, rate=f"{speed:,.0f} frames/s" if speed else "")

    def on_file(self, result: Any) -> None:
        check_signals()
        self.progress.advance(self.files)
        if self.remote:
            self.progress.advance(self.frames, result.frames)
        if result.status == "failed" and stderr.quiet:  # --quiet: the bars are off, errors are not
            error(result.message)
        elif result.status == "failed":
            self.progress.console.print(error_line(result.message), markup=False, highlight=False, soft_wrap=True)


def _report(info: dict[str, Any], json_output: bool) -> None:
    """The batch's summary (exit 1 when a file failed)."""
    output = Output(json_output)
    output.result(info)
    rate = info["frames_per_second"]
    output.line(
        f"{info['done']} done, {info['skipped']} skipped (outputs exist), {info['failed']} failed; "
        f"{info['audio_seconds']:.1f} s of audio, {info['frames']} frames"
        + (f", {rate:.0f} frames/s" if rate else "")
    )
    if info["failed"]:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("predict")(predict_command)
