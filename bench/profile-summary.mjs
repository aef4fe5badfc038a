// Where a saved CPU profile of the Worker's isolate (bench/cpu-profile.mjs) spends its samples:
// first by kind (the Worker's wasm, wasm-bindgen's JavaScript glue, the runtime's own native
// code), then function by function (self time). Glue functions are anonymous in the profile; with
// BUNDLE (the index.js `wrangler dev` runs, .wrangler/tmp/dev-*/index.js, while it runs) each is
// named by the wasm-bindgen import it implements (`__wbg_write`, `__wbg_connect`, ...).
//
//   node bench/profile-summary.mjs PROFILE [BUNDLE] [ROWS=40]
import { readFileSync } from "node:fs";

const [file, bundle, rows = "40"] = process.argv.slice(2);
if (!file) {
    console.error("usage: node bench/profile-summary.mjs PROFILE [BUNDLE] [ROWS]");
    process.exit(2);
}
const profile = JSON.parse(readFileSync(file, "utf8"));
const source = bundle ? readFileSync(bundle, "utf8").split("\n") : null;
const counts = new Map();
for (const s of profile.samples) counts.set(s, (counts.get(s) ?? 0) + 1);

// A glue function's import: the first `__wbg_…` name after where the function starts.
function glueName(frame) {
    if (!source) return `index.js:${frame.lineNumber}`;
    const text = source.slice(frame.lineNumber, frame.lineNumber + 40).join("\n").slice(frame.columnNumber);
    const m = text.match(/"(__wbg_[A-Za-z0-9_]+?)_[0-9a-f]{16}"/) ?? text.match(/(__wbg_[A-Za-z0-9_]+?)_[0-9a-f]{16}/);
    return m ? m[1] : `index.js:${frame.lineNumber}`;
}

const kinds = new Map(), self = new Map();
let total = 0;
for (const node of profile.nodes) {
    const c = counts.get(node.id) ?? 0;
    total += c;
    if (!c) continue;
    const { url, functionName } = node.callFrame;
    let kind, name;
    if (url.startsWith("wasm")) {
        kind = "the Worker's wasm";
        name = `wasm ${functionName.replace(/::h[0-9a-f]{16}$/, "")}`;
    } else if (url.endsWith("index.js")) {
        kind = "JavaScript glue (index.js)";
        name = functionName ? `js ${functionName}` : `glue ${glueName(node.callFrame)}`;
    } else if (url) {
        kind = `other JavaScript (${url.split("/").pop()})`;
        name = `js ${functionName || "(anon)"} ${url.split("/").pop()}`;
    } else {
        kind = `native: ${functionName || "(anon)"}`;
        name = `native ${functionName || "(anon)"}`;
    }
    kinds.set(kind, (kinds.get(kind) ?? 0) + c);
    self.set(name, (self.get(name) ?? 0) + c);
}
const pct = (c) => `${((100 * c) / total).toFixed(1).padStart(5)} %`;
console.log(`${total} samples over ${((profile.endTime - profile.startTime) / 1e6).toFixed(1)} s\n\nby kind:`);
for (const [k, c] of [...kinds].sort((a, b) => b[1] - a[1])) console.log(`${pct(c)}  ${k}`);
console.log("\nby function (self):");
for (const [k, c] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(rows))) console.log(`${pct(c)}  ${k.slice(0, 140)}`);
