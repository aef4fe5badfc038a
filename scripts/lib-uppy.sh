#!/usr/bin/env bash
# The Uppy example (examples/uppy) as a running thing, for scripts/dev and scripts/test. Sourced
# by lib.sh, whose helpers it uses.
#
#   ensure_browser_tools                  Debian's chromium, and examples/uppy/node_modules
#                                         (the pinned Uppy 5 and 6 builds, playwright-core)
#   uppy_start DIR PROXY S3 PAGE WORKER   the S3 CORS proxy on PROXY (in front of the S3 server on
#                                         S3) and the page server on PAGE, using the Worker on
#                                         WORKER and the API key in $CARCOSA_API_KEY
#   uppy_stop DIR
#   uppy_browser_test PAGE WORKER         the Chromium test (API key in $CARCOSA_API_KEY)

CHROMIUM_BIN="${CHROMIUM_BIN:-/usr/bin/chromium}"
UPPY_DIR="$CARCOSA_ROOT/examples/uppy"

ensure_browser_tools() {
    if [[ ! -x "$CHROMIUM_BIN" ]]; then
        _apt_install chromium || return 1
        [[ -x "$CHROMIUM_BIN" ]] || { fail "chromium was installed but $CHROMIUM_BIN is missing"; return 1; }
    fi
    local stamp="$UPPY_DIR/node_modules/.package-lock.json"
    if [[ ! -f "$stamp" || "$UPPY_DIR/package-lock.json" -nt "$stamp" ]]; then
        command -v npm >/dev/null || { fail "npm not found: install Node.js 20+ with npm"; return 1; }
        _install_step "examples/uppy/node_modules (npm ci: Uppy 5, Uppy 6, playwright-core)" \
            npm ci --prefix "$UPPY_DIR" --no-audit --no-fund --loglevel=error || return 1
    fi
    [[ -f "$UPPY_DIR/node_modules/uppy5/dist/uppy.min.mjs" && -f "$UPPY_DIR/node_modules/uppy6/dist/uppy.min.mjs" \
        && -d "$UPPY_DIR/node_modules/playwright-core" ]] ||
        { fail "examples/uppy/node_modules lacks the Uppy builds or playwright-core (run: npm ci --prefix examples/uppy)"; return 1; }
}

# Pid from DIR/NAME.pid, only if that pid still runs NAME.mjs.
_uppy_pid() {
    local pid
    pid="$(cat "$1/$2.pid" 2>/dev/null)" || return 1
    [[ "$pid" =~ ^[0-9]+$ ]] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "$2.mjs" || return 1
    printf '%s' "$pid"
}

uppy_start() {
    local dir proxy s3 page worker node
    [[ $# -eq 5 ]] || { fail "usage: uppy_start DIR PROXY_PORT S3_PORT PAGE_PORT WORKER_URL"; return 1; }
    [[ -n "${CARCOSA_API_KEY:-}" ]] || { fail "uppy_start needs a project API key in CARCOSA_API_KEY"; return 1; }
    dir="$(_abspath "$1")" || return 1
    proxy="$2" s3="$3" page="$4" worker="$5"
    node="$CARCOSA_ROOT/node_modules/.bin/node"
    uppy_stop "$dir" >/dev/null 2>&1 || true
    for port in "$proxy" "$page"; do
        [[ "$(_http_status "http://127.0.0.1:$port/")" == 000 ]] ||
            { fail "port $port is already taken by another process"; return 1; }
    done
    : >"$dir/s3-proxy.log"
    : >"$dir/server.log"
    (cd "$UPPY_DIR" && _spawn_detached "$dir/s3-proxy.pid" "$dir/s3-proxy.log" \
        "$node" s3-proxy.mjs --listen "$proxy" --target "127.0.0.1:$s3") || return 1
    # The key reaches the page server through its environment only, never its command line.
    (cd "$UPPY_DIR" && export CARCOSA_API="$worker" CARCOSA_API_KEY &&
        _spawn_detached "$dir/server.pid" "$dir/server.log" "$node" server.mjs --port "$page") || return 1
    for _ in $(seq 1 50); do
        [[ "$(_http_status "http://127.0.0.1:$page/")" == 200 && "$(_http_status "http://127.0.0.1:$proxy/")" != 000 ]] &&
            return 0
        sleep 0.1
    done
    fail "the Uppy example did not come up (page :$page, S3 proxy :$proxy)" "$dir/server.log"
}

uppy_stop() {
    local dir pid name
    [[ $# -eq 1 ]] || { fail "usage: uppy_stop DIR"; return 1; }
    dir="$1"
    for name in server s3-proxy; do
        if pid="$(_uppy_pid "$dir" "$name")"; then
            kill -TERM "$pid" 2>/dev/null || true
        fi
        rm -f "$dir/$name.pid"
    done
}

uppy_browser_test() {
    [[ $# -eq 2 ]] || { fail "usage: uppy_browser_test PAGE_URL WORKER_URL"; return 1; }
    [[ -x "$CHROMIUM_BIN" ]] || { fail "$CHROMIUM_BIN not found (run: bash scripts/lib.sh ensure_toolchain)"; return 1; }
    (cd "$UPPY_DIR" && PAGE_URL="$1" CARCOSA_API="$2" CHROMIUM="$CHROMIUM_BIN" \
        "$CARCOSA_ROOT/node_modules/.bin/node" browser-test.mjs)
}
