"""evaluate --peers: other trackers in the same table, and --plot of accuracy against speed."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from crepetool.compat import import_torchcrepe
from crepetool.evaluation import peers

import_torchcrepe()  # PESTO imports torchaudio as torchcrepe does: the same guard first
pytest.importorskip("swift_f0", reason="swift-f0 is installed by scripts/test.sh (crepetool[peers])")
pytest.importorskip("pesto", reason="pesto-pitch is installed by scripts/test.sh (crepetool[peers])")
pytest.importorskip("torchfcpe", reason="torchfcpe is installed by scripts/test.sh (crepetool[peers])")
matplotlib = pytest.importorskip(
    "matplotlib", reason="matplotlib is installed by scripts/test.sh (crepetool[plot])"
)


@pytest.mark.slow
def test_peers_join_the_table_and_the_plot(cli, tmp_path: Path) -> None:
    code, out, err = cli(
        "evaluate", "tiny", "--peers", "swift-f0,pesto,fcpe", "--json", "--plot", tmp_path / "speed.png"
    )
    assert code == 0, err
    rows = {row["weights"]: row for row in json.loads(out)["models"]}
    assert set(rows) == {"tiny", "swift-f0", "pesto", "fcpe"}
    for name in ("swift-f0", "pesto", "fcpe"):
        assert rows[name]["peer"] and "capacity" not in rows[name]
        assert rows[name]["raw_pitch_accuracy"] > 0.5 and rows[name]["frames_per_second"] > 0
        assert rows[name]["voiced_frames"] == rows["tiny"]["voiced_frames"]  # the same frames scored
    image = matplotlib.image.imread(tmp_path / "speed.png")
    assert image.shape[0] > 300 and image.shape[1] > 500


def test_a_peer_track_lands_on_crepetools_frames() -> None:
    times = np.array([0.0, 0.016, 0.032, 0.048])
    pitch, confidence = peers.on_frames(
        times, np.array([100.0, 200.0, 300.0, 400.0]), np.array([0, 1, 1, 0.0]), 5, 160
    )
    assert pitch == pytest.approx([100.0, 162.5, 225.0, 287.5, 350.0])  # linear between the peer's frames
    assert confidence[1] == pytest.approx(0.625)
    late, _ = peers.on_frames(times, np.array([100.0, 200.0, 300.0, 400.0]), np.ones(4), 7, 160)
    assert late[6] == 400.0  # past the peer's last frame: its last value


def test_fcpe_tracks_a_tone_on_crepetools_frames() -> None:
    tone = (0.4 * np.sin(2 * np.pi * 220 * np.arange(16000) / 16000)).astype(np.float32)
    pitch, voiced = peers.on_frames(*peers.load("fcpe")(tone), 101, 160)
    inner = slice(5, 96)
    assert np.all(np.abs(1200 * np.log2(pitch[inner] / 220)) < 20) and np.all(voiced[inner] == 1)


def test_a_missing_peer_names_its_extra(cli, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = dataclasses.replace(peers.PEERS["swift-f0"], module="no_such_module_swift")
    monkeypatch.setitem(peers.PEERS, "swift-f0", missing)
    code, _, err = cli("evaluate", "tiny", "--peers", "swift-f0")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "crepetool[peers]" in err and "swift-f0" in err


def test_every_peer_name_has_its_entry() -> None:
    from crepetool import names

    assert tuple(peers.PEERS) == names.PEERS
