"""conv1 once per stretch of frames, not once per frame.

conv1 (one input channel, 512 taps, stride 4, 254 samples of zero padding each side) reads every
sample of a recording about 6.4 times at a 10 ms hop, once for each frame that holds it. It is
linear, and a frame's normalisation is an affine map: for frame i with mean mu_i and standard
deviation sigma_i, output t of channel c is

    y_i[t] = sum over the taps k inside the frame of w[k] (x[s_i + 4t - 254 + k] - mu_i) / sigma_i + b.

Split the kernel into its low taps (k < 256) and its high taps. At outputs t >= 64 every low tap
lies inside the frame, and at t <= 191 every high tap does. There, each half's sum is one
correlation of the span's samples at stride 4, ``SL`` and ``SH``, which every frame shares (the
hop is a multiple of 4: frame i's output t is the span's position ``i * hop / 4 + t``). So:

- interior, 64 <= t <= 191: ``y = (SL + SH - mu_i W) / sigma_i + b``, W the kernel's sum;
- left edge, t < 64: ``SH / sigma_i`` plus the low taps over the frame's first 254 normalised
  samples, zero padded before (64 outputs of 256 taps per frame);
- right edge, t > 191: ``SL / sigma_i`` plus the high taps over its last 254, padded after.

That is ``2 * 64 * 160`` multiply-adds per channel and frame for the edges (taps that meet only
padding skipped) and ``~512 * hop / 4`` for the shared correlations, against ``256 * 512`` per
frame: 33% at a 10 ms hop. Every sum runs over samples inside the frame: nothing from a
neighbour's samples is subtracted again (a loud note before a quiet frame would cost precision).

conv1's activation follows (ReLU, batch norm, max-pool by 2; see :mod:`crepetool.network.model`):
with the batch norm's scale folded into the kernel, a channel's pooled activation is
``clamp(max(z[2p], z[2p + 1]) + shift)`` from below at ``shift`` (scale >= 0) or from above
(scale < 0). Pooling commutes with the interior's map (positive 1 / sigma_i), so the interior is
pooled once on the shared correlations, not once per frame. With the hop a multiple of 8, every
frame's pairs are the span's pairs.

The edges run as batched matrix products over all the frames of a group, one per block of 16
outputs with only the taps that reach the frame (62.5% of a half kernel on average), written
time-major ``[time, C, frame]``, the layout conv2 reads (:mod:`crepetool.network.spectral`), so
pooling moves whole rows. The shared correlations are written position-major ``[position, C]``,
so each frame reads whole rows of channels. Frames go in groups of :data:`GROUP`, each computed alone, so a frame's bytes
depend on its group only, never on the batch size, the blocks read or the Ray engine.
Results equal the per-frame path's within float rounding (~1e-6 of the largest activation).
"""

from __future__ import annotations

import dataclasses
import weakref

import torch
import torch.nn.functional as F

from crepetool.network.span import FrameSpan, normalised_with_statistics

#: Frames computed together: the shared correlations of a group cost ``(GROUP - 1) * hop / 4 +
#: 256`` positions, 8.5% more than the group's own at a 10 ms hop. 64 measured faster than 32
#: at every size (fewer, larger products) and as fast as 128 (docs/benchmarks.md). A multiple of
#: the model's BATCH_MULTIPLE (16).
GROUP = 64
#: The hop must be a multiple of this: conv1's stride (4) times the pooling (2).
HOP_MULTIPLE = 8
#: conv1's kernel, zero padding, outputs per frame, and the outputs at each edge that reach the padding.
_TAPS, _PAD, _OUTPUTS, _EDGE = 512, 254, 256, 64
_HALF = _TAPS // 2
_PHASES = 4  # conv1's stride: the kernel and samples as 4 interleaved phases


def supports(hop: int) -> bool:
    """Whether frames ``hop`` samples apart share conv1's correlations and pooling pairs."""
    return hop > 0 and hop % HOP_MULTIPLE == 0


@dataclasses.dataclass(frozen=True)
class Folded:
    """conv1 with its batch norm's scale folded in, ready for :func:`activation`.

    low, high (Tensor [shape=(C, 256)]): the kernel's first and last 256 taps.
    others (Tensor [shape=(2, C)]): for the left and right edge, minus the sum of the other
        half's taps (the high half's for the left edge).
    whole (Tensor [shape=(C,)]): the kernel's sum.
    base (Tensor [shape=(C,)]): bias times scale plus shift.
    lower, upper (Tensor [shape=(1, C, 1)]): each channel's clamp (minus or plus infinity where none).
    negative: whether any channel's scale is negative (has an upper clamp).
    """

    low: torch.Tensor
    high: torch.Tensor
    others: torch.Tensor
    whole: torch.Tensor
    base: torch.Tensor
    lower: torch.Tensor
    upper: torch.Tensor
    negative: bool


_FOLDED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def folded(conv: torch.nn.Module, bn: torch.nn.Module, scale: torch.Tensor, shift: torch.Tensor) -> Folded:
    """:class:`Folded` of a conv1 and its batch norm's eval-mode ``scale`` and ``shift``, built in
    float64 and rounded once; kept while the weights are unchanged (their versions)."""
    parts = (conv.weight, conv.bias, bn.weight, bn.bias, bn.running_mean, bn.running_var)
    key = tuple((p.data_ptr(), p._version) for p in parts)
    cached = _FOLDED.get(conv)
    if cached is not None and cached[0] == key:
        return cached[1]
    with torch.no_grad():
        scale, shift = scale.double(), shift.double()
        kernel = conv.weight.double().reshape(-1, _TAPS) * scale[:, None]  # shape=(C, 512)
        low, high = kernel[:, :_HALF], kernel[:, _HALF:]
        base = conv.bias.double() * scale + shift
        infinity = torch.full_like(shift, torch.inf)
        result = Folded(
            low.float().contiguous(),
            high.float().contiguous(),
            -torch.stack([high.sum(1), low.sum(1)]).float(),
            whole=kernel.sum(1).float(),
            base=base.float(),
            lower=torch.where(scale >= 0, shift, -infinity).float()[None, :, None],
            upper=torch.where(scale >= 0, infinity, shift).float()[None, :, None],
            negative=bool((scale < 0).any()),
        )
    _FOLDED[conv] = (key, result)
    return result


def activation(fold: Folded, span: FrameSpan, out: torch.Tensor) -> torch.Tensor:
    """conv1's activation for the frames of ``span`` (at most :data:`GROUP`), written into ``out``.

    Arguments
        span: raw samples; ``supports(span.hop)``.
        out (Tensor [shape=(128, C, span.count)]): time-major, as conv2 reads it in the frequency
            domain.

    Returns
        out, as :meth:`crepetool.network.model.Crepe` computes it from normalised frames.
    """
    count, quarter = span.count, span.hop // _PHASES
    normalised, mean, deviation = normalised_with_statistics(span.windows().clone())
    inverse = 1 / deviation
    # samples centred on the span's mean: the -mu_i W term then cancels little of the correlations
    centre = span.samples.mean()
    shifted = (mean - centre) * inverse  # shape=(count,)
    low, high = _correlations(fold, span.samples - centre, quarter * (count - 1) + _OUTPUTS)
    _interior(fold, low, high, quarter, shifted, inverse, out[_EDGE // 2 : -_EDGE // 2])
    edges = (
        (F.pad(normalised[:, :_PAD], (_PAD, 0)), fold.low, high, 0, out[: _EDGE // 2]),
        (F.pad(normalised[:, -_PAD:], (0, _PAD)), fold.high, low, _OUTPUTS - _EDGE, out[-_EDGE // 2 :]),
    )
    for side, (padded, kernel, shared, first, into) in enumerate(edges):
        # shape=(64, C, count): the other half's shared correlation and the frame's constant...
        z = torch.addcmul(
            (fold.base[:, None] + fold.others[side][:, None] * shifted[None])[None],
            _positions(shared, first, quarter, count),
            inverse,
        )
        # ...plus this half over the frame's own samples (time-major [508, count])
        _truncated(kernel, padded.t().contiguous(), z, after=side == 1)
        torch.maximum(z[0::2], z[1::2], out=into)
    # ReLU, then the batch norm's shift: a clamp at the shift from below (or above, scale < 0)
    torch.maximum(out, fold.lower, out=out)
    return torch.minimum(out, fold.upper, out=out) if fold.negative else out


#: The shared correlations run as this many pieces of the span, a batch: oneDNN's convolution
#: takes a batch, not one long row (which falls to a slower path: tiny's took 2.7x as long).
_PIECES = 4


def _correlations(fold: Folded, samples: torch.Tensor, positions: int) -> tuple[torch.Tensor, torch.Tensor]:
    """SL and SH: ``sum_k w[k] x[4r - 254 + k]`` over the low (high) taps at ``positions``
    positions r, position-major: two Tensors [shape=(positions, C)].

    A stride-1 convolution over the 4 phases, channels-last (its output's storage is then
    position-major), as :meth:`crepetool.network.model.Crepe.conv1_output` runs conv1.
    """
    rows = _HALF // _PHASES
    piece = -(-positions // _PIECES)  # positions a piece
    # padded[j] = x[j - 254], then zeros to whole pieces
    padded = F.pad(samples, (_PAD, _PAD + _PHASES * (_PIECES * piece - positions)))
    result = []
    for kernel, first in ((fold.low, 0), (fold.high, rows)):
        # shape=(pieces, 4, 1, piece + 63): overlapping views, channels-last storage
        phases = padded[_PHASES * first :].as_strided(
            (_PIECES, piece + rows - 1, _PHASES), (_PHASES * piece, _PHASES, 1)
        )
        weight = kernel.view(kernel.size(0), rows, _PHASES).transpose(1, 2)[:, :, None]
        x = F.conv2d(phases.transpose(1, 2)[:, :, None], weight)  # shape=(pieces, C, 1, piece)
        result.append(x.permute(0, 2, 3, 1).reshape(_PIECES * piece, -1)[:positions])
    return result[0], result[1]


def _interior(
    fold: Folded,
    low: torch.Tensor,
    high: torch.Tensor,
    quarter: int,
    shifted: torch.Tensor,
    inverse: torch.Tensor,
    out: torch.Tensor,
) -> None:
    """The interior's 64 pooled steps into ``out`` [shape=(64, C, count)]: the shared
    correlations pooled once, then each frame's affine map."""
    pooled = torch.maximum(low[0::2] + high[0::2], low[1::2] + high[1::2])  # shape=(positions / 2, C)
    steps, channels, count = out.shape
    view = pooled.as_strided(
        (steps, channels, count), (channels, 1, quarter // 2 * channels), _EDGE // 2 * channels
    )
    constant = fold.base[:, None] - fold.whole[:, None] * shifted[None]  # shape=(C, count)
    torch.addcmul(constant, view, inverse, out=out)


#: The edges' outputs go in tiles of this many: each tile runs only the taps that reach the
#: frame, in whole runs of :data:`_TAP_RUN` taps.
_TILE, _TAP_RUN = 16, 16


def _truncated(kernel: torch.Tensor, padded: torch.Tensor, out: torch.Tensor, after: bool) -> None:
    """Adds a half kernel [shape=(C, 256)] over 254 samples of each frame, zero padded before
    them (``after``: after), at 64 outputs: ``out[t] += kernel @ padded[4t : 4t + 256]``.

    Arguments
        padded (Tensor [shape=(508, count)]): time-major.
        out (Tensor [shape=(64, C, count)])
    """
    count = padded.size(1)
    for first in range(0, _EDGE, _TILE):
        # the taps that meet a sample at some output of the block (4t + k among the 254 samples;
        # before them, 4t + k >= 254), in whole runs of taps
        if after:
            start, stop = 0, min(_HALF, -(-(_PAD - _PHASES * first) // _TAP_RUN) * _TAP_RUN)
        else:
            start, stop = max(0, _PAD - _PHASES * (first + _TILE - 1)) // _TAP_RUN * _TAP_RUN, _HALF
        windows = padded.as_strided(
            (_TILE, stop - start, count), (_PHASES * count, count, 1), (_PHASES * first + start) * count
        )
        taps = kernel[:, start:stop]
        out[first : first + _TILE].baddbmm_(taps.expand(_TILE, *taps.shape), windows)


def _positions(shared: torch.Tensor, first: int, quarter: int, count: int) -> torch.Tensor:
    """Each frame's 64 outputs from ``first`` of a position-major shared correlation
    [shape=(positions, C)], a view: Tensor [shape=(64, C, count)]."""
    channels = shared.size(1)
    return shared.as_strided(
        (_EDGE, channels, count), (channels, 1, quarter * channels), shared.storage_offset() + first * channels
    )
