// Pools the runs of one Worker in one cell of scripts/bench (its interleaved rounds) into one
// result: counts, seconds and CPU time add up; the percentiles come from the runs' merged latency
// histograms, computed as wrk computes them; the maximum and the flags are the largest of any run.
// Usage: node bench/pool.js < RUNS   (one line per run: wrk's RESULT fields with hist=, and cpu_us)
// Prints one line of the same fields, without the histogram, plus rounds=N.
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

const latencies = new Map();
for (const run of runs) {
    for (const bucket of (run.hist ?? "").split(",").filter(Boolean)) {
        const [us, n] = bucket.split(":").map(Number);
        latencies.set(us, (latencies.get(us) ?? 0) + n);
    }
}
const sorted = [...latencies].sort((a, b) => a[0] - b[0]);
const samples = sorted.reduce((sum, [, n]) => sum + n, 0);
// wrk's stats_percentile: the first value whose running count reaches round(p% of the count + 0.5).
const percentile = (p) => {
    const rank = Math.round((p / 100) * samples + 0.5);
    let seen = 0;
    for (const [us, n] of sorted) {
        seen += n;
        if (seen >= rank) return us;
    }
    return 0;
};

const out = {};
for (const k of SUMS) out[k] = runs.reduce((sum, r) => sum + Number(r[k] ?? 0), 0);
out.seconds = out.seconds.toFixed(3);
out.p50_us = percentile(50);
out.p90_us = percentile(90);
out.p99_us = percentile(99);
for (const k of MAXES) out[k] = Math.max(...runs.map((r) => Number(r[k] ?? 0)));
out.rounds = runs.length;
console.log(Object.entries(out).map(([k, v]) => `${k}=${v}`).join(" "));
