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
    """Refuse, before any work, an output that exists (without ``overwrite``) or can't be written.

    Writability is probed with a real temporary file where the folder exists (permission
    bits alone say nothing for root, read-only mounts or full quotas).
    """
    path = Path(path)
    if path.is_dir():
        raise UserInputError(f"{path}: is a directory, expected an output file")
    if path.exists() and not overwrite:
        raise UserInputError(f"{path}: already exists (pass --overwrite to replace it)")
    check_folder(path.parent if str(path.parent) else Path("."), name=path)


def check_folder(folder: Path, name: Path | None = None) -> None:
    """Refuse (UserInputError) a folder that can't be written into, or created, for outputs."""
    name = folder if name is None else name
    existing = next((p for p in (folder, *folder.parents) if p.exists()), Path("."))
    if not existing.is_dir():
        raise UserInputError(f"{name}: cannot write here ({existing} is not a directory)")
    if existing == folder:
        try:
            fd, probe = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=".tmp", dir=folder)
        except OSError as exc:
            raise UserInputError(f"{name}: cannot write here ({exc.strerror or exc})") from None
        os.close(fd)
        os.unlink(probe)
    elif not os.access(existing, os.W_OK | os.X_OK):
        raise UserInputError(f"{name}: cannot write here ({existing} is not writable)")


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
