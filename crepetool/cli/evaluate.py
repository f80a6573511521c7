"""``crepetool evaluate``: pitch metrics of several models and other trackers side by side."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from crepetool import names
from crepetool.cli.options import (
    ContextOpt,
    DereverbOpt,
    DeviceOpt,
    JsonOpt,
    Precision,
    PrecisionOpt,
    QuietOpt,
)
from crepetool.cli.output import Output, quieten, stderr
from crepetool.cli.tables import metric_table


def evaluate_command(
    weights: Annotated[
        list[str], typer.Argument(help="Weights to compare: full, tiny or paths.", show_default=False)
    ],
    audio: Annotated[
        Path | None,
        typer.Option(
            "--audio", help="Your recordings; NAME.f0.csv (time,f0) beside one is its ground truth."
        ),
    ] = None,
    reference: Annotated[
        str, typer.Option("--reference", help="Reference model for recordings without ground truth.")
    ] = "full",
    peers: Annotated[
        str | None,
        typer.Option(
            "--peers",
            help=f"Other trackers on the same audio, comma-separated: {', '.join(names.PEERS)} (crepetool[peers]).",
        ),
    ] = None,
    plot: Annotated[
        Path | None,
        typer.Option("--plot", help="Write accuracy against frames/s of everything evaluated to this PNG."),
    ] = None,
    device: DeviceOpt = None,
    precision: PrecisionOpt = Precision(names.DEFAULT_PRECISION),
    context: ContextOpt = True,
    dereverb: DereverbOpt = False,
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Pitch metrics of several models (and other trackers) side by side, with frames/s on this device."""
    from crepetool.evaluation import peers as peer_trackers
    from crepetool.evaluation.evaluate import evaluate

    quieten(quiet)
    trackers = peer_trackers.parse(peers)
    if plot is not None:
        from crepetool.atomic import check_output
        from crepetool.prediction.plotting import require_matplotlib

        require_matplotlib()
        check_output(plot, overwrite=True)
    with stderr.status("evaluating..."):
        result = evaluate(
            weights,
            audio_dir=audio,
            reference=reference,
            device=device,
            peers=trackers,
            precision=precision.value,
            context=context,
            dereverb=dereverb,
        )
    if plot is not None:
        _plot(result, plot)
    output = Output(json_output)
    output.result(result)
    output.table(_table(result))


def _plot(result: dict, plot: Path) -> None:
    """Accuracy against frames/s of every row, as a PNG."""
    from crepetool.evaluation.charts import accuracy_against_speed

    key = "raw_pitch_accuracy" if "raw_pitch_accuracy" in result["models"][0] else "agreement_with_reference"
    points = [
        {
            "label": Path(row["weights"]).name,
            "frames_per_second": row["frames_per_second"],
            "accuracy": row[key],
            "kind": "other trackers" if row.get("peer") else "CREPE",
        }
        for row in result["models"]
        if key in row
    ]
    accuracy_against_speed(
        points,
        plot,
        result["set"],
        "raw pitch accuracy (%)" if key.startswith("raw") else "agreement (%)",
    )
    Output().note(f"wrote {plot}")


#: evaluate's columns: (title, key, format).
EVALUATE_COLUMNS = [
    ("K", "capacity", "{}"),
    ("parameters", "parameters", "{:,}"),
    ("RPA", "raw_pitch_accuracy", "{:.1%}"),
    ("RCA", "raw_chroma_accuracy", "{:.1%}"),
    ("median c", "median_cents", "{:.1f}"),
    ("mean c", "mean_cents", "{:.1f}"),
    ("voicing recall", "voicing_recall", "{:.1%}"),
    ("false alarm", "voicing_false_alarm", "{:.1%}"),
    ("agreement", "agreement_with_reference", "{:.1%}"),
    ("frames/s", "frames_per_second", "{:.0f}"),
]


def _table(result: dict) -> Table:
    """The rows as a table: only the columns some row has."""
    rows = [(str(row["weights"]), row) for row in result["models"]]
    return metric_table(f"{result['set']} on {result['device']}", EVALUATE_COLUMNS, rows)


def register(app: typer.Typer) -> None:
    app.command("evaluate")(evaluate_command)
