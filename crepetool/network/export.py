"""``export``: CREPE weights of any capacity as an ONNX model, for ONNX Runtime clients.

The graph takes normalised frames and returns the 360 bin probabilities, exactly as
:class:`crepetool.network.model.Crepe` does: input ``frames`` float32 [batch, 1024] (16 kHz windows,
zero mean, unit standard deviation), output ``probabilities`` float32 [batch, 360]
(sigmoid). The batch is dynamic. The weights' metadata travels in the model's
``metadata_props`` (key ``crepetool``, a JSON text), beside ``capacity``, ``input`` and
``output``. Real-time clients (the w-okada voice changer and others) run CREPE this way.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import torch

from crepetool.atomic import atomic_path, check_output
from crepetool.errors import UserInputError
from crepetool.names import ONNX_OPSET
from crepetool.network.loading import load_model
from crepetool.network.resolver import weights_of
from crepetool.network.weights import Weights
from crepetool.units import CENTS_OFFSET, CENTS_PER_BIN, PITCH_BINS, REFERENCE_HZ, SAMPLE_RATE, WINDOW_SIZE

#: Lowest opset the exported graph is written for.
MIN_OPSET = ONNX_OPSET
INPUT, OUTPUT = "frames", "probabilities"
#: How the exported graph convolves (export --conv): the faster under ONNX Runtime, see docs/benchmarks.md.
EXPORT_CONV = "transform"


def export_onnx(
    weights: str | Path | Weights,
    path: str | Path,
    *,
    opset: int = MIN_OPSET,
    overwrite: bool = False,
    conv: str = EXPORT_CONV,
) -> Path:
    """Write ``weights`` as an ONNX model at ``path`` (atomically). Needs ``crepetool[onnx]``.

    ``conv``: ``direct`` writes Conv nodes; ``transform`` writes conv2..conv6 as the frequency
    domain's MatMuls (:mod:`crepetool.network.spectral`), their kernel spectra as initializers.
    """
    path = Path(path)
    if path.suffix.lower() != ".onnx":
        raise UserInputError(f"{path}: output must end in .onnx")
    if opset < MIN_OPSET:
        raise UserInputError(f"--opset: {opset} is below {MIN_OPSET}")
    try:
        import onnx
    except ImportError:
        raise UserInputError("export needs the onnx package: pip install 'crepetool[onnx]'") from None
    check_output(path, overwrite)
    loaded = weights_of(weights)
    model = load_model(loaded, "cpu", conv)
    example = torch.randn(2, WINDOW_SIZE)
    with torch.no_grad():
        model(example)  # the kernel spectra, computed once here: constants of the graph, not nodes
    with atomic_path(path) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy exporter's deprecation notes
        torch.onnx.export(
            model,
            (example,),
            str(tmp),
            input_names=[INPUT],
            output_names=[OUTPUT],
            dynamic_axes={INPUT: {0: "batch"}, OUTPUT: {0: "batch"}},
            opset_version=opset,
            dynamo=False,
        )
        graph = onnx.load(str(tmp))
        props = {
            "crepetool": json.dumps(loaded.metadata, sort_keys=True),
            "capacity": str(loaded.capacity),
            "input": f"{INPUT}: float32 [batch, {WINDOW_SIZE}], {SAMPLE_RATE // 1000} kHz windows, zero mean, unit std",
            "output": f"{OUTPUT}: float32 [batch, {PITCH_BINS}], sigmoid; bin b at "
            f"{CENTS_PER_BIN}*b + {CENTS_OFFSET:.2f} cents above {REFERENCE_HZ:g} Hz",
        }
        for key, value in props.items():
            entry = graph.metadata_props.add()
            entry.key, entry.value = key, value
        graph.producer_name = "crepetool"
        onnx.save(graph, str(tmp))
    return path
