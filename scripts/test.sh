#!/usr/bin/env bash
# Run the test suite (creates the environment first when needed).
source "$(dirname "$0")/env.sh"
ruff check crepetool tests benchmarks
python -m pytest -q "$@"
