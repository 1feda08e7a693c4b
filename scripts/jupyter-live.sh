#!/usr/bin/env bash
# Open the notebooks live in Jupyter with the repository's own tslab kernel
# (no global kernel registration): JUPYTER_PATH points Jupyter at
# jupyter/kernels/tslab/kernel.json, which runs node_modules/tslab.
# Needs Jupyter (Debian: apt-get install jupyter-notebook) and `npm ci` done.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
export JUPYTER_PATH="$root/jupyter${JUPYTER_PATH:+:$JUPYTER_PATH}"
if [ ! -d "$root/node_modules/tslab" ]; then
  echo "node_modules/tslab is missing: run 'npm ci' first" >&2; exit 1
fi
if command -v jupyter-lab >/dev/null 2>&1; then
  exec jupyter-lab --notebook-dir="$root/notebooks" "$@"
elif command -v jupyter-notebook >/dev/null 2>&1; then
  exec jupyter-notebook --notebook-dir="$root/notebooks" "$@"
elif /usr/bin/python3 -c 'import notebook' 2>/dev/null; then
  exec /usr/bin/python3 -m notebook --notebook-dir="$root/notebooks" "$@"
else
  echo "No Jupyter found. On Debian: sudo apt-get install jupyter-notebook" >&2; exit 1
fi
