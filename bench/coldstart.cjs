// node bench/coldstart.cjs FILE: one fresh process = one cold compile. Prints compile and instantiate ms.
const fs = require("fs");
const bytes = fs.readFileSync(process.argv[2]);
const t0 = process.hrtime.bigint();
const mod = new WebAssembly.Module(bytes);
const t1 = process.hrtime.bigint();
const imports = {};
for (const imp of WebAssembly.Module.imports(mod)) {
  imports[imp.module] ??= {};
  if (imp.kind === "function") imports[imp.module][imp.name] = () => {};
  else if (imp.kind === "table") imports[imp.module][imp.name] = new WebAssembly.Table({ initial: 0, element: "externref" });
  else if (imp.kind === "memory") imports[imp.module][imp.name] = new WebAssembly.Memory({ initial: 17 });
  else if (imp.kind === "tag") imports[imp.module][imp.name] = WebAssembly.JSTag ?? new WebAssembly.Tag({ parameters: ["externref"] });
  else if (imp.kind === "global") imports[imp.module][imp.name] = new WebAssembly.Global({ value: "i32", mutable: true }, 0);
}
const instance = new WebAssembly.Instance(mod, imports);
const t2 = process.hrtime.bigint();
console.log(JSON.stringify({ compile_ms: Number(t1 - t0) / 1e6, instantiate_ms: Number(t2 - t1) / 1e6, exports: Object.keys(instance.exports).length }));
