"""SIGINT and SIGTERM during a command: exceptions that unwind it, so temporaries are removed."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator


class Terminated(BaseException):
    """Raised by the SIGTERM handler so that cleanup (temporary files) runs."""


#: Signals received during this command. CPython runs a signal's handler between any two
#: bytecodes, also inside a finaliser (``__del__``, a weakref callback), where the exception
#: it raises is printed and dropped; :func:`check_signals` raises it again.
_received: list[int] = []


def _on_signal(signum: int, frame: object) -> None:
    _received.append(signum)
    raise KeyboardInterrupt if signum == signal.SIGINT else Terminated()


def check_signals() -> None:
    """Raise a received SIGINT or SIGTERM again (long loops call this between steps), so a
    Ctrl-C whose exception a finaliser swallowed still stops the command."""
    if _received:
        raise KeyboardInterrupt if _received[-1] == signal.SIGINT else Terminated()


@contextlib.contextmanager
def handled() -> Iterator[None]:
    """Our handlers for the command's duration, only where the defaults are in place (not
    where a parent ignores SIGINT); the previous ones after."""
    _received.clear()
    defaults = {signal.SIGINT: signal.default_int_handler, signal.SIGTERM: signal.SIG_DFL}
    previous = {signum: signal.getsignal(signum) for signum in defaults}
    mine = [s for s, handler in previous.items() if handler in (defaults[s], None)]
    for signum in mine:
        signal.signal(signum, _on_signal)
    try:
        yield
    finally:
        for signum in mine:
            signal.signal(signum, previous[signum] if previous[signum] is not None else defaults[signum])
