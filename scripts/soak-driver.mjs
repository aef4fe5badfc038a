// Traffic and disruptions for scripts/soak (read its header first): mixed client flows against
// the Worker at a steady rate, PostgreSQL restarted and S3 stopped for a while in the middle,
// every step retried the way a client would, then a database check that every upload whose bytes
// reached S3 ended completed with its "File" row. Prints a markdown report; exits 1 on a lost upload.
//
// Settings come from the environment scripts/soak sets (SOAK_*). Plain Node 22, no dependencies.
import { execFile } from "node:child_process";
import { closeSync, openSync, readFileSync, readSync, readdirSync, writeFileSync } from "node:fs";
import { promisify } from "node:util";

const run = promisify(execFile);
const env = (name, fallback) => {
    const v = process.env[name] ?? fallback;
    if (v === undefined) throw new Error(`${name} is not set`);
    return v;
};
const BASE = env("SOAK_WORKER_URL");
const API_KEY = env("SOAK_API_KEY");
const MINUTES = Number(env("SOAK_MINUTES"));
const INTERVAL_MS = Number(env("SOAK_INTERVAL_MS", "500"));
const MAX_IN_FLIGHT = Number(env("SOAK_MAX_IN_FLIGHT", "4"));
const S3_OUTAGE_S = Number(env("SOAK_S3_OUTAGE_SECS", "60"));
const PG_DOWN_S = Number(env("SOAK_PG_DOWN_SECS", "5"));
const DRAIN_S = Number(env("SOAK_DRAIN_SECS", "180"));
const MEM_EVERY_S = Number(env("SOAK_MEMORY_EVERY_SECS", "15"));
// Memory samples before this are start-up and warm-up, left out of the flat verdict (still printed).
const WARMUP_MIN = Number(env("SOAK_WARMUP_MINUTES", "2"));
const LIB = env("SOAK_LIB"); // scripts/lib.sh
const PG_DIR = env("SOAK_PG_DIR"), PG_PORT = env("SOAK_PG_PORT");
const S3_DIR = env("SOAK_S3_DIR"), S3_PORT = env("SOAK_S3_PORT");
const S3_ACCESS = env("SOAK_S3_ACCESS"), S3_SECRET = env("SOAK_S3_SECRET");
const WRANGLER_PIDFILE = env("SOAK_WRANGLER_PIDFILE");
const WRANGLER_LOG = env("SOAK_WRANGLER_LOG"); // the Worker's console, where it reports its memory
const PSQL = env("SOAK_PSQL"), DB_URL = env("SOAK_DB_URL");
const OUT = env("SOAK_OUT"); // directory for the raw results

const t0 = Date.now();
const elapsed = () => (Date.now() - t0) / 1000;
const sleep = ms => new Promise(r => setTimeout(r, ms));
const log = msg => console.error(`[soak ${elapsed().toFixed(0).padStart(5)}s] ${msg}`);

// --- phases and tallies -----------------------------------------------------------------------

// Every request is counted under the phase it started in.
let phase = "before";
const phaseLog = [{ phase, at: 0 }];
const setPhase = p => { phase = p; phaseLog.push({ phase: p, at: elapsed() }); log(`phase: ${p}`); };

// tally[phase][route][outcome] = count; outcome is the status, the error code for JSON errors,
// or "network:<code>" when no answer came.
const tally = {};
function count(ph, route, outcome) {
    const r = ((tally[ph] ??= {})[route] ??= {});
    r[outcome] = (r[outcome] ?? 0) + 1;
}

async function request(route, url, init) {
    const ph = phase;
    try {
        const res = await fetch(url, { ...init, signal: AbortSignal.timeout(20_000) });
        const text = await res.text();
        let body = null;
        try { body = JSON.parse(text); } catch { /* S3 answers XML or bytes */ }
        const code = res.ok ? "" : ` ${body?.error ?? (text.match(/<Code>([^<]+)<\/Code>/)?.[1] ?? "")}`;
        count(ph, route, `${res.status}${code}`.trim());
        return { status: res.status, body, text };
    } catch (e) {
        count(ph, route, `network:${e.cause?.code ?? e.name}`);
        return { status: 0, body: null, text: "" };
    }
}

const api = (route, path, auth, payload) => request(route, BASE + path, {
    method: "POST",
    headers: { authorization: `Bearer ${auth}`, "content-type": "application/json" },
    body: payload === undefined ? undefined : JSON.stringify(payload),
});

// --- client flows -------------------------------------------------------------------------------

// Each upload moves url → put → completed; a failed step is retried later, as a client would.
const uploads = [];
const completed = []; // {key, body} available for downloads
let seq = 0;

async function startUpload(auth, via) {
    const n = ++seq;
    const body = Buffer.from(`carcosa-edge soak ${n} ${"x".repeat(n % 512)}\n`);
    const r = await api(`POST /v1/uploads (${via})`, "/v1/uploads", auth,
        { filename: `soak-${n}.txt`, contentType: "text/plain", size: body.length });
    if (r.status !== 201) return;
    const u = { id: r.body.uploadId, key: r.body.key, url: r.body.url, headers: r.body.headers, body, auth,
        via, state: "url", tries: 0, nextTry: 0, busy: false };
    uploads.push(u);
    await advance(u);
}

async function advance(u) {
    if (u.busy || u.state === "completed") return;
    u.busy = true;
    try {
        if (u.state === "url") {
            // Exactly the signed headers; fetch sets Content-Length from the body itself.
            const headers = Object.fromEntries(Object.entries(u.headers).filter(([k]) => k !== "content-length"));
            const r = await request("PUT object (S3)", u.url, { method: "PUT", headers, body: u.body });
            // 412: an earlier PUT landed but its answer was lost; the object is there.
            if (r.status === 200 || r.status === 412) u.state = "put";
        }
        if (u.state === "put") {
            const path = `/v1/uploads/${encodeURIComponent(u.id)}/complete`;
            const r = await api(`POST /v1/uploads/{id}/complete (${u.via})`, path, u.auth);
            if (r.status === 200 && r.body?.status === "completed") {
                u.state = "completed";
                completed.push({ key: u.key, body: u.body });
            }
        }
        if (u.state !== "completed") {
            u.tries += 1;
            u.nextTry = Date.now() + Math.min(30_000, 2_000 * 2 ** Math.min(u.tries, 4));
        }
    } finally {
        u.busy = false;
    }
}

async function download() {
    if (completed.length === 0) return startUpload(API_KEY, "key");
    const f = completed[Math.floor(Math.random() * completed.length)];
    const r = await api("POST /v1/downloads", "/v1/downloads", API_KEY, { key: f.key });
    if (r.status !== 200) return;
    const ph = phase;
    try {
        const res = await fetch(r.body.url, { signal: AbortSignal.timeout(20_000) });
        const got = Buffer.from(await res.arrayBuffer());
        const same = res.ok && got.equals(f.body);
        count(ph, "GET object (S3)", res.ok ? (same ? "200" : "200 wrong-bytes") : `${res.status}`);
    } catch (e) {
        count(ph, "GET object (S3)", `network:${e.cause?.code ?? e.name}`);
    }
}

async function tokenUpload() {
    const r = await api("POST /v1/tokens", "/v1/tokens", API_KEY, { expiresIn: 3600 });
    if (r.status !== 201) return;
    await startUpload(r.body.token, "token");
}

const flows = [() => startUpload(API_KEY, "key"), download, tokenUpload, download, () => startUpload(API_KEY, "key")];

// --- disruptions ---------------------------------------------------------------------------------

async function lib(...args) {
    const { stderr } = await run("bash", [LIB, ...args], { timeout: 120_000 });
    if (stderr.trim()) log(`${args[0]}: ${stderr.trim().split("\n").join(" | ")}`);
}

async function restartPostgres() {
    setPhase("postgres restart");
    await lib("pg_stop", PG_DIR);
    await sleep(PG_DOWN_S * 1000);
    await lib("pg_start", PG_DIR, PG_PORT);
    setPhase("after postgres restart");
}

async function s3Outage() {
    setPhase("S3 stopped");
    await lib("s3_stop", S3_DIR);
    await sleep(S3_OUTAGE_S * 1000);
    await lib("s3_start", S3_DIR, S3_PORT, S3_ACCESS, S3_SECRET);
    setPhase("after S3 outage");
}

// --- workerd memory -----------------------------------------------------------------------------

// RSS of the workerd processes in wrangler's process group (scripts/lib.sh starts it with setsid),
// one series each. `wrangler dev` runs two: the Worker's runtime, the only one it starts with an
// inspector (`--inspector-addr`), and its own proxy in front of it on the dev port.
function workerdRssMiB() {
    const pgid = readFileSync(WRANGLER_PIDFILE, "utf8").trim();
    const out = { worker: 0, proxy: 0 };
    for (const pid of readdirSync("/proc").filter(d => /^\d+$/.test(d))) {
        try {
            const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
            const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
            const pgrp = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2];
            if (pgrp !== pgid || comm !== "workerd") continue;
            const args = readFileSync(`/proc/${pid}/cmdline`, "utf8");
            const m = readFileSync(`/proc/${pid}/status`, "utf8").match(/^VmRSS:\s+(\d+) kB/m);
            if (m) out[args.includes("--inspector-addr") ? "worker" : "proxy"] += Number(m[1]) / 1024;
        } catch { /* the process ended while being read */ }
    }
    return out;
}

// The Worker's own heap: once a minute the isolate logs the bytes its Rust code holds and the size
// of its wasm linear memory (where they live; it never shrinks). Read from the log as it grows.
let logOffset = 0, isolateMiB = null, heldMiB = null;
function isolateWasmMiB() {
    try {
        const fd = openSync(WRANGLER_LOG, "r");
        try {
            const buf = Buffer.alloc(1 << 20);
            let n;
            while ((n = readSync(fd, buf, 0, buf.length, logOffset)) > 0) {
                logOffset += n;
                for (const m of buf.subarray(0, n).toString("latin1").matchAll(/(\d+) bytes held, wasm linear memory (\d+) KiB/g)) {
                    heldMiB = Number(m[1]) / 1048576;
                    isolateMiB = Number(m[2]) / 1024;
                }
            }
        } finally {
            closeSync(fd);
        }
    } catch { /* no log yet */ }
    return isolateMiB;
}

const memory = [];
function sampleMemory() {
    memory.push({ t: elapsed(), phase, ...workerdRssMiB(), isolate: isolateWasmMiB(), held: heldMiB });
}

// --- main ---------------------------------------------------------------------------------------

async function main() {
    const duration = MINUTES * 60;
    const disruptions = [[duration * 0.35, restartPostgres], [duration * 0.6, s3Outage]];
    log(`${MINUTES} min against ${BASE}: a flow every ${INTERVAL_MS} ms (at most ${MAX_IN_FLIGHT} at once); ` +
        `PostgreSQL restart at ${disruptions[0][0].toFixed(0)}s, S3 stopped ${S3_OUTAGE_S}s at ${disruptions[1][0].toFixed(0)}s`);
    sampleMemory();
    const memTimer = setInterval(sampleMemory, MEM_EVERY_S * 1000);
    const pending = new Set();
    const spawn = p => { pending.add(p); p.finally(() => pending.delete(p)); };
    let next = 0, flowN = 0, lastProgress = 0;
    const disruptionsDone = [];
    while (elapsed() < duration) {
        if (disruptions.length && elapsed() >= disruptions[0][0]) {
            const [, fn] = disruptions.shift();
            disruptionsDone.push(fn());
        }
        // Retries of unfinished uploads, then one new flow, when there is room.
        for (const u of uploads) {
            if (pending.size >= MAX_IN_FLIGHT) break;
            if (u.state !== "completed" && !u.busy && u.nextTry <= Date.now()) spawn(advance(u));
        }
        if (pending.size < MAX_IN_FLIGHT) spawn(flows[flowN++ % flows.length]());
        if (elapsed() - lastProgress >= 60) {
            lastProgress = elapsed();
            const open = uploads.filter(u => u.state !== "completed").length;
            log(`${uploads.length} uploads (${open} not yet completed), ${completed.length} downloadable, ` +
                `held ${memory.at(-1).held?.toFixed(2) ?? "?"} MiB, wasm ${memory.at(-1).isolate?.toFixed(2) ?? "?"} MiB, workerd: Worker ${memory.at(-1).worker.toFixed(0)} MiB, wrangler's proxy ${memory.at(-1).proxy.toFixed(0)} MiB`);
        }
        next += INTERVAL_MS;
        await sleep(Math.max(0, t0 + next - Date.now()));
    }
    await Promise.all(disruptionsDone);
    await Promise.all(pending);
    setPhase("drain (retries only)");
    const drainEnd = Date.now() + DRAIN_S * 1000;
    while (Date.now() < drainEnd && uploads.some(u => u.state !== "completed")) {
        await Promise.all(uploads.filter(u => u.state !== "completed").map(u => { u.nextTry = 0; return advance(u); }));
        if (uploads.some(u => u.state !== "completed")) await sleep(5_000);
    }
    clearInterval(memTimer);
    sampleMemory();
    await report();
}

// Uploads whose bytes reached S3 must have "Upload".status = completed and their "File" row.
async function checkDatabase(list) {
    if (list.length === 0) return { checked: 0, missing: [] };
    const ids = list.map(u => u.id.split(".")[0]);
    const input = `CREATE TEMP TABLE soak_ids (id text PRIMARY KEY);\nCOPY soak_ids FROM STDIN;\n${ids.join("\n")}\n\\.\n` +
        `SELECT s.id FROM soak_ids s LEFT JOIN "Upload" u ON u.id = s.id LEFT JOIN "File" f ON f.id = u."fileId" ` +
        `WHERE u.status IS DISTINCT FROM 'completed' OR f.id IS NULL;\n`;
    const child = execFile(PSQL, [DB_URL, "-XtAq", "-v", "ON_ERROR_STOP=1"], { maxBuffer: 64 << 20 });
    const out = [];
    child.stdout.on("data", d => out.push(d));
    child.stderr.on("data", d => process.stderr.write(d));
    child.stdin.end(input);
    const code = await new Promise(r => child.on("close", r));
    if (code !== 0) throw new Error(`psql exited with ${code}`);
    return { checked: ids.length, missing: out.join("").split("\n").filter(Boolean) };
}

// Changes smaller than these (MiB) are noise whatever the level: the bytes the Worker holds sit
// near 0 MiB, where any percentage rule calls a few KiB of jitter a trend. The leak this soak
// found grew 0.1 MiB per 10 minutes, above them.
const FLAT_FLOOR_MIB = { held: 0.1, isolate: 0.1, worker: 4, proxy: 4 };

function memorySummary(which) {
    const all = memory.filter(s => s[which] != null).map(s => ({ t: s.t, mib: s[which] }));
    if (all.length === 0) return null;
    const warm = all.filter(s => s.t >= WARMUP_MIN * 60);
    const pts = warm.length >= 4 ? warm : all;
    const n = pts.length, mx = pts.reduce((a, s) => a + s.t, 0) / n, my = pts.reduce((a, s) => a + s.mib, 0) / n;
    const slope = pts.reduce((a, s) => a + (s.t - mx) * (s.mib - my), 0) /
        (pts.reduce((a, s) => a + (s.t - mx) ** 2, 0) || 1); // MiB per second
    const third = Math.max(1, Math.floor(n / 3));
    const median = xs => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
    const first = median(pts.slice(0, third).map(s => s.mib)), last = median(pts.slice(-third).map(s => s.mib));
    const min = Math.min(...pts.map(s => s.mib)), max = Math.max(...pts.map(s => s.mib));
    // Flat: the last third's median within 10% of the first third's, and a trend under 5% of it
    // per 10 min; or, near zero, within the series' floor (and half of it per 10 min).
    const floor = FLAT_FLOOR_MIB[which];
    const flat = Math.abs(last - first) <= Math.max(0.1 * first, floor) &&
        Math.abs(slope * 600) <= Math.max(0.05 * first, floor / 2);
    return { samples: n, warmOnly: pts === warm, first, last, min, max, slopePer10Min: slope * 600, flat };
}

async function report() {
    const landed = uploads.filter(u => u.state === "put" || u.state === "completed");
    const neverPut = uploads.filter(u => u.state === "url");
    const db = await checkDatabase(landed);
    const mem = { held: memorySummary("held"), isolate: memorySummary("isolate"), worker: memorySummary("worker"), proxy: memorySummary("proxy") };
    const lines = [];
    const p = (...s) => lines.push(...s);
    p(`## Soak: ${MINUTES} min, a flow every ${INTERVAL_MS} ms, at most ${MAX_IN_FLIGHT} at once`, "");
    p("Phases (seconds from the start): " + phaseLog.map(x => `${x.phase} ${x.at.toFixed(0)}`).join(" → ") + ".", "");
    p("### Answers by phase and route", "", "| phase | route | answers |", "|---|---|---|");
    for (const { phase: ph } of phaseLog) {
        for (const [route, outcomes] of Object.entries(tally[ph] ?? {}).sort()) {
            const s = Object.entries(outcomes).sort((a, b) => b[1] - a[1]).map(([o, c]) => `${o} ×${c}`).join(", ");
            p(`| ${ph} | ${route} | ${s} |`);
        }
    }
    p("", "### Uploads", "");
    p(`- got a URL: ${uploads.length} (${uploads.filter(u => u.via === "token").length} with an upload token)`);
    p(`- PUT to S3 (counting retries after outages): ${landed.length}; never PUT: ${neverPut.length}`);
    p(`- completed through the API: ${uploads.filter(u => u.state === "completed").length}`);
    p(`- checked in the database ("Upload".status = completed and its "File" row): ${db.checked - db.missing.length} of ${db.checked}`);
    p(`- **lost: ${db.missing.length}**${db.missing.length ? " (" + db.missing.slice(0, 20).join(", ") + ")" : ""}`);
    p("", "### Memory", "");
    const series = memory.filter((_, i) => i % Math.max(1, Math.round(60 / MEM_EVERY_S)) === 0 || i === memory.length - 1);
    for (const [which, label] of [["held", "bytes the Worker's Rust code holds (its own report)"],
        ["isolate", "the Worker isolate's wasm memory (its own report; a high-water mark)"],
        ["worker", "RSS of the Worker's workerd"], ["proxy", "RSS of wrangler's proxy workerd"]]) {
        const m = mem[which];
        if (!m) { p(`- ${label}: no samples`); continue; }
        p(`- ${label}, per minute (MiB): ` + series.filter(s => s[which] != null)
            .map(s => `${(s.t / 60).toFixed(0)}m ${s[which].toFixed(which === "held" || which === "isolate" ? 2 : 0)}`).join(", "));
        p(`  ${m.warmOnly ? `After the first ${WARMUP_MIN} minutes` : `All samples (too few after ${WARMUP_MIN} minutes)`}: ${m.samples} samples, min ${m.min.toFixed(1)}, max ${m.max.toFixed(1)} MiB; ` +
            `median of the first third ${m.first.toFixed(1)}, of the last third ${m.last.toFixed(1)} MiB; ` +
            `trend ${m.slopePer10Min >= 0 ? "+" : ""}${m.slopePer10Min.toFixed(2)} MiB per 10 min → **${m.flat ? "flat" : "NOT flat"}**`);
    }
    p("", `(Flat, after the first ${WARMUP_MIN} minutes: the last third's median within 10% of the first third's, and a ` +
        "least-squares trend under 5% of it per 10 min; near zero, within a floor instead: " +
        Object.entries(FLAT_FLOOR_MIB).map(([k, v]) => `${k} ${v} MiB`).join(", ") + ", half of it per 10 min.)");
    const text = lines.join("\n") + "\n";
    writeFileSync(`${OUT}/report.md`, text);
    writeFileSync(`${OUT}/results.json`, JSON.stringify({ phaseLog, tally, memory, mem,
        uploads: uploads.map(u => ({ id: u.id.split(".")[0], via: u.via, state: u.state, tries: u.tries })),
        lost: db.missing }, null, 1));
    process.stdout.write(text);
    if (db.missing.length > 0) { log(`${db.missing.length} lost upload(s)`); process.exitCode = 1; }
}

main().catch(e => { console.error(e); process.exitCode = 2; });
