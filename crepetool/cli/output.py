"""The commands' one output helper: data to stdout, talk to stderr, one format for each.

Every command reports through an :class:`Output`: :meth:`~Output.table` and :meth:`~Output.line`
print data on stdout, or nothing in ``--json`` mode, where :meth:`~Output.result` prints the one
JSON object instead; :meth:`~Output.note` (``wrote x.pth``), :meth:`~Output.warning` and
:func:`error` go to stderr, each as one line, so ``crepetool inspect x.pth --json | jq`` works and
the wording of an error cannot drift between commands. No torch here.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console

PROG = "crepetool"

#: Data (tables, JSON) goes to stdout; progress, warnings and hints to stderr.
stdout = Console(soft_wrap=True)
stderr = Console(stderr=True)


def quieten(quiet: bool) -> None:
    """``--quiet``: no progress, tables or notes; errors and warnings still reach stderr, and
    ``--json``'s object stdout. The CLI's entry resets it for every command."""
    stdout.quiet = stderr.quiet = quiet


def error_line(message: str) -> str:
    """The one line every error is printed as."""
    return f"{PROG}: error: {message}"


def error(message: str) -> None:
    """``crepetool: error: MESSAGE`` on stderr, as it is (no markup)."""
    sys.stderr.write(error_line(message) + "\n")
    sys.stderr.flush()


def warning(message: str) -> None:
    """``crepetool: warning: MESSAGE`` on stderr."""
    sys.stderr.write(f"{PROG}: warning: {message}\n")
    sys.stderr.flush()


class Output:
    """One command's output, in tables or (``as_json``) one JSON object."""

    def __init__(self, as_json: bool = False) -> None:
        self.as_json = as_json

    def table(self, table: Any) -> None:
        """A rich table on stdout (not in JSON mode)."""
        if not self.as_json:
            stdout.print(table)

    def line(self, text: str, markup: bool = True) -> None:
        """A line of data on stdout (not in JSON mode)."""
        if not self.as_json:
            stdout.print(text, highlight=False, markup=markup)

    def result(self, value: Any) -> None:
        """The command's JSON object on stdout, in JSON mode only."""
        if self.as_json:
            sys.stdout.write(json.dumps(value, indent=2, default=str) + "\n")
            sys.stdout.flush()

    def note(self, text: str) -> None:
        """Talk (``wrote x.pth``) on stderr, in either mode."""
        stderr.print(text, highlight=False, markup=False, soft_wrap=True)

    warning = staticmethod(warning)
    error = staticmethod(error)
