"""Where weights came from: one typed record, written into the metadata and read back.

Pruning writes the source of a cut (``metadata["source"]``), recovery its teacher
(``metadata["recovery"]["teacher"]``), the Keras import the file it read; ``inspect``,
``prune``'s summary, ``verify`` and the ``.pt`` outputs read them through :meth:`Provenance.read`.
"""

from __future__ import annotations

import dataclasses
from typing import Any


@dataclasses.dataclass(frozen=True)
class Provenance:
    """Where weights came from: the name asked for (or the file's path), its capacity, the
    sha256 of its file (or of the Keras file it was imported from), and ``chosen_by="auto"``
    when the rule chose it."""

    name: str
    capacity: int
    sha256: str | None = None
    chosen_by: str | None = None
    format: str | None = None  # of an imported file (keras-hdf5)
    file: str | None = None  # its file name

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}

    @classmethod
    def read(cls, record: object) -> Provenance | None:
        """A record from metadata (older files' extra keys ignored); None when absent or malformed."""
        if not isinstance(record, dict) or not isinstance(record.get("name"), str):
            return None
        capacity = record.get("capacity")
        text = {k: record.get(k) if isinstance(record.get(k), str) else None for k in _OPTIONAL}
        return cls(record["name"], capacity if isinstance(capacity, int) else 0, **text)

    def describe(self) -> str:
        """One line for people: ``official-medium (16/32, sha256 1a2b3c4d, chosen by auto)``."""
        parts = [f"{self.capacity}/32"] + ([f"sha256 {self.sha256[:8]}"] if self.sha256 else [])
        parts += [f"chosen by {self.chosen_by}"] if self.chosen_by else []
        return f"{self.name} ({', '.join(parts)})"


_OPTIONAL = ("sha256", "chosen_by", "format", "file")
