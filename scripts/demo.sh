#!/usr/bin/env bash
# The main job on built-in defaults: prune CREPE to 12/32 ("regular") from the smallest installed
# trained model at least that wide (official medium with crepetool[models], else full) and
# recover it by distillation (~5 CPU minutes on 2 cores), inspect and verify it, show that the bare
# selection of full fails verify, and track pitch in a generated WAV (CSV, activation file and
# plot). Outputs land in demo/ (git-ignored).
source "$(dirname "$0")/env.sh"
mkdir -p demo
crepetool prune --capacity regular --output demo/regular.pth --overwrite
crepetool inspect demo/regular.pth
crepetool verify demo/regular.pth
# The bare L1 selection of full, without recovery, does not track pitch: verify says so.
crepetool prune --capacity regular --source full --recover none --output demo/regular-bare.pth --overwrite
if crepetool verify demo/regular-bare.pth; then
  echo "demo: the unrecovered model passed verify, which it should not" >&2
  exit 1
else
  echo "demo: the unrecovered 12/32 model fails verify, as expected"
fi
crepetool verify tiny
python - <<'PY'
import numpy as np, soundfile
t = np.arange(2 * 16000) / 16000
f0 = 220 * 2 ** (np.sin(2 * np.pi * 0.5 * t) / 12)  # a vibrato around 220 Hz
phase = 2 * np.pi * np.cumsum(f0) / 16000
soundfile.write("demo/tone.wav", 0.3 * sum(np.sin(h * phase) / h for h in range(1, 8)), 16000)
PY
crepetool predict demo/tone.wav --weights demo/regular.pth --format csv --format pt --format npy --plot --overwrite
crepetool predict demo/tone.wav --weights full --output-dir demo/full --overwrite
head -5 demo/full/tone.f0.csv
