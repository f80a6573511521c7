"""``crepetool export``: weights to an ONNX model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from crepetool import names
from crepetool.cli.options import ConvOpt, OverwriteOpt, WeightsArg
from crepetool.cli.output import Output


def export_command(
    weights: WeightsArg,
    output: Annotated[Path, typer.Argument(help="Output .onnx file.", show_default=False)],
    opset: Annotated[int, typer.Option("--opset", help=f"ONNX opset ({names.ONNX_OPSET} or later).")] = names.ONNX_OPSET,
    overwrite: OverwriteOpt = False,
    conv: ConvOpt = None,
) -> None:
    """Export weights of any capacity to ONNX (dynamic batch; needs crepetool[onnx]).

    conv2..conv6 are written transformed by default (MatMuls, faster under ONNX Runtime, a file
    ~2.5x larger); --conv direct writes Conv nodes.
    """
    from crepetool.network.export import EXPORT_CONV, export_onnx

    mode = EXPORT_CONV if conv is None else conv.value
    written = export_onnx(weights, output, opset=opset, overwrite=overwrite, conv=mode)
    Output().note(f"wrote {written}")


def register(app: typer.Typer) -> None:
    app.command("export")(export_command)
