"""Charts of measurements: ``evaluate --plot`` and ``benchmarks/zoo.py --plot`` draw accuracy
against speed (``docs/zoo-sizes.png``). Needs matplotlib (``crepetool[plot]``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crepetool.atomic import atomic_path


def accuracy_against_speed(
    points: list[dict[str, Any]],
    path: str | Path,
    title: str,
    ylabel: str,
    join: tuple[str, ...] = (),
    legend: str = "lower left",
) -> Path:
    """A scatter of accuracy (%) against frames/s (log axis), one marker style per ``kind``.

    Each point: ``label``, ``frames_per_second``, ``accuracy`` (0..1), ``kind`` (a legend
    group, e.g. official / pruned / peer). Only the kinds in ``join`` (a family of sizes) are
    joined in speed order: a line between unrelated trackers would read as a trade-off.
    Each label takes the first corner around its point where it overlaps no label placed
    before it. ``legend``: where the legend goes (matplotlib's ``loc``), clear of the points.
    Written atomically to ``path`` (PNG).
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

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
    axis.legend(loc=legend, fontsize=8)
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
