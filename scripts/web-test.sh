#!/usr/bin/env bash
# Runs the runtime's and the protocol's tests inside wasm32 (`wasm32-unknown-unknown`)
# under Node, with wasm-bindgen-test: the same test files, mods and assertions as the
# native `cargo test --workspace`.
#
#   bash scripts/web-test.sh
#
# Needs Node (any recent version) on PATH. Adds the wasm32-unknown-unknown target with
# rustup when it is missing, and installs `wasm-bindgen-cli` (its test runner) at exactly
# the wasm-bindgen version in Cargo.lock when that version is not installed.
source "$(dirname "${BASH_SOURCE[0]}")/web-tools.sh"

web_setup
command -v node >/dev/null 2>&1 || {
    echo "error: the tests run under Node, and \`node\` is not on PATH" >&2
    exit 1
}

export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
set -x
# The runtime alone (no Bevy): the test files that drive mods through a plain loop.
cargo test --locked --target wasm32-unknown-unknown -p bevy_wasmi_plugins \
    --no-default-features --test mods --test faults --test floods --test failure_paths --test spec --test wasi --test footprint
cargo test --locked --target wasm32-unknown-unknown -p bevy_wasmi_plugins_protocol --lib
# The crate's own unit tests; the Bevy layer's tests (`tests/bevy.rs`: all but those
# that need files, threads or the asset server's loading, each marked so); and the Bevy
# layer as a browser build runs it: mods from an in-memory asset source through
# `mods/index.modlist`, the driver's frame budget on the platform's clock.
cargo test --locked --target wasm32-unknown-unknown -p bevy_wasmi_plugins --lib --test bevy \
    --test bevy_web
