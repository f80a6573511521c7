"""Where a command writes weights: checked before any work starts."""

from __future__ import annotations

from pathlib import Path

from crepetool import names


def weights_output(output: Path | None, default: str, overwrite: bool) -> Path:
    """The weights file a command will write: a .pth/.safetensors path, refused before any work
    when it exists (without ``overwrite``) or can't be written."""
    from crepetool.atomic import check_output
    from crepetool.errors import UserInputError

    path = output if output is not None else Path(default)
    if path.suffix.lower() not in names.WEIGHT_SUFFIXES:
        raise UserInputError(f"{path}: output must end in .pth or .safetensors")
    check_output(path, overwrite)
    return path
