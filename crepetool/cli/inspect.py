"""``crepetool inspect``: per-layer channels and parameter counts of a weights file."""

from __future__ import annotations

import json

import typer

from crepetool.cli.options import JsonOpt, WeightsArg
from crepetool.cli.output import Output
from crepetool.cli.tables import layer_table, recovery_table


def inspect_command(weights: WeightsArg, json_output: JsonOpt = False) -> None:
    """Show per-layer channel counts, parameter counts, capacity and metadata."""
    from crepetool.network.summary import describe

    info = describe(weights)
    output = Output(json_output)
    output.result(info)
    if json_output:
        return
    table = layer_table(str(info["path"]), {"": info})
    output.table(table)
    preset = f" ({info['preset']})" if info["preset"] else ""
    output.line(f"capacity   {info['capacity']}/32{preset}")
    output.line(f"buffers    {info['buffers']:,} (batch-norm statistics)")
    output.line(f"format     {info['format']}")
    from crepetool.network.provenance import Provenance

    for role in ("source", "teacher"):
        record = Provenance.read(info[role])
        if record is not None:
            output.line(f"{role:<10} {record.describe()}")
    stage = info["context"]
    output.line(
        f"context    {stage['parameters']:,} parameters, ±{stage['reach_frames']} frames ({stage['reach_ms']:g} ms) "
        f"each side: the package's stage, run by predict after this model (--no-context: without)"
    )
    meta = info["metadata"]
    if meta:
        output.line("metadata")
        for key in sorted(meta):
            value = meta[key]
            if key == "kept_channels" and isinstance(value, dict):
                value = {k: f"{len(v)} channels" for k, v in value.items()}
            if key == "recovery" and isinstance(value, dict):
                value = {k: v for k, v in value.items() if k not in ("evaluation", "previous")}
            text = value if isinstance(value, str) else json.dumps(value)
            output.line(f"  {key}: {text}")
        recovery = meta.get("recovery")
        if isinstance(recovery, dict) and isinstance(recovery.get("evaluation"), dict):
            output.table(recovery_table(recovery["evaluation"]))


def register(app: typer.Typer) -> None:
    app.command("inspect")(inspect_command)
