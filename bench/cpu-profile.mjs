// CPU profile of a Worker isolate under `wrangler dev`, through workerd's inspector: starts V8's
// sampling profiler, waits, stops, writes the profile (open it in Chrome DevTools) and prints the
// functions with the most samples.
//
//   node_modules/.bin/node bench/cpu-profile.mjs INSPECTOR_PORT SECONDS OUT.cpuprofile [TARGET]
//   (Node 22: its WebSocket client)
//
// INSPECTOR_PORT: the port of the Worker's workerd (started with --inspector-addr) that answers
// GET /json with its targets (`ss -ltnp | grep workerd`, then try each); TARGET defaults to
// core:user:carcosa-edge. Run load (e.g. wrk) meanwhile. Names of wasm functions need a build
// that keeps them: CARCOSA_WASM_NAMES=1 bash scripts/build-worker.sh --force.
const [port, seconds, out, wanted] = process.argv.slice(2);
const targets = await (await fetch(`http://127.0.0.1:${port}/json`)).json();

const target = targets.find((t) => t.id === (wanted ?? "core:user:carcosa-edge"));
if (!target) {
    console.error(`no such target; this inspector has: ${targets.map((t) => t.id).join(", ")}`);
    process.exit(2);
}
const ws = new WebSocket(target.webSocketDebuggerUrl);
await new Promise((r, j) => { ws.onopen = r; ws.onerror = j; });
let id = 0;
const pending = new Map();

ws.onmessage = (m) => { const d = JSON.parse(m.data); if (d.id && pending.has(d.id)) { pending.get(d.id)(d); pending.delete(d.id); } };
const send = (method, params = {}) => new Promise((r) => { const i = ++id; pending.set(i, r); ws.send(JSON.stringify({ id: i, method, params })); });
// workerd's inspector leaves Profiler.enable unanswered until the session has enabled Runtime.
await send("Runtime.enable");
await send("Profiler.enable");
await send("Profiler.setSamplingInterval", { interval: 50 });
await send("Profiler.start");
console.error("profiling");
await new Promise((r) => setTimeout(r, Number(seconds) * 1000));
const res = await send("Profiler.stop");
const profile = res.result.profile;
(await import("node:fs")).writeFileSync(out, JSON.stringify(profile));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const counts = new Map();
for (const s of profile.samples) counts.set(s, (counts.get(s) ?? 0) + 1);
const self = new Map();
let total = 0;
for (const [nid, c] of counts) {
  const n = byId.get(nid);
  const name = `${n.callFrame.functionName || "(anon)"} ${n.callFrame.url.split("/").pop()}:${n.callFrame.lineNumber}`;
  self.set(name, (self.get(name) ?? 0) + c);
  total += c;
}
const rows = [...self].sort((a, b) => b[1] - a[1]).slice(0, 60);
for (const [name, c] of rows) console.log(`${(100 * c / total).toFixed(1).padStart(5)}%  ${c}  ${name}`);
ws.close();
