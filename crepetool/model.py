"""CREPE of any capacity, with a fast CPU forward pass.

Parameter names and shapes are torchcrepe's (``conv1``..``conv6``,
``conv{i}_BN``, ``classifier``; kernels stored as ``(out, in, k, 1)``), so a
state dict moves between :class:`Crepe` and ``torchcrepe.Crepe`` with
``strict=True`` both ways.

The convolutions are 1-D over time. How they run is chosen for speed on a CPU
(measured on 2 cores, ``full``, 64 frames a batch):

- activations are kept channels-last (``[batch, C, time, 1]`` stored as
  ``[batch, time, 1, C]``), where oneDNN's convolution runs conv2 at ~460
  GFLOP/s against ~255 for ``conv1d`` on the default layout;
- conv1 (one input channel, stride 4) is a single GEMM over strided windows,
  which lands its output channels-last for free;
- in eval mode ReLU, batch norm and max-pool are fused: pooling first halves
  the tensor the other two touch (max commutes with ReLU and with a positive
  affine map; channels whose BN scale is negative take the min instead).

All of this is exact up to float rounding (~1e-6 on probabilities).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from crepetool.presets import (
    CLASSIFIER_TIME_STEPS,
    KERNEL_SIZES,
    LAYER_NAMES,
    PITCH_BINS,
    channels,
    parse_capacity,
)

#: torchcrepe's batch-norm epsilon (Keras' 1e-3 as stored in float32).
BN_EPS = 0.0010000000474974513
#: Zero padding (before, after) of each convolution's input in time, as torchcrepe pads.
PADDING: tuple[tuple[int, int], ...] = ((254, 254),) + ((31, 32),) * 5
STRIDES: tuple[int, ...] = (4, 1, 1, 1, 1, 1)
WINDOW_SIZE = 1024
_CL = torch.channels_last


class Crepe(torch.nn.Module):
    """CREPE pitch network at capacity K/32.

    Arguments
        capacity (int or str)
            1..32, or a preset name (``tiny``, ``small``, ``regular``, ``medium``,
            ``large``, ``full``).
    """

    def __init__(self, capacity: int | str = "full") -> None:
        super().__init__()
        self.capacity = parse_capacity(capacity)
        out_channels = channels(self.capacity)
        in_channels = [1, *out_channels[:-1]]
        for name, c_in, c_out, k, stride in zip(
            LAYER_NAMES, in_channels, out_channels, KERNEL_SIZES, STRIDES
        ):
            setattr(self, name, torch.nn.Conv2d(c_in, c_out, (k, 1), (stride, 1)))
            setattr(self, f"{name}_BN", torch.nn.BatchNorm2d(c_out, eps=BN_EPS, momentum=0.0))
        self.in_features = CLASSIFIER_TIME_STEPS * out_channels[-1]
        self.classifier = torch.nn.Linear(self.in_features, PITCH_BINS)
        # Kernels live channels-last; load_state_dict copies into them and keeps that.
        self.to(memory_format=_CL)

    def forward(self, frames: torch.Tensor, embed: bool = False) -> torch.Tensor:
        """Pitch-bin probabilities of normalised frames.

        Arguments
            frames (Tensor [shape=(batch, 1024)])
                Mean-centred, unit-variance frames at 16 kHz.
            embed (bool)
                Return :meth:`embed` instead; this keeps the module a drop-in
                ``torchcrepe.infer.model``.

        Returns
            probabilities (Tensor [shape=(batch, 360)]), sigmoid outputs in 0..1.
        """
        x = self.embed(frames)
        if embed:
            return x
        x = self._layer(x, 5)  # shape=(batch, C6, 4, 1)
        # shape=(batch, 4 * C6): flattened as (time, channel), as torchcrepe does
        x = x.permute(0, 2, 1, 3).reshape(x.size(0), self.in_features)
        return torch.sigmoid(self.classifier(x))

    def embed(self, frames: torch.Tensor) -> torch.Tensor:
        """Output of the first five layers, in torchcrepe's layout.

        Arguments
            frames (Tensor [shape=(batch, 1024)])

        Returns
            embedding (Tensor [shape=(batch, C5, 8, 1)])
        """
        x = self._conv1(frames)
        x = self._activate(x, 0)
        for index in range(1, 5):
            x = self._layer(x, index)
        return x

    def _conv1(self, frames: torch.Tensor) -> torch.Tensor:
        """conv1 as one GEMM: (batch * 256 windows of 512) @ (512, C1).

        Returns Tensor [shape=(batch, C1, 256, 1)], channels-last.
        """
        conv = self.conv1
        windows = F.pad(frames, PADDING[0]).unfold(1, KERNEL_SIZES[0], STRIDES[0])
        steps = windows.size(1)  # 256
        weight = conv.weight.reshape(conv.out_channels, KERNEL_SIZES[0])
        x = torch.addmm(conv.bias, windows.reshape(-1, KERNEL_SIZES[0]), weight.t())
        # shape=(batch, steps, C1) is the channels-last storage of (batch, C1, steps, 1)
        return x.view(frames.size(0), steps, 1, -1).permute(0, 3, 1, 2)

    def _layer(self, x: torch.Tensor, index: int) -> torch.Tensor:
        """pad -> conv -> ReLU -> batch norm -> max-pool(2), torchcrepe's order."""
        conv: torch.nn.Conv2d = getattr(self, LAYER_NAMES[index])
        x = F.pad(x.contiguous(memory_format=_CL), (0, 0, *PADDING[index]))
        x = F.conv2d(x, conv.weight, conv.bias, stride=conv.stride)
        return self._activate(x, index)

    def _activate(self, x: torch.Tensor, index: int) -> torch.Tensor:
        """ReLU, batch norm, max-pool over time: Tensor [(b, C, T, 1)] -> [(b, C, T/2, 1)]."""
        bn: torch.nn.BatchNorm2d = getattr(self, f"{LAYER_NAMES[index]}_BN")
        if self.training:
            return F.max_pool2d(bn(F.relu(x)), (2, 1), (2, 1))
        scale = bn.weight * torch.rsqrt(bn.running_var + bn.eps)
        shift = bn.bias - bn.running_mean * scale
        pooled = F.max_pool2d(x, (2, 1), (2, 1))
        negative = scale < 0
        if bool(negative.any()):
            # a negative scale turns the max of the affine map into its min
            low = -F.max_pool2d(-x, (2, 1), (2, 1))
            pooled = torch.where(negative[None, :, None, None], low, pooled)
        return torch.addcmul(shift[None, :, None, None], F.relu(pooled), scale[None, :, None, None])


def from_state_dict(state_dict: dict[str, torch.Tensor]) -> Crepe:
    """A :class:`Crepe` in eval mode holding ``state_dict`` (capacity inferred from shapes)."""
    from crepetool.weights import infer_capacity

    model = Crepe(infer_capacity(state_dict))
    model.load_state_dict(state_dict, strict=True)
    return model.eval()
