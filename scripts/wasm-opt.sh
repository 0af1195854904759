#!/usr/bin/env bash
# Post-link pass over a Rust mod, with binaryen's wasm-opt:
#
#   bash scripts/wasm-opt.sh IN.wasm OUT.wasm
#
# The passes: `--duplicate-function-elimination` (identical functions, such as the
# copies of one generic function for types of the same layout, become one),
# `--remove-unused-module-elements`, and `--memory-packing` (zero runs of the data become
# no bytes). A mod runs the same instructions and uses the same fuel, and has fewer
# functions and less data, which wasmi sets up for every instance: `bench_guest` is 8 %
# smaller (195,001 -> 178,687 bytes) and a fresh instance 5 % cheaper (318 k -> 302 k
# instructions). Measured and left out: `--inlining` takes a quarter of the functions
# away (a fresh instance 10 % cheaper) but a mod then uses up to 14 % more fuel for the
# same work (each inlined call's arguments become local copies); `-O2` and `-Oz` shrink a
# mod by 14 % and make its calls 1.5-3 % dearer.
#
# The bytes depend on binaryen's version, so this uses binaryen 132 only: `wasm-opt` on
# the PATH when it is that version, else the one in target/binaryen, installed there
# with npm on first use (binaryen's npm package is wasm-opt compiled to WebAssembly; it
# runs on Node). Exits 3 when neither can be had.
set -euo pipefail

version=132
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

if [ "$#" -ne 2 ]; then
    echo "usage: bash scripts/wasm-opt.sh IN.wasm OUT.wasm" >&2
    exit 2
fi

# The wasm-opt to use, on stdout; fails when there is none of the right version.
find_wasm_opt() {
    if command -v wasm-opt >/dev/null 2>&1 &&
        wasm-opt --version 2>/dev/null | grep -q "version $version\b"; then
        command -v wasm-opt
        return
    fi
    local dir="$repo/target/binaryen"
    local bin="$dir/node_modules/.bin/wasm-opt"
    if [ ! -x "$bin" ]; then
        command -v npm >/dev/null 2>&1 || return 1
        mkdir -p "$dir"
        echo "installing binaryen $version (wasm-opt) with npm into $dir" >&2
        npm install --prefix "$dir" --no-audit --no-fund --silent "binaryen@$version" >&2 || return 1
    fi
    "$bin" --version 2>/dev/null | grep -q "version $version\b" || return 1
    echo "$bin"
}

if ! wasm_opt="$(find_wasm_opt)"; then
    echo "wasm-opt from binaryen $version is not here and npm could not install it" >&2
    exit 3
fi

# The features rustc 1.95 enables for wasm32-wasip1 (a stripped mod no longer says).
"$wasm_opt" \
    --enable-bulk-memory --enable-sign-ext --enable-nontrapping-float-to-int \
    --enable-mutable-globals --enable-multivalue --enable-reference-types \
    --duplicate-function-elimination --remove-unused-module-elements \
    --memory-packing \
    "$1" -o "$2"
