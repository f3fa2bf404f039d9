# Sourced by the benchmark wrappers: locates the build, the venv's Python and the shared data,
# makes the scratch folder, and splits --threads N from the other arguments.
# Sets: root build venv python data work threads args
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${PFT_BUILD_DIR:-$root/build}"
venv="${PFT_VENV:-$HOME/.cache/pft/venv}"
python="$venv/bin/python"
data="${PFT_SHARED_DATA:-$root/../shared/data}"
[ -x "$build/pft" ] || { echo "no pft binary in $build; run scripts/build.sh first" >&2; exit 2; }
[ -x "$python" ] || { echo "no Python at $python; run scripts/setup.sh first" >&2; exit 2; }
work="${PFT_BENCH_DIR:-}"
if [ -z "$work" ]; then
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
fi
mkdir -p "$work"
threads="$(nproc)"
args=()
while [ "$#" -gt 0 ]; do
  case "$1" in
    --threads) threads="$2"; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
