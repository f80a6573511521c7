"""``crepetool prune`` and ``finetune``: cut a trained model to any capacity K/32, then make it
track pitch; or train a cut further. Both take one option set (:data:`TRAINING_OPTIONS`) and
make one call (:func:`_train`)."""

from __future__ import annotations

import functools
import inspect
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from crepetool.cli._common import (
    CapacityOpt,
    CriterionName,
    DeviceOpt,
    JsonOpt,
    OutputOpt,
    OverwriteOpt,
    QuietOpt,
    Recovery,
    SeedOpt,
    SourceOpt,
    human_size,
    recovery_progress,
    recovery_table,
    weights_output,
)
from crepetool.cli.output import Output, quieten
from crepetool.errors import UserInputError
from crepetool.names import AUTO, schedule_text

StepsOpt = Annotated[
    int | None,
    typer.Option(
        "--steps",
        min=1,
        help=f"Distillation steps of 64 frames [default by capacity: {schedule_text()}].",
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
        help="Share of voiced training frames mixed over a band (chords, bass, drums) under the voice, "
        "for vocals separated from music (RVC, so-vits-svc); docs/recovery.md [default: 0].",
    ),
]
RunsOpt = Annotated[
    int,
    typer.Option(
        "--runs",
        min=1,
        help="Recover this many times from seeds --seed, --seed+1... and average the weights into one model, "
        "in N times the time (docs/recovery.md).",
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

#: The options prune and finetune share, as (name, annotation, default): added to each command by
#: :func:`training_options` and handed to it as one dict, ``training``.
TRAINING_OPTIONS: tuple[tuple[str, Any, Any], ...] = (
    ("steps", StepsOpt, None),
    ("minutes", MinutesOpt, None),
    ("audio", AudioOpt, None),
    ("bleed", BleedOpt, None),
    ("runs", RunsOpt, 1),
    ("teacher", TeacherOpt, AUTO),
    ("seed", SeedOpt, 0),
    ("device", DeviceOpt, None),
    ("json_output", JsonOpt, False),
    ("quiet", QuietOpt, False),
)


def training_options(command: Any) -> Any:
    """``command`` with :data:`TRAINING_OPTIONS` added to its options; it receives them as one
    dict argument, ``training``."""
    signature = inspect.signature(command, eval_str=True)
    own = [p for p in signature.parameters.values() if p.name != "training"]
    shared = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)
        for name, annotation, default in TRAINING_OPTIONS
    ]

    @functools.wraps(command)
    def wrapper(**values: Any) -> Any:
        training = {name: values.pop(name) for name, _, _ in TRAINING_OPTIONS}
        quieten(training["quiet"])
        return command(**values, training=training)

    wrapper.__signature__ = signature.replace(parameters=[*own, *shared])  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in [*own, *shared]}
    del wrapper.__wrapped__  # Typer reads the new signature, not the command's
    return wrapper


def _train(weights: Any, method: str, calibrate: bool, training: dict[str, Any]) -> Any:
    """The one recovery call of prune and finetune, with its progress bar and table."""
    from crepetool.training.recovery import RecoveryOptions, default_steps, recover

    minutes = training["minutes"]
    options = RecoveryOptions(
        method=method,
        teacher=training["teacher"],
        steps=training["steps"] or default_steps(weights.capacity),
        seed=training["seed"],
        audio=training["audio"],
        device=training["device"],
        time_budget=None if minutes is None else 60 * minutes,
        calibrate=calibrate,
        bleed_share=training["bleed"],
        runs=training["runs"],
    )
    with recovery_progress(method, options.steps * options.runs) as report:  # type: ignore[operator]
        recovered = recover(weights, options, progress=report)
    evaluation = recovered.metadata.get("recovery", {}).get("evaluation")
    if evaluation:
        Output(training["json_output"]).table(recovery_table(evaluation))
    return recovered


@training_options
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
    training: dict[str, Any] | None = None,
) -> None:
    """Prune the source model to K/32 capacity by channel selection (--criterion, default L1 norm), then recover it."""
    from crepetool.network.presets import default_pruned_filename, parse_capacity

    assert training is not None
    try:
        k = parse_capacity(capacity)
    except ValueError as exc:
        raise UserInputError(f"--capacity: {exc}") from None
    path = weights_output(output, default_pruned_filename(k), overwrite)

    from crepetool.network.resolver import resolve_source
    from crepetool.network.summary import describe
    from crepetool.network.weights import load, save
    from crepetool.training.pruning import prune
    from crepetool.training.recovery import method_for

    output_ = Output(training["json_output"])
    start = resolve_source(source, k)  # resolved once: the cut and the summary's "before"
    pruned = prune(start, k, criterion.value, seed=training["seed"])
    method = method_for(pruned, recover.value)
    if method == "none" and recover.value == AUTO:
        output_.note(f"{start.name} is already {k}/32: nothing cut, kept as trained (--recover distill trains it)")
    if method != "none":
        pruned = _train(pruned, method, True, training)
    save(pruned, path, overwrite=overwrite)
    before, after = describe(start.weights), describe(load(path))  # the file's own record of its source
    output_.table(_summary_table(before, after))
    output_.result({"path": str(path), "before": before, "after": after})
    output_.note(f"wrote {path}")


@training_options
def finetune_command(
    weights: Annotated[
        str,
        typer.Argument(help="Pruned weights to train further (.pth or .safetensors).", show_default=False),
    ],
    output: OutputOpt = None,
    overwrite: OverwriteOpt = False,
    training: dict[str, Any] | None = None,
) -> None:
    """Continue distillation on an existing pruned file [default output: NAME-finetuned.pth]."""
    from crepetool.network.resolver import weights_of
    from crepetool.network.summary import describe
    from crepetool.network.weights import save

    assert training is not None
    loaded = weights_of(weights)
    source = loaded.path if loaded.path is not None else Path(str(weights))
    path = weights_output(output, str(source.with_name(f"{source.stem}-finetuned{source.suffix}")), overwrite)
    tuned = _train(loaded, "distill", False, training)
    save(tuned, path, overwrite=overwrite)
    output_ = Output(training["json_output"])
    output_.result({"path": str(path), "after": describe(path)})
    output_.note(f"wrote {path}")


def _summary_table(before: dict, after: dict) -> Table:
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
    return table


def register(app: typer.Typer) -> None:
    app.command("prune")(prune_command)
    app.command("finetune")(finetune_command)
