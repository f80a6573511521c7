"""The prediction pipeline: audio in, pitch out, block by block.

One chain serves ``crepetool predict``, :func:`predict`, ``verify`` and ``evaluate``:

    :mod:`.audio` (read blocks) -> :mod:`.resampling` (16 kHz) -> :mod:`.framing` (1024-sample
    windows, normalised) -> the network -> :mod:`.context` (the context stage: each frame's
    probabilities from its neighbours') -> :mod:`.online` (decoders that decide frames as they
    go, from :mod:`.decode`) -> :mod:`.voicing` (thresholds and filters)

:mod:`.pipeline` wires the chain (with :mod:`.loudness` for ``--silence``, a feature of the
raw frames); :class:`.options.PredictOptions` says how, validated once. One recording
collected is :mod:`.recording`; one file to its output files is :mod:`.runner` (writers in
:mod:`.outputs`, pictures in :mod:`.plotting`); many files are :mod:`.batch`, or
:mod:`.distributed` on a Ray cluster. A live stream of unknown length is :mod:`.stream` (its
bytes read by :mod:`.pcm`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from crepetool.lazy import exports

#: Each public name and the module (under this package) that defines it.
_PUBLIC = {
    "PredictOptions": "options",
    "Prediction": "recording",
    "predict": "recording",
    "probabilities": "recording",
    "predict_files": "batch",
    "PitchStream": "stream",
}
__all__ = [
    "PitchStream",
    "PredictOptions",
    "Prediction",
    "predict",
    "predict_files",
    "probabilities",
]

__getattr__, __dir__ = exports(__name__, _PUBLIC)

if TYPE_CHECKING:
    from crepetool.prediction.batch import predict_files
    from crepetool.prediction.options import PredictOptions
    from crepetool.prediction.recording import Prediction, predict, probabilities
    from crepetool.prediction.stream import PitchStream
