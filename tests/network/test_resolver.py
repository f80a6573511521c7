"""One resolver: one rule for --weights, --source and --teacher, one provenance record."""

from __future__ import annotations

from pathlib import Path

import pytest

from crepetool.errors import UserInputError, WeightsError
from crepetool.network import resolver
from crepetool.network.provenance import Provenance
from crepetool.network.weights import load, save
from crepetool.training.pruning import prune


def test_a_file_wins_over_every_name_in_every_role(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file called ``auto`` (or ``full``) is that file, as --weights, --source and --teacher."""
    monkeypatch.chdir(tmp_path)
    save(prune("tiny", 3), tmp_path / "auto", overwrite=True)
    save(prune("tiny", 2), tmp_path / "full", overwrite=True)
    student = prune("tiny", 1)
    for name, capacity in (("auto", 3), ("full", 2)):
        assert resolver.weights_of(name).capacity == capacity
        assert resolver.resolve_source(name, 1).weights.capacity == capacity
        teacher = resolver.resolve_teacher(name, student)
        assert teacher.weights.capacity == capacity and teacher.provenance.chosen_by is None


def test_auto_is_the_roles_choice_and_means_nothing_for_weights() -> None:
    source = resolver.resolve_source("auto", 3)
    assert source.provenance == Provenance("tiny", 4, source.provenance.sha256, "auto")
    assert len(source.provenance.sha256 or "") == 64
    teacher = resolver.resolve_teacher("auto", prune("tiny", 2))  # tiny's cut: full teaches
    assert (teacher.provenance.name, teacher.provenance.chosen_by, teacher.weights.capacity) == (
        "full",
        "auto",
        32,
    )
    with pytest.raises(UserInputError, match="auto: 'auto' only chooses a --source or a --teacher"):
        resolver.weights_of("auto")


def test_names_and_missing_files(monkeypatch: pytest.MonkeyPatch) -> None:
    from crepetool.network import keras

    assert resolver.weights_of("tiny").metadata == {"capacity": 4, "source": {"name": "tiny"}}
    with pytest.raises(WeightsError, match=r"no-such\.pth: no such file"):
        resolver.weights_of("no-such.pth")
    monkeypatch.setattr(keras, "package_name", lambda model: f"no-such-package-crepe-{model}")
    with pytest.raises(UserInputError, match="no-such-package-crepe-medium is not installed"):
        resolver.weights_of("official-medium")


def test_the_provenance_record_travels_through_files_and_commands(cli, tmp_path: Path) -> None:
    """pruning writes it, the file keeps it, inspect and prune's summary read it back."""
    path = tmp_path / "two.safetensors"
    code, out, err = cli("prune", "-k", "2", "--source", "tiny", "--recover", "none", "-o", path)
    assert code == 0, err
    record = resolver.source_of(load(path))
    assert record is not None and record.name == "tiny" and record.capacity == 4
    assert record == resolver.provenance_of("tiny", resolver.weights_of("tiny"))
    assert record.describe() in out  # the summary's title
    code, out, _ = cli("inspect", path)
    assert code == 0 and f"source     {record.describe()}" in out
    assert Provenance.read({"name": "x", "capacity": "wide", "sha256": 3}) == Provenance("x", 0)
    assert Provenance.read({"capacity": 4}) is None
