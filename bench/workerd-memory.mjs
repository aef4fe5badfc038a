// Does workerd's RSS settle? Runs a Worker in workerd through Miniflare alone (no `wrangler dev`:
// no inspector, no proxy process), drives GET /v1/health with wrk in rounds, and prints the RSS of
// that workerd before and after each round. For the Rust Worker (build/, as scripts/build-worker.sh
// leaves it) and, as the baseline of workerd itself, a one-line JavaScript Worker answering the
// same JSON. After each round it also asks the Worker's isolate, through workerd's inspector, for
// a full garbage collection and then the size of its JavaScript heap (what the wasm glue and the
// runtime's objects for this Worker hold). The soak's RSS series (scripts/soak) counts this growth too.
//
//   node_modules/.bin/node bench/workerd-memory.mjs rust|js [ROUNDS] [SECONDS] [PORT]
//   (defaults: 12 rounds of 20 s, port 8809 and PORT + 1 for the inspector; wrk must be installed)
import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { Miniflare, convertV4MiniflareOptions } from "miniflare";

const [which, rounds = "12", seconds = "20", port = "8809"] = process.argv.slice(2);
if (which !== "rust" && which !== "js") {
    console.error("usage: bench/workerd-memory.mjs rust|js [ROUNDS] [SECONDS] [PORT]");
    process.exit(2);
}
const common = { name: "carcosa-edge", compatibilityDate: "2026-11-01" };
const worker =
    which === "js"
        ? {
              ...common,
              modules: true,
              script: `export default { async fetch() {
                  return new Response('{"status":"ok"}', { headers: { "content-type": "application/json" } });
              } };`,
          }
        : {
              ...common,
              modules: [
                  { type: "ESModule", path: "build/index.js" },
                  { type: "CompiledWasm", path: "build/index_bg.wasm" },
              ],
              modulesRoot: "build",
              // Health touches neither; the Worker still wants its configuration to start.
              bindings: {
                  CREDENTIALS_ENCRYPTION_KEY: `base64:${Buffer.alloc(32, 7).toString("base64")}`,
                  UPLOAD_TOKEN_SECRET: "workerd-memory-".repeat(3),
                  ALLOWED_ORIGINS: "*",
                  RATE_LIMITS: "off",
              },
              hyperdrives: { HYPERDRIVE: "postgres://carcosa:unused@127.0.0.1:9/none" },
          };

const workerdPids = () =>
    new Set(
        readdirSync("/proc")
            .filter((p) => /^\d+$/.test(p))
            .filter((p) => {
                try {
                    return readFileSync(`/proc/${p}/comm`, "utf8").trim() === "workerd";
                } catch {
                    return false;
                }
            }),
    );
const before = workerdPids();
const inspectorPort = Number(port) + 1;
const mf = new Miniflare(convertV4MiniflareOptions({ host: "127.0.0.1", port: Number(port), inspectorPort, ...worker }));
await mf.ready;
const mine = [...workerdPids()].filter((p) => !before.has(p));
if (mine.length !== 1) {
    console.error(`expected one new workerd process, found ${mine.length}`);
    await mf.dispose();
    process.exit(1);
}
const pid = mine[0];
// The isolate's JavaScript heap after a full collection, in KiB (Chrome DevTools protocol).
const targets = await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json();
const target = targets.find((t) => t.id === "core:user:carcosa-edge");
const ws = new WebSocket(target.webSocketDebuggerUrl);
await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
});
let lastId = 0;
const pending = new Map();
ws.onmessage = (m) => {
    const d = JSON.parse(m.data);
    pending.get(d.id)?.(d);
    pending.delete(d.id);
};
const send = (method, params = {}) =>
    new Promise((resolve) => {
        const id = ++lastId;
        pending.set(id, resolve);
        ws.send(JSON.stringify({ id, method, params }));
    });
await send("HeapProfiler.enable");
const heapKiB = async () => {
    // workerd runs the collection but sends no reply to it; the next command is answered after it.
    ws.send(JSON.stringify({ id: ++lastId, method: "HeapProfiler.collectGarbage" }));
    const usage = await send("Runtime.getHeapUsage");
    return usage.result.usedSize / 1024;
};

const rssKiB = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))[1]);

console.log(`${which} Worker, workerd ${pid} under Miniflare alone; ${rounds} rounds of ${seconds} s, 4 connections`);
console.log(`JavaScript heap after a full collection, before the first round: ${(await heapKiB()).toFixed(0)} KiB`);
console.log("| round | requests | RSS before (MiB) | RSS after (MiB) | RSS KiB per request | JS heap after GC (KiB) |");
console.log("|---:|---:|---:|---:|---:|---:|");
try {
    for (let round = 1; round <= Number(rounds); round++) {
        const start = rssKiB();
        const out = execFileSync("wrk", ["-t1", "-c4", `-d${seconds}s`, `http://127.0.0.1:${port}/v1/health`]).toString();
        const requests = Number(/(\d+) requests in/.exec(out)[1]);
        const end = rssKiB();
        const heap = await heapKiB();
        console.log(
            `| ${round} | ${requests} | ${(start / 1024).toFixed(1)} | ${(end / 1024).toFixed(1)} | ${((end - start) / requests).toFixed(2)} | ${heap.toFixed(0)} |`,
        );
    }
} finally {
    ws.close();
    await mf.dispose();
}
