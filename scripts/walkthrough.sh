#!/usr/bin/env bash
# Runs the walkthrough against the local API started by scripts/run.sh (see README).
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 scripts/walkthrough.py "$@"
