// Pools the runs of one Worker in one cell of scripts/bench (its interleaved rounds) into one
// result: counts, seconds and CPU time add up; the percentiles come from the runs' merged latency
// histograms, computed as wrk computes them: p50_us… from wrk's own (hist=, corrected for
// coordinated omission), p50_req_us… from the requests as sent (req_hist=, see bench/load.lua);
// the maximum and the flags are the largest of any run.
// Usage: node bench/pool.js < RUNS   (one line per run: bench/load.lua's RESULT fields, and cpu_us)
// Prints one line of the same fields, without the histograms, plus rounds=N.
"use strict";
const fs = require("fs");

const SUMS = ["requests", "seconds", "ok", "unexpected", "connect", "read", "write", "timeout", "cpu_us"];
const MAXES = ["max_us", "keys_ran_out", "bad_status"];

const runs = fs.readFileSync(0, "utf8").split("\n").filter(Boolean).map((line) =>
    Object.fromEntries(line.trim().split(" ").map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)])));
if (runs.length === 0) {
    console.error("pool.js: no runs on standard input");
    process.exit(2);
}

// The merged histogram in FIELD of every run, as [µs, count] in ascending order.
const merged = (field) => {
    const latencies = new Map();
    for (const run of runs) {
        for (const bucket of (run[field] ?? "").split(",").filter(Boolean)) {
            const [us, n] = bucket.split(":").map(Number);
            latencies.set(us, (latencies.get(us) ?? 0) + n);
        }
    }
    return [...latencies].sort((a, b) => a[0] - b[0]);
};
// wrk's stats_percentile: the first value whose running count reaches round(p% of the count + 0.5).
const percentile = (sorted, p) => {
    const samples = sorted.reduce((sum, [, n]) => sum + n, 0);
    const rank = Math.round((p / 100) * samples + 0.5);
    let seen = 0;
    for (const [us, n] of sorted) {
        seen += n;
        if (seen >= rank) return us;
    }
    return 0;
};

// Every answered request is one sample as sent, unless it outlasted wrk's timeout (not recorded).
for (const run of runs) {
    if (Number(run.timeout) === 0 && Number(run.req_samples) !== Number(run.requests)) {
        console.error(`pool.js: ${run.req_samples} latencies as sent for ${run.requests} requests: ` +
            "bench/load.lua's undoing of wrk's correction does not match this wrk");
        process.exit(1);
    }
}
const corrected = merged("hist");
const sent = merged("req_hist");

const out = {};
for (const k of SUMS) out[k] = runs.reduce((sum, r) => sum + Number(r[k] ?? 0), 0);
out.seconds = out.seconds.toFixed(3);
for (const p of [50, 90, 99]) out[`p${p}_us`] = percentile(corrected, p);
for (const p of [50, 90, 99]) out[`p${p}_req_us`] = percentile(sent, p);
for (const k of MAXES) out[k] = Math.max(...runs.map((r) => Number(r[k] ?? 0)));
out.rounds = runs.length;
console.log(Object.entries(out).map(([k, v]) => `${k}=${v}`).join(" "));
