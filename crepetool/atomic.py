"""Atomic file output: write beside the target under a hidden temporary name, then rename.

A reader never sees a half-written file, and an interrupted run leaves no
temporary behind (the temporary is removed on any exception, KeyboardInterrupt
and the SIGTERM handler's exception included). A run killed outright (``kill -9``,
the OOM killer, a power cut) cannot clean up: its temporaries carry its host and
pid (``.crepetool-HOST-PID-XXXXXXXX.tmp``), and :func:`sweep` removes those whose
process is gone, never a live run's.
"""

from __future__ import annotations

import contextlib
import functools
import os
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

from crepetool.errors import UserInputError, WorkError

TEMP_PREFIX = ".crepetool-"
TEMP_SUFFIX = ".tmp"


@functools.cache
def _host() -> str:
    return "".join(c if c.isalnum() or c in ".-" else "_" for c in socket.gethostname()) or "host"


def owned_prefix() -> str:
    """This process's temporary-name prefix: ``.crepetool-HOST-PID-``."""
    return f"{TEMP_PREFIX}{_host()}-{os.getpid()}-"


def _owner(name: str) -> tuple[str, int] | None:
    """(host, pid) of a temporary's name; None for a name without them (an older version's)."""
    body = name[len(TEMP_PREFIX) : -len(TEMP_SUFFIX)]
    parts = body.rsplit("-", 2)  # the random part never holds a "-", a host name may
    if len(parts) != 3 or not parts[1].isdigit():
        return None
    return parts[0], int(parts[1])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def sweep(folder: Path) -> list[Path]:
    """Remove the temporaries in ``folder`` that runs on this host left when they died (their
    pid is gone). A live run's, another host's (a shared filesystem) and unnamed ones stay.
    Returns the paths removed."""
    removed = []
    try:
        candidates = sorted(Path(folder).glob(f"{TEMP_PREFIX}*{TEMP_SUFFIX}"))
    except OSError:
        return removed
    for path in candidates:
        owner = _owner(path.name)
        if owner is None or owner[0] != _host() or _alive(owner[1]):
            continue
        with contextlib.suppress(OSError):
            path.unlink()
            removed.append(path)
    return removed


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
            fd, probe = tempfile.mkstemp(prefix=owned_prefix(), suffix=TEMP_SUFFIX, dir=folder)
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
        fd, tmp = tempfile.mkstemp(prefix=owned_prefix(), suffix=TEMP_SUFFIX, dir=folder)
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
