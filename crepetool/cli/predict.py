"""``crepetool predict``: audio files to .csv / .pt pitch files."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from crepetool.cli._common import DeviceOpt, JsonOpt, OverwriteOpt, err, out, print_json


class Decoder(str, enum.Enum):
    viterbi = "viterbi"
    weighted_argmax = "weighted-argmax"
    argmax = "argmax"
    viterbi_torchcrepe = "viterbi-torchcrepe"


class Format(str, enum.Enum):
    csv = "csv"
    pt = "pt"


def predict_command(
    files: Annotated[
        list[Path], typer.Argument(help="Audio files (any format soundfile reads).", show_default=False)
    ],
    weights: Annotated[
        str, typer.Option("--weights", "-w", help="'full', 'tiny' or a weights path.")
    ] = "full",
    formats: Annotated[
        list[Format] | None,
        typer.Option("--format", "-f", help="Output format; repeat for both. [default: csv]"),
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
    fmin: Annotated[float, typer.Option("--fmin", help="Lowest pitch in Hz.")] = 50.0,
    fmax: Annotated[float, typer.Option("--fmax", help="Highest pitch in Hz.")] = 2006.0,
    decoder: Annotated[Decoder, typer.Option("--decoder", help="How bins become pitch.")] = Decoder.viterbi,
    batch_size: Annotated[
        int, typer.Option("--batch-size", help="Frames per network batch (memory, not results).")
    ] = 512,
    device: DeviceOpt = None,
    overwrite: OverwriteOpt = False,
    json_output: JsonOpt = False,
) -> None:
    """Track pitch in audio files; writes NAME.f0.csv (time,frequency,confidence) and/or NAME.f0.pt."""
    from crepetool.batch import predict_files

    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    )
    with progress:
        files_task = progress.add_task("files", total=len(files))
        frames_task = progress.add_task("frames", total=None)

        def on_start(path: Path, frames: int) -> None:
            progress.reset(frames_task, total=frames, description=path.name[:40])

        def on_file(result) -> None:
            progress.advance(files_task)
            if result.status == "failed":
                progress.console.print(
                    f"crepetool: error: {result.message}", markup=False, highlight=False, soft_wrap=True
                )

        summary = predict_files(
            files,
            weights,
            formats=[f.value for f in formats] if formats else ["csv"],
            output_dir=output_dir,
            hop_length=hop_length,
            step_size=step_size,
            fmin=fmin,
            fmax=fmax,
            decoder=decoder.value,
            batch_size=batch_size,
            device=device,
            overwrite=overwrite,
            on_start=on_start,
            on_frames=lambda n: progress.advance(frames_task, n),
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
