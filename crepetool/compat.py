"""Importing torchcrepe safely.

torchcrepe imports ``torchaudio`` at import time (``torchcrepe.load`` uses it
for ``load.audio``, which crepetool never calls: audio I/O is soundfile's).
PyPI's last torchaudio (2.11) fails to load with torch >= 2.12 (an OSError from
its C extension), and it may also be absent. So: try the real torchaudio;
when it is missing or broken, put a stand-in module in ``sys.modules`` whose
attributes raise a clear ImportError, then import torchcrepe. Nothing on disk
is patched, and a working torchaudio is used as it is.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
import types
from collections.abc import Iterator
from typing import Any

#: The torchaudio submodules the stand-in provides too (torchfcpe imports ``transforms.Resample``,
#: which it uses only for audio not at 16 kHz; crepetool hands it 16 kHz).
_SUBMODULES = ("transforms", "functional")


class _MissingTorchaudio(types.ModuleType):
    """Stand-in for a torchaudio that could not be imported: using any of its names raises a clear
    ImportError. In its submodules (``callable_names``) a name imports and raises when called, so
    ``from torchaudio.transforms import Resample`` at another package's import time goes through."""

    def __init__(self, reason: str, name: str = "torchaudio", callable_names: bool = False) -> None:
        super().__init__(name)
        self._reason = reason
        self._callable_names = callable_names

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        message = f"torchaudio is unavailable ({self._reason}); crepetool reads audio with soundfile"
        if not self._callable_names:
            raise ImportError(message)

        def missing(*args: Any, **kwargs: Any) -> Any:
            raise ImportError(message)

        return missing


def guard_torchaudio() -> None:
    """Make ``import torchaudio`` safe: the real one when it loads, else a stand-in
    (:class:`_MissingTorchaudio`, with :data:`_SUBMODULES`) in ``sys.modules``."""
    if sys.modules.get("torchaudio") is not None:
        return
    try:
        importlib.import_module("torchaudio")
    except Exception as exc:  # ImportError, OSError from its C extension, ...
        for name in [m for m in list(sys.modules) if m == "torchaudio" or m.startswith("torchaudio.")]:
            del sys.modules[name]
        reason = f"{type(exc).__name__}: {exc}".splitlines()[0]
        sys.modules["torchaudio"] = _MissingTorchaudio(reason)
        for sub in _SUBMODULES:
            sys.modules[f"torchaudio.{sub}"] = _MissingTorchaudio(reason, f"torchaudio.{sub}", callable_names=True)


def import_torchcrepe() -> types.ModuleType:
    """Import and return torchcrepe, whether torchaudio is missing, broken or fine."""
    if "torchcrepe" in sys.modules:
        return sys.modules["torchcrepe"]
    guard_torchaudio()
    return importlib.import_module("torchcrepe")


def register_with_torchcrepe(model: Any, name: str = "crepetool") -> str:
    """Make ``torchcrepe.predict(..., model=name)`` and ``torchcrepe.embed`` run ``model``.

    An explicit act for integration: torchcrepe caches its network on
    ``torchcrepe.infer.model`` keyed by ``infer.capacity``; setting both makes it
    use ours (crepetool's Crepe accepts torchcrepe's ``embed=`` keyword). Nothing on
    disk changes. Returns the name to pass as ``model=``.
    """
    torchcrepe = import_torchcrepe()
    torchcrepe.infer.model = model
    torchcrepe.infer.capacity = name
    return name


@contextlib.contextmanager
def registered_with_torchcrepe(model: Any, name: str = "crepetool") -> Iterator[str]:
    """:func:`register_with_torchcrepe` for a block; torchcrepe's own cached model comes back after."""
    torchcrepe = import_torchcrepe()
    missing = object()
    saved = {a: getattr(torchcrepe.infer, a, missing) for a in ("model", "capacity")}
    try:
        yield register_with_torchcrepe(model, name)
    finally:
        for attribute, value in saved.items():
            if value is missing:
                delattr(torchcrepe.infer, attribute)
            else:
                setattr(torchcrepe.infer, attribute, value)
