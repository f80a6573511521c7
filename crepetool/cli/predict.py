"""``crepetool predict``: audio files to pitch files (.f0.csv, .f0.pt, .activation.npy)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

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
from crepetool.cli import check_signals
from crepetool.cli._common import (
    ConvOpt,
    Decoder,
    DeviceOpt,
    Engine,
    Format,
    JsonOpt,
    OverwriteOpt,
    Precision,
    PrecisionOpt,
    Resampler,
    err,
    out,
    print_json,
)


def predict_command(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="Audio files (any format soundfile reads), or folders: every audio file under one, "
            "outputs mirrored under --output-dir.",
            show_default=False,
        ),
    ],
    weights: Annotated[
        str, typer.Option("--weights", "-w", help="'full', 'tiny' or a weights path.")
    ] = "full",
    formats: Annotated[
        list[Format] | None,
        typer.Option(
            "--format",
            "-f",
            help="Output format, repeatable: csv (NAME.f0.csv), pt (NAME.f0.pt), npy (NAME.activation.npy, "
            "the [T, 360] salience). [default: csv]",
        ),
    ] = None,
    output_dir: Annotated[
        Path | None,
        typer.Option("--output-dir", "-o", help="Write outputs here, keeping the inputs' relative paths."),
    ] = None,
    hop_length: Annotated[
        int | None,
        typer.Option("--hop-length", help="Hop in samples at the input's rate (torchcrepe's convention)."),
    ] = None,
    step_size: Annotated[
        float | None,
        typer.Option(
            "--step-size", help="Hop in milliseconds (exactly 16 x MS samples at 16 kHz). [default: 10]"
        ),
    ] = None,
    fmin: Annotated[float, typer.Option("--fmin", help="Lowest pitch in Hz.")] = names.DEFAULT_FMIN,
    fmax: Annotated[float, typer.Option("--fmax", help="Highest pitch in Hz.")] = names.DEFAULT_FMAX,
    decoder: Annotated[Decoder, typer.Option("--decoder", help="How bins become pitch.")] = Decoder(
        names.DEFAULT_DECODER
    ),
    batch_size: Annotated[
        int, typer.Option("--batch-size", help="Frames per network batch (memory, not results).")
    ] = names.DEFAULT_BATCH,
    resampler: Annotated[
        Resampler,
        typer.Option("--resampler", help="To 16 kHz: resampy (torchcrepe's, exact parity) or soxr (faster)."),
    ] = Resampler(names.DEFAULT_RESAMPLER),
    periodicity_threshold: Annotated[
        float | None,
        typer.Option(
            "--periodicity-threshold",
            help="Frames with periodicity below this are unvoiced: frequency 0 in the CSV (the .pt keeps the "
            "decoded pitch and a voiced mask). RVC uses 0.1.",
        ),
    ] = None,
    silence: Annotated[
        float | None,
        typer.Option(
            "--silence",
            help="Periodicity 0 where the A-weighted loudness is below this many dB (torchcrepe's "
            "threshold.Silence; so-vits-svc uses -60). Reads each file twice.",
        ),
    ] = None,
    median_filter: Annotated[
        int | None,
        typer.Option("--median-filter", help="Median filter of this many frames (odd) on the periodicity."),
    ] = None,
    mean_filter: Annotated[
        int | None,
        typer.Option("--mean-filter", help="Mean filter of this many frames (odd) on the voiced pitch."),
    ] = None,
    precision: PrecisionOpt = Precision(names.DEFAULT_PRECISION),
    conv: ConvOpt = None,
    plot: Annotated[
        bool,
        typer.Option(
            "--plot",
            help="Also write NAME.f0.png: salience, pitch and periodicity over time (needs crepetool[plot]).",
        ),
    ] = False,
    device: DeviceOpt = None,
    shard: Annotated[
        str | None,
        typer.Option(
            "--shard",
            help="I/N: process only shard I (0-based) of N, a deterministic size-balanced part of the "
            "sorted inputs; N processes (SLURM array, Kubernetes indexed job) cover every file once.",
        ),
    ] = None,
    engine: Annotated[
        Engine,
        typer.Option("--engine", help="local (this process) or ray (a Ray cluster; crepetool[ray])."),
    ] = Engine("local"),
    ray_address: Annotated[
        str | None,
        typer.Option(
            "--ray-address", help="Ray cluster to use [default: RAY_ADDRESS, else a local cluster]."
        ),
    ] = None,
    overwrite: OverwriteOpt = False,
    json_output: JsonOpt = False,
) -> None:
    """Track pitch in audio files; writes NAME.f0.csv (time,frequency,confidence) and/or NAME.f0.pt.

    Exit 0 when every file was done or skipped, 1 when any file could not be processed
    (each gets one line; the batch goes on), 2 for bad options or weights.
    """
    from crepetool.batch import predict_files
    from crepetool.prediction import PredictOptions

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
        periodicity_threshold=periodicity_threshold,
        silence_db=silence,
        median_filter=median_filter,
        mean_filter=mean_filter,
    )
    from crepetool.batch import expand_inputs

    inputs: list[Path] = expand_inputs(files)  # a folder is every audio file under it, as in CREPE
    if shard is not None:
        from crepetool.batch import parse_shard
        from crepetool.batch import shard as take_shard

        inputs = take_shard(inputs, *parse_shard(shard))
    progress = Progress(
        TextColumn("{task.description:>6}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    )
    with progress:
        files_task = progress.add_task("files", total=len(inputs), rate="")
        frames_task = progress.add_task("frames", total=None, rate="")

        def on_plan(count: int, frames: int) -> None:
            progress.update(frames_task, total=frames or None)

        def on_frames(count: int) -> None:
            check_signals()  # between batches: a Ctrl-C is never lost
            progress.advance(frames_task, count)
            speed = progress.tasks[frames_task].speed
            progress.update(frames_task, rate=f"{speed:,.0f} frames/s" if speed else "")

        def on_file(result) -> None:
            check_signals()
            progress.advance(files_task)
            if engine.value == "ray":  # remote workers report whole files
                progress.advance(frames_task, result.frames)
            if result.status == "failed":
                progress.console.print(
                    f"crepetool: error: {result.message}", markup=False, highlight=False, soft_wrap=True
                )

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
            on_plan=on_plan,
            on_frames=on_frames,
            on_file=on_file,
        )
    info = summary.as_dict()
    if json_output:
        print_json(info)
    else:
        rate = info["frames_per_second"]
        out.print(
            f"{info['done']} done, {info['skipped']} skipped (outputs exist), {info['failed']} failed; "
            f"{info['audio_seconds']:.1f} s of audio, {info['frames']} frames"
            + (f", {rate:.0f} frames/s" if rate else ""),
            highlight=False,
        )
    if info["failed"]:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("predict")(predict_command)
