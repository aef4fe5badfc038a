// Turns scripts/bench's results file into markdown tables, Rust next to JS.
// Usage: node bench/report.js table RESULTS SCENARIO   one row per request, every metric
//        node bench/report.js p50 RESULTS SCENARIO     p50 and requests only
//        node bench/report.js check RESULTS            exits 1 if any request failed
// RESULTS lines: scenario \t request \t connections \t rust|js \t key=value ... (wrk's RESULT
// fields, plus cpu_us: workerd CPU time during the run).
"use strict";
const fs = require("fs");

const [mode, file, scenario] = process.argv.slice(2);
const runs = fs.readFileSync(file, "utf8").split("\n").filter(Boolean).map((line) => {
    const [scen, request, conns, worker, fields] = line.split("\t");
    const r = Object.fromEntries(fields.split(" ").map((kv) => kv.split("=")).map(([k, v]) => [k, Number(v)]));
    r.errors = r.unexpected + r.connect + r.read + r.write + r.timeout;
    return { scen, request, conns, worker, r };
});

if (mode === "check") {
    const bad = runs.filter(({ r }) => r.errors > 0 || r.requests === 0);
    for (const { scen, request, conns, worker, r } of bad)
        console.error(`FAILED: ${scen} / ${request} / ${conns} conn / ${worker}: ${r.requests} requests, ${r.errors} errors` +
            (r.bad_status ? ` (unexpected status: ${r.bad_status})` : ""));
    process.exit(bad.length ? 1 : 0);
}

const rows = [];
for (const run of runs.filter((x) => x.scen === scenario)) {
    let row = rows.find((x) => x.request === run.request && x.conns === run.conns);
    if (!row) rows.push((row = { request: run.request, conns: run.conns }));
    row[run.worker] = run.r;
}

const ms = (us) => (us === undefined || Number.isNaN(us) ? "—" : (us / 1000).toFixed(us < 10000 ? 2 : 1) + " ms");
const num = (x, d = 1) => (x === undefined || Number.isNaN(x) ? "—" : x.toFixed(d));
// How many times better Rust is: above 1, Rust is faster (or cheaper, or serves more).
const times = (rust, js, higherIsBetter) => {
    if (!(rust > 0 && js > 0)) return "—";
    return (higherIsBetter ? rust / js : js / rust).toFixed(2) + "×";
};
const metrics = {
    rps: (r) => r && r.requests / r.seconds,
    p50: (r) => r && r.p50_us,
    p99: (r) => r && r.p99_us,
    p99req: (r) => r && r.p99_req_us,
    cpu: (r) => r && r.cpu_us / r.requests,
};

// † marks a cold run that used up its keys before its time was up (see bench/load.lua).
const count = (r) => (r ? r.requests + (r.keys_ran_out ? "†" : "") : "—");
const out = [];
if (mode === "table") {
    out.push("| request | conn. | req/s Rust | req/s JS | Rust × | p50 Rust | p50 JS | Rust × | p99 Rust | p99 JS | Rust × | p99 as sent Rust | p99 as sent JS | Rust × | CPU/req Rust | CPU/req JS | Rust × | requests Rust / JS |");
    out.push("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (const row of rows) {
        const [rust, js] = [row.rust, row.js];
        const cells = [row.request, row.conns];
        for (const [name, fmt, higher] of [["rps", num, true], ["p50", ms, false], ["p99", ms, false], ["p99req", ms, false], ["cpu", ms, false]]) {
            const a = metrics[name](rust), b = metrics[name](js);
            cells.push(fmt(a), fmt(b), times(a, b, higher));
        }
        cells.push(`${count(rust)} / ${count(js)}`);
        out.push(`| ${cells.join(" | ")} |`);
    }
} else if (mode === "p50") {
    out.push("| request | p50 Rust | p50 JS | Rust × | requests Rust / JS |");
    out.push("|---|---:|---:|---:|---:|");
    for (const row of rows) {
        const a = metrics.p50(row.rust), b = metrics.p50(row.js);
        out.push(`| ${row.request} | ${ms(a)} | ${ms(b)} | ${times(a, b, false)} | ${count(row.rust)} / ${count(row.js)} |`);
    }
} else {
    console.error("usage: report.js table|p50|check RESULTS [SCENARIO]");
    process.exit(2);
}
if (rows.some((row) => (row.rust && row.rust.keys_ran_out) || (row.js && row.js.keys_ran_out)))
    out.push("", "† the run used every key it was given before its time was up; its req/s counts the time until its last answer.");
console.log(out.join("\n"));
