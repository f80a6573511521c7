"""Shell completion scripts for bash, zsh and fish, as committed in ``completions/``.

Regenerate them with ``python -m crepetool.cli.completion completions/``; a test
fails when the committed files are stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

SHELLS = {"bash": "crepetool.bash", "zsh": "_crepetool", "fish": "crepetool.fish"}


def completion_script(shell: str) -> str:
    """The completion script Typer generates for ``crepetool`` in ``shell``."""
    from typer.completion import get_completion_script

    return (
        get_completion_script(prog_name="crepetool", complete_var="_CREPETOOL_COMPLETE", shell=shell) + "\n"
    )


def write_all(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for shell, name in SHELLS.items():
        path = folder / name
        path.write_text(completion_script(shell))
        written.append(path)
    return written


if __name__ == "__main__":
    for written_path in write_all(Path(sys.argv[1] if len(sys.argv) > 1 else "completions")):
        print(written_path)
