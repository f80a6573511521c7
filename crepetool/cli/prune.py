"""``crepetool prune``: cut a trained model to any capacity K/32, then make it track pitch."""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table

from crepetool.cli.destination import weights_output
from crepetool.cli.options import CapacityOpt, CriterionName, OutputOpt, OverwriteOpt, Recovery, SourceOpt
from crepetool.cli.output import Output
from crepetool.cli.recovery import train, training_options
from crepetool.cli.tables import layer_table
from crepetool.errors import UserInputError
from crepetool.names import AUTO, NO_RECOVERY


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
    if method == NO_RECOVERY and recover.value == AUTO:
        output_.note(f"{start.name} is already {k}/32: nothing cut, kept as trained (--recover distill trains it)")
    if method != NO_RECOVERY:
        pruned = train(pruned, method, True, training)
    save(pruned, path, overwrite=overwrite)
    before, after = describe(start.weights), describe(load(path))  # the file's own record of its source
    output_.table(_summary_table(before, after))
    output_.result({"path": str(path), "before": before, "after": after})
    output_.note(f"wrote {path}")


def _summary_table(before: dict, after: dict) -> Table:
    from crepetool.network.provenance import Provenance

    source = Provenance.read(after["source"])
    start = source.describe() if source else f"capacity {before['capacity']}/32"
    return layer_table(f"{start} -> {after['capacity']}/32", {"before": before, "after": after})


def register(app: typer.Typer) -> None:
    app.command("prune")(prune_command)
