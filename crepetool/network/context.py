"""The context stage: each frame's 360 pitch-bin probabilities re-weighted from the frames around it.

CREPE decides a frame from its own 64 ms window. In a room, the tail of the previous pitch can
outweigh the direct sound inside that window; the frames after it show which of the two the
voice went on with. :class:`ContextStage` reads the probabilities of :data:`REACH` frames on
each side of a frame (any CREPE's, of any capacity) and returns new probabilities for it:

    probabilities [batch, frames + 2 * REACH, 360]
      -> 2 features (p, log p) -> conv (3 frames x 18 bins, stride 6 in pitch: 60 cells)
      -> 3 convs (5 frames x 3 cells, time dilations 1, 2, 4) -> a correction per bin
      -> sigmoid(logit(p) + correction)     [batch, frames, 360]

It is translation-equivariant in pitch (convolutions over bins), so it holds for any voice's
range, and it only adds to the frame's own logits, so a frame's fine pitch still comes from its
own window. Time is convolved without padding: the caller supplies the context
(:mod:`crepetool.prediction.context` pads the recording's ends by repeating its first and last
frame, and a live stream the frames it has not seen yet, the same way).

The project trains one stage for every CREPE (``benchmarks/context.py``) and ships its weights in
the package (:data:`WEIGHTS_FILE`, safetensors, under the ``context.`` keys).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from crepetool.names import CONTEXT_HOP
from crepetool.network.weights import parameter_count
from crepetool.units import PITCH_BINS, SAMPLE_RATE

#: The hop it was trained at, in samples at 16 kHz (10 ms): its time axis is frames this far apart.
HOP = CONTEXT_HOP
#: Frames of context the stage reads on each side of a frame (its receptive field's radius).
REACH = 15
#: Bins pooled into one cell of the stage's pitch axis (stride of its first convolution).
CELL = 6
#: Channels of the stage's convolutions.
WIDTH = 16
#: Time dilations of the stage's three inner convolutions (each 5 frames wide).
DILATIONS = (1, 2, 4)
#: The stage trained by the project, shipped beside this module.
WEIGHTS_FILE = Path(__file__).with_name("context.safetensors")
#: Key prefix of the stage's tensors in a safetensors file.
PREFIX = "context."
#: Probabilities are clamped this far from 0 and 1 before their logit and log.
EPS = 1e-4


class ContextStage(torch.nn.Module):
    """Probabilities of frames from the probabilities of the frames around them.

    Arguments (of :meth:`forward`)
        probabilities (Tensor [shape=(batch, frames + 2 * REACH, 360)]): a network's sigmoid outputs,
            :data:`REACH` frames of context on each side.

    Returns
        probabilities (Tensor [shape=(batch, frames, 360)]), in 0..1.
    """

    reach = REACH

    def __init__(self, width: int = WIDTH, cell: int = CELL) -> None:
        super().__init__()
        self.inp = torch.nn.Conv2d(2, width, (3, 3 * cell), stride=(1, cell), padding=(0, cell))
        self.body = torch.nn.ModuleList(
            torch.nn.Conv2d(width, width, (5, 3), dilation=(d, 1), padding=(0, 1)) for d in DILATIONS
        )
        self.out = torch.nn.ConvTranspose2d(width, 1, (1, cell), stride=(1, cell))
        torch.nn.init.zeros_(self.out.weight)  # untrained, the stage passes probabilities through
        torch.nn.init.zeros_(self.out.bias)
        assert 1 + sum(2 * d for d in DILATIONS) == REACH

    def forward(self, probabilities: torch.Tensor) -> torch.Tensor:
        p = probabilities.float().clamp(EPS, 1 - EPS)
        x = torch.stack([p, p.log()], dim=1)  # [batch, 2, time, bins]
        x = torch.relu(self.inp(x))
        for conv in self.body:
            x = torch.relu(conv(x))
        correction = self.out(x)[:, 0]  # [batch, frames, 360]
        centre = p[:, REACH : p.size(1) - REACH]
        return torch.sigmoid(torch.logit(centre) + correction)


def state_of(stage: ContextStage) -> dict[str, torch.Tensor]:
    """The stage's tensors under their :data:`PREFIX` keys, as a file stores them."""
    return {PREFIX + k: v.detach().contiguous() for k, v in stage.state_dict().items()}


def from_state(tensors: dict[str, torch.Tensor]) -> ContextStage:
    """A stage from tensors under :data:`PREFIX` keys (other keys ignored); raises KeyError or
    RuntimeError when they are not a stage's."""
    own = {k[len(PREFIX) :]: v for k, v in tensors.items() if k.startswith(PREFIX)}
    stage = ContextStage(width=own["inp.weight"].size(0), cell=own["out.weight"].size(3))
    stage.load_state_dict(own, strict=True)
    return stage.eval()


_shipped: ContextStage | None = None


def shipped() -> ContextStage:
    """The project's trained stage (:data:`WEIGHTS_FILE`), loaded once per process."""
    global _shipped
    if _shipped is None:
        from safetensors.torch import load_file

        _shipped = from_state(load_file(WEIGHTS_FILE))
        _shipped.requires_grad_(False)
    return _shipped


def describe() -> dict[str, Any]:
    """The shipped stage for ``inspect``: its file, layers (name, shape, parameters), total
    parameters, reach in frames and ms, and the metadata it was written with."""
    from safetensors import safe_open

    stage = shipped()
    with safe_open(str(WEIGHTS_FILE), "pt") as handle:
        metadata = handle.metadata() or {}
    layers = [
        {"name": name, "shape": list(module.weight.shape), "parameters": parameter_count(module.state_dict(prefix=f"{name}."))}
        for name, module in stage.named_modules()
        if isinstance(module, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))
    ]
    return {
        "file": WEIGHTS_FILE.name,
        "layers": layers,
        "parameters": parameter_count(stage.state_dict()),
        "reach_frames": stage.reach,
        "reach_ms": 1000 * stage.reach * HOP / SAMPLE_RATE,
        "metadata": metadata,
    }


def save(stage: ContextStage, path: str | Path, metadata: dict[str, str] | None = None) -> None:
    """Write ``stage`` as safetensors under :data:`PREFIX` keys."""
    from safetensors.torch import save_file

    save_file(state_of(stage), str(path), metadata=metadata)


assert PITCH_BINS % CELL == 0
