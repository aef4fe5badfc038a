#!/usr/bin/env bash
# RSS of one process (e.g. a Worker's workerd under `wrangler dev`) every 20 s while wrk drives a
# URL with 2 connections for SECONDS; then wrk's request count.
#
#   bash bench/rss-under-load.sh PID SECONDS URL
#
# The Worker's workerd is the one started with `--socket-addr=entry=127.0.0.1:0` in wrangler's
# process group (`ps -eo pid,pgid,args | grep '[w]orkerd serve'`).
set -euo pipefail
[[ $# -eq 3 ]] || { echo "usage: $0 PID SECONDS URL" >&2; exit 2; }
pid="$1" secs="$2" url="$3"
command -v wrk >/dev/null || { echo "wrk is not installed (scripts/bench installs it)" >&2; exit 1; }
out="$(mktemp)"
wrk -t1 -c2 -d"${secs}s" "$url" >"$out" 2>&1 &
load=$!
for ((t = 0; t <= secs; t += 20)); do
    printf '%4d s: %s MiB\n' "$t" "$(awk '/^VmRSS/ { printf "%.0f", $2 / 1024 }' "/proc/$pid/status")"
    ((t + 20 <= secs)) && sleep 20
done
wait "$load"
grep -E 'requests in|Non-2xx' "$out"
rm -f "$out"
