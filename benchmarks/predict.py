"""crepetool predict vs torchcrepe.predict: frames/s and pitch difference, same audio and weights.

Run: python benchmarks/predict.py [WEIGHTS ...]   (default: full tiny)
Prints, measured in this run:
1. one row per model: torchcrepe.predict vs crepetool's predict, conv2..conv6 transformed (the
   default on a CPU) with conv1 shared (the default) and per frame (CREPETOOL_CONV1=frame), and
   everything direct (ratios to torchcrepe), and the decoders' time;
1a. predict end to end at its defaults with the context stage (the default) and without, frames/s
   and the ratio;
1b. the network alone on a recording (a FrameSpan of 512 frames, 10 ms apart), conv1 shared
   against per frame (crepetool.network.shared), and the shared correlations of one group computed
   directly (the default) against through torch.fft;
2. the network alone, frames/s: torchcrepe's module, crepetool fp32 direct in each layout and
   transformed (crepetool.network.spectral), crepetool --precision bf16 (marked when this CPU falls back
   to fp32), ONNX Runtime on the file exported direct and transformed, OpenVINO when installed
   (direct graph); same frames, same threads;
2b. each of conv2..conv6 alone, direct against transformed, at K = 1, 4, 12, 32 (the rule of
   crepetool.network.spectral.choose: transformed wherever it does fewer multiply-adds);
2c. a distillation step (recovery.distillation.distill, 64 frames, the teacher prune's default picks) at
   K = 4, 8, 12, 16, seconds a step: direct and transformed with every layer trained, then
   transformed with recovery.options.FROZEN left as cut, its conv1 output recomputed for every frame
   (the previous path), once a frame, and taken from the teacher's conv1 (the default), with
   the ratios;
3. the stages of predict on a 44.1 kHz file: read, resample (resampy, soxr), frame and
   normalise, network, decode, write, each in seconds and as a share;
4. end to end on a folder of 100 short files (1 s, at 16/22.05/44.1/48 kHz), files/s and
   frames/s: crepetool's batch (`predict_files`, CSV out) against torchcrepe's
   `predict_from_file_to_file` steps (its loader needs torchaudio, which does not load
   here: soundfile reads, as crepetool does), for tiny and full (torchcrepe builds no other size).
   The 30-minute file end to end is benchmarks/memory.py's (with its peak memory).
4b. the live stream (benchmarks/stream.py, one thread): real-time factor and latency at 10, 20
   and 50 ms blocks, tiny and the 12/32, SwiftF0's stream beside them;
5. where CUDA is available: full on the GPU, batch 2048, frames/s and the peak bin's agreement
   with torchcrepe's fp32: torchcrepe fp32 and under fp16 autocast, crepetool fp32 / fp16 / bf16;
   then predict end to end on 5 minutes of 16 kHz audio against torchcrepe.predict.
torchcrepe's dither is switched off so the pitch can be compared to the cent.
"""

from __future__ import annotations

import functools
import operator
import sys
import time
from pathlib import Path

from crepetool.allocator import tune_allocator

tune_allocator()  # as the command does, before torch's first allocation

import numpy as np
import torch

from crepetool import prediction
from crepetool.compat import import_torchcrepe
from crepetool.network.loading import load_model
from crepetool.network.resolver import weights_of as load
from crepetool.prediction import decode
from crepetool.prediction.resampling import resample

SECONDS = 20
BATCH = 512


def clip() -> tuple[np.ndarray, int]:
    reference = Path(__file__).resolve().parents[2] / "shared" / "reference" / "torchcrepe" / "test.wav"
    if reference.is_file():
        import soundfile

        audio, rate = soundfile.read(reference, dtype="float32")
        audio = resample(audio, rate)
    else:  # a synthetic voice-like signal when the reference clip is absent
        t = np.arange(10 * 16000) / 16000
        f0 = 150 + 30 * np.sin(2 * np.pi * 0.5 * t)
        phase = 2 * np.pi * np.cumsum(f0) / 16000
        audio = sum(np.sin(h * phase) / h for h in range(1, 8)).astype(np.float32)
    reps = int(np.ceil(SECONDS * 16000 / audio.size))
    return np.tile(audio, reps)[: SECONDS * 16000], 16000


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def main(specs: list[str]) -> None:
    torchcrepe = import_torchcrepe()
    torchcrepe.convert.dither = lambda cents: cents
    torch.set_grad_enabled(False)
    audio, rate = clip()
    x = torch.from_numpy(audio)[None]
    frames = 1 + audio.size // 160
    print(f"{SECONDS} s of audio, {frames} frames, torch threads {torch.get_num_threads()}")
    full_fps = None
    header = (
        f"{'model':>12} {'torchcrepe f/s':>15} {'crepetool f/s':>14} {'conv1/frame':>12} {'direct f/s':>11}"
        f" {'ratio':>7} {'c1/frame':>8} {'direct':>7} {'shared/fr':>9} {'max |dcents|':>13} {'viterbi ms':>11}"
        f" {'tc viterbi ms':>14}"
    )
    print(header)
    for spec in specs:
        full_fps = bench(torchcrepe, spec, audio, x, rate, frames, full_fps)
    print()
    context_table(specs, audio, rate, frames)
    print()
    network_table(torchcrepe, specs)
    print()
    shared_table(specs)
    print()
    layer_table()
    print()
    recovery_table()
    print()
    stage_table(specs)
    print()
    # full's fixed costs are the smallest share, and 100 files with torchcrepe's full take
    # ~10 minutes on an AVX2 CPU: the files table is for the smaller models
    files_table(torchcrepe, [s for s in specs if load(s).capacity < 32])
    print()
    import stream

    stream.main(30.0)
    if torch.cuda.is_available():
        print()
        cuda_table(torchcrepe)


def context_table(specs: list[str], audio: np.ndarray, rate: int, frames: int, rounds: int = 3) -> None:
    """predict end to end at its defaults (Viterbi), with the context stage (the default) and
    without (--no-context): frames/s and the ratio, the best of ``rounds`` each, interleaved."""
    print(f"{'model':>12} {'context f/s':>12} {'plain f/s':>10} {'ratio':>7}")
    for spec in specs:
        model = load_model(load(spec))
        best = {True: 0.0, False: 0.0}
        for _ in range(rounds):
            for context in (True, False):
                _, seconds = timed(lambda: prediction.predict(audio, rate, model, batch_size=BATCH, context=context))
                best[context] = max(best[context], frames / seconds)
        print(f"{Path(spec).name:>12} {best[True]:12.1f} {best[False]:10.1f} {best[True] / best[False]:6.2f}x")


def _rate(fn, frames: int, repeats: int = 5) -> float:
    """Frames/s of ``fn`` on ``frames`` frames: its fastest of ``repeats`` calls after a warm-up
    (on a shared 2-core machine the mean of two calls varied by up to 30%)."""
    fn()
    fastest = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        fastest = min(fastest, time.perf_counter() - started)
    return frames / fastest


def network_table(torchcrepe, specs: list[str], count: int = 256) -> None:
    """The network alone: frames/s of each runtime on the same normalised frames."""

    from crepetool.network.model import Crepe
    from crepetool.network.precision import cpu_has_bf16, with_precision

    frames = torch.randn(count, 1024)
    frames = (frames - frames.mean(1, keepdim=True)) / frames.std(1, keepdim=True)
    print(f"network alone, {count} frames a batch (bf16 units on this CPU: {cpu_has_bf16()})")
    print(
        "| model | torchcrepe | direct ncl | direct cl | transform | transform / direct cl | bf16 "
        "| ONNX Runtime direct | ONNX Runtime transform | OpenVINO direct |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for spec in specs:
        weights = load(spec)
        cells = []
        if weights.capacity in (4, 32):
            module = torchcrepe.Crepe("full" if weights.capacity == 32 else "tiny")
            module.load_state_dict(weights.state_dict)
            cells.append(f"{_rate(lambda m=module.eval(): m(frames), count):.0f}")
        else:
            cells.append("-")
        rates = {}
        for layout, conv in (("ncl", "direct"), ("cl", "direct"), ("cl", "transform")):
            model = Crepe(weights.capacity, layout, conv)
            model.load_state_dict(weights.state_dict)
            model.eval()
            rates[layout, conv] = _rate(lambda m=model: m(frames), count)
            cells.append(f"{rates[layout, conv]:.0f}")
        cells.append(f"{rates['cl', 'transform'] / rates['cl', 'direct']:.2f}x")
        fast = with_precision(load_model(weights), "bf16", force=cpu_has_bf16())
        cells.append(
            f"{_rate(lambda m=fast: m(frames), count):.0f}" + ("" if cpu_has_bf16() else " (fp32 fallback)")
        )
        cells += _runtime_cells(weights, frames.numpy(), count)
        print(f"| {Path(spec).name} | " + " | ".join(cells) + " |")


def shared_table(specs: list[str], count: int = 512, hop: int = 160, rounds: int = 3) -> None:
    """The network on a recording: conv1 shared against per frame, same span, same model; the
    fastest of ``rounds`` alternating pairs of five calls (the two paths take turns, so a slow
    spell of the machine slows both). Then the shared correlations of one group: oneDNN
    (crepetool.network.shared's choice) against torch.fft (float32, one real FFT per phase)."""
    from crepetool.network import shared
    from crepetool.network.model import bn_affine
    from crepetool.network.span import FrameSpan

    generator = torch.Generator().manual_seed(0)
    span = FrameSpan(0.2 * torch.randn((count - 1) * hop + 1024, generator=generator), hop)
    print(f"network on a recording ({count} frames {hop} samples apart), frames/s, and one group's correlations")
    print("| model | conv1 per frame | conv1 shared | shared / per frame | group correlations: oneDNN ms | torch.fft ms |")
    print("|---|---|---|---|---|---|")
    for spec in specs:
        model = load_model(spec)
        best = {"frame": 0.0, "shared": 0.0}
        for _ in range(rounds):
            for mode in best:
                model.conv1_mode = mode
                best[mode] = max(best[mode], _rate(lambda m=model: m(span), count))
        fold = shared.folded(model.conv1, model.conv1_BN, *bn_affine(model.conv1_BN))
        group = span.slice(0, shared.GROUP)
        positions = (shared.GROUP - 1) * hop // 4 + 256
        direct = 1000 / _rate(lambda: shared._correlations(fold, group.samples, positions), 1)
        kernels = _fft_kernels(fold, positions + 127)
        agree = max(
            (a - b).abs().max().item() / a.abs().max().item()
            for a, b in zip(
                shared._correlations(fold, group.samples, positions),
                _fft_correlations(kernels, group.samples, positions),
            )
        )
        assert agree < 1e-5, agree  # the same correlations
        spectral = 1000 / _rate(lambda: _fft_correlations(kernels, group.samples, positions), 1)
        print(
            f"| {Path(spec).name} | {best['frame']:.0f} | {best['shared']:.0f} | "
            f"**{best['shared'] / best['frame']:.2f}x** | {direct:.2f} | {spectral:.2f} |"
        )


def _fft_kernels(fold, length: int) -> tuple[int, list[torch.Tensor]]:
    """The FFT size for a group whose phases are ``length`` long, and each half kernel's
    conjugate spectra per phase [shape=(C, 4, F)], made once as a model's would be."""
    size = length + 64
    kernels = []
    for kernel, offset in ((fold.low, 0), (fold.high, 64)):
        taps = torch.nn.functional.pad(kernel.view(kernel.size(0), 64, 4), (0, 0, offset, 0)).transpose(1, 2)
        kernels.append(torch.fft.rfft(taps, size).conj())
    return size, kernels


def _fft_correlations(kernels, samples: torch.Tensor, positions: int) -> tuple[torch.Tensor, torch.Tensor]:
    """crepetool.network.shared._correlations through the FFT: the samples' 4 phases against
    each half kernel's, summed per bin, one inverse FFT per channel; position-major as there."""
    size, spectra = kernels
    phases = torch.nn.functional.pad(samples, (254, 254)).view(-1, 4).t()  # shape=(4, positions + 127)
    spectrum = torch.fft.rfft(phases, size)  # shape=(4, F)
    halves = [torch.fft.irfft((half * spectrum[None]).sum(1), size)[:, :positions].t() for half in spectra]
    return halves[0], halves[1]


def _runtime_cells(weights, array: np.ndarray, count: int) -> list[str]:
    """ONNX Runtime on the file exported direct and transformed, and OpenVINO on the direct one."""
    import tempfile

    try:
        import onnxruntime

        from crepetool.network.export import export_onnx
    except ImportError:
        return ["not installed"] * 2 + ["-"]
    cells = []
    with tempfile.TemporaryDirectory() as folder:
        for conv in ("direct", "transform"):
            path = export_onnx(weights, Path(folder) / f"{conv}.onnx", conv=conv)
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = torch.get_num_threads()
            session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            cells.append(f"{_rate(lambda: session.run(None, {'frames': array}), count):.0f}")
        try:
            import openvino

            compiled = openvino.Core().compile_model(str(Path(folder) / "direct.onnx"), "CPU")
            cells.append(f"{_rate(lambda: compiled(array), count):.0f}")
        except ImportError:
            cells.append("not installed")
    return cells


def layer_table(count: int = 64) -> None:
    """Each of conv2..conv6 alone, direct (the cl path's oneDNN convolution) against transformed,
    ms a frame: the measurements behind crepetool.network.spectral.choose."""
    import torch.nn.functional as F

    from crepetool.network import spectral
    from crepetool.network.model import _plan, _taps
    from crepetool.network.presets import channels

    print(
        f"conv2..conv6 alone, {count} frames, ms a frame: direct / transformed (ratio), multiply-adds saved"
    )
    print("| K | conv2 | conv3 | conv4 | conv5 | conv6 |")
    print("|---|---|---|---|---|---|")
    generator = torch.Generator().manual_seed(0)
    for capacity in (1, 4, 12, 32):
        widths, cells = channels(capacity), []
        for index in range(1, 6):
            steps = 256 >> index
            plan, (taps, (before, after)) = _plan(index, steps), _taps(index, steps)
            c_in, c_out = widths[index - 1], widths[index]
            weight = torch.randn(c_out, c_in, 64, generator=generator)[:, :, taps] / (64 * c_in) ** 0.5
            bias = torch.zeros(c_out)
            x = torch.randn(count, c_in, 1, steps).contiguous(memory_format=torch.channels_last)
            kernel = weight[:, :, None].contiguous(memory_format=torch.channels_last)
            side = max(before, after)
            major = x[:, :, 0].permute(2, 1, 0).contiguous()
            blocks = spectral.exact_spectrum(weight, plan)
            direct = 1 / _rate(lambda: F.conv2d(x, kernel, bias, padding=(0, side)), count)
            transformed = 1 / _rate(lambda: spectral.correlate(major, blocks, plan, bias), count)
            saved = operator.truediv(*spectral.multiply_adds(plan, c_in, c_out))
            cells.append(
                f"{direct * 1e3:.3f} / {transformed * 1e3:.3f} ({direct / transformed:.1f}x), {saved:.1f}x"
            )
        print(f"| {capacity} | " + " | ".join(cells) + " |")


def recovery_table(steps: int = 6) -> None:
    """Seconds a distillation step (64 frames: 32 fresh, labelled by the teacher, and 32 replayed)
    at K = 4, 8, 12, 16, from the source and with the teacher prune's defaults pick: every layer
    trained (direct, transformed), then ``recovery.options.FROZEN`` frozen three ways: conv1 recomputed
    for every frame of every step (the path before ``InheritedConv1``), once per fresh frame by
    the student, and the default (the teacher's conv1 rows, where the student is a cut of it)."""
    from crepetool.network import resolver
    from crepetool.training import pruning, recovery

    frozen = ", ".join(recovery.options.FROZEN) or "none"
    print(
        f"a distillation step, seconds (the median of {steps} after one); {frozen} frozen in the last three"
    )
    print(
        "| K | source | teacher | direct | transform | every frame | once a frame | default (teacher's rows)"
        " | transform / direct | default / direct | default / every frame |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    every_frame = (("InheritedConv1", lambda student, teacher: None),)
    once = (("inherited_rows", lambda student, teacher: None),)
    for capacity in (4, 8, 12, 16):
        cut = pruning.prune("auto", capacity)
        chosen = resolver.default_teacher(cut)
        name, teacher = chosen.provenance.name, chosen.weights
        variants = (
            ("direct", (), ()),
            ("transform", (), ()),
            ("transform", recovery.options.FROZEN, every_frame),
            ("transform", recovery.options.FROZEN, once),
            ("transform", recovery.options.FROZEN, ()),
        )
        cells = [
            _step_seconds(cut, teacher, conv, layers, patches, steps) for conv, layers, patches in variants
        ]
        source_name = cut.metadata.get("source", {}).get("name", "?")
        print(
            f"| {capacity} | {source_name} | {name} | "
            + " | ".join(f"{cell:.3f}" for cell in cells)
            + f" | {cells[0] / cells[1]:.2f}x | {cells[0] / cells[4]:.2f}x | {cells[2] / cells[4]:.2f}x |"
        )


def _step_seconds(cut, teacher, conv: str, layers: tuple[str, ...], patches, steps: int) -> float:
    """The median seconds of ``steps`` distillation steps after one, with
    :mod:`crepetool.training.recovery.conv1`'s ``patches`` (name, replacement) in place for the run."""
    from crepetool.training import recovery
    from crepetool.training.recovery import conv1 as shared

    times: list[float] = []
    last = [time.perf_counter()]

    def tick(step, loss, student) -> None:
        now = time.perf_counter()
        times.append(now - last[0])
        last[0] = now

    saved = {attribute: getattr(shared, attribute) for attribute, _ in patches}
    try:
        for attribute, replacement in patches:
            setattr(shared, attribute, replacement)
        with torch.enable_grad():  # main() switched gradients off
            recovery.distillation.distill(
                cut.state_dict,
                load_model(teacher, conv=conv),
                steps=steps + 1,
                callback=tick,
                conv=conv,
                frozen=layers,
            )
    finally:
        for attribute, value in saved.items():
            setattr(shared, attribute, value)
    return sorted(times[1:])[len(times[1:]) // 2]


def stage_table(specs: list[str], seconds: float = 60.0) -> None:
    """Where the time of predict goes on a 44.1 kHz recording, stage by stage."""
    import tempfile

    import soundfile

    from crepetool.prediction import audio as audio_io
    from crepetool.prediction.outputs import write_prediction
    from crepetool.prediction.resampling import resample as resample_audio

    rate = 44100
    t = np.arange(int(seconds * rate)) / rate
    signal = (0.3 * np.sin(2 * np.pi * 220 * t) + 0.01 * np.random.default_rng(0).normal(size=t.size)).astype(
        np.float32
    )
    print(f"stages of predict on {seconds:.0f} s at 44.1 kHz (seconds, share of the resampy total)")
    print(
        "| model | read | resample resampy | resample soxr | frame | network | decode | write csv | frames/s end to end |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "long.wav"
        soundfile.write(str(path), signal, rate, subtype="PCM_16")
        for spec in specs:
            model = load_model(spec)
            (samples, _), read = timed(lambda: audio_io.load(path))
            resampled, resample = timed(lambda: resample_audio(samples, rate, "resampy"))
            _, resample_soxr = timed(lambda: resample_audio(samples, rate, "soxr"))
            audio16k = resampled.astype(np.float32)
            batches, framing = timed(lambda: list(_spans(audio16k, 160, BATCH)))
            with torch.no_grad():  # the network normalises each frame (predict's path)
                probs, network = timed(lambda: torch.cat([model(b) for b in batches]))
            (pitch, periodicity), decoding = timed(lambda: decode.decode(probs))
            _, writing = timed(
                lambda: write_prediction(
                    {"csv": Path(folder) / "out.csv"}, pitch, periodicity, probs, 0.01, {}
                )
            )
            total = read + resample + framing + network + decoding + writing
            cells = [read, resample, resample_soxr, framing, network, decoding, writing]
            text = " | ".join(f"{c:.2f} ({c / total:.0%})" for c in cells)
            print(f"| {Path(spec).name} | {text} | {probs.size(0) / total:.0f} |")


def _spans(audio16k: np.ndarray, hop: int, batch: int):
    """predict's network batches of a 16 kHz recording: whole groups of frames as FrameSpans."""
    from crepetool.network import shared
    from crepetool.prediction.framing import Framer
    from crepetool.prediction.pipeline import network_batches

    framer = Framer(audio16k.size, hop, shared.GROUP)
    return network_batches([framer.push(audio16k), framer.finish()], batch)


def bench(torchcrepe, spec: str, audio: np.ndarray, x: torch.Tensor, rate: int, frames: int, full_fps):
    weights = load(spec)
    fps = {}
    for conv, conv1 in (("transform", "shared"), ("transform", "frame"), ("direct", "frame")):
        model = load_model(weights, conv=conv)
        model.conv1_mode = conv1
        run = functools.partial(
            prediction.predict, audio, rate, model, decoder="weighted-argmax", batch_size=BATCH, context=False
        )
        run()
        result, our_time = timed(run)
        if conv1 == "shared":
            ours = result
        fps[conv, conv1] = frames / our_time
    tc_cells = f"{'-':>15}"
    ratio_cells = f"{'-':>7} {'-':>8} {'-':>7} {fps['transform', 'shared'] / fps['transform', 'frame']:8.2f}x {'-':>13}"
    if weights.capacity in (4, 32):  # torchcrepe builds only tiny and full
        name = "full" if weights.capacity == 32 else "tiny"
        tc_model = torchcrepe.Crepe(name)
        tc_model.load_state_dict(weights.state_dict)
        torchcrepe.infer.model, torchcrepe.infer.capacity = tc_model.eval(), f"bench-{spec}"

        def run_tc() -> torch.Tensor:
            return torchcrepe.predict(
                x, rate, 160, 50, 2006, f"bench-{spec}", torchcrepe.decode.weighted_argmax, batch_size=BATCH
            )

        run_tc()
        tc_pitch, tc_time = timed(run_tc)
        cents = (1200 * torch.log2(ours.pitch.double() / tc_pitch.double())).abs().max().item()
        tc_fps = frames / tc_time
        tc_cells = f"{tc_fps:15.1f}"
        ratio_cells = (
            f"{fps['transform', 'shared'] / tc_fps:6.2f}x {fps['transform', 'frame'] / tc_fps:7.2f}x"
            f" {fps['direct', 'frame'] / tc_fps:6.2f}x"
            f" {fps['transform', 'shared'] / fps['transform', 'frame']:8.2f}x {cents:13.4f}"
        )
    probs = prediction.probabilities(load_model(weights), torch.from_numpy(audio), 160, BATCH)
    _, v_time = timed(lambda: decode.decode(probs, decoder="viterbi"))
    # inside the range where torchcrepe's Viterbi is right (crepetool refuses the default 2,006 Hz)
    _, tcv_time = timed(lambda: decode.decode(probs, fmax=1700.0, decoder="viterbi-torchcrepe"))
    if weights.capacity == 32:
        full_fps = fps["transform", "shared"]
    versus_full = (
        f"   ({fps['transform', 'shared'] / full_fps:.1f}x full)" if full_fps and weights.capacity != 32 else ""
    )
    print(
        f"{Path(spec).name:>12} {tc_cells} {fps['transform', 'shared']:14.1f} {fps['transform', 'frame']:12.1f}"
        f" {fps['direct', 'frame']:11.1f} {ratio_cells} {v_time * 1000:11.0f} {tcv_time * 1000:14.0f}" + versus_full
    )
    return full_fps


def files_table(torchcrepe, specs: list[str], count: int = 100, seconds: float = 1.0) -> None:
    """End to end on many short files: where fixed costs per file show."""
    import tempfile

    import soundfile

    from crepetool.prediction.batch import predict_files

    rates = (16000, 22050, 44100, 48000)
    print(f"{count} files of {seconds:g} s end to end (CSV out), files/s and frames/s")
    print("| model | crepetool files/s | frames/s | torchcrepe files/s | frames/s | ratio |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for i in range(count):
            rate = rates[i % len(rates)]
            t = np.arange(int(seconds * rate)) / rate
            f0 = 120 + 2 * i
            tone = sum(np.sin(2 * np.pi * h * f0 * t) / h for h in range(1, 6))
            path = Path(folder) / f"clip{i:03d}.wav"
            soundfile.write(str(path), (0.2 * tone).astype(np.float32), rate, subtype="PCM_16")
            paths.append(path)
        for spec in specs:
            out = Path(folder) / f"out-{Path(spec).stem}"
            out.mkdir()
            summary, ours = timed(lambda: predict_files(paths, spec, formats=["csv"], output_dir=out))
            frames = sum(r.frames for r in summary.results)
            cells = [f"{count / ours:.1f}", f"{frames / ours:.0f}", "-", "-", "-"]
            weights = load(spec)
            if weights.capacity in (4, 32):
                name = "full" if weights.capacity == 32 else "tiny"
                _, theirs = timed(lambda: _torchcrepe_files(torchcrepe, paths, name, Path(folder)))
                cells[2:] = [f"{count / theirs:.1f}", f"{frames / theirs:.0f}", f"{theirs / ours:.2f}x"]
            print(f"| {Path(spec).name} | " + " | ".join(cells) + " |")


def _torchcrepe_files(torchcrepe, paths: list[Path], name: str, folder: Path) -> None:
    """torchcrepe.predict_from_file_to_file's steps with soundfile as the reader."""
    import soundfile

    for path in paths:
        audio, rate = soundfile.read(str(path), dtype="float32")
        pitch, periodicity = torchcrepe.predict(
            torch.from_numpy(audio)[None],
            rate,
            rate // 100,
            model=name,
            batch_size=BATCH,
            return_periodicity=True,
            device="cpu",
        )
        torch.save(pitch, folder / f"tc-{name}-{path.stem}.pitch.pt")
        torch.save(periodicity, folder / f"tc-{name}-{path.stem}.periodicity.pt")


def cuda_table(torchcrepe, batch: int = 2048) -> None:
    """full on the GPU: the network alone (CUDA events, median of 10 after 3 warm-ups), then predict."""
    import functools
    import statistics

    from crepetool.network.precision import with_precision

    device = torch.device("cuda")
    weights = load("full")
    frames = torch.randn(batch, 1024, device=device)
    frames = (frames - frames.mean(1, keepdim=True)) / frames.std(1, keepdim=True)

    def rate(fn) -> float:
        for _ in range(3):
            fn()
        times = []
        for _ in range(10):
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            torch.cuda.synchronize()
            times.append(start.elapsed_time(end) / 1000)
        return batch / statistics.median(times)

    theirs = torchcrepe.Crepe("full")
    theirs.load_state_dict(weights.state_dict)
    theirs = theirs.eval().to(device)

    def autocast() -> torch.Tensor:
        with torch.autocast("cuda", dtype=torch.float16):
            return theirs(frames).float()

    ours = load_model(weights, device)
    runs = {"torchcrepe fp32": lambda: theirs(frames), "torchcrepe fp16 autocast": autocast}
    runs |= {f"crepetool {p}": with_precision(ours, p) for p in ("fp32", "fp16", "bf16")}
    expected = theirs(frames).argmax(1)
    print(f"CUDA ({torch.cuda.get_device_name(0)}), full, batch {batch}: the network alone")
    print("| path | frames/s | peak bin as torchcrepe fp32 |")
    print("|---|---|---|")
    for name, fn in runs.items():
        agree = (fn().argmax(1) == expected).float().mean().item()
        print(f"| {name} | {rate(fn):.0f} | {agree:.2%} |")
    seconds = 300
    t = np.arange(seconds * 16000) / 16000
    audio = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    count = 1 + audio.size // 160
    signal = torch.from_numpy(audio)[None]
    paths = {
        f"crepetool {p}": functools.partial(
            prediction.predict,
            audio,
            16000,
            with_precision(ours, p),
            batch_size=batch,
            decoder="weighted-argmax",
        )
        for p in ("fp32", "fp16", "bf16")
    }
    paths["torchcrepe"] = functools.partial(
        torchcrepe.predict, signal, 16000, 160, 50, 2006, "full", batch_size=batch, device="cuda"
    )
    cells = []
    for name, run in paths.items():
        run()
        torch.cuda.synchronize()
        _, took = timed(lambda: (run(), torch.cuda.synchronize()))
        cells.append(f"{name} {count / took:.0f}")
    print(f"predict end to end on {seconds} s of 16 kHz audio, frames/s: " + ", ".join(cells))


if __name__ == "__main__":
    main(sys.argv[1:] or ["full", "tiny"])
