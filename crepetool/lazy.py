"""Lazy public names for crepetool's subpackages (torch-free: ``--help`` imports the packages).

A subpackage's ``__init__`` names what it offers and the module that holds each name; a
name is imported on first use, so ``import crepetool.network.presets`` does not import torch.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def exports(package: str, table: dict[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``: ``table`` maps each public name to the
    module (under ``package``) that defines it; any other attribute is a submodule."""

    def __getattr__(name: str) -> Any:
        module = table.get(name)
        if module is not None:
            return getattr(importlib.import_module(f"{package}.{module}"), name)
        try:
            return importlib.import_module(f"{package}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{package}.{name}":
                raise
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(table)

    return __getattr__, __dir__
