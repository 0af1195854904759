# Helpers for the web scripts (`web-test.sh`, `web.sh`, `web-bench.sh`); sourced, not run.

# What every web script does first: stop at the first error, work from the repository's
# root, and make sure of the wasm32 target and of wasm-bindgen-cli.
web_setup() {
    set -euo pipefail
    cd "$(dirname "${BASH_SOURCE[0]}")/.."
    ensure_target wasm32-unknown-unknown
    ensure_wasm_bindgen
}

# Adds rustup target $1 when it is missing.
ensure_target() {
    if command -v rustup >/dev/null 2>&1 &&
        ! rustup target list --installed | grep -qx "$1"; then
        echo "adding the $1 target with rustup" >&2
        rustup target add "$1"
    fi
}

# The wasm-bindgen version in Cargo.lock: the CLI must be exactly this version.
wasm_bindgen_version() {
    sed -n '/^name = "wasm-bindgen"$/{n;s/^version = "\(.*\)"$/\1/p;}' Cargo.lock | head -n 1
}

# Installs wasm-bindgen-cli at the version in Cargo.lock unless it is on PATH already.
# (`--locked` is not passed: it can fail against a registry mirror.)
ensure_wasm_bindgen() {
    local want have=""
    want="$(wasm_bindgen_version)"
    if [ -z "$want" ]; then
        echo "error: no wasm-bindgen in Cargo.lock" >&2
        exit 1
    fi
    if command -v wasm-bindgen >/dev/null 2>&1; then
        have="$(wasm-bindgen --version | awk '{print $2}')"
    fi
    if [ "$have" != "$want" ]; then
        echo "installing wasm-bindgen-cli $want (found: ${have:-none})" >&2
        cargo install wasm-bindgen-cli --version "$want"
    fi
}
