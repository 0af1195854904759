#!/usr/bin/env bash
# The runtime's speed inside wasm32 under Node beside native, in one run.
#
#   bash scripts/web-bench.sh
#
# Runs the `web` bench (bevy_wasmi_plugins/benches/web.rs: persistent ping, mod -> host
# round trip, fresh instance, compile, a fuel-bound spin) natively with
# `cargo bench`, then the same code built for wasm32-unknown-unknown (bench profile),
# bound with `wasm-bindgen --target nodejs` and run by Node. Prints each case's median
# both ways and the ratio web / native. EXTRA_RUSTFLAGS are added to the wasm32 build's
# flags (e.g. `-C target-feature=+tail-call`).
source "$(dirname "${BASH_SOURCE[0]}")/web-tools.sh"
web_setup

out=target/web-bench
mkdir -p "$out"
cargo bench --locked -p bevy_wasmi_plugins --no-default-features --bench web |
    grep '^web-bench ' >"$out/native.txt"

wasm="$(RUSTFLAGS="${EXTRA_RUSTFLAGS:-}" cargo bench --locked --no-run --message-format=json \
    --target wasm32-unknown-unknown -p bevy_wasmi_plugins --no-default-features --bench web |
    python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "web" and m.get("executable"):
        print(m["executable"])
')"
wasm-bindgen --target nodejs --no-typescript --out-dir "$out" --out-name web "$wasm"
node "$out/web.js" | grep '^web-bench ' >"$out/node.txt"

python3 - "$out/native.txt" "$out/node.txt" <<'PY'
import sys
def read(path):
    return {w[1]: float(w[2]) for w in (line.split() for line in open(path))}
native, node = read(sys.argv[1]), read(sys.argv[2])
units = {"spin": "per 10^6 fuel"}
print(f"{'case':<16} {'native':>14} {'Node (wasm32)':>14} {'ratio':>7}")
for case, ns in native.items():
    web = node[case]
    def show(v):
        return f"{v / 1e3:.2f} us" if v < 1e6 else f"{v / 1e6:.2f} ms"
    print(f"{case:<16} {show(ns):>14} {show(web):>14} {web / ns:>6.1f}x  {units.get(case, 'per operation')}")
PY
