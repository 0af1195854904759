#!/usr/bin/env bash
# Rebuilds the committed `.wasm` mods from their sources in this repository.
#
#   bash scripts/build-mods.sh           build, then copy the .wasm files into place
#   bash scripts/build-mods.sh --check   build, then fail if a committed .wasm differs
#
# Every mod directory under test-mods/ becomes bevy_wasmi_plugins/tests/mods/<name>.wasm
# and every one under examples/mods/ becomes assets/mods/<name>.wasm. A directory with a
# Cargo.toml is a Rust crate (<name> is its package name): built for wasm32-wasip1
# (added with rustup when missing) with the workspace's `mods` profile, one crate at a
# time (so a mod's bytes do not depend on which others are built), in target/mods, with
# source paths remapped so the bytes do not depend on where the repository or the cargo
# registry is; then passed through scripts/wasm-opt.sh (binaryen 132, which it installs
# with npm when it is missing). Without wasm-opt such a mod is skipped with a warning,
# or fails --check.
#
# A directory with a build.sh instead (a C mod such as examples/mods/pulse; <name> is
# the directory's name) is built by `bash DIR/build.sh target/mods/c/<name>.wasm`,
# which must remap paths the same way. That needs clang, lld and wasi-libc
# (`apt-get install clang lld wasi-libc`; Debian 12 also needs
# libclang-rt-14-dev-wasm32) or a sysroot in WASI_SYSROOT. Without them such a mod is
# skipped with a warning and its committed .wasm stays, except with --check, which
# then fails. The bytes depend on the clang and wasi-libc versions.
#
# Then assets/mods/index.modlist is written: the example's mods, one file name per line,
# which is how a game finds its mods where a folder cannot be listed (the web). With
# --check it must already list exactly the .wasm files in assets/mods/.
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
# The remapping is passed as `--config`, which cargo joins with the rustflags of
# .cargo/config.toml (the mods' stack size); RUSTFLAGS would replace them.
unset RUSTFLAGS CARGO_ENCODED_RUSTFLAGS
remap="target.$target.rustflags=['--remap-path-prefix=$cargo_home/registry/src=/cargo', '--remap-path-prefix=$repo=/build']"

# The package name of the crate in directory $1.
package_name() {
    sed -n 's/^name *= *"\([^"]*\)".*/\1/p' "$1/Cargo.toml" | head -n 1
}

wasm_opt_missing="scripts/wasm-opt.sh needs binaryen 132's wasm-opt (on the PATH, or npm \
to install it)"

c_target_dir="$CARGO_TARGET_DIR/c"
c_missing="clang cannot build wasm32-wasi programs here (clang, lld or wasi-libc is missing): \
install them with \`apt-get install clang lld wasi-libc\` (on Debian 12 also \
libclang-rt-14-dev-wasm32), or point WASI_SYSROOT at a wasi-libc sysroot"
c_toolchain=""

# Whether clang can build a wasm32-wasi program with wasi-libc (checked once).
have_c_toolchain() {
    if [ -z "$c_toolchain" ]; then
        c_toolchain=missing
        mkdir -p "$c_target_dir"
        if command -v clang >/dev/null 2>&1 &&
            printf '#include <stdio.h>\nint main(void) { return puts("") < 0; }\n' |
            clang --target=wasm32-wasi ${WASI_SYSROOT:+--sysroot="$WASI_SYSROOT"} \
                -x c -o "$c_target_dir/probe.wasm" - >/dev/null 2>&1; then
            c_toolchain=found
        fi
    fi
    [ "$c_toolchain" = found ]
}

status=0
built=0
for group in "test-mods:bevy_wasmi_plugins/tests/mods" "examples/mods:assets/mods"; do
    src="${group%%:*}"
    dest="${group#*:}"
    [ -d "$src" ] || continue
    for dir in "$src"/*/; do
        dir="${dir%/}"
        if [ -f "$dir/Cargo.toml" ]; then
            name="$(package_name "$dir")"
            if [ -z "$name" ]; then
                echo "error: no package name in $dir/Cargo.toml" >&2
                exit 1
            fi
            echo "building $name ($dir)" >&2
            cargo build --locked --quiet --profile mods --target "$target" --config "$remap" -p "$name"
            wasm="$CARGO_TARGET_DIR/$target/mods/$name.opt.wasm"
            rm -f "$wasm"
            if ! bash scripts/wasm-opt.sh "$CARGO_TARGET_DIR/$target/mods/$name.wasm" "$wasm"; then
                if $check; then
                    echo "error: cannot check $dest/$name.wasm: $wasm_opt_missing" >&2
                    status=1
                else
                    echo "warning: $dest/$name.wasm stays as it is: $wasm_opt_missing" >&2
                fi
                continue
            fi
        elif [ -f "$dir/build.sh" ]; then
            name="$(basename "$dir")"
            if ! have_c_toolchain; then
                if $check; then
                    echo "error: cannot check $dest/$name.wasm: $c_missing" >&2
                    status=1
                else
                    echo "warning: skipping $dir, $dest/$name.wasm stays as it is: $c_missing" >&2
                fi
                continue
            fi
            echo "building $name ($dir, C)" >&2
            wasm="$c_target_dir/$name.wasm"
            rm -f "$wasm"
            bash "$dir/build.sh" "$wasm"
        else
            continue
        fi
        out="$dest/$name.wasm"
        if $check; then
            if ! cmp -s "$wasm" "$out"; then
                echo "error: $out differs from its source $dir: run bash scripts/build-mods.sh" >&2
                status=1
            fi
        else
            mkdir -p "$dest"
            # Only changed mods are written, so a running game hot-reloads just those.
            if ! cmp -s "$wasm" "$out"; then
                cp "$wasm" "$out"
                echo "updated $out" >&2
            fi
        fi
        printf '%8d bytes  %s\n' "$(wc -c <"$wasm")" "$out"
        built=$((built + 1))
    done
done

if [ "$built" -eq 0 ]; then
    echo "error: no mod crates found under test-mods/ or examples/mods/" >&2
    exit 1
fi

# The mod index for the web: every .wasm in assets/mods/, sorted.
index=assets/mods/index.modlist
expected="$(
    echo "# The mods in this folder, for where a folder cannot be listed (the web)."
    echo "# Written by scripts/build-mods.sh; checked by its --check."
    for wasm in assets/mods/*.wasm; do
        basename "$wasm"
    done | LC_ALL=C sort
)"
if $check; then
    if [ "$expected" != "$(cat "$index" 2>/dev/null)" ]; then
        echo "error: $index does not list exactly the .wasm files in assets/mods/: run bash scripts/build-mods.sh" >&2
        status=1
    fi
elif [ "$expected" != "$(cat "$index" 2>/dev/null)" ]; then
    printf '%s\n' "$expected" >"$index"
    echo "updated $index" >&2
fi
exit "$status"
