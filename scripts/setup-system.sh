#!/usr/bin/env bash
# Installs the Debian packages the tests need (Mesa's EGL/GLES for WebGPU on the CPU,
# Chromium for the browser test), listed in .ci/apt-packages. Idempotent: does nothing
# when they are all present. Uses sudo when not root.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
for p in $(cat .ci/apt-packages); do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
[ ${#need[@]} -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
