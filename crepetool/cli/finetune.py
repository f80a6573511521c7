"""``crepetool finetune``: train a cut further."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from crepetool.cli.destination import weights_output
from crepetool.cli.options import OutputOpt, OverwriteOpt
from crepetool.cli.output import Output
from crepetool.cli.recovery import train, training_options


@training_options
def finetune_command(
    weights: Annotated[
        str,
        typer.Argument(help="Pruned weights to train further (.pth or .safetensors).", show_default=False),
    ],
    output: OutputOpt = None,
    overwrite: OverwriteOpt = False,
    training: dict[str, Any] | None = None,
) -> None:
    """Continue distillation on an existing pruned file [default output: NAME-finetuned.pth]."""
    from crepetool.network.resolver import weights_of
    from crepetool.network.summary import describe
    from crepetool.network.weights import save

    assert training is not None
    loaded = weights_of(weights)
    source = loaded.path if loaded.path is not None else Path(str(weights))
    path = weights_output(output, str(source.with_name(f"{source.stem}-finetuned{source.suffix}")), overwrite)
    tuned = train(loaded, "distill", False, training)
    save(tuned, path, overwrite=overwrite)
    output_ = Output(training["json_output"])
    output_.result({"path": str(path), "after": describe(path)})
    output_.note(f"wrote {path}")


def register(app: typer.Typer) -> None:
    app.command("finetune")(finetune_command)
