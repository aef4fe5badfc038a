#!/usr/bin/env bash
# How much the workerd process of `wrangler dev` grows per request, for the Rust Worker and for the
# JavaScript reference Worker (bench/js-worker), under the same wrangler and workerd: rounds of
# `wrk` on GET /v1/health (no database, no S3, nothing logged) against each in turn, with the RSS of
# the Worker's workerd (the one wrangler starts with an inspector) before and after each round.
# Separates what `wrangler dev` keeps per request from what a Worker does: the soak's process RSS
# counts both.
#
#   bash bench/dev-memory.sh      # CARCOSA_DEVMEM_ROUNDS (3), _SECONDS (30), _CONNECTIONS (4),
#                                 # ports CARCOSA_DEVMEM_RUST_PORT (8806), _JS_PORT (8807)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

ROUNDS="${CARCOSA_DEVMEM_ROUNDS:-3}"
SECS="${CARCOSA_DEVMEM_SECONDS:-30}"
CONNS="${CARCOSA_DEVMEM_CONNECTIONS:-4}"
RUST_PORT="${CARCOSA_DEVMEM_RUST_PORT:-8806}"
JS_PORT="${CARCOSA_DEVMEM_JS_PORT:-8807}"
DIR="$CARCOSA_DEV/dev-memory"
# Health touches no database; the binding still needs a connection string to start.
NO_DB="postgres://carcosa:unused@127.0.0.1:9/none"

command -v wrk >/dev/null || { fail "wrk is missing (apt-get install wrk)"; exit 1; }
ensure_rust_tools
ensure_node_tools
ensure_bench_tools
dev_secrets
mkdir -p "$DIR"
trap 'wrangler_stop "$RUST_PORT" >/dev/null 2>&1 || true; wrangler_stop "$JS_PORT" >/dev/null 2>&1 || true' EXIT

worker_build
CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_HYPERDRIVE="$NO_DB" wrangler_start "$RUST_PORT" "$DIR/wrangler-rust.log"
js_worker_start "$JS_PORT" "$DIR/wrangler-js.log" "$NO_DB" "$DIR"

# The Worker's workerd: the child of wrangler's process group started with an inspector.
worker_pid() {
    local pgid pid
    pgid="$(cat "$(_wrangler_pidfile "$1")")"
    for pid in $(pgrep -g "$pgid" -x workerd); do
        tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- '--inspector-addr' && { printf '%s' "$pid"; return 0; }
    done
    fail "no workerd with an inspector in wrangler's process group $pgid"
    return 1
}
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

rust_pid="$(worker_pid "$RUST_PORT")"
js_pid="$(worker_pid "$JS_PORT")"
printf '\n%s, %s rounds of %ss, %s connections, GET /v1/health (commit %s)\n' \
    "$(date -u +%Y-%m-%dT%H:%MZ)" "$ROUNDS" "$SECS" "$CONNS" "$(git rev-parse --short HEAD)"
printf '| round | Worker | requests | RSS before (MiB) | RSS after (MiB) | KiB per request |\n|---:|---|---:|---:|---:|---:|\n'
for round in $(seq 1 "$ROUNDS"); do
    for w in "JavaScript:$JS_PORT:$js_pid" "Rust:$RUST_PORT:$rust_pid"; do
        IFS=: read -r name port pid <<<"$w"
        before="$(rss_kib "$pid")"
        n="$(wrk -t1 -c"$CONNS" -d"${SECS}s" "http://127.0.0.1:$port/v1/health" | awk '/requests in/ {print $1}')"
        after="$(rss_kib "$pid")"
        awk -v r="$round" -v w="$name" -v n="$n" -v b="$before" -v a="$after" \
            'BEGIN { printf "| %d | %s | %d | %.1f | %.1f | %.1f |\n", r, w, n, b / 1024, a / 1024, (a - b) / n }'
    done
done
