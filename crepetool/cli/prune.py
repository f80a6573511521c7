"""``crepetool prune``: cut the full model to any capacity K/32."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from crepetool.cli._common import (
    CapacityOpt,
    CriterionName,
    OutputOpt,
    OverwriteOpt,
    Recovery,
    SeedOpt,
    SourceOpt,
    err,
    human_size,
    out,
)
from crepetool.errors import UserInputError


def prune_command(
    capacity: CapacityOpt,
    source: SourceOpt = "full",
    criterion: CriterionName = typer.Option(
        CriterionName.l1, "--criterion", help="Channel importance criterion."
    ),
    output: OutputOpt = None,
    overwrite: OverwriteOpt = False,
    recover: Recovery = typer.Option(Recovery.none, "--recover", help="Recovery after selection."),
    seed: SeedOpt = 0,
) -> None:
    """Prune the source model to K/32 capacity by L1-norm channel selection."""
    from crepetool.atomic import check_output
    from crepetool.presets import default_pruned_filename, parse_capacity

    try:
        k = parse_capacity(capacity)
    except ValueError as exc:
        raise UserInputError(str(exc)) from None
    path = output if output is not None else Path(default_pruned_filename(k))
    if path.suffix.lower() not in (".pth", ".pt", ".safetensors"):
        raise UserInputError(f"{path}: output must end in .pth or .safetensors")
    check_output(path, overwrite)  # before minutes of work, not after
    if recover is Recovery.distill:
        raise UserInputError("--recover distill is not available yet; use --recover bn or none")

    from crepetool.pruning import prune
    from crepetool.summary import describe
    from crepetool.weights import load, save

    pruned = prune(source, k, criterion.value, seed=seed)
    if recover is Recovery.bn:
        from crepetool.recovery import recover as apply_recovery

        with err.status("re-estimating batch-norm statistics..."):
            pruned = apply_recovery(pruned, "bn", seed=seed)
    save(pruned, path, overwrite=overwrite)
    _print_summary(describe(source), describe(load(path)))
    err.print(f"wrote {path}")


def _print_summary(before: dict, after: dict) -> None:
    table = Table(title=f"capacity {before['capacity']}/32 -> {after['capacity']}/32", title_justify="left")
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
