#!/usr/bin/env bash
# Builds the `modding` example for the web and serves it.
#
#   bash scripts/web.sh            build, serve on http://127.0.0.1:8080/ until Ctrl-C
#   bash scripts/web.sh --check    build, serve, play it in headless Chromium, judge it
#
# The build is `cargo build --target wasm32-unknown-unknown --example modding` (the dev
# profile: wasmi itself is optimised there), then `wasm-bindgen --target web` into
# target/web/ beside web/index.html and a copy of assets/ (whose mods/index.modlist
# tells the game which mods to load: a web server cannot list a folder).
#
# --check opens the page in Debian's `chromium` (CHROMIUM=path to use another) through
# playwright-core from npm (installed into target/web-check/), waits until the game
# reports on the console what every mod did, saves target/web/screenshot.png, and exits
# 0 only if every mod did its job and the console shows no panic and no uncaught error.
# PORT sets the port (default 8080 to serve; a free one for --check).
source "$(dirname "${BASH_SOURCE[0]}")/web-tools.sh"

check=false
case "${1:-}" in
    "") ;;
    --check) check=true ;;
    *)
        echo "usage: bash scripts/web.sh [--check]" >&2
        exit 2
        ;;
esac
port="${PORT:-8080}"

web_setup

cargo build --locked --target wasm32-unknown-unknown --example modding
out=target/web
rm -rf "$out"
mkdir -p "$out"
wasm-bindgen --target web --no-typescript --out-dir "$out" --out-name modding \
    target/wasm32-unknown-unknown/debug/examples/modding.wasm
cp web/index.html "$out/"
cp -R assets "$out/assets"
echo "built $out ($(du -sh "$out/modding_bg.wasm" | cut -f1) of wasm)" >&2

if ! $check; then
    echo "serving the modding example at http://127.0.0.1:$port/ (Ctrl-C stops)" >&2
    # A static server; Python's knows that .wasm is application/wasm.
    exec python3 -m http.server "$port" --bind 127.0.0.1 --directory "$out"
fi

tools=target/web-check
if [ ! -d "$tools/node_modules/playwright-core" ]; then
    echo "installing playwright-core into $tools" >&2
    mkdir -p "$tools"
    npm install --prefix "$tools" --no-audit --no-fund --no-save playwright-core@1.64.1 >&2
fi
chromium="${CHROMIUM:-}"
if [ -z "$chromium" ] && command -v chromium >/dev/null 2>&1; then
    chromium="$(command -v chromium)"
fi
if [ -z "$chromium" ]; then
    echo "error: --check needs Chromium: apt-get install chromium (or set CHROMIUM)" >&2
    exit 1
fi

# A free port unless PORT is set, so a server left running elsewhere is no trouble.
if [ -z "${PORT:-}" ]; then
    port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
fi
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$out" >"$out/server.log" 2>&1 &
server=$!
# Stop the server on the way out, keeping the script's own exit status (under `set -e`
# a failing command in the trap would replace it).
trap 'status=$?; set +e; kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; exit "$status"' EXIT
for _ in $(seq 50); do
    if python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null; then
        break
    fi
    if ! kill -0 "$server" 2>/dev/null; then
        echo "error: the web server did not start:" >&2
        cat "$out/server.log" >&2
        exit 1
    fi
    sleep 0.2
done
echo "serving at http://127.0.0.1:$port/; opening it in $chromium" >&2
NODE_PATH="$tools/node_modules" node scripts/web-check.cjs \
    "http://127.0.0.1:$port/" "$chromium" "$out/screenshot.png"
