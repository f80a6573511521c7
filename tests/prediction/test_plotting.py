"""predict --plot: a PNG of the expected size, with the pitch line drawn where the pitch is."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

matplotlib = pytest.importorskip(
    "matplotlib", reason="matplotlib is installed by scripts/test.sh (crepetool[plot])"
)

from crepetool.prediction import plotting, predict  # noqa: E402  (after the skip: it is matplotlib's module)
from crepetool.units import frequency_to_bins  # noqa: E402


def _tone(path: Path, f0: float, seconds: float = 2.0, rate: int = 16000) -> Path:
    t = np.arange(int(seconds * rate)) / rate
    audio = 0.3 * sum(np.sin(2 * np.pi * f0 * h * t) / h for h in range(1, 8))
    audio[: rate // 4] = 0.0  # a silent start: no pitch drawn there
    soundfile.write(str(path), audio.astype(np.float32), rate)
    return path


def _pitch_pixels(image: np.ndarray, column: int) -> np.ndarray:
    """Rows of the pitch line (cyan, translucent over a dark salience) in a pixel column."""
    red, green, blue = image[:, column, 0], image[:, column, 1], image[:, column, 2]
    return np.flatnonzero((red < 0.3) & (green > 0.55) & (blue > 0.6))


@pytest.mark.parametrize("f0", [110.0, 440.0])
def test_the_pitch_line_is_drawn_at_the_pitch(tmp_path: Path, f0: float) -> None:
    path = _tone(tmp_path / "tone.wav", f0)
    result = predict(path, weights="tiny")
    picture = plotting.TrackPicture(result.pitch.numel(), result.hop_seconds)
    dark = torch.full((result.pitch.numel(), 360), 0.02)  # a dark salience: the line stands out
    picture.add(result.pitch[0], result.periodicity[0], dark, None)
    figure = picture.figure("tone")
    figure.savefig(tmp_path / "tone.png")
    image = matplotlib.image.imread(tmp_path / "tone.png")
    assert image.shape[:2] == (500, 1000)
    top = figure.axes[0]
    x, y = top.transData.transform((1.5, float(frequency_to_bins(f0))))
    rows = _pitch_pixels(image, int(x + 0.5))
    assert rows.size, "no pitch line at 1.5 s"
    assert abs(np.median(rows) - (image.shape[0] - y)) <= 3  # the line sits on the tone's f0
    x_silent, _ = top.transData.transform((0.1, 0.0))
    assert _pitch_pixels(image, int(x_silent + 0.5)).size == 0  # nothing drawn in the silence


def test_cli_plot_writes_a_png_beside_the_csv(cli, tmp_path: Path) -> None:
    path = _tone(tmp_path / "tone.wav", 220.0, seconds=1.0)
    code, _, err = cli("predict", path, "-w", "tiny", "--plot", "-f", "npy")
    assert code == 0, err
    image = matplotlib.image.imread(tmp_path / "tone.f0.png")
    assert image.shape[:2] == (500, 1000)
    activation = np.load(tmp_path / "tone.activation.npy")
    assert activation.shape == (101, 360) and activation.dtype == np.float32


def test_long_recordings_are_decimated() -> None:
    frames = 60_000  # 10 minutes at 10 ms
    picture = plotting.TrackPicture(frames, 0.01)
    assert picture.columns == plotting.COLUMNS and picture.salience.shape == (plotting.COLUMNS, 360)
    for start in range(0, frames, 7_000):
        count = min(7_000, frames - start)
        picture.add(torch.full((count,), 200.0), torch.full((count,), 0.9), torch.zeros(count, 360), None)
    assert picture.done == frames and np.isfinite(picture.pitch).all()
