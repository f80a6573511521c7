"""What prune and finetune share: one option set (:data:`TRAINING_OPTIONS`), one recovery call
(:func:`train`) and its progress bar."""

from __future__ import annotations

import contextlib
import functools
import inspect
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from crepetool.cli.interrupts import check_signals
from crepetool.cli.options import DeviceOpt, JsonOpt, QuietOpt, SeedOpt
from crepetool.cli.output import Output, quieten, stderr
from crepetool.cli.tables import recovery_table
from crepetool.names import AUTO, DISTILL, schedule_text

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


def train(weights: Any, method: str, calibrate: bool, training: dict[str, Any]) -> Any:
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


@contextlib.contextmanager
def recovery_progress(method: str, steps: int) -> Iterator[Callable[[int, int, float, float | None], None]]:
    """A rich progress bar fed by recovery's ``progress(step, steps, loss, held_out_accuracy)``."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]}  held-out {task.fields[accuracy]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    description = "distilling" if method == DISTILL else "re-estimating batch norm"
    with Progress(*columns, console=stderr, transient=False) as bar:
        task = bar.add_task(description, total=steps if method == DISTILL else None, loss="-", accuracy="-")
        if method != DISTILL:
            yield lambda *args: None
            return

        def report(step: int, total: int, loss: float, accuracy: float | None) -> None:
            check_signals()  # between steps: a Ctrl-C is never lost
            fields: dict[str, Any] = {"loss": f"{loss:.4f}"}
            if accuracy is not None:
                fields["accuracy"] = f"{accuracy:.1%}"
            bar.update(task, completed=step, total=total, **fields)

        yield report
