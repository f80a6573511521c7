"""CREPE of any capacity, with a fast CPU forward pass.

Parameter names and shapes are torchcrepe's (``conv1``..``conv6``,
``conv{i}_BN``, ``classifier``; kernels stored as ``(out, in, k, 1)``), so a
state dict moves between :class:`Crepe` and ``torchcrepe.Crepe`` with
``strict=True`` both ways.

The convolutions are 1-D over time. How they run is chosen for speed; the
measurements behind each choice are in docs/model.md and docs/benchmarks.md:

- conv2..conv6 run in the frequency domain (:mod:`crepetool.network.spectral`) wherever
  :func:`crepetool.network.spectral.choose` says so (every layer of every capacity on a CPU in fp32;
  never on CUDA or at half precision), on time-major activations ``[time, C, batch]``: three
  matrix products instead of a convolution, far fewer multiply-adds. ``conv="direct"``
  (or ``CREPETOOL_CONV=direct``) keeps every layer direct, the reference;
- the direct path's layout (:func:`default_layout`): ``cl`` keeps activations
  channels-last as ``[batch, C, 1, time]`` (stored ``[batch, time, C]``), time on the
  image's width, where oneDNN runs its brgemm convolution and pads inside it without
  multiplying the padding (time on the height would make oneDNN block over an output width
  of 1); ``ncl`` is ``conv1d`` on ``[batch, C, time]``, faster on CUDA;
- frames handed over as a :class:`crepetool.network.span.FrameSpan` (the samples their windows
  cover; predict's pipeline does so) run conv1 and its activation once per group of frames
  (:mod:`crepetool.network.shared`) wherever the hop is a multiple of 8 samples and conv2 runs
  in the frequency domain, else per frame (``conv1_mode="frame"`` or ``CREPETOOL_CONV1=frame``
  keeps it per frame, the reference);
- conv1 (one input channel, kernel 512, stride 4) is a stride-1 convolution over
  the frame's four phases (``[batch, 4, 383]`` against a ``[C1, 4, 128]`` kernel),
  which oneDNN runs directly, faster than a GEMM over copied windows; padded frames and
  kernel are already the channels-last storage of phases and kernel, so ``cl`` copies neither;
- the later layers run only the kernel taps that can reach their input: with
  8 time steps (conv6) an output reads at most 15 of the 64 taps, the rest
  see zero padding;
- in eval mode ReLU, batch norm and max-pool are fused: pooling first halves
  the tensor the other two touch (max commutes with ReLU and with a positive
  affine map; channels whose BN scale is negative take the min instead);
- a convolution whose kernel is bf16 or fp16 runs at that precision, and the batch
  norm after it returns fp32 (:mod:`crepetool.network.precision` builds such a model).

All of this is exact up to float rounding.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from crepetool.errors import check_choice
from crepetool.names import (
    CONV1_ENV,
    CONV1_MODES,
    CONV_ENV,
    CONV_MODES,
    DEFAULT_CONV,
    DEFAULT_CONV1,
    LAYOUT_ENV,
)
from crepetool.network import shared, spectral
from crepetool.network.conv1d import conv1d as _conv1d
from crepetool.network.presets import (
    CLASSIFIER_TIME_STEPS,
    KERNEL_SIZES,
    LAYER_NAMES,
    channels,
    parse_capacity,
)
from crepetool.network.span import FrameSpan
from crepetool.units import PITCH_BINS, WINDOW_SIZE

#: torchcrepe's batch-norm epsilon (Keras' 1e-3 as stored in float32).
BN_EPS = 0.0010000000474974513
#: Zero padding (before, after) of each convolution's input in time, as torchcrepe pads.
PADDING: tuple[tuple[int, int], ...] = ((254, 254),) + ((31, 32),) * 5
STRIDES: tuple[int, ...] = (4, 1, 1, 1, 1, 1)
#: Inference runs the network a slice of the batch at a time, so that conv1's output (the
#: largest activation: C1 x 256 floats a frame) stays under this; at least 64 frames a slice.
INFERENCE_BYTES = 16 * 2**20
#: Inference pads a batch to whole blocks of this many frames (see :meth:`Crepe.forward`).
BATCH_MULTIPLE = 16
_CL = torch.channels_last
#: ``cl`` (channels-last conv2d over [batch, C, 1, time]) or ``ncl`` (conv1d on [batch, C, time]);
#: see :func:`default_layout`.
LAYOUTS = ("cl", "ncl")

def env_choice(variable: str, choices: tuple[str, ...]) -> str | None:
    """The value of environment ``variable`` when it is one of ``choices`` (case and spaces
    ignored), else None: the one reader of the ``CREPETOOL_*`` performance switches."""
    import os

    chosen = os.environ.get(variable, "").strip().lower()
    return chosen if chosen in choices else None


def default_conv() -> str:
    """``auto`` unless ``CREPETOOL_CONV=auto|direct|transform`` says otherwise."""
    return env_choice(CONV_ENV, CONV_MODES) or DEFAULT_CONV


def default_conv1() -> str:
    """``shared`` unless ``CREPETOOL_CONV1=shared|frame`` says otherwise."""
    return env_choice(CONV1_ENV, CONV1_MODES) or DEFAULT_CONV1


def default_layout(device: str | torch.device | None = None) -> str:
    """``cl`` on the CPU, ``ncl`` on CUDA, unless ``CREPETOOL_LAYOUT=cl|ncl`` says otherwise.

    Results are the same either way (float rounding). cuDNN runs conv1d on [batch, C, time]
    without the relayouts channels-last needs, so ``ncl`` is faster on CUDA; it is also the
    choice for a CPU where it measures faster (``benchmarks/predict.py`` prints both).
    """
    chosen = env_choice(LAYOUT_ENV, LAYOUTS)
    if chosen is not None:
        return chosen
    return "ncl" if device is not None and torch.device(device).type == "cuda" else "cl"


class Crepe(torch.nn.Module):
    """CREPE pitch network at capacity K/32.

    Arguments
        capacity (int or str)
            1..32, or a preset name (``tiny``, ``small``, ``regular``, ``medium``,
            ``large``, ``full``).
        layout (str)
            ``cl`` or ``ncl`` (see the module docstring); None picks :func:`default_layout`.
        conv (str)
            ``auto``, ``direct`` or ``transform``: how conv2..conv6 run (:meth:`conv_plan`);
            None picks :func:`default_conv`.
        conv1_mode (str)
            ``shared`` or ``frame``: how conv1 runs on a :class:`~crepetool.network.span.FrameSpan`
            (:meth:`shares_conv1`); None picks :func:`default_conv1`. An attribute: set it later too.
    """

    def __init__(
        self,
        capacity: int | str = "full",
        layout: str | None = None,
        conv: str | None = None,
        conv1_mode: str | None = None,
    ) -> None:
        super().__init__()
        self.capacity = parse_capacity(capacity)
        self.layout = layout or default_layout()
        check_choice("layout", self.layout, LAYOUTS)
        self.conv = conv or default_conv()
        check_choice("conv mode", self.conv, CONV_MODES)
        self.conv1_mode = conv1_mode or default_conv1()
        check_choice("conv1 mode", self.conv1_mode, CONV1_MODES)
        # kernel spectra of inference, by layer: (the weight's identity and version, spectrum)
        self._spectra: dict[int, tuple[tuple, torch.Tensor]] = {}
        out_channels = channels(self.capacity)
        in_channels = [1, *out_channels[:-1]]
        for name, c_in, c_out, k, stride in zip(
            LAYER_NAMES, in_channels, out_channels, KERNEL_SIZES, STRIDES
        ):
            setattr(self, name, torch.nn.Conv2d(c_in, c_out, (k, 1), (stride, 1)))
            setattr(self, f"{name}_BN", torch.nn.BatchNorm2d(c_out, eps=BN_EPS, momentum=0.0))
        self.in_features = CLASSIFIER_TIME_STEPS * out_channels[-1]
        self.classifier = torch.nn.Linear(self.in_features, PITCH_BINS)
        if self.layout == "cl":
            # kernels live channels-last; load_state_dict copies into them and keeps that
            self.to(memory_format=_CL)

    def forward(self, frames: torch.Tensor | FrameSpan, embed: bool = False) -> torch.Tensor:
        """Pitch-bin probabilities of normalised frames, or of a span's frames.

        Arguments
            frames (Tensor [shape=(batch, 1024)], or FrameSpan of ``batch`` frames)
                Mean-centred, unit-variance frames at 16 kHz, or raw frames as the samples
                their windows cover (normalised here; conv1 shared where :meth:`shares_conv1`).
            embed (bool)
                Return :meth:`embed` instead; this keeps the module a drop-in
                ``torchcrepe.infer.model``.

        Returns
            probabilities (Tensor [shape=(batch, 360)]), sigmoid outputs in 0..1.
        """
        if isinstance(frames, FrameSpan):
            if embed or not self.shares_conv1(frames.hop):
                return self.forward(frames.frames(), embed)
            return torch.cat([self._from_span(part) for part in frames.split(self._span_chunk())])
        count, chunk = frames.size(0), self._inference_chunk(frames)
        if count % BATCH_MULTIPLE and chunk:
            # oneDNN runs a batch's last partial block of 8 frames through other kernels, and MKL
            # runs a bmm over 8 columns through another (an AVX2 EPYC; outputs ~1e-7 apart): in
            # whole blocks of 16, a frame's output never depends on which frames share its batch,
            # so --batch-size, streaming and the Ray engine give the same bytes
            blank = frames.new_zeros(-count % BATCH_MULTIPLE, frames.size(1))
            return self.forward(torch.cat([frames, blank]), embed)[:count]
        if chunk and chunk < count:
            # activations are a slice's, not the batch's: a 512-frame batch of tiny peaked 143 MB
            return torch.cat([self.forward(part, embed) for part in frames.split(chunk)])
        return self.from_conv1(self.conv1_output(frames), embed)

    def from_conv1(self, conv1: torch.Tensor, embed: bool = False) -> torch.Tensor:
        """:meth:`forward` from conv1's output (:meth:`conv1_output`): a training step whose
        conv1 is frozen computes that once per frame, or takes it from a teacher whose conv1
        kernel this one was cut from (:func:`crepetool.training.recovery.distill`).

        Arguments
            conv1 (Tensor [shape=(batch, C1, 256)], ``cl``: [shape=(batch, C1, 1, 256)])
            embed (bool)
                Return the embedding (:meth:`embed`) instead.

        Returns
            probabilities (Tensor [shape=(batch, 360)])
        """
        x, major = self._features(conv1)
        return self._torchcrepe_layout(x, major) if embed else self._head(x, major)

    def shares_conv1(self, hop: int) -> bool:
        """Whether frames ``hop`` samples apart, as a :class:`~crepetool.network.span.FrameSpan`,
        run conv1 once per group (:mod:`crepetool.network.shared`): ``conv1_mode="shared"``, inference
        on the CPU in fp32 with conv2 in the frequency domain (its time-major input is what the
        shared path writes), and ``hop`` a multiple of :data:`crepetool.network.shared.HOP_MULTIPLE`."""
        weight = self.conv1.weight
        return (
            self.conv1_mode == "shared"
            and shared.supports(hop)
            and not (self.training or torch.is_grad_enabled())
            and weight.device.type == "cpu"
            and weight.dtype == torch.float32
            and not torch.is_autocast_enabled("cpu")
            and not (torch.onnx.is_in_onnx_export() or torch.jit.is_tracing())
            and self._transformed(1)
        )

    def _from_span(self, span: FrameSpan) -> torch.Tensor:
        """Probabilities of a span's frames through the shared conv1, a group at a time; the
        batch padded with zeros to whole :data:`BATCH_MULTIPLE` blocks, as :meth:`forward` pads."""
        count = span.count
        padded = count + -count % BATCH_MULTIPLE
        activated = torch.empty(128, self.conv1.out_channels, padded)
        activated[:, :, count:] = 0
        fold = shared.folded(self.conv1, self.conv1_BN, *bn_affine(self.conv1_BN))
        for first in range(0, count, shared.GROUP):
            last = min(first + shared.GROUP, count)
            shared.activation(fold, span.slice(first, last), activated[:, :, first:last])
        x, major = self._after_conv1(activated, True)
        return self._head(x, major)[:count]

    def _span_chunk(self) -> int:
        """Frames of a span run through the network at once: :meth:`_inference_chunk`'s, in
        whole groups."""
        frames = self.conv1.weight.new_empty(0, WINDOW_SIZE)
        return max(shared.GROUP, self._inference_chunk(frames) // shared.GROUP * shared.GROUP)

    def _head(self, x: torch.Tensor, major: bool) -> torch.Tensor:
        """conv6, its activation and the classifier: the last of :meth:`from_conv1`."""
        x = self._activate(self._conv(x, 5, major), 5, major, major)
        if major:  # shape=(4, C6, batch) -> (batch, 4 * C6), flattened as (time, channel) as torchcrepe does
            return torch.sigmoid(self.classifier(x.reshape(self.in_features, -1).t()))
        # shape=(batch, C6, 4) -> (batch, 4 * C6)
        x = x.flatten(2).transpose(1, 2).reshape(-1, self.in_features)
        return torch.sigmoid(self.classifier(x))

    def embed(self, frames: torch.Tensor) -> torch.Tensor:
        """Output of the first five layers, in torchcrepe's layout.

        Arguments
            frames (Tensor [shape=(batch, 1024)])

        Returns
            embedding (Tensor [shape=(batch, C5, 8, 1)])
        """
        return self._torchcrepe_layout(*self._features(self.conv1_output(frames)))

    def conv_plan(self) -> tuple[str, ...]:
        """How conv2..conv6 run where this model's kernels are: ``direct`` or ``transform`` each."""
        return tuple(spectral.TRANSFORM if self._transformed(i) else spectral.DIRECT for i in range(1, 6))

    def _torchcrepe_layout(self, x: torch.Tensor, major: bool) -> torch.Tensor:
        """[(T, C, b)] (time-major), [(b, C, T)] (``ncl``) or [(b, C, 1, T)] (``cl``) -> [(b, C, T, 1)]."""
        if major:
            return x.permute(2, 1, 0)[..., None]
        return x[..., None] if self.layout == "ncl" else x.transpose(2, 3)

    def _inference_chunk(self, frames: torch.Tensor) -> int:
        """Frames per slice without gradients (:data:`INFERENCE_BYTES`, whole blocks of
        :data:`BATCH_MULTIPLE`); 0 where the batch runs as it is (training; tracing and export,
        where a split would fix the batch size)."""
        if (
            self.training
            or frames.device.type != "cpu"  # a GPU takes the batch whole: 64-frame slices starve it
            or torch.is_grad_enabled()
            or torch.onnx.is_in_onnx_export()
            or torch.jit.is_tracing()
        ):
            return 0
        per_frame = self.conv1.out_channels * 256 * frames.element_size()
        return max(64, INFERENCE_BYTES // per_frame // BATCH_MULTIPLE * BATCH_MULTIPLE)

    def _features(self, x: torch.Tensor) -> tuple[torch.Tensor, bool]:
        """From conv1's output, its activation and conv2..conv5 with theirs, each activation
        written in the layout that the next convolution reads: (x, whether x is time-major
        ``[T, C, batch]``; else it is in this model's layout)."""
        into = self._transformed(1)
        return self._after_conv1(self._activate(x, 0, False, into), into)

    def _after_conv1(self, x: torch.Tensor, major: bool) -> tuple[torch.Tensor, bool]:
        """:meth:`_features` from conv1's activation (time-major if ``major``)."""
        for index in range(1, 5):  # conv `index + 1`, then its activation
            into = self._transformed(index + 1)
            x = self._conv(x, index, major)
            x, major = self._activate(x, index, major, into), into
        return x, major

    def _transformed(self, index: int) -> bool:
        """Whether conv ``index`` (1..5) runs in the frequency domain: this model's ``conv``, or
        for ``auto`` :func:`crepetool.network.spectral.choose` for its kernel's device and dtype."""
        if self.conv != "auto":
            return self.conv == spectral.TRANSFORM
        conv: torch.nn.Conv2d = getattr(self, LAYER_NAMES[index])
        weight, plan = conv.weight, _plan(index, 256 >> index)
        choice = spectral.choose(plan, conv.in_channels, conv.out_channels, weight.device, weight.dtype)
        return choice == spectral.TRANSFORM

    def conv1_output(self, frames: torch.Tensor) -> torch.Tensor:
        """conv1 over the frame's four phases: Tensor [shape=(batch, 1024)] -> [shape=(batch, C1, 256)]
        in ``ncl``, [shape=(batch, C1, 1, 256)] channels-last in ``cl``.

        out[t] = sum_j w[j] x[4t + j] = sum_(phase p, m) w[4m + p] x[4(t + m) + p]: a stride-1
        convolution of the four phases ``[batch, 4, 383]`` with a ``[C1, 4, 128]`` kernel.
        """
        if frames.device.type == "cpu" and torch.is_autocast_enabled("cpu"):
            # under CPU autocast, oneDNN's AMX bf16 convolution of the four phases (4 channels,
            # kernel 128) returned wrong values (relative error 1.06; torch 2.11, an Intel
            # Xeon with AMX), so conv1 stays fp32; the stride-4 form was right in bf16
            with torch.autocast("cpu", enabled=False):
                return self.conv1_output(frames.float())
        conv = self.conv1
        # [batch, 383, 4] and [C1, 128, 4]: already the channels-last storage of phases and kernel
        phases = F.pad(frames, PADDING[0]).unflatten(1, (-1, STRIDES[0]))
        kernel = conv.weight.reshape(conv.out_channels, -1, STRIDES[0])
        if self.layout == "cl":
            return F.conv2d(phases.transpose(1, 2)[:, :, None], kernel.transpose(1, 2)[:, :, None], conv.bias)
        # a channels-last-strided kernel would make oneDNN write a channels-last output, which
        # max-pool then copies: tiny's conv1 and pool took 0.33 ms a frame that way, 0.19 contiguous
        return _conv1d(phases.transpose(1, 2), kernel.transpose(1, 2).contiguous(), conv.bias)

    def _conv(self, x: torch.Tensor, index: int, major: bool) -> torch.Tensor:
        """Convolution ``index`` (1..5) with torchcrepe's zero padding and only the kernel taps
        that reach the input (:func:`_taps`): in the frequency domain on time-major input,
        [(T, C, b)] -> [(T, C', b)], else direct, [(b, C, T)] -> [(b, C', T)] (``cl``: with a 1
        before T)."""
        conv: torch.nn.Conv2d = getattr(self, LAYER_NAMES[index])
        x = x.to(conv.weight.dtype)  # a bf16/fp16 kernel runs its convolution at that precision
        if major:
            plan = _plan(index, x.size(0))
            return spectral.correlate(x, self._spectrum(index, plan), plan, conv.bias)
        taps, (before, after) = _taps(index, x.size(-1))
        if self.layout == "ncl":
            return _conv1d(F.pad(x, (before, after)), conv.weight[:, :, taps, 0], conv.bias)
        # oneDNN pads inside the convolution and never multiplies the padding (K=12 conv2: 1.40 ms
        # a frame against 2.40 after F.pad), but pads both sides alike: the extra output is dropped
        side = max(before, after)
        x = F.conv2d(x, conv.weight[:, :, taps].transpose(2, 3), conv.bias, padding=(0, side))
        return x[..., side - before : x.size(-1) - side + after]

    def _spectrum(self, index: int, plan: spectral.Plan) -> torch.Tensor:
        """The kernel spectrum of conv ``index``: computed with its gradient where one flows (a
        training step), else once per kernel (its storage and version) and kept."""
        weight = getattr(self, LAYER_NAMES[index]).weight
        taps = _taps(index, plan.length, whole_in_export=False)[0]
        if torch.is_grad_enabled() and weight.requires_grad and not torch.onnx.is_in_onnx_export():
            return spectral.spectrum(weight[:, :, taps, 0], plan)
        key = (weight.data_ptr(), weight._version, weight.device, weight.dtype, plan)
        cached = self._spectra.get(index)
        if cached is None or cached[0] != key:
            cached = self._spectra[index] = (key, spectral.exact_spectrum(weight[:, :, taps, 0], plan))
        return cached[1]

    def _activate(self, x: torch.Tensor, index: int, major: bool, into: bool) -> torch.Tensor:
        """ReLU, batch norm, max-pool over time: [(b, C, T)] -> [(b, C, T/2)] (``cl``: with a 1
        before T), or time-major [(T, C, b)] -> [(T/2, C, b)]; written time-major if ``into``."""
        bn: torch.nn.BatchNorm2d = getattr(self, f"{LAYER_NAMES[index]}_BN")
        if self.training:
            # BatchNorm2d wants 4-D; its running statistics must still update
            if major or self.layout == "ncl":
                return self._pool(bn(F.relu(x)[..., None])[..., 0], major, into)
            return self._relayout(F.max_pool2d(bn(F.relu(x)), (1, 2), (1, 2)), major, into)
        scale, shift = bn_affine(bn)
        pooled = self._pool(x, major, into)
        shape = (-1,) + (1,) * (pooled.dim() - 2)  # broadcast over what follows the channels
        negative = scale < 0
        if bool(negative.any()):
            # a negative scale turns the max of the affine map into its min
            pooled = torch.where(negative.view(shape), self._pool(x, major, into, torch.minimum), pooled)
        return torch.addcmul(shift.view(shape), pooled.relu_(), scale.view(shape))

    def _pool(self, x: torch.Tensor, major: bool, into: bool, pick=torch.maximum) -> torch.Tensor:
        """Max-pool by 2 over time (the first axis if time-major, else the last), or min-pool
        with ``pick=torch.minimum``; the result time-major if ``into``, else in this model's layout."""
        if major:  # the larger of each pair of [C, batch] slabs
            return self._relayout(pick(x[0::2], x[1::2]), major, into)
        if into and not (x.requires_grad or torch.jit.is_tracing()):
            # written time-major as it is computed, the transposition costs no pass of its own
            # (not with gradients: autograd takes no out=; nor in a trace: it would fix the batch)
            x = x[:, :, 0] if self.layout == "cl" else x  # shape=(batch, C, T)
            result = x.new_empty(x.size(2) // 2, x.size(1), x.size(0))
            pick(x[..., 0::2], x[..., 1::2], out=result.permute(2, 1, 0))
            return result
        if self.layout == "ncl":
            pooled = F.max_pool1d(x, 2) if pick is torch.maximum else -F.max_pool1d(-x, 2)
        else:  # the larger of each pair, elementwise: channels-last in and out, 3x faster than max_pool2d
            pooled = pick(x[..., 0::2], x[..., 1::2])
        return self._relayout(pooled, major, into)

    def _relayout(self, x: torch.Tensor, major: bool, into: bool) -> torch.Tensor:
        """``x`` (time-major if ``major``) time-major if ``into``, else in this model's layout."""
        if into == major:
            return x
        if into:  # shape=(T, C, batch)
            return (x[:, :, 0] if self.layout == "cl" else x).permute(2, 1, 0).contiguous()
        x = x.permute(2, 1, 0)
        return x.contiguous() if self.layout == "ncl" else x[:, :, None].contiguous(memory_format=_CL)


def _plan(index: int, steps: int) -> spectral.Plan:
    """The correlation conv ``index`` (1..5) does over ``steps`` time steps, reachable taps only."""
    before, after = _taps(index, steps, whole_in_export=False)[1]
    return spectral.Plan(steps, before + after + 1, before)


def _taps(index: int, steps: int, whole_in_export: bool = True) -> tuple[slice, tuple[int, int]]:
    """The kernel taps of conv ``index`` (1..5) that can reach an input of ``steps`` time
    steps, and the zero padding (before, after) they need.

    With torchcrepe's padding (31, 32), output t reads x[t + j - 31] at tap j, so with
    fewer than 32 steps only taps 32 - steps .. 30 + steps ever meet the input; the others
    multiply zeros. Convolving with just those, padded by steps - 1 on each side, gives
    the same outputs. An ONNX export of a direct convolution keeps the whole kernel
    (``whole_in_export``): the exporter cannot give a sliced kernel a shape, and ONNX runtimes
    skip the padding themselves.
    """
    before, after = PADDING[index]
    first, last = max(0, before - steps + 1), min(KERNEL_SIZES[index] - 1, before + steps - 1)
    if (first == 0 and last == KERNEL_SIZES[index] - 1) or (
        whole_in_export and torch.onnx.is_in_onnx_export()
    ):
        return slice(None), (before, after)
    return slice(first, last + 1), (before - first, last - before)


def bn_affine(bn: torch.nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
    """Eval-mode batch norm as ``x * scale + shift``: two Tensors [shape=(C,)]."""
    scale = bn.weight * torch.rsqrt(bn.running_var + bn.eps)
    return scale, bn.bias - bn.running_mean * scale
