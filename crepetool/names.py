"""Every name a user can type, and every default, in one place (units: :mod:`crepetool.units`).

Torch-free on purpose: the CLI builds its choices from here without importing
torch, so ``--help`` and shell completion stay fast. The library's own tables
(``decode.DECODERS``, ``pruning.CRITERIA``, ...) are keyed by these names, and a
test checks that every CLI choice list equals the library's.
"""

from __future__ import annotations

from crepetool.units import step_to_hop

#: crepetool's version, as weights files record it (``crepetool.__version__``).
VERSION = "0.1.0"

#: Default hop between frames, in milliseconds (160 samples at 16 kHz).
DEFAULT_STEP_MS = 10.0
DEFAULT_HOP = step_to_hop(DEFAULT_STEP_MS)
#: Default pitch range of prediction, in Hz (torchcrepe's fmin default and MAX_FMAX).
DEFAULT_FMIN = 50.0
DEFAULT_FMAX = 2006.0
#: The hop, in samples at 16 kHz, the context stage was trained at (crepetool.network.context): it
#: runs there and nowhere else.
CONTEXT_HOP = DEFAULT_HOP
#: The dereverberating front end (crepetool.prediction.dereverb, ``--dereverb``): STFT frames each
#: bin's predictor reads, the frames it skips (what stays as direct sound), and the RLS forgetting factor.
DEREVERB_TAPS = 6
DEREVERB_DELAY = 3
DEREVERB_ALPHA = 0.99
DEREVERB_FLOOR_DB = -10.0
#: Frames per network batch when predicting (memory, never results).
PREDICT_BATCH = 512

#: torchcrepe's shipped weights, addressed by name (never downloaded).
BUNDLED_MODELS: tuple[str, ...] = ("full", "tiny")
#: ``--source auto``: the smallest installed trained model at least as wide as K; ``--teacher auto``:
#: the trained model a cut started from when it is official medium or large, official medium for
#: what starts from official small, else full (crepetool.network.resolver).
AUTO = "auto"
#: ``official-small`` etc.: the original CREPE's Keras weights, from their packages (crepetool.network.keras).
OFFICIAL_PREFIX = "official-"
#: Weights file suffixes: PyTorch pickles (read with weights_only=True) and safetensors.
PTH_SUFFIXES: tuple[str, ...] = (".pth", ".pt")
SAFETENSORS_SUFFIX = ".safetensors"
WEIGHT_SUFFIXES: tuple[str, ...] = (*PTH_SUFFIXES, SAFETENSORS_SUFFIX)
#: Extensions taken when a folder of recordings is given (evaluate --audio, prune --audio).
AUDIO_SUFFIXES: tuple[str, ...] = (".wav", ".flac", ".ogg", ".aiff", ".aif", ".mp3")

#: How the network's 360 bin probabilities become pitch (crepetool.prediction.decode.DECODERS).
VITERBI, WEIGHTED_ARGMAX, ARGMAX = "viterbi", "weighted-argmax", "argmax"
#: torchcrepe's own Viterbi, for exact reproduction (refused where it fails: decode.check_torchcrepe_viterbi).
TORCHCREPE_VITERBI = "viterbi-torchcrepe"
DECODERS: tuple[str, ...] = (VITERBI, WEIGHTED_ARGMAX, ARGMAX, TORCHCREPE_VITERBI)
DEFAULT_DECODER = VITERBI
#: Other trackers ``evaluate --peers`` runs (crepetool.evaluation.peers.PEERS).
SWIFT_F0, PESTO, FCPE = "swift-f0", "pesto", "fcpe"
PEERS: tuple[str, ...] = (SWIFT_F0, PESTO, FCPE)
#: Channel importance criteria of pruning (crepetool.training.pruning.CRITERIA); ``bn``: each channel's
#: batch-norm scale (in code, BN_SCALE).
BN_SCALE = "bn"
CRITERIA: tuple[str, ...] = ("l1", "l2", BN_SCALE, "random")
#: Recovery after pruning (crepetool.training.recovery.method_for): ``auto`` distils what a cut narrowed
#: and keeps a source that was already K wide as trained; ``bn`` re-estimates the batch-norm
#: statistics alone (in code, RECALIBRATE).
DISTILL, RECALIBRATE, NO_RECOVERY = "distill", "bn", "none"
RECOVERY_METHODS: tuple[str, ...] = ("auto", DISTILL, RECALIBRATE, NO_RECOVERY)
#: Default distillation steps by capacity (crepetool.training.recovery.default_steps): (largest K,
#: steps), the first row whose K is at least the model's. K = 5..15 are taught by official
#: ``medium``, whose steps cost ~2/3 of ``full``'s; K = 9..15, cut from ``medium`` with conv1
#: frozen, take 1000 so that ``prune -k 12`` fits 5 minutes on two AVX2 cores; K = 4, 16 and 24
#: start from the trained model of their size (docs/recovery.md).
STEPS_SCHEDULE: tuple[tuple[int, int], ...] = ((4, 360), (8, 540), (15, 1000), (32, 360))
#: ``verify``'s default bar: raw pitch accuracy on the known-f0 signals.
DEFAULT_MIN_ACCURACY = 0.9


def schedule_text(schedule: tuple[tuple[int, int], ...] = STEPS_SCHEDULE) -> str:
    """The schedule as help text: ``K=1..4: 360, 5..8: 540, ...``."""
    rows, first = [], 1
    for largest, steps in schedule:
        rows.append(f"{first}..{largest}: {steps}")
        first = largest + 1
    return "K=" + ", ".join(rows)

#: Arithmetic of the network: fp32 (default), bf16 (CPU matrix units or CUDA), fp16 (CUDA).
PRECISIONS: tuple[str, ...] = ("fp32", "bf16", "fp16")
DEFAULT_PRECISION = "fp32"
#: How conv2..conv6 run (crepetool.network.spectral): ``auto`` chooses per layer, capacity and device,
#: ``direct`` convolves, ``transform`` multiplies in the frequency domain.
CONV_MODES: tuple[str, ...] = ("auto", "direct", "transform")
DEFAULT_CONV = "auto"
#: How conv1 runs on overlapping frames (crepetool.network.shared): ``shared``, once per group of
#: frames wherever the hop and conv2's path allow; ``frame``, once per frame (the reference).
CONV1_MODES: tuple[str, ...] = ("shared", "frame")
DEFAULT_CONV1 = "shared"
#: The environment variables crepetool reads (it sets none of them): the default conv modes and
#: layout of every model built in the process, tracebacks for bug reports, and the torch threads
#: of each Ray worker.
CONV_ENV = "CREPETOOL_CONV"
CONV1_ENV = "CREPETOOL_CONV1"
LAYOUT_ENV = "CREPETOOL_LAYOUT"
DEBUG_ENV = "CREPETOOL_DEBUG"
WORKER_THREADS_ENV = "CREPETOOL_WORKER_THREADS"
#: Where predict runs its files: this process, or a Ray cluster (crepetool[ray]).
ENGINES: tuple[str, ...] = ("local", "ray")
#: Milliseconds of audio ``crepetool stream`` reads at a time (``--block``).
DEFAULT_BLOCK_MS = 20.0
#: The ONNX opset ``export`` writes by default, and the lowest it writes (crepetool.network.export).
ONNX_OPSET = 17
#: Raw PCM on ``crepetool stream``'s input (``arecord -f`` names, lower case).
SAMPLE_FORMATS: tuple[str, ...] = ("s16le", "s32le", "f32le")
DEFAULT_SAMPLE_FORMAT = "s16le"
#: Resamplers to 16 kHz: resampy (torchcrepe's, for parity) or soxr (much faster).
RESAMPLERS: tuple[str, ...] = ("resampy", "soxr")
DEFAULT_RESAMPLER = "resampy"
#: Output formats of predict (crepetool.prediction.outputs.FORMATS): NAME.f0.csv, NAME.f0.pt, NAME.activation.npy.
FORMATS: tuple[str, ...] = ("csv", "pt", "npy")
#: ``predict --plot``: NAME.f0.png, an output like the formats above (crepetool.prediction.plotting).
PLOT_FORMAT = "png"
