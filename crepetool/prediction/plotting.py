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


def frequency_to_bin(frequency: np.ndarray | float) -> np.ndarray:
    """Fractional CREPE bin of a frequency in Hz (bin 0 is 32.7 Hz, 20 cents a bin)."""
    return frequency_to_bins(np.maximum(np.asarray(frequency, dtype=np.float64), 1e-6))


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
        top.plot(times, frequency_to_bin(shown), color=PITCH_COLOUR, linewidth=0.9, alpha=0.85, label="pitch")
        top.set_yticks([float(frequency_to_bin(f)) for f in TICKS_HZ], [f"{f:g}" for f in TICKS_HZ])
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
        title = f"{self.meta.get('title', '')}  ({Path(str(name)).name}, {self.meta.get('decoder', '')})"
        threshold = 0.0 if self.meta.get("voicing") else 0.5
        figure = self.picture.figure(title.strip(), threshold=threshold)
        with open(self.path, "wb") as handle:
            figure.savefig(handle, format="png")


def accuracy_against_speed(
    points: list[dict[str, Any]], path: str | Path, title: str, ylabel: str, join: tuple[str, ...] = ()
) -> Path:
    """A scatter of accuracy (%) against frames/s (log axis), one marker style per ``kind``.

    Each point: ``label``, ``frames_per_second``, ``accuracy`` (0..1), ``kind`` (a legend
    group, e.g. official / pruned / peer). Only the kinds in ``join`` (a family of sizes) are
    joined in speed order: a line between unrelated trackers would read as a trade-off.
    Each label takes the first corner around its point where it overlaps no label placed
    before it. Written atomically to ``path`` (PNG).
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from crepetool.atomic import atomic_path

    figure = Figure(figsize=(7.5, 4.8), dpi=120)
    FigureCanvasAgg(figure)  # a renderer, to measure labels while placing them
    axis = figure.subplots()
    styles = ["o", "s", "^", "D", "v"]
    colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"]
    labels = []
    for i, kind in enumerate(dict.fromkeys(p["kind"] for p in points)):
        group = sorted((p for p in points if p["kind"] == kind), key=lambda p: p["frames_per_second"])
        x = [p["frames_per_second"] for p in group]
        y = [100 * p["accuracy"] for p in group]
        line = "-" if kind in join else "none"
        axis.plot(x, y, marker=styles[i % 5], color=colours[i % 5], label=kind, alpha=0.85, linestyle=line)
        labels += [(p["label"], xi, yi, colours[i % 5]) for p, xi, yi in zip(group, x, y)]
    axis.set_xscale("log")
    axis.set_xlabel("frames per second on this machine (log scale)")
    axis.set_ylabel(ylabel)
    axis.set_title(title, fontsize=10)
    axis.grid(True, which="both", alpha=0.3)
    axis.legend(loc="lower left", fontsize=8)
    figure.tight_layout()
    _place_labels(axis, labels)  # after the layout: labels are placed in display space
    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        figure.savefig(handle, format="png")
    return path


#: Behind each label: a line through a point's neighbour must not strike through its text.
_LABEL_BOX = {"boxstyle": "square,pad=0.1", "facecolor": "white", "edgecolor": "none", "alpha": 0.85}


def _place_labels(axis: Any, labels: list[tuple[str, float, float, str]], size: float = 7.5) -> None:
    """Annotate each (text, x, y, colour) at the first of four corners that stays inside the figure
    and overlaps nothing placed. Higher points go first, so of two close points the upper one
    keeps the label above it."""
    figure = axis.figure
    renderer = figure.canvas.get_renderer()
    placed: list[Any] = []
    corners = [(6, 5), (6, -12), (-6, 5), (-6, -12)]
    for text, x, y, colour in sorted(labels, key=lambda label: -label[2]):
        for dx, dy in corners:
            note = axis.annotate(
                text, (x, y), textcoords="offset points", xytext=(dx, dy), fontsize=size, color=colour,
                ha="left" if dx > 0 else "right", bbox=_LABEL_BOX,
            )  # fmt: skip
            box = note.get_window_extent(renderer).expanded(1.05, 1.15)
            inside = box.x0 >= figure.bbox.x0 and box.x1 <= figure.bbox.x1 and box.y1 <= figure.bbox.y1
            if inside and not any(box.overlaps(other) for other in placed):
                placed.append(box)
                break
            note.remove()
        else:  # every corner taken: the first one, overlapping
            placed.append(axis.annotate(text, (x, y), textcoords="offset points", xytext=corners[0],
                                        fontsize=size, color=colour, bbox=_LABEL_BOX).get_window_extent(renderer))  # fmt: skip
