// Drives one kind of flow against a running Worker (e.g. `scripts/dev --detach`), 4 at a time, for
// SECONDS: `complete` = POST /v1/uploads, the PUT to S3 with the listed headers, then
// POST /v1/uploads/{id}/complete (a database connection each); `tokens` = POST /v1/tokens.
// Used to see which flow moves the Worker's memory line ("isolate memory: …" in its log, once a
// minute; RELIABILITY.md).
//
//   node_modules/.bin/node bench/flow-loop.mjs http://127.0.0.1:8787 API_KEY SECONDS complete|tokens
const [base, key, seconds, what] = process.argv.slice(2);
const end = Date.now() + Number(seconds) * 1000;
let n = 0, bad = 0;
async function flow() {
  while (Date.now() < end) {
    if (what === "tokens") {
      const r = await fetch(`${base}/v1/tokens`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: "{}" });
      await r.text(); if (r.status !== 201) bad++; n++; continue;
    }
    const up = await (await fetch(`${base}/v1/uploads`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: JSON.stringify({ filename: "c.txt", contentType: "text/plain", size: 5 }) })).json();
    const put = await fetch(up.url, { method: "PUT", headers: up.headers, body: "hello" });
    await put.text();
    const c = await fetch(`${base}/v1/uploads/${up.uploadId}/complete`, { method: "POST", headers: { authorization: `Bearer ${key}` } });
    await c.text(); if (c.status !== 200) { bad++; if (bad < 3) console.log(c.status, put.status); }
    n++;
  }
}
await Promise.all([flow(), flow(), flow(), flow()]);
console.log(`${what} flows=${n} bad=${bad}`);
