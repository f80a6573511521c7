# Sourced by the other scripts: create (once) and activate the project's virtual environment.
# torch is pinned to 2.13.0 here (a CPU wheel is cached on the build machines; an unpinned
# torch pulls a multi-GB CUDA build). The package itself only asks for a range.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
VENV=${CREPETOOL_VENV:-.venv}
stamp="$VENV/.crepetool-deps"
want="$(cat pyproject.toml scripts/env.sh | sha256sum | cut -c1-16)"
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setting up $VENV (torch 2.13.0 CPU, crepetool and test tools)..." >&2
  python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  "$VENV/bin/python" -m pip install -q "torch==2.13.0"
  "$VENV/bin/python" -m pip install -q -e ".[test]"
  echo "$want" > "$stamp"
fi
# shellcheck disable=SC1091
source "$VENV/bin/activate"
