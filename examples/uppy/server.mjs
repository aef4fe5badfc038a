// The app side of the Uppy example: serves the page and the pinned Uppy builds, and does what
// only a server may, with the project's API key (which never reaches the browser):
//
//   POST /token     mints a short-lived upload token (POST /v1/tokens) for the page;
//   POST /uploaded  records a POST-policy upload once the browser has sent it: Companion's
//                   protocol has no completion call for single uploads, so the app completes it
//                   (finds it with GET /v1/uploads, then POST /v1/uploads/{id}/complete).
//                   Multipart uploads are completed by Uppy itself and need nothing here.
//
//   CARCOSA_API=http://127.0.0.1:8787 CARCOSA_API_KEY=carc_… node server.mjs --port 9243
import { readFile } from "node:fs/promises";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const here = path.dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({ options: { port: { type: "string", default: "9243" } } });
const api = (process.env.CARCOSA_API || "").replace(/\/$/, "");
const key = process.env.CARCOSA_API_KEY || "";
if (!api || !key) {
  console.error("set CARCOSA_API (the Worker's URL) and CARCOSA_API_KEY (a project API key)");
  process.exit(2);
}

const STATIC = {
  "/": ["index.html", "text/html; charset=utf-8"],
  "/uppy5/uppy.min.mjs": ["node_modules/uppy5/dist/uppy.min.mjs", "text/javascript"],
  "/uppy5/uppy.min.css": ["node_modules/uppy5/dist/uppy.min.css", "text/css"],
  "/uppy6/uppy.min.mjs": ["node_modules/uppy6/dist/uppy.min.mjs", "text/javascript"],
  "/uppy6/uppy.min.css": ["node_modules/uppy6/dist/uppy.min.css", "text/css"],
};

async function carcosa(method, route, body) {
  const res = await fetch(`${api}${route}`, {
    method,
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json().catch(() => null) };
}

async function mintToken() {
  const r = await carcosa("POST", "/v1/tokens", {
    permissions: ["uploads:create", "uploads:complete"],
    expiresIn: 900,
  });
  if (r.status !== 201) throw new Error(`POST /v1/tokens answered ${r.status}: ${JSON.stringify(r.body)}`);
  return { token: r.body.token, expiresAt: r.body.expiresAt, api };
}

/// Whether a POST upload's location (absolute, or a path as some servers send) names this
/// upload's object (path style: /{bucket}/{key}; virtual-host style: /{key}).
function keyIn(location, upload) {
  const pathname = decodeURIComponent(new URL(location, "http://localhost").pathname);
  return pathname === `/${upload.key}` || pathname.endsWith(`/${upload.key}`);
}

async function recordUpload({ location }) {
  if (typeof location !== "string") throw new Error("send {location}");
  // The Worker writes the upload's row just after answering s3/params: allow it a few seconds.
  for (let attempt = 0; attempt < 50; attempt++) {
    let cursor = null;
    do {
      const page = await carcosa("GET", `/v1/uploads?limit=100${cursor ? `&cursor=${cursor}` : ""}`);
      if (page.status !== 200) throw new Error(`GET /v1/uploads answered ${page.status}`);
      const upload = page.body.uploads.find((u) => keyIn(location, u));
      if (upload) {
        const done = await carcosa("POST", `/v1/uploads/${upload.id}/complete`, {});
        if (done.status !== 200) throw new Error(`completing ${upload.key}: ${done.status} ${JSON.stringify(done.body)}`);
        return done.body.file;
      }
      cursor = page.body.nextCursor;
    } while (cursor);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no upload for ${location}`);
}

function send(res, status, value) {
  res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
  res.end(JSON.stringify(value));
}

async function readJson(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  return JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}");
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, "http://localhost");
  try {
    if (req.method === "GET" && STATIC[url.pathname]) {
      const [file, type] = STATIC[url.pathname];
      const body = await readFile(path.join(here, file));
      res.writeHead(200, { "content-type": type, "cache-control": "no-store" });
      res.end(body);
    } else if (req.method === "POST" && url.pathname === "/token") {
      send(res, 200, await mintToken());
    } else if (req.method === "POST" && url.pathname === "/uploaded") {
      send(res, 200, { file: await recordUpload(await readJson(req)) });
    } else {
      send(res, 404, { error: "not_found" });
    }
  } catch (e) {
    send(res, 502, { error: "failed", message: e.message });
  }
});

server.listen(Number(args.port), "127.0.0.1", () => {
  console.log(`Uppy example: http://127.0.0.1:${args.port}/?uppy=5  and  http://127.0.0.1:${args.port}/?uppy=6`);
});
