"""``crepetool convert``: .pth <-> .safetensors."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from crepetool.cli.options import OverwriteOpt, WeightsArg
from crepetool.cli.output import Output


def convert_command(
    source: WeightsArg,
    destination: Annotated[
        Path, typer.Argument(help="Output file: .pth or .safetensors.", show_default=False)
    ],
    overwrite: OverwriteOpt = False,
) -> None:
    """Convert weights between .pth and .safetensors (tensors identical, metadata kept)."""
    from crepetool.network.resolver import weights_of
    from crepetool.network.weights import convert

    written = convert(weights_of(source), destination, overwrite=overwrite)
    Output().note(f"wrote {written}")


def register(app: typer.Typer) -> None:
    app.command("convert")(convert_command)
