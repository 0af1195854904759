#!/usr/bin/env bash
# Rebuilds the committed `.wasm` mods from their sources in this repository.
#
#   bash scripts/build-mods.sh           build, then copy the .wasm files into place
#   bash scripts/build-mods.sh --check   build, then fail if a committed .wasm differs
#
# Every crate under test-mods/ becomes bevy_wasmi_plugins/tests/mods/<name>.wasm and
# every crate under examples/mods/ becomes assets/mods/<name>.wasm. They are built for
# wasm32-wasip1 (added with rustup when missing) with the workspace's `mods` profile,
# one crate at a time (so a mod's bytes do not depend on which others are built), in
# target/mods, with source paths remapped so the bytes do not depend on where the
# repository or the cargo registry is.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

check=false
case "${1:-}" in
    "") ;;
    --check) check=true ;;
    *)
        echo "usage: bash scripts/build-mods.sh [--check]" >&2
        exit 2
        ;;
esac

target=wasm32-wasip1
if command -v rustup >/dev/null 2>&1; then
    if ! rustup target list --installed | grep -qx "$target"; then
        echo "adding the $target target with rustup" >&2
        rustup target add "$target"
    fi
fi

cargo_home="${CARGO_HOME:-$HOME/.cargo}"
export CARGO_TARGET_DIR="$repo/target/mods"
export RUSTFLAGS="--remap-path-prefix=$cargo_home/registry/src=/cargo --remap-path-prefix=$repo=/build"

# The package name of the crate in directory $1.
package_name() {
    sed -n 's/^name *= *"\([^"]*\)".*/\1/p' "$1/Cargo.toml" | head -n 1
}

status=0
built=0
for group in "test-mods:bevy_wasmi_plugins/tests/mods" "examples/mods:assets/mods"; do
    src="${group%%:*}"
    dest="${group#*:}"
    [ -d "$src" ] || continue
    for dir in "$src"/*/; do
        dir="${dir%/}"
        [ -f "$dir/Cargo.toml" ] || continue
        name="$(package_name "$dir")"
        if [ -z "$name" ]; then
            echo "error: no package name in $dir/Cargo.toml" >&2
            exit 1
        fi
        echo "building $name ($dir)" >&2
        cargo build --locked --quiet --profile mods --target "$target" -p "$name"
        wasm="$CARGO_TARGET_DIR/$target/mods/$name.wasm"
        out="$dest/$name.wasm"
        if $check; then
            if ! cmp -s "$wasm" "$out"; then
                echo "error: $out differs from its source $dir: run bash scripts/build-mods.sh" >&2
                status=1
            fi
        else
            mkdir -p "$dest"
            cp "$wasm" "$out"
        fi
        printf '%8d bytes  %s\n' "$(wc -c <"$wasm")" "$out"
        built=$((built + 1))
    done
done

if [ "$built" -eq 0 ]; then
    echo "error: no mod crates found under test-mods/ or examples/mods/" >&2
    exit 1
fi
exit "$status"
