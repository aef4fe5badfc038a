// The JavaScript heap of a Worker isolate under `wrangler dev`, through workerd's inspector:
// used and total size before and after a full collection, one line per call.
//
//   node_modules/.bin/node bench/isolate-heap.mjs INSPECTOR_PORT [TARGET] [EVERY_SECONDS COUNT]
//   (Node 22: its WebSocket client)
//
// INSPECTOR_PORT: as for bench/cpu-profile.mjs (`ss -ltnp | grep workerd`, the port whose
// GET /json lists the target); TARGET defaults to core:user:carcosa-edge. With EVERY_SECONDS and
// COUNT it samples COUNT times, EVERY_SECONDS apart. Used beside scripts/soak: the Worker's
// wasm memory and the bytes its Rust code holds are in its own log line, this is the rest of
// the isolate.
const [port, wanted = "core:user:carcosa-edge", every = "0", count = "1"] = process.argv.slice(2);
const targets = await (await fetch(`http://127.0.0.1:${port}/json`)).json();
const target = targets.find((t) => t.id === wanted);
if (!target) {
    console.error(`no such target; this inspector has: ${targets.map((t) => t.id).join(", ")}`);
    process.exit(2);
}
const mib = (bytes) => (bytes / 1048576).toFixed(2);
for (let i = 0; i < Number(count); i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, Number(every) * 1000));
    // A session per sample: workerd answers a new session at once, an idle one not always.
    const ws = new WebSocket(target.webSocketDebuggerUrl);
    await new Promise((r, j) => { ws.onopen = r; ws.onerror = j; });
    let id = 0;
    const pending = new Map();
    ws.onmessage = (m) => { const d = JSON.parse(m.data); if (d.id && pending.has(d.id)) { pending.get(d.id)(d); pending.delete(d.id); } };
    const send = (method) => new Promise((r) => { const n = ++id; pending.set(n, r); ws.send(JSON.stringify({ id: n, method })); });
    const before = (await send("Runtime.getHeapUsage")).result;
    await send("HeapProfiler.collectGarbage");
    const after = (await send("Runtime.getHeapUsage")).result;
    console.log(`${new Date().toISOString()} JS heap used ${mib(before.usedSize)} MiB, after a collection ${mib(after.usedSize)} MiB (of ${mib(after.totalSize)} MiB)`);
    ws.close();
}
process.exit(0);
