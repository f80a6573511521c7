"""``crepetool signals``: the known-f0 signals ``verify`` tracks, written out to look at and listen to."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from crepetool.cli.output import Output


def signals_command(
    folder: Annotated[
        Path, typer.Argument(help="Folder to write NAME.wav and NAME.f0.csv into.", show_default=False)
    ],
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
) -> None:
    """Write the known-f0 verify signals as WAV files with their ground truth, to look and listen."""
    from crepetool.atomic import check_folder
    from crepetool.evaluation.signals import verify_set, write

    check_folder(folder)
    written = write(verify_set(seed), folder)
    Output().note(f"wrote {len(written)} signals to {folder}")


def register(app: typer.Typer) -> None:
    app.command("signals")(signals_command)
