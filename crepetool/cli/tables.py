"""The tables more than one command prints: metrics, a recovery's before/after, a model's layers."""

from __future__ import annotations

from typing import Any

from rich.table import Table

#: Bytes in a kilobyte, as file sizes are shown.
KIB = 2**10


def human_size(size: int | None) -> str:
    if size is None:
        return "-"
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < KIB or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= KIB
    return f"{value:.1f} GB"


def metric_table(title: str, columns: list[tuple[str, str, str]], rows: list[tuple[str, dict]]) -> Table:
    """A table of ``rows`` (label, scores) with ``columns`` (title, key, format); a missing or
    non-numeric score shows as ``-``, and only the columns some row has are shown."""
    shown = [c for c in columns if any(c[1] in scores for _, scores in rows)]
    table = Table(title=title, title_justify="left")
    table.add_column("model")
    for heading, _, _ in shown:
        table.add_column(heading, justify="right")
    for label, scores in rows:
        cells = [fmt.format(scores[key]) if _numeric(scores.get(key)) else "-" for _, key, fmt in shown]
        table.add_row(label, *cells)
    return table


def _numeric(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


#: The held-out columns of a recovery (metadata ``recovery.evaluation``).
RECOVERY_COLUMNS = [
    ("speech RPA", "frames_accuracy", "{:.1%}"),
    ("cents", "frames_median_cents", "{:.1f}"),
    ("tones RPA", "tones_accuracy", "{:.1%}"),
    ("cents", "tones_median_cents", "{:.1f}"),
    ("pitch agree", "pitch_agreement", "{:.1%}"),
    ("voicing agree", "voicing_agreement", "{:.1%}"),
]


def recovery_table(evaluation: dict[str, Any]) -> Table:
    """Before/after table of a recovery's held-out evaluation (metadata ``recovery.evaluation``)."""
    rows = [(row, evaluation[row]) for row in ("before", "after", "teacher") if isinstance(evaluation.get(row), dict)]
    table = metric_table("held-out signals (never trained on)", RECOVERY_COLUMNS, rows)
    table.caption = "RPA: share within 50 cents; cents: median error; agree: with the teacher"
    return table


def _shape(layer: dict[str, Any]) -> tuple[str, str, str]:
    """(in, out, kernel) of one layer of :func:`crepetool.network.summary.describe`."""
    if layer["name"] == "classifier":
        return str(layer["in_features"]), str(layer["out_features"]), "-"
    return str(layer["in_channels"]), str(layer["out_channels"]), str(layer["kernel_size"])


def _width(layer: dict[str, Any]) -> str:
    """The channels pruning sets in one layer: its outputs, or the classifier's inputs."""
    return str(layer["in_features"] if layer["name"] == "classifier" else layer["out_channels"])


def layer_table(title: str, models: dict[str, dict[str, Any]]) -> Table:
    """Layers of one or more described models (:func:`crepetool.network.summary.describe`), side by
    side: in, out and kernel of one model; channels and parameters of each when several (a prune's
    before and after); then the totals and file sizes."""
    labels = list(models)
    described = list(models.values())
    table = Table(title=title, title_justify="left")
    table.add_column("layer")
    one = len(described) == 1
    headings = ["in", "out", "kernel"] if one else [f"channels {label}" for label in labels]
    for heading in [*headings, *(f"parameters {label}".strip() for label in labels)]:
        table.add_column(heading, justify="right")
    for layers in zip(*(model["layers"] for model in described)):
        shapes = _shape(layers[0]) if one else [_width(layer) for layer in layers]
        table.add_row(layers[0]["name"], *shapes, *(f"{layer['parameters']:,}" for layer in layers))
    table.add_section()
    blank = [""] * len(headings)
    table.add_row("total", *blank, *(f"{model['parameters']:,}" for model in described))
    table.add_row("file size", *blank, *(human_size(model["file_size"]) for model in described))
    return table
