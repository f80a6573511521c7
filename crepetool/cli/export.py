"""``crepetool export``: weights to an ONNX model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from crepetool.cli._common import OverwriteOpt, WeightsArg, err


def export_command(
    weights: WeightsArg,
    output: Annotated[Path, typer.Argument(help="Output .onnx file.", show_default=False)],
    opset: Annotated[int, typer.Option("--opset", help="ONNX opset (17 or later).")] = 17,
    overwrite: OverwriteOpt = False,
) -> None:
    """Export weights of any capacity to ONNX (dynamic batch; needs crepetool[onnx])."""
    from crepetool.export import export_onnx

    written = export_onnx(weights, output, opset=opset, overwrite=overwrite)
    err.print(f"wrote {written}")


def register(app: typer.Typer) -> None:
    app.command("export")(export_command)
