"""Exceptions that the CLI turns into one line on stderr and an exit status.

Light on purpose (no torch import). ``UserInputError`` (exit 2) is for anything
wrong with what the user gave: arguments, input files, an output that exists.
``WorkError`` (exit 1) is for a failure while doing the work.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


class CrepetoolError(Exception):
    """Base of crepetool's expected errors; ``exit_code`` is what the CLI returns."""

    exit_code = 1


class UserInputError(CrepetoolError, ValueError):
    """Something the user gave is wrong: an argument, an input file, an existing output."""

    exit_code = 2


class WeightsError(UserInputError):
    """A file that cannot be read as CREPE weights (missing, not weights, wrong shapes)."""


class AudioError(UserInputError):
    """An audio file that cannot be read or holds unusable samples."""


class WorkError(CrepetoolError):
    """The work itself failed, e.g. an output could not be written."""


def check_input_file(path: Path, kind: str, error: type[UserInputError]) -> None:
    """Raise ``error`` unless ``path`` is an existing, readable, non-empty file.

    ``kind`` names what was expected (``"an audio file"``, ``"a weights file"``).
    """
    if not path.exists():
        raise error(f"{path}: no such file")
    if path.is_dir():
        raise error(f"{path}: is a directory, expected {kind}")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise error(f"{path}: cannot read ({exc.strerror})") from exc
    if size == 0:
        raise error(f"{path}: empty file")


def check_choice(what: str, value: str, choices: Iterable[str], option: str | None = None) -> None:
    """Raise UserInputError unless ``value`` is one of ``choices``: the one "unknown X (choose
    from ...)" of every option set. ``what`` names the kind of value; ``option`` the CLI option
    that takes it, to begin the line."""
    known = tuple(choices)
    if value not in known:
        where = f"{option}: " if option else ""
        raise UserInputError(f"{where}unknown {what} {value!r} (choose from {', '.join(known)})")
