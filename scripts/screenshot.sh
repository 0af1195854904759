#!/usr/bin/env bash
# Takes a screenshot of the modding example in a real window, on a machine without a
# screen or GPU: an X server in memory (Xvfb) and Mesa's software Vulkan driver.
#
#   bash scripts/screenshot.sh [OUT.png]     default: docs/screenshot.png
#
# Needs Debian's xvfb, xauth, mesa-vulkan-drivers and libvulkan1; installs them with
# apt-get when they are missing and the script runs as root. The example plays for nine
# seconds of game time (the rogue mod has been stopped by then), saves the PNG with
# Bevy's screenshot API and quits.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$(realpath -m "${1:-$repo/docs/screenshot.png}")"
cd "$repo"

if ! command -v xvfb-run >/dev/null 2>&1 || ! ls /usr/share/vulkan/icd.d/lvp_icd.*.json >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "installing xvfb and Mesa's software Vulkan driver" >&2
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq xvfb xauth mesa-vulkan-drivers libvulkan1
    else
        echo "error: needs xvfb-run and Mesa's lavapipe: apt-get install xvfb xauth mesa-vulkan-drivers libvulkan1" >&2
        exit 1
    fi
fi

cargo build --example modding
mkdir -p "$(dirname "$out")"
rm -f "$out"
# Only the software driver: no GPU here, and it renders the same on every machine.
export VK_ICD_FILENAMES
VK_ICD_FILENAMES="$(ls /usr/share/vulkan/icd.d/lvp_icd.*.json | head -n 1)"
# The binary is run directly, not by cargo: tell Bevy where the assets are.
BEVY_ASSET_ROOT="$PWD" WGPU_BACKEND=vulkan timeout 300 xvfb-run -a -s "-screen 0 1280x720x24" \
    target/debug/examples/modding --screenshot "$out"
if [ ! -s "$out" ]; then
    echo "error: no screenshot was saved to $out" >&2
    exit 1
fi
echo "saved $out"
