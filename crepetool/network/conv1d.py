"""``F.conv1d`` with a backward pass of two forward-speed convolutions, for training on the CPU."""

from __future__ import annotations

import torch
import torch.nn.functional as F


class Conv1d(torch.autograd.Function):
    """``F.conv1d`` (no padding, stride 1) with a backward pass of two forward-speed convolutions.

    oneDNN's own convolution backward measured ~3x slower than its forward on AVX2 CPUs;
    written as convolutions, the input
    gradient is the output gradient correlated with the flipped kernel, and the kernel
    gradient is the input correlated with the output gradient, batch as channels.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        ctx.save_for_backward(x, weight)
        return F.conv1d(x, weight, bias)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:  # type: ignore[override]
        x, weight = ctx.saved_tensors
        kernel = weight.size(-1)
        grad_input = grad_weight = grad_bias = None
        if ctx.needs_input_grad[0]:
            # shape=(batch, C_in, T + k - 1)
            grad_input = F.conv1d(F.pad(grad, (kernel - 1, kernel - 1)), weight.flip(2).transpose(0, 1))
        if ctx.needs_input_grad[1]:
            # shape=(C_out, C_in, k): batch as the channels being summed over
            grad_weight = F.conv1d(x.transpose(0, 1), grad.transpose(0, 1)).transpose(0, 1)
        if ctx.needs_input_grad[2]:
            grad_bias = grad.sum(dim=(0, 2))
        return grad_input, grad_weight, grad_bias


def conv1d(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """``F.conv1d`` (stride 1, no padding), through :class:`Conv1d` when gradients flow on
    the CPU (its backward is oneDNN's workaround; not in an ONNX export, which has no
    operator for it)."""
    training = torch.is_grad_enabled() and (weight.requires_grad or x.requires_grad)
    if training and x.device.type == "cpu" and not torch.onnx.is_in_onnx_export():
        return Conv1d.apply(x, weight.contiguous(), bias)
    return F.conv1d(x, weight, bias)
