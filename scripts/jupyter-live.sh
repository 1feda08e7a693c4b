#!/usr/bin/env bash
# Open the notebooks live in Jupyter with the repository's own tslab kernel
# (no global kernel registration): JUPYTER_PATH points Jupyter at
# jupyter/kernels/tslab/kernel.json, which runs node_modules/tslab.
#
# You work on copies: each notebooks/*.ipynb is copied to build/live/ (only
# when the copy is missing, so your edits survive a restart; --fresh replaces
# every copy), next to a build/live/lib symlink for the cells' imports. The
# tracked notebooks/ are never opened, so a live session leaves them (and
# `npm test`) as they were.
#
# The server listens on 127.0.0.1 only, adds --allow-root when run as root,
# and opens no browser when there is no display (it prints the URL with its
# token instead). Extra arguments go to Jupyter, e.g. --port=8899.
#
# Needs Jupyter (Debian: apt-get install -y jupyter-notebook) and `npm ci`.
# DMA_WORKBOOK_LIVE_DIR overrides build/live (the tests use their own folder).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
live="${DMA_WORKBOOK_LIVE_DIR:-$root/build/live}"
fresh=0
args=()
for a in "$@"; do
  if [ "$a" = "--fresh" ]; then fresh=1; else args+=("$a"); fi
done

if [ ! -d "$root/node_modules/tslab" ]; then
  echo "node_modules/tslab is missing: run 'npm ci' first" >&2; exit 1
fi
if command -v jupyter-notebook >/dev/null 2>&1; then
  jupyter=(jupyter-notebook)
elif command -v jupyter-lab >/dev/null 2>&1; then
  jupyter=(jupyter-lab)
elif /usr/bin/python3 -c 'import notebook' 2>/dev/null; then
  jupyter=(/usr/bin/python3 -m notebook)
else
  if [ "$(id -u)" = 0 ]; then how="apt-get install -y jupyter-notebook"; else how="sudo apt-get install -y jupyter-notebook"; fi
  echo "No Jupyter found. On Debian: $how" >&2; exit 1
fi

mkdir -p "$live"
ln -sfn "$root/lib" "$live/lib"
copied=0
for nb in "$root"/notebooks/*.ipynb; do
  dst="$live/$(basename "$nb")"
  if [ "$fresh" = 1 ] || [ ! -e "$dst" ]; then
    cp "$nb" "$dst"; copied=$((copied + 1))
  elif [ "$nb" -nt "$dst" ]; then
    echo "note: notebooks/$(basename "$nb") is newer than your copy in ${live#"$root"/}/ (kept; --fresh replaces the copies)" >&2
  fi
done
echo "live copies in ${live#"$root"/}/ ($copied copied); notebooks/ is not touched" >&2

export JUPYTER_PATH="$root/jupyter${JUPYTER_PATH:+:$JUPYTER_PATH}"
flags=(--notebook-dir="$live" --ip=127.0.0.1)
if [ "$(id -u)" = 0 ]; then flags+=(--allow-root); fi
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ] && [ "$(uname)" != Darwin ]; then flags+=(--no-browser); fi
exec "${jupyter[@]}" "${flags[@]}" "${args[@]+"${args[@]}"}"
