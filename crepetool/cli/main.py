"""The command's one exit: errors to exit codes and one line on stderr (see :mod:`crepetool.cli`)."""

from __future__ import annotations

import os
from collections.abc import Sequence

from crepetool.allocator import tune_allocator
from crepetool.cli.app import Invocation, create_app
from crepetool.cli.interrupts import Terminated, handled
from crepetool.cli.output import PROG, error, quieten, warning
from crepetool.errors import CrepetoolError
from crepetool.names import DEBUG_ENV


def _debug(invocation: Invocation) -> bool:
    return invocation.debug or os.environ.get(DEBUG_ENV, "") not in ("", "0")


def _warn(message, category, filename, lineno, file=None, line=None) -> None:
    """A library warning as one line on stderr (no source line, no file name)."""
    warning(str(message))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status instead of exiting (the console script exits)."""
    import warnings

    shown = warnings.showwarning
    warnings.showwarning = _warn
    quieten(False)
    invocation = Invocation()
    try:
        with handled():
            result = create_app(invocation)(
                args=list(argv) if argv is not None else None, prog_name=PROG, standalone_mode=False
            )
    except CrepetoolError as exc:
        if _debug(invocation):
            raise
        error(str(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        error("interrupted")
        return 130
    except Terminated:
        error("terminated")
        return 143
    except Exception as exc:
        # Click's usage errors (vendored privately by Typer) carry exit_code and format_message.
        code, formatter = getattr(exc, "exit_code", None), getattr(exc, "format_message", None)
        if isinstance(code, int) and callable(formatter):
            command = getattr(getattr(exc, "ctx", None), "command_path", PROG)
            error(f"{formatter()} (see '{command} --help')")
            return code
        if _debug(invocation):
            raise
        error(f"internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)")
        return 1
    finally:
        warnings.showwarning = shown
    return result if isinstance(result, int) else 0


def run() -> None:
    """Entry point of the ``crepetool`` command and ``python -m crepetool``."""
    tune_allocator()
    raise SystemExit(main())
