"""The training-frame generator: CREPE's whole range, correct labels, and each degradation
doing what it says (checked on signals where the answer is known)."""

from __future__ import annotations

import math

import pytest
import torch

from crepetool import units
from crepetool.evaluation import metrics
from crepetool.network.loading import load_model
from crepetool.training import frames as tf
from crepetool.training import heldout
from crepetool.training.frames import chain, oscillators
from crepetool.training.frames import sources as voices


def _generator(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _band_power(audio: torch.Tensor, low: float, high: float) -> torch.Tensor:
    """Power between ``low`` and ``high`` Hz, Hann-windowed (a tone's leakage stays near the tone)."""
    spectrum = torch.fft.rfft(audio * torch.hann_window(audio.size(-1), periodic=False)).abs().pow(2)
    freqs = torch.fft.rfftfreq(audio.size(-1), 1 / 16000)
    return spectrum[..., (freqs >= low) & (freqs < high)].sum(-1)


def test_frames_are_seeded_normalised_and_labelled() -> None:
    a, f0 = tf.frames(32, _generator(5))
    b, _ = tf.frames(32, _generator(5))
    c, _ = tf.frames(32, _generator(6))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert a.shape == (32, 1024) and torch.isfinite(a).all()
    assert torch.allclose(a.mean(1), torch.zeros(32), atol=1e-4)
    assert torch.allclose(a.std(1), torch.ones(32), atol=1e-3)
    assert ((f0 == 0) | ((f0 >= voices.FMIN) & (f0 <= voices.FMAX))).all() and (f0 > 0).any()
    targets = tf.targets(f0)
    voiced = f0 > 0
    assert (targets[~voiced] == 0).all()
    peak_cents = 1997.3794084376191 + 20 * targets[voiced].argmax(1).double()
    label_cents = 1200 * torch.log2(f0[voiced].double() / 10)
    assert (peak_cents - label_cents).abs().max() <= 10.0 + 1e-6


@pytest.mark.slow
def test_f0_covers_crepes_whole_range() -> None:
    _, f0 = tf.frames(2048, _generator(1))
    voiced = f0[f0 > 0]
    assert voiced.min() < 36 and voiced.max() > 1900  # CREPE: 32.7 .. 1975.5 Hz
    assert ((voiced > 1400).float().mean()) > 0.05  # the top half-octave is well represented
    assert ((voiced < 50).float().mean()) > 0.01


def test_wavetable_equals_the_sum_of_sines() -> None:
    g = _generator(2)
    gain = torch.rand(3, 20, generator=g)
    start = torch.randint(0, 2, (3, 20), generator=g).float() * math.pi
    phase = torch.cumsum(torch.full((3, 500), 2 * math.pi * 97.0 / 16000), dim=1)
    slow = (
        gain[:, :, None]
        * torch.sin(torch.arange(1, 21)[None, :, None] * phase[:, None, :] + start[:, :, None])
    ).sum(1)
    assert torch.allclose(oscillators.wavetable(gain, start, phase), slow, atol=2e-3 * gain.sum(1).max())


def test_a_dry_source_has_the_labelled_pitch(full_weights) -> None:
    audio, f0 = voices.sources(128, _generator(11))
    window = audio[:, -1024:]
    window = (window - window.mean(1, keepdim=True)) / window.std(1, keepdim=True)
    pitch, _ = heldout.frame_pitch(load_model(full_weights), window)
    assert metrics.pitch_metrics(pitch, f0.numpy())["raw_pitch_accuracy"] > 0.85


def test_band_limit_removes_the_fundamental_of_a_low_voice() -> None:
    noise = torch.randn(4, 8192, generator=_generator(3))
    low, high = torch.full((4, 1), 300.0), torch.full((4, 1), 3400.0)
    out = chain.band_limit(noise, low, high)
    assert (_band_power(out, 0, 150) < 0.01 * _band_power(noise, 0, 150)).all()
    assert (_band_power(out, 6000, 8000) < 0.01 * _band_power(noise, 6000, 8000)).all()
    assert (_band_power(out, 800, 2500) > 0.8 * _band_power(noise, 800, 2500)).all()


def test_a_room_adds_a_tail_that_decays_at_its_rt60() -> None:
    rt60 = torch.tensor([[0.3], [0.9]])
    response = chain.room_response(rt60, _generator(4), length=16000)
    assert (response[:, 0] == 1.0).all() and (response[:, 1:16] == 0).all()
    impulse = torch.zeros(2, 16000)
    impulse[:, 100] = 1.0
    wet = chain.reverberate(impulse, response)
    assert torch.allclose(wet[:, 100:], response[:, :15900], atol=1e-5)  # causal, and it is the response
    energy = response[:, 16:].pow(2)
    # decay of the energy: 60 dB per rt60 seconds, measured between 20 and 200 ms
    early, late = energy[:, 320:1600].mean(1), energy[:, 2880:4160].mean(1)
    measured = 10 * torch.log10(early / late) / 0.16  # dB per second
    assert torch.allclose(measured, 60 / rt60[:, 0], rtol=0.25)


def test_a_glides_f0_at_the_windows_centre_is_its_label(monkeypatch: pytest.MonkeyPatch) -> None:
    """sources() (glides, portamento, vibrato, note changes): the synthesised phase moves at the
    labelled f0 at the window's centre (within 5 cents) while the f0 around it moves."""
    phases: list[torch.Tensor] = []
    real = voices.wavetable

    def spy(gain, start, phase):
        phases.append(phase)
        return real(gain, start, phase)

    monkeypatch.setattr(voices, "wavetable", spy)
    _, centre = voices.sources(64, _generator(23))
    phase = phases[0].double()
    at = phase.size(-1) - units.WINDOW_SIZE // 2
    f0 = (phase[:, at + 1] - phase[:, at - 1]) / 2 * 16000 / (2 * math.pi)  # central difference
    assert (1200 * torch.log2(f0 / centre.double())).abs().max() < 5
    edge = (phase[:, 2] - phase[:, 0]) / 2 * 16000 / (2 * math.pi)  # 160 ms before the centre
    assert (1200 * torch.log2(edge / centre.double())).abs().median() > 10


def test_codec_drops_detail_and_the_top_band() -> None:
    g = _generator(5)
    tone = torch.sin(2 * math.pi * 440 * torch.arange(4096) / 16000)[None].repeat(2, 1)
    audio = tone + 1e-3 * torch.randn(2, 4096, generator=g)
    out = chain.codec(audio, torch.tensor([[0.05], [0.05]]), torch.tensor([[4000.0], [4000.0]]))
    assert (_band_power(out, 5000, 8000) < 1e-3 * _band_power(audio, 5000, 8000)).all()
    assert torch.allclose(out[:, 256:-256], tone[:, 256:-256], atol=0.02)  # the tone passes
    quiet = audio[:, :2048] * torch.linspace(0, 1, 2048)  # a fade-in: early blocks fall under the floor
    faded = chain.codec(quiet, torch.tensor([[0.05], [0.05]]), torch.full((2, 1), 9000.0))
    assert not torch.allclose(faded, quiet, atol=1e-4)  # spectral detail under the floor was dropped
    transparent = chain.codec(audio, torch.zeros(2, 1), torch.full((2, 1), 9000.0))
    assert torch.allclose(transparent, audio, atol=1e-5)  # overlap-add restores the signal


def test_clip_quantise_and_noise_do_what_they_say() -> None:
    audio = torch.randn(3, 2048, generator=_generator(6))
    clipped = chain.clip(audio, torch.full((3, 1), 0.2))
    assert torch.allclose(clipped.abs().amax(1), 0.2 * audio.abs().amax(1))
    quiet = chain.quantise(audio, torch.full((3, 1), -50.0))
    steps = quiet * 32768
    assert torch.equal(steps, steps.round())
    assert torch.allclose(20 * torch.log10(quiet.abs().amax(1)), torch.full((3,), -50.0), atol=0.1)
    noise = voices.coloured_noise(3, 2048, _generator(7))
    snr = torch.tensor([[0.0], [5.0], [10.0]])
    mixed = chain.add_noise(audio, noise, snr)
    measured = 10 * torch.log10(audio.pow(2).mean(1) / (mixed - audio).pow(2).mean(1))
    assert torch.allclose(measured, snr[:, 0], atol=1e-3)


@pytest.mark.slow
def test_degraded_frames_are_harder_but_still_labelled(full_weights) -> None:
    frames, f0 = tf.frames(128, _generator(12))
    pitch, _ = heldout.frame_pitch(load_model(full_weights), frames)
    accuracy = metrics.pitch_metrics(pitch, f0.numpy())["raw_pitch_accuracy"]
    assert 0.6 < accuracy < 0.97


def test_degrade_applies_each_stage_to_its_share(monkeypatch: pytest.MonkeyPatch) -> None:
    audio = torch.randn(64, 3072, generator=_generator(8))
    monkeypatch.setattr(chain, "SHARES", dict.fromkeys(chain.SHARES, 0.0))
    assert torch.equal(chain.degrade(audio, _generator(9)), audio)  # no stage: untouched
    monkeypatch.setattr(chain, "SHARES", {**dict.fromkeys(chain.SHARES, 0.0), "clip": 1.0})
    clipped = chain.degrade(audio, _generator(9))
    ratio = clipped.abs().amax(1) / audio.abs().amax(1)
    assert (ratio < 0.61).all() and (ratio > 0.09).all()  # every row clipped at 10-60% of its peak
    monkeypatch.setattr(chain, "SHARES", {**dict.fromkeys(chain.SHARES, 0.0), "band": 0.5})
    banded = chain.degrade(audio, _generator(9))
    changed = ~torch.isclose(banded, audio).all(dim=1)
    assert 16 < int(changed.sum()) < 48  # about half the rows
    assert (_band_power(banded[changed], 0, 100) < 0.05 * _band_power(audio[changed], 0, 100)).all()
