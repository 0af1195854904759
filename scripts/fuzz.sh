#!/usr/bin/env bash
# Runs the coverage-guided fuzz targets in fuzz/ (cargo fuzz, libFuzzer) for a while each.
#
#   bash scripts/fuzz.sh            build all targets, then run each for 30 s
#   bash scripts/fuzz.sh 300        ... for 300 s each
#   bash scripts/fuzz.sh 30 wasi_calls protocol_fast    only these targets
#
# Installs cargo-fuzz when missing. Only a stable toolchain is needed: RUSTC_BOOTSTRAP=1
# lets cargo fuzz pass its nightly flags, and `-s none` builds without a sanitizer (the
# code under test has no unsafe of its own worth ASan's cost). Each target starts from
# its committed corpus in fuzz/corpus/<target>/; what it finds is written to a scratch
# copy, not back into the repository. A crash (a panic, an abort, a timeout, running
# out of memory) fails the script; libFuzzer saves the input under
# fuzz/artifacts/<target>/ and prints how to reproduce it.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo/fuzz"

seconds="${1:-30}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(protocol_fast pdk_lines wasi_calls world_methods packed)
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz.sh: installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked || cargo install cargo-fuzz
fi

export RUSTC_BOOTSTRAP=1
# Build them all first, so a build error shows before any time is spent fuzzing.
cargo fuzz build -s none

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
for target in "${targets[@]}"; do
    echo "fuzz.sh: $target for ${seconds}s" >&2
    mkdir -p "$scratch/$target"
    cargo fuzz run -s none "$target" "$scratch/$target" "corpus/$target" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
done
echo "fuzz.sh: no crashes in ${#targets[@]} targets (${seconds}s each)" >&2
