"""``crepetool average``: several trainings of one cut averaged into one model."""

from __future__ import annotations

from typing import Annotated

import typer

from crepetool.cli.completion import complete_weights
from crepetool.cli.destination import weights_output
from crepetool.cli.options import JsonOpt, OutputOpt, OverwriteOpt, QuietOpt
from crepetool.cli.output import Output, quieten
from crepetool.errors import UserInputError


def average_command(
    models: Annotated[
        list[str],
        typer.Argument(
            help="Two or more weights of one cut (the same prune, other --seed), .pth or .safetensors.",
            autocompletion=complete_weights,
            show_default=False,
        ),
    ],
    output: OutputOpt = None,
    overwrite: OverwriteOpt = False,
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Average the weights of models recovered from one cut (prune --seed 0, --seed 1...) into one
    model, tensor by tensor [default output: averaged.pth]. prune --runs N does this in one go."""
    quieten(quiet)
    path = weights_output(output, "averaged.pth", overwrite)

    from crepetool.network.resolver import weights_of
    from crepetool.network.weights import save
    from crepetool.training.averaging import average_weights

    loaded = [weights_of(model) for model in models]
    try:
        averaged = average_weights(loaded)
    except ValueError as exc:
        raise UserInputError(str(exc)) from None
    save(averaged, path, overwrite=overwrite)
    output = Output(json_output)
    output.result({"path": str(path), "models": [str(w.path or m) for w, m in zip(loaded, models)]})
    output.note(f"wrote {path} (the mean of {len(loaded)} models)")


def register(app: typer.Typer) -> None:
    app.command("average")(average_command)
