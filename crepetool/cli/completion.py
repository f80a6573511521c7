"""Shell completion: the scripts for bash, zsh and fish committed in ``completions/``, and the
completers that options use.

Regenerate them with ``python -m crepetool.cli.completion completions/``; a test
fails when the committed files are stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

from crepetool import names
from crepetool.network.presets import PRESETS


def complete_weights(incomplete: str) -> list[str]:
    """Bundled model names and weights files in the folder being typed."""
    matches = [n for n in names.BUNDLED_MODELS if n.startswith(incomplete)]
    folder = Path(incomplete).parent if incomplete else Path(".")
    try:
        for entry in sorted(folder.iterdir()):
            text = str(entry) if incomplete and str(folder) != "." else entry.name
            if entry.suffix in names.WEIGHT_SUFFIXES and text.startswith(incomplete):
                matches.append(text)
    except OSError:
        pass
    return matches


def complete_capacity(incomplete: str) -> list[str]:
    """Capacity presets and 1..32."""
    return [n for n in [*PRESETS, *map(str, range(1, 33))] if n.startswith(incomplete)]


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
