"""Pictures of a pitch track: ``predict --plot`` writes ``NAME.f0.png``.

Top: the salience (the network's 360 bin probabilities) as an image over time x pitch,
on CREPE's log-frequency axis labelled in Hz, with the decoded pitch drawn on it where
the frame is voiced. Bottom: the periodicity as a lane. A long recording is decimated
to at most :data:`COLUMNS` columns as it streams in (each column keeps the maximum
salience of its frames, and the pitch of its most periodic frame), so a 10-minute file
is as readable, and as cheap, as a 10-second one. Needs matplotlib (``crepetool[plot]``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from crepetool.errors import UserInputError
from crepetool.units import PITCH_BINS, frequency_to_bins

COLUMNS = 2000
SIZE = (10.0, 5.0)  # inches
DPI = 100
PITCH_COLOUR = "#00e5ff"
#: Frequencies labelled on the pitch axis.
TICKS_HZ = (50, 100, 200, 400, 800, 1600)


def require_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise UserInputError("--plot needs matplotlib: pip install 'crepetool[plot]'") from None


class TrackPicture:
    """Collects a recording's decided frames into at most :data:`COLUMNS` columns.

    Arguments: frames (the recording's frame count), step (seconds a frame).
    """

    def __init__(self, frames: int, step: float) -> None:
        self.frames, self.step = frames, step
        self.columns = max(1, min(frames, COLUMNS))
        self.salience = np.zeros((self.columns, PITCH_BINS), dtype=np.float32)
        self.pitch = np.full(self.columns, np.nan)
        self.periodicity = np.zeros(self.columns)
        self.done = 0

    def add(
        self,
        pitch: torch.Tensor,
        periodicity: torch.Tensor,
        probabilities: torch.Tensor | None,
        voiced: torch.Tensor | None,
    ) -> None:
        """A stretch of consecutive frames (pitch, periodicity, voiced [m]; probabilities [m, 360])."""
        count = pitch.numel()
        columns = (np.arange(self.done, self.done + count) * self.columns) // max(self.frames, 1)
        if probabilities is not None:
            np.maximum.at(self.salience, columns, probabilities.float().numpy())
        strength = periodicity.double().numpy()
        keep = np.ones(count, dtype=bool) if voiced is None else voiced.numpy()
        values = np.where(keep, pitch.double().numpy(), np.nan)
        for column, value, p in zip(
            columns, values, strength
        ):  # the most periodic frame speaks for its column
            if p >= self.periodicity[column]:
                self.periodicity[column], self.pitch[column] = p, value
        self.done += count

    def figure(self, title: str = "", threshold: float = 0.5) -> Any:
        """A matplotlib Figure (Agg): salience, pitch where voiced (or periodicity >= threshold), periodicity."""
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib.colors import PowerNorm
        from matplotlib.figure import Figure

        figure = Figure(figsize=SIZE, dpi=DPI)
        top, bottom = figure.subplots(
            2, 1, sharex=True, gridspec_kw={"height_ratios": [4, 1], "hspace": 0.08}
        )
        duration = self.frames * self.step
        extent = (0.0, duration, -0.5, 359.5)
        # square-root scale: the weaker candidates (an octave away, a second voice) stay visible
        top.imshow(
            self.salience.T, origin="lower", aspect="auto", extent=extent, cmap="magma",
            norm=PowerNorm(gamma=0.5, vmin=0, vmax=1), interpolation="nearest",
        )  # fmt: skip
        times = (np.arange(self.columns) + 0.5) * duration / self.columns
        shown = np.where(np.isfinite(self.pitch) & (self.periodicity >= threshold), self.pitch, np.nan)
        # thin and translucent: the salience ridge under the decoded pitch stays visible
        top.plot(times, frequency_to_bins(shown), color=PITCH_COLOUR, linewidth=0.9, alpha=0.85, label="pitch")
        top.set_yticks([float(frequency_to_bins(f)) for f in TICKS_HZ], [f"{f:g}" for f in TICKS_HZ])
        top.grid(axis="y", color="white", alpha=0.15, linewidth=0.6)
        top.set_ylim(-0.5, 359.5)
        top.set_ylabel("pitch (Hz)")
        top.set_title(title, fontsize=10, loc="left")
        bottom.fill_between(times, self.periodicity, step="mid", color="#4c72b0", alpha=0.8)
        bottom.axhline(threshold, color="#999999", linewidth=0.8, linestyle="--")
        bottom.set_ylim(0, 1)
        bottom.set_xlim(0, duration)
        bottom.set_ylabel("periodicity", fontsize=8)
        bottom.set_xlabel("time (s)")
        figure.subplots_adjust(left=0.08, right=0.98, top=0.93, bottom=0.11)
        return figure


class PlotWriter:
    """``NAME.f0.png``: a :class:`TrackPicture`, drawn when the file is done."""

    def __init__(self, path: Path, frames: int, step: float, meta: dict[str, Any]) -> None:
        self.path, self.meta = path, meta
        self.picture = TrackPicture(frames, step)

    def append(self, pitch, periodicity, probabilities, voiced=None) -> None:
        self.picture.add(pitch, periodicity, probabilities, voiced)

    def retrack(self, pitch: torch.Tensor, periodicity: torch.Tensor, voiced: torch.Tensor | None) -> None:
        """Redraw the pitch and periodicity lanes from a whole post-processed track (salience kept)."""
        salience = self.picture.salience
        self.picture = TrackPicture(self.picture.frames, self.picture.step)
        self.picture.salience = salience
        self.picture.add(pitch, periodicity, None, voiced)

    def close(self) -> None:
        model = self.meta.get("model", {})
        name = model.get("file") or model.get("source", "")
        stages = [Path(str(name)).name, *(["context stage"] if self.meta.get("context") else [])]
        if self.meta.get("dereverb"):
            stages.append("dereverb")
        title = f"{self.meta.get('title', '')}  ({', '.join([*stages, self.meta.get('decoder', '')])})"
        threshold = 0.0 if self.meta.get("voicing") else 0.5
        figure = self.picture.figure(title.strip(), threshold=threshold)
        with open(self.path, "wb") as handle:
            figure.savefig(handle, format="png")
