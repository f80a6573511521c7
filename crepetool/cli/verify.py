"""``crepetool verify``: is this model a pitch tracker (structure, pitch, embedding, torchcrepe, accuracy)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from crepetool import names
from crepetool.cli.options import DeviceOpt, JsonOpt, Precision, PrecisionOpt, WeightsArg
from crepetool.cli.output import Output, error, stderr

VERDICTS = {"pass": "[green]PASS[/green]", "fail": "[red]FAIL[/red]", "info": "[blue]INFO[/blue]"}


def verify_command(
    weights: WeightsArg,
    min_accuracy: Annotated[
        float, typer.Option("--min-accuracy", help="Raw pitch accuracy needed on the known-f0 signals.")
    ] = names.DEFAULT_MIN_ACCURACY,
    min_agreement: Annotated[
        float | None,
        typer.Option(
            "--min-agreement", help="Fail below this agreement with full (reported only when unset)."
        ),
    ] = None,
    device: DeviceOpt = None,
    precision: PrecisionOpt = Precision(names.DEFAULT_PRECISION),
    json_output: JsonOpt = False,
) -> None:
    """Check structure, pitch, embedding, torchcrepe integration and accuracy; exit 1 if any check fails.

    Agreement with full is reported (INFO) unless --min-agreement makes it a check.
    """
    from crepetool.evaluation.verify import verify

    with stderr.status("verifying (tracking the known-f0 signals)..."):
        report = verify(
            weights,
            min_accuracy=min_accuracy,
            min_agreement=min_agreement,
            device=device,
            precision=precision.value,
        )
    output = Output(json_output)
    output.result(report.as_dict())
    if not json_output:
        table = Table(title=f"{report.weights} ({report.capacity}/32)", title_justify="left")
        for column in ("check", "result", "measured", "detail"):
            table.add_column(column)
        for check in report.checks:
            verdict = VERDICTS[check.status]
            table.add_row(check.name, verdict, check.value, check.detail)
        output.table(table)
    if not report.passed:
        error(f"verify failed: {', '.join(c.name for c in report.checks if not c.passed)}")
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("verify")(verify_command)
