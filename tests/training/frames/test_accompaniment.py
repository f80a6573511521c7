"""The band behind training voices: its chords sound at their f0s, it is mixed at the SIR drawn,
the label stays the voice's, and it is seeded."""

from __future__ import annotations

import pytest
import torch

from crepetool.training import frames as tf
from crepetool.training.frames import accompaniment, mixing, oscillators
from crepetool.training.frames import sources as voices
from crepetool.units import WINDOW_SIZE

LENGTH = voices.CONTEXT + WINDOW_SIZE


def _generator(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.slow
def test_the_chords_f0s_are_in_the_bands_spectrum() -> None:
    """Over 8,192 samples where the first chord sounds alone, each note of its triad stands
    20x above the median of the band's spectrum."""
    count, length, size = 96, 32768, 8192
    band = accompaniment.accompaniment(torch.full((count,), 220.0), _generator(1), length)
    assert band.audio.shape == (count, length) and torch.isfinite(band.audio).all()
    start = (length - WINDOW_SIZE // 2) / 16000  # seconds before the window's centre
    window = torch.hann_window(size, periodic=False)
    freqs = torch.fft.rfftfreq(size, 1 / 16000)
    audible = (freqs > 50) & (freqs < 4000)
    rows = (band.change[:, 0] + start) * 16000 > size  # the change comes after the first 8,192
    assert rows.sum() > 40
    hits = total = 0
    for row in rows.nonzero()[:, 0]:
        spectrum = torch.fft.rfft(band.audio[row, :size] * window).abs()
        floor = spectrum[audible].median()
        for f0 in band.notes[row, 0, :3]:
            total += 1
            hits += bool(spectrum[(freqs - f0).abs() < 3].max() > 20 * floor)
    assert hits / total > 0.95, (hits, total)


def test_related_roots_sit_an_octave_or_a_fifth_from_the_voice() -> None:
    voice = torch.full((4000,), 300.0)
    roots = accompaniment.chord_f0(voice, _generator(2))[..., 0]
    semitones = 12 * torch.log2(roots / 300.0)
    related = torch.isclose(semitones[..., None], torch.tensor(accompaniment.RELATED), atol=1e-3).any(-1)
    assert 0.25 < related.float().mean() < 0.42  # a third of them
    assert ((roots[~related] >= 80) & (roots[~related] <= 400)).all()


def test_mix_keeps_the_drawn_signal_to_interference_ratio() -> None:
    g = _generator(3)
    voice, _ = voices.sources(16, g)
    band = accompaniment.accompaniment(torch.full((16,), 150.0), g, LENGTH).audio
    sir = oscillators.uniform((16, 1), *mixing.BLEED_SIR, g)
    mixed = accompaniment.mix(voice, band, sir)
    window = slice(LENGTH - WINDOW_SIZE, LENGTH)
    interference = (mixed - voice)[:, window].pow(2).mean(-1)
    measured = 10 * torch.log10(voice[:, window].pow(2).mean(-1) / interference)
    assert (measured - sir[:, 0]).abs().max() < 0.1


def test_accompanied_frames_keep_the_voices_label(monkeypatch: pytest.MonkeyPatch) -> None:
    """frames() with every voiced frame accompanied: the band is given the voice's f0, and that
    f0 is the label; frames are seeded and differ from unaccompanied ones."""
    given: list[torch.Tensor] = []
    real = accompaniment.accompaniment

    def spy(voice_f0: torch.Tensor, generator: torch.Generator, length: int):
        given.append(voice_f0.clone())
        return real(voice_f0, generator, length)

    monkeypatch.setattr(mixing, "BLEED_SHARE", 1.0)
    monkeypatch.setattr(accompaniment, "accompaniment", spy)
    frames, f0 = tf.frames(32, _generator(4))
    again, _ = tf.frames(32, _generator(4))
    assert torch.equal(frames, again)  # deterministic for a seed
    assert len(given) == 2
    voiced = f0 > 0
    assert torch.equal(given[0], f0[voiced])
    monkeypatch.setattr(mixing, "BLEED_SHARE", 0.0)
    plain, plain_f0 = tf.frames(32, _generator(4))
    assert torch.equal(plain_f0, f0)  # the same voices underneath
    assert not torch.allclose(plain[voiced], frames[voiced], atol=1e-3)


@pytest.mark.slow
def test_a_voice_over_the_band_still_leads_for_the_teacher(full_weights) -> None:
    """At 10 dB SIR, full still finds the voice (not the band's chords) on most frames: the
    label is learnable."""
    from crepetool.network.loading import load_model
    from crepetool.training import heldout

    g = _generator(5)
    voice, f0 = voices.sources(64, g)
    band = accompaniment.accompaniment(f0, g, LENGTH).audio
    mixed = accompaniment.mix(voice, band, torch.full((64, 1), 10.0))[:, -WINDOW_SIZE:]
    mixed = (mixed - mixed.mean(1, keepdim=True)) / mixed.std(1, keepdim=True)
    pitch, _ = heldout.frame_pitch(load_model(full_weights), mixed)
    cents = 1200 * torch.log2(torch.from_numpy(pitch).double() / f0.double()).abs()
    assert (cents < 50).float().mean() > 0.6
