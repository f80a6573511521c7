"""A frozen conv1's output during distillation, computed once per frame: taken from the teacher's
own conv1 where the student's is a cut of it (the same kernel rows, bit for bit)."""

from __future__ import annotations

import torch

from crepetool.network.model import Crepe


class InheritedConv1:
    """The student's frozen conv1 output of a step's frames: the teacher's channels where the
    student's conv1 is a cut of the teacher's (the kernel rows and biases found in it, equal
    bit for bit, in one layout), else the student's own."""

    def __init__(self, student: Crepe, teacher: Crepe) -> None:
        self.student, self.rows = student, inherited_rows(student.conv1, teacher.conv1)
        if student.layout != teacher.layout:
            self.rows = None

    def __call__(self, frames: torch.Tensor, taught: torch.Tensor) -> torch.Tensor:
        if self.rows is None:
            return self.student.conv1_output(frames)
        chosen = taught.index_select(1, self.rows.to(taught.device))
        return chosen.contiguous(memory_format=torch.channels_last) if chosen.dim() == 4 else chosen


def inherited_rows(student: torch.nn.Conv2d, teacher: torch.nn.Conv2d) -> torch.Tensor | None:
    """Which of ``teacher``'s output channels each of ``student``'s is (kernel and bias equal
    bit for bit): Tensor [shape=(student channels,)] of indices, or None where one is not."""
    kinds = [(conv.weight.shape[1:], conv.weight.dtype, conv.bias is None) for conv in (student, teacher)]
    if kinds[0] != kinds[1] or student.bias is None:
        return None

    def keys(conv: torch.nn.Conv2d) -> list[bytes]:
        rows = torch.cat([conv.weight.detach().flatten(1), conv.bias.detach()[:, None]], 1)
        return [row.double().cpu().numpy().tobytes() for row in rows]  # float64 holds bf16 exactly

    index = {key: row for row, key in enumerate(keys(teacher))}
    found = [index.get(key) for key in keys(student)]
    return None if None in found else torch.tensor(found)
