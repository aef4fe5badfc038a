#!/usr/bin/env bash
# Two builds of the Rust Worker, side by side: each round starts `scripts/dev`'s Worker on one
# build, then the other (the order alternating round by round), and runs wrk with one connection
# against its own socket for GET /v1/health, warm POST /v1/uploads and POST /v1/downloads, and
# warm uploads with eight connections. One line per build and cell (bench/load.lua's counts and
# percentiles, and the CPU time of the Worker's processes), then each build's totals per cell.
#
#   bash scripts/build-worker.sh --force && cp -a build /tmp/build-new     # this working tree
#   git worktree add /tmp/old OLD_COMMIT && (cd /tmp/old && bash scripts/build-worker.sh --force)
#   bash bench/ab-builds.sh /tmp/old/build /tmp/build-new [ROUNDS=4] [SECONDS=8]
#
# With AB_MODE=stalls, the cells are bench/stall-probe.mjs's instead of wrk's: one request at a
# time on one connection for SECONDS each (health, warm uploads, warm downloads), counting the
# answers slower than 20 ms and their time: the isolate's pauses, per 10 000 requests.
#
# Uses `scripts/dev`'s PostgreSQL, S3 server and demo key (started if needed, with
# RATE_LIMITS=off), and puts the project's build/ back as it was at the end.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

a=${1:?usage: bench/ab-builds.sh BUILD_A BUILD_B [ROUNDS] [SECONDS]}
b=${2:?usage: bench/ab-builds.sh BUILD_A BUILD_B [ROUNDS] [SECONDS]}
rounds=${3:-4}
seconds=${4:-8}
for dir in "$a" "$b"; do
    [[ -f $dir/index_bg.wasm && -f $dir/index.js ]] || { fail "$dir is not a Worker build (no index_bg.wasm / index.js)"; exit 1; }
done
ensure_wrk || exit 1

# build/ is put back with its own times (cp -a): a build older than the sources stays so, and is
# rebuilt when next needed.
saved=$(mktemp -d)
[[ -d build ]] && cp -a build "$saved/build"
restore() {
    wrangler_stop 8787 >/dev/null 2>&1 || true
    rm -rf build
    if [[ -d $saved/build ]]; then cp -a "$saved/build" build; fi
    rm -rf "$saved"
}
trap restore EXIT

results=$(mktemp)
upload='{"filename":"ab.txt","contentType":"text/plain","size":5}'

# One build under scripts/dev's Worker, then its cells; $1 is its label.
measure() {
    local label=$1 dir=$2
    wrangler_stop 8787 >/dev/null 2>&1 || true
    # Newer than the sources, so the Worker's build command leaves it as it is.
    rm -rf build && cp -a "$dir" build && find build -exec touch {} +
    RATE_LIMITS=off scripts/dev --detach </dev/null >"$results.dev" 2>&1 ||
        { tail -20 "$results.dev"; fail "scripts/dev did not start the Worker on $dir"; exit 1; }
    local key port object
    key=$(sed -n 's/^ *KEY=//p' .dev/first-upload.sh | head -1)
    port=$(worker_socket_port 8787)
    object=$(curl -sf "http://127.0.0.1:$port/v1/uploads" -H "Authorization: Bearer $key" \
        -H 'Content-Type: application/json' -d "$upload" | sed -n 's/.*"key":"\([^"]*\)".*/\1/p')
    [[ -n $object ]] || { fail "no upload presigned by the Worker on $dir"; exit 1; }
    wrk -t1 -c1 -d2s "http://127.0.0.1:$port/v1/health" >/dev/null
    local cell method path status body conns line before after
    if [[ ${AB_MODE:-wrk} == stalls ]]; then
        for cell in "health -" "uploads $upload" "downloads {\"key\":\"$object\"}"; do
            read -r path body <<<"$cell"
            [[ $body == - ]] && body=""
            line=$(BENCH_API_KEY=$key BENCH_BODY=${body:-} node_modules/.bin/node bench/stall-probe.mjs \
                "$port" "$seconds" "/v1/$path" 20 | head -2 | tr '\n' ' ')
            # "R requests in …: p50 …  K answers slower than 20 ms, M ms in all"
            echo "$label stalls /v1/$path $(sed -E 's/^([0-9]+) requests.* ([0-9]+) answers slower than 20 ms, ([0-9]+) ms in all.*/requests=\1 stalls=\2 stalled_ms=\3/' <<<"$line")" |
                tee -a "$results"
        done
        return
    fi
    for cell in "GET health 200 - 1" "POST uploads 201 $upload 1" "POST downloads 200 {\"key\":\"$object\"} 1" \
        "POST uploads 201 $upload 8"; do
        read -r method path status body conns <<<"$cell"
        [[ $body == - ]] && body=""
        before=$(workerd_cpu_us 8787)
        line=$(BENCH_METHOD=$method BENCH_STATUS=$status BENCH_API_KEY=$key BENCH_CONNECTIONS=$conns \
            BENCH_BODY=$body wrk -t1 -c"$conns" -d"${seconds}s" -s bench/load.lua \
            "http://127.0.0.1:$port/v1/$path" | grep '^RESULT')
        after=$(workerd_cpu_us 8787)
        [[ $line == *" unexpected=0 "* ]] || { fail "unexpected answers from $label on $path: $line"; exit 1; }
        echo "$label $method /v1/$path c$conns $(grep -oE '(requests|seconds|p50_us|p99_us)=[0-9.]+' <<<"$line" | tr '\n' ' ')cpu_us=$((after - before))" |
            tee -a "$results"
    done
}

echo "A: $a"
echo "B: $b"
echo "$rounds rounds of ${seconds}s per build and cell, $(date -u '+%Y-%m-%d %H:%M UTC'), HEAD $(git rev-parse --short HEAD)"
for ((round = 1; round <= rounds; round++)); do
    if ((round % 2)); then
        measure A "$a"
        measure B "$b"
    else
        measure B "$b"
        measure A "$a"
    fi
done

echo
if [[ ${AB_MODE:-wrk} == stalls ]]; then
    echo "totals (answers slower than 20 ms, and their time, per 10 000 requests; then each round's stalled ms):"
    awk '{
        cell = $3; key = $1 " " cell
        split($4, r, "="); split($5, n, "="); split($6, m, "=")
        req[key] += r[2]; slow[key] += n[2]; ms[key] += m[2]; each[key] = each[key] " " m[2]; cells[cell] = 1
    } END {
        for (cell in cells) {
            a = "A " cell; b = "B " cell
            printf "%-14s stalls A %5.1f B %5.1f  stalled ms A %6.1f B %6.1f (B/A %.3f)  rounds A:%s  B:%s\n", cell,
                1e4 * slow[a] / req[a], 1e4 * slow[b] / req[b], 1e4 * ms[a] / req[a], 1e4 * ms[b] / req[b],
                (ms[b] / req[b]) / (ms[a] / req[a]), each[a], each[b]
        }
    }' "$results" | sort
    rm -f "$results" "$results.dev"
    exit 0
fi
echo "totals (req/s: requests over seconds; CPU: the Worker's workerd processes' utime + stime per request,"
echo "in /proc's 1/$(getconf CLK_TCK) s ticks; then each round's p50 in µs):"
awk '{
    cell = $2 " " $3 " " $4; key = $1 " " cell
    split($5, r, "="); split($6, s, "="); split($7, p, "="); split($9, c, "=")
    req[key] += r[2]; sec[key] += s[2]; cpu[key] += c[2]; p50[key] = p50[key] " " p[2]; cells[cell] = 1
} END {
    for (cell in cells) {
        a = "A " cell; b = "B " cell
        printf "%-22s req/s A %7.1f B %7.1f (B/A %.3f)  CPU/req A %4.0f B %4.0f µs (B/A %.3f)  p50s A:%s  B:%s\n", cell,
            req[a] / sec[a], req[b] / sec[b], (req[b] / sec[b]) / (req[a] / sec[a]),
            cpu[a] / req[a], cpu[b] / req[b], (cpu[b] / req[b]) / (cpu[a] / req[a]), p50[a], p50[b]
    }
}' "$results" | sort
rm -f "$results" "$results.dev"
