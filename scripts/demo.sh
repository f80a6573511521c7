#!/usr/bin/env bash
# The main job on a built-in default: prune full CREPE to 12/32 ("regular") and inspect it.
# Outputs land in demo/ (git-ignored).
source "$(dirname "$0")/env.sh"
mkdir -p demo
crepetool prune --capacity regular --output demo/regular.pth --overwrite
crepetool inspect demo/regular.pth
