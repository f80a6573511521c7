"""crepetool's command line: one Typer app, one place that maps errors to exit codes.

Exit codes, for every command (the README states the same contract):
  0    success
  1    the work failed, or a check failed (``verify``); for ``predict``, some files
       of the batch could not be processed (missing, unreadable, bad samples: each
       gets one line, the rest of the batch is done)
  2    what the user gave is wrong, found before any work starts: options, the
       input file of a single-input command, weights, an output that exists or
       cannot be written
  130  interrupted (Ctrl-C); 143 terminated (SIGTERM)
Known errors print one line on stderr, no traceback; ``--debug`` or
``CREPETOOL_DEBUG=1`` shows the traceback for bug reports.
"""

from __future__ import annotations

# Imported eagerly, not through a lazy table as the other parts are: ``main`` names both a module
# and its function here, and the function must win. None of these imports torch.
from crepetool.allocator import tune_allocator
from crepetool.cli.app import create_app
from crepetool.cli.interrupts import check_signals
from crepetool.cli.main import main, run

__all__ = ["check_signals", "create_app", "main", "run", "tune_allocator"]
