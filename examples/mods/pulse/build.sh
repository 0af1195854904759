#!/usr/bin/env bash
# Builds the pulse mod: bash examples/mods/pulse/build.sh OUT.wasm
#
# Needs clang, lld and wasi-libc (on Debian 12: apt-get install clang lld wasi-libc
# libclang-rt-14-dev-wasm32). Set WASI_SYSROOT to use another wasi-libc sysroot, such
# as wasi-sdk's share/wasi-sysroot. The source directory is mapped to /pulse, so the
# bytes do not depend on where the repository is; they do depend on the clang and
# wasi-libc versions.
set -euo pipefail

if [ $# -ne 1 ]; then
    echo "usage: bash build.sh OUT.wasm" >&2
    exit 2
fi
out="$1"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

sysroot=()
if [ -n "${WASI_SYSROOT:-}" ]; then
    sysroot=(--sysroot="$WASI_SYSROOT")
fi

# clang runs binaryen's wasm-opt by itself when it finds one on PATH, which changes the
# bytes: run it with only its own directory (clang, wasm-ld) on PATH.
clang_path="$(command -v clang)" || {
    echo "clang not found" >&2
    exit 1
}
llvm_bin="$(dirname "$(readlink -f "$clang_path")")"

mkdir -p "$(dirname "$out")"
PATH="$llvm_bin" "$llvm_bin/clang" --target=wasm32-wasi "${sysroot[@]}" -fuse-ld="$llvm_bin/wasm-ld" \
    -std=c11 -Oz -Wall -Wextra -Werror \
    -ffile-prefix-map="$here"=/pulse -fdebug-prefix-map="$here"=/pulse \
    -Wl,--strip-all \
    -o "$out" "$here/pulse.c"
