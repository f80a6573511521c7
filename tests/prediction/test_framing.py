"""The framer makes torchcrepe's frames whatever the blocks it is given."""

from __future__ import annotations

import pytest
import torch

from crepetool.network.span import normalise_frames
from crepetool.prediction.framing import Framer, frame_count, frames
from helpers import voice


@pytest.mark.parametrize(
    ("samples", "hop"), [(300, 160), (1024, 160), (16000 * 2 + 77, 160), (5000, 80), (7001, 333)]
)
def test_framer_equals_whole_file_frames(samples: int, hop: int) -> None:
    audio = torch.from_numpy(voice(samples / 16000, 16000))[:samples]
    whole = torch.cat(list(frames(audio, hop)))
    framer = Framer(samples, hop)
    parts = [framer.push(chunk.numpy()).windows() for chunk in audio.split(611)] + [framer.finish().windows()]
    streamed = normalise_frames(torch.cat(parts))
    assert streamed.shape == whole.shape
    assert torch.allclose(streamed, whole, atol=1e-6)


@pytest.mark.parametrize(("samples", "hop"), [(1, 160), (300, 160), (16000, 160), (7001, 333)])
def test_frames_are_torchcrepes(samples: int, hop: int) -> None:
    """Zero padding of 512 each side, windows every hop, normalised as torchcrepe normalises."""
    audio = torch.from_numpy(voice(1.0, 16000))[:samples]
    ours = torch.cat(list(frames(audio, hop, batch_size=7)))
    padded = torch.nn.functional.pad(audio[None], (512, 512))[0]
    theirs = padded.unfold(0, 1024, hop)[: frame_count(samples, hop)].clone()
    theirs = (theirs - theirs.mean(1, keepdim=True)) / theirs.std(1, keepdim=True).clamp(min=1e-10)
    assert ours.shape == (1 + samples // hop, 1024)
    assert torch.allclose(ours, theirs, atol=1e-5)


@pytest.mark.parametrize(("samples", "total_known"), [(16000 * 2 + 77, True), (16000 * 2 + 77, False), (500, True)])
def test_a_grouping_framer_gives_whole_groups_until_the_last(samples: int, total_known: bool) -> None:
    audio = torch.from_numpy(voice(samples / 16000, 16000))[:samples]
    framer = Framer(samples if total_known else None, 160, group=64)
    spans = [framer.push(chunk.numpy()) for chunk in audio.split(611)] + [framer.finish()]
    counts = [span.count for span in spans if span.count]
    assert all(count % 64 == 0 for count in counts[:-1]) and (len(counts) > 1 or samples < 64 * 160)
    ungrouped = Framer(samples, 160)
    whole = torch.cat([ungrouped.push(audio.numpy()).windows(), ungrouped.finish().windows()])
    assert torch.equal(torch.cat([span.windows() for span in spans]), whole)
