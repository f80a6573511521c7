"""Atomic file output: write beside the target under a hidden temporary name, then rename.

A reader never sees a half-written file, and an interrupted run leaves no
temporary behind (the temporary is removed on any exception, KeyboardInterrupt
and the SIGTERM handler's exception included).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from crepetool.errors import UserInputError, WorkError

TEMP_PREFIX = ".crepetool-"


def check_output(path: Path, overwrite: bool) -> None:
    """Refuse an existing output without ``overwrite`` (UserInputError)."""
    if path.is_dir():
        raise UserInputError(f"{path}: is a directory, expected an output file")
    if path.exists() and not overwrite:
        raise UserInputError(f"{path}: already exists (pass --overwrite to replace it)")


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path in ``path``'s folder; rename it to ``path`` on success."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=".tmp", dir=folder)
    except OSError as exc:
        raise WorkError(f"{path}: cannot write here ({exc.strerror or exc})") from exc
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o644 & ~_umask())
        os.replace(tmp_path, path)
    except OSError as exc:
        raise WorkError(f"{path}: cannot write ({exc.strerror or exc})") from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
