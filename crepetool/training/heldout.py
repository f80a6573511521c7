"""Held-out signals for measuring recovery, and a model's scores on them.

Two sets that training never sees: speech-like frames from the training
generator under a seed of their own (:mod:`crepetool.training.frames`, independent frames), and
the verify tones at another seed (tracked whole, with predict's defaults).
The teacher's outputs on both are computed once, so a running score during
training costs one student pass over the frames.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from crepetool.evaluation import metrics, signals
from crepetool.names import DEFAULT_FMAX
from crepetool.network.model import Crepe
from crepetool.prediction.decode import bin_range, local_average
from crepetool.training import frames as training_frames
from crepetool.units import CREPE_RANGE_HZ

#: Seed of the held-out frame stream; training streams come from user seeds.
SEED = 20_260_917
FRAMES = 512
TONES_SEED = 1  # verify uses seed 0


@torch.no_grad()
def frame_pitch(model: Crepe, frames: torch.Tensor, batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Pitch (argmax with CREPE's local average) and periodicity of independent frames,
    over every bin (32.7 Hz up: the training frames cover CREPE's whole range).

    Arguments: frames (Tensor [shape=(N, 1024)], normalised). Returns two ndarrays [shape=(N,)].
    """
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    probs = torch.cat([model(chunk.to(device)).cpu() for chunk in frames.split(batch_size)])
    model.train(was_training)
    lo, hi = bin_range(CREPE_RANGE_HZ[0] - 1, DEFAULT_FMAX)
    bins = probs[:, lo:hi].argmax(dim=1) + lo
    pitch = local_average(probs, bins, lo, hi, squash=False)
    return pitch.numpy(), probs.gather(1, bins[:, None]).squeeze(1).numpy()


class HeldOut:
    """The held-out sets and the teacher's tracks on them.

    Arguments
        teacher (Crepe): the model recovery imitates.
        frame_count (int): speech-like frames to draw.
    """

    def __init__(self, teacher: Crepe, frame_count: int = FRAMES) -> None:
        self.frames, f0 = training_frames.frames(frame_count, torch.Generator().manual_seed(SEED))
        self.frame_truth = f0.numpy()
        self.tones = signals.verify_set(seed=TONES_SEED)
        self.tone_truth = np.concatenate([s.f0 for s in self.tones])
        self.teacher = self._tracks(teacher)

    def _tracks(self, model: Crepe) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        pitch, periodicity, _ = signals.track(model, self.tones)
        return {"frames": frame_pitch(model, self.frames), "tones": (pitch, periodicity)}

    def frame_accuracy(self, model: Crepe) -> float:
        """Raw pitch accuracy on the speech-like frames alone (cheap: for progress bars)."""
        pitch, _ = frame_pitch(model, self.frames)
        return metrics.pitch_metrics(pitch, self.frame_truth)["raw_pitch_accuracy"]

    def score(self, model: Crepe) -> dict[str, Any]:
        """Accuracy and median cents on each set; agreement with the teacher on both.

        ``pitch_agreement``: share of frames the teacher finds voiced where the two
        pitches are within 50 cents. ``voicing_agreement``: share of all frames where
        both make the same voiced/unvoiced decision (periodicity > 0.5).
        """
        return self._scores(self._tracks(model))

    def teacher_scores(self) -> dict[str, Any]:
        """:meth:`score` of the teacher, from the tracks computed once."""
        return self._scores(self.teacher)

    def _scores(self, tracks: dict[str, tuple[np.ndarray, np.ndarray]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        truths = {"frames": self.frame_truth, "tones": self.tone_truth}
        for name, (pitch, periodicity) in tracks.items():
            scores = metrics.pitch_metrics(pitch, truths[name], periodicity)
            result[f"{name}_accuracy"] = scores["raw_pitch_accuracy"]
            result[f"{name}_median_cents"] = scores["median_cents"]
        pitch = np.concatenate([tracks[n][0] for n in truths])
        periodicity = np.concatenate([tracks[n][1] for n in truths])
        teacher_pitch = np.concatenate([self.teacher[n][0] for n in truths])
        teacher_voiced = np.concatenate([self.teacher[n][1] for n in truths]) > 0.5
        result["pitch_agreement"] = metrics.agreement(pitch, teacher_pitch, teacher_voiced)
        result["voicing_agreement"] = float(np.mean((periodicity > 0.5) == teacher_voiced))
        return result
