"""``crepetool prune`` and ``finetune``: cut the full model to any capacity K/32, then make it track pitch."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from crepetool.cli._common import (
    CapacityOpt,
    CriterionName,
    DeviceOpt,
    OutputOpt,
    OverwriteOpt,
    Recovery,
    SeedOpt,
    SourceOpt,
    err,
    human_size,
    out,
    recovery_progress,
    recovery_table,
    weights_output,
)
from crepetool.errors import UserInputError
from crepetool.names import AUTO

StepsOpt = Annotated[
    int | None,
    typer.Option(
        "--steps",
        min=1,
        help="Distillation steps of 64 frames [default: recovery.SCHEDULE, 1000 at K=9..15, 540 at 5..8, else 360; "
        "at K=12 about 5 minutes in all on 2 CPU cores].",
    ),
]
MinutesOpt = Annotated[
    float | None,
    typer.Option(
        "--minutes",
        min=0.0,
        help="Fit recovery into this many minutes: the learning-rate decay is re-aimed at the steps "
        "that fit at the pace measured (at most --steps), so it ends annealed. Steps then vary by machine.",
    ),
]
AudioOpt = Annotated[
    Path | None,
    typer.Option(
        "--audio", help="A folder of your own recordings to add to training (the teacher labels them)."
    ),
]
BleedOpt = Annotated[
    float | None,
    typer.Option(
        "--bleed",
        min=0.0,
        max=1.0,
        help="Share of voiced training frames mixed over a band (chords, bass, drums) 5-15 dB under the voice, "
        "for vocals separated from music (RVC, so-vits-svc): 0.2 lifts degraded and bleed audio and costs "
        "clean-ish audio a little (docs/recovery.md) [default: 0].",
    ),
]
RunsOpt = Annotated[
    int,
    typer.Option(
        "--runs",
        min=1,
        help="Recover this many times from seeds --seed, --seed+1... and average the weights into one model, "
        "in N times the time: two runs measured better than one on clean-ish audio and a little better "
        "on degraded audio (docs/recovery.md).",
    ),
]
TeacherOpt = Annotated[
    str,
    typer.Option(
        "--teacher",
        help="Model to imitate: 'auto' (the official medium or large a cut started from, else full), "
        "'full' or a weights path.",
    ),
]


def _recover(weights: Any, method: str, calibrate: bool, **options: Any) -> Any:
    from crepetool.training.recovery import default_steps, recover

    steps = options.pop("steps") or default_steps(weights.capacity)
    minutes = options.pop("minutes")
    budget = None if minutes is None else 60 * minutes
    with recovery_progress(method, steps * options["runs"]) as report:
        recovered = recover(
            weights, method, steps=steps, time_budget=budget, progress=report, calibrate=calibrate, **options
        )
    evaluation = recovered.metadata.get("recovery", {}).get("evaluation")
    if evaluation:
        out.print(recovery_table(evaluation))
    return recovered


def prune_command(
    capacity: CapacityOpt,
    source: SourceOpt = AUTO,
    criterion: CriterionName = typer.Option(
        CriterionName("l1"), "--criterion", help="Channel importance criterion (l1: L1 norm of each filter)."
    ),
    output: OutputOpt = None,
    overwrite: OverwriteOpt = False,
    recover: Recovery = typer.Option(
        Recovery(AUTO),
        "--recover",
        help="Recovery after selection: distill from the teacher (minutes), bn statistics only (seconds), or none; "
        "auto distils a cut and keeps a source already K wide as trained.",
    ),
    steps: StepsOpt = None,
    minutes: MinutesOpt = None,
    audio: AudioOpt = None,
    bleed: BleedOpt = None,
    runs: RunsOpt = 1,
    teacher: TeacherOpt = AUTO,
    seed: SeedOpt = 0,
    device: DeviceOpt = None,
) -> None:
    """Prune the source model to K/32 capacity by channel selection (--criterion, default L1 norm), then recover it."""
    from crepetool.network.presets import default_pruned_filename, parse_capacity

    try:
        k = parse_capacity(capacity)
    except ValueError as exc:
        raise UserInputError(str(exc)) from None
    path = weights_output(output, default_pruned_filename(k), overwrite)

    from crepetool.network.resolver import resolve_source
    from crepetool.network.summary import describe
    from crepetool.network.weights import load, save
    from crepetool.training.pruning import prune
    from crepetool.training.recovery import method_for

    start = resolve_source(source, k)  # resolved once: the cut and the summary's "before"
    pruned = prune(start, k, criterion.value, seed=seed)
    method = method_for(pruned, recover.value)
    if method == "none" and recover.value == AUTO:
        err.print(
            f"{start.name} is already {k}/32: nothing cut, kept as trained (--recover distill trains it)"
        )
    if method != "none":
        pruned = _recover(
            pruned,
            method,
            True,
            steps=steps,
            minutes=minutes,
            audio=audio,
            bleed_share=bleed,
            runs=runs,
            teacher=teacher,
            seed=seed,
            device=device,
        )
    save(pruned, path, overwrite=overwrite)
    _print_summary(describe(start.weights), describe(load(path)))  # the file's own record of its source
    err.print(f"wrote {path}")


def finetune_command(
    weights: Annotated[
        str,
        typer.Argument(help="Pruned weights to train further (.pth or .safetensors).", show_default=False),
    ],
    output: OutputOpt = None,
    overwrite: OverwriteOpt = False,
    steps: StepsOpt = None,
    minutes: MinutesOpt = None,
    audio: AudioOpt = None,
    bleed: BleedOpt = None,
    runs: RunsOpt = 1,
    teacher: TeacherOpt = AUTO,
    seed: SeedOpt = 0,
    device: DeviceOpt = None,
) -> None:
    """Continue distillation on an existing pruned file [default output: NAME-finetuned.pth]."""
    from crepetool.network.resolver import weights_of
    from crepetool.network.weights import save

    loaded = weights_of(weights)
    source = loaded.path if loaded.path is not None else Path(str(weights))
    path = weights_output(output, str(source.with_name(f"{source.stem}-finetuned{source.suffix}")), overwrite)
    tuned = _recover(
        loaded,
        "distill",
        False,
        steps=steps,
        minutes=minutes,
        audio=audio,
        bleed_share=bleed,
        runs=runs,
        teacher=teacher,
        seed=seed,
        device=device,
    )
    save(tuned, path, overwrite=overwrite)
    err.print(f"wrote {path}")


def _print_summary(before: dict, after: dict) -> None:
    from crepetool.network.provenance import Provenance

    source = Provenance.read(after["source"])
    start = source.describe() if source else f"capacity {before['capacity']}/32"
    table = Table(title=f"{start} -> {after['capacity']}/32", title_justify="left")
    for column in ("layer", "channels before", "channels after", "parameters before", "parameters after"):
        table.add_column(column, justify="left" if column == "layer" else "right")
    for b, a in zip(before["layers"], after["layers"]):
        key = "in_features" if b["name"] == "classifier" else "out_channels"
        table.add_row(b["name"], str(b[key]), str(a[key]), f"{b['parameters']:,}", f"{a['parameters']:,}")
    table.add_section()
    table.add_row("total", "", "", f"{before['parameters']:,}", f"{after['parameters']:,}")
    table.add_row("file size", "", "", human_size(before["file_size"]), human_size(after["file_size"]))
    out.print(table)


def register(app: typer.Typer) -> None:
    app.command("prune")(prune_command)
    app.command("finetune")(finetune_command)
