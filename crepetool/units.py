"""CREPE's units, in one place: the input rate, the frame, the pitch bins, and Hz <-> cents.

Torch- and numpy-free at import (the CLI's ``--help`` reads :mod:`crepetool.names`, which
reads this). The conversions take a float, an ndarray or a Tensor and give the same kind
back, in float64.
"""

from __future__ import annotations

from typing import Any

#: CREPE's input rate: every recording is resampled to it.
SAMPLE_RATE = 16000
#: Samples in one network frame (64 ms at 16 kHz).
WINDOW_SIZE = 1024
#: The network's outputs: pitch bins, :data:`CENTS_PER_BIN` apart.
PITCH_BINS = 360
CENTS_PER_BIN = 20
#: Bin 0 in cents above :data:`REFERENCE_HZ` (CREPE's convention: bin 0 is 31.70 Hz, bin 359 2,005.5 Hz).
CENTS_OFFSET = 1997.3794084376191
REFERENCE_HZ = 10.0
#: CREPE's documented pitch range, C1 to B7 in Hz (to 0.1 Hz): the f0 range of the training frames.
CREPE_RANGE_HZ = (32.7, 1975.5)


def step_to_hop(milliseconds: float) -> int:
    """A hop in milliseconds as samples at :data:`SAMPLE_RATE` (10 ms -> 160)."""
    return round(SAMPLE_RATE * milliseconds / 1000)


def _log2(value: Any) -> Any:
    if hasattr(value, "log2"):  # a Tensor
        return value.double().log2()
    import numpy as np

    return np.log2(np.asarray(value, dtype=np.float64))


def frequency_to_cents(frequency: Any) -> Any:
    """Hz -> cents above :data:`REFERENCE_HZ`."""
    return 1200.0 * _log2(_double(frequency) / REFERENCE_HZ)


def cents_to_frequency(cents: Any) -> Any:
    """Cents above :data:`REFERENCE_HZ` -> Hz."""
    return REFERENCE_HZ * 2.0 ** (_double(cents) / 1200.0)


def bins_to_cents(bins: Any) -> Any:
    """Bin index (integer or fractional) -> cents above :data:`REFERENCE_HZ`."""
    return CENTS_PER_BIN * _double(bins) + CENTS_OFFSET


def frequency_to_bins(frequency: Any) -> Any:
    """Hz -> fractional bin index."""
    return (frequency_to_cents(frequency) - CENTS_OFFSET) / CENTS_PER_BIN


def cents_between(estimate: Any, reference: Any) -> Any:
    """Signed interval from ``reference`` to ``estimate`` (both Hz, > 0), in cents."""
    return 1200.0 * _log2(_double(estimate) / _double(reference))


def _double(value: Any) -> Any:
    if hasattr(value, "double"):  # a Tensor
        return value.double()
    import numpy as np

    return np.asarray(value, dtype=np.float64)
