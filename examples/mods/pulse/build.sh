#!/usr/bin/env bash
# Builds the pulse mod: bash examples/mods/pulse/build.sh OUT.wasm
#
# Needs clang, lld and wasi-libc (on Debian 12: apt-get install clang lld wasi-libc
# libclang-rt-14-dev-wasm32). Set WASI_SYSROOT to use another wasi-libc sysroot, such
# as wasi-sdk's share/wasi-sysroot. The source directory is mapped to /pulse, so the
# bytes do not depend on where the repository is; they do depend on the clang and
# wasi-libc versions.
#
# The stack: 64 KiB, placed first in memory (`--stack-first`; wasm-ld's default puts it
# after the data, where an overflow silently overwrites globals), with its pointer
# exported (which needs `-mmutable-globals` with clang 14) so the host can report an
# overflow as one.
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
    -mmutable-globals -Wl,--stack-first -Wl,-z,stack-size=65536 -Wl,--export=__stack_pointer \
    -o "$out" "$here/pulse.c"
