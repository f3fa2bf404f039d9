#!/usr/bin/env bash
# The one test command (README, .ci/run): installs what is missing, builds, runs every test.
# Arguments go to ctest (e.g. -L unit, -R Config).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/setup.sh"
"$root/scripts/build.sh"
cd "${PFT_BUILD_DIR:-$root/build}"
ctest --output-on-failure -j "${PFT_TEST_JOBS:-2}" "$@"
