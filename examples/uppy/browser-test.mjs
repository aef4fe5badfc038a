// Drives the example page in real Chromium with Uppy 5 and with Uppy 6: uploads a small file
// (a POST policy) and a file over 5 MiB (multipart) through the Worker's Companion routes to the
// S3 server, then checks through the API that each has a File row of the right size and that the
// stored object holds exactly the bytes sent.
//
//   CARCOSA_API=… CARCOSA_API_KEY=carc_… PAGE_URL=http://127.0.0.1:9243 node browser-test.mjs
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";

const api = (process.env.CARCOSA_API || "").replace(/\/$/, "");
const key = process.env.CARCOSA_API_KEY || "";
const page_url = (process.env.PAGE_URL || "").replace(/\/$/, "");
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
if (!api || !key || !page_url) {
  console.error("set CARCOSA_API, CARCOSA_API_KEY and PAGE_URL");
  process.exit(2);
}

const sha256 = (bytes) => createHash("sha256").update(bytes).digest("hex");
function check(condition, message) {
  if (!condition) throw new Error(message);
}

async function carcosa(method, route, body) {
  const res = await fetch(`${api}${route}`, {
    method,
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

async function allFiles() {
  const files = [];
  let cursor = null;
  do {
    const page = await carcosa("GET", `/v1/files?limit=100${cursor ? `&cursor=${cursor}` : ""}`);
    check(page.status === 200, `GET /v1/files: ${page.status} ${JSON.stringify(page.body)}`);
    files.push(...page.body.files);
    cursor = page.body.nextCursor;
  } while (cursor);
  return files;
}

/// The stored object's bytes, through a presigned GET.
async function stored(objectKey) {
  const d = await carcosa("POST", "/v1/downloads", { key: objectKey });
  check(d.status === 200, `POST /v1/downloads: ${d.status} ${JSON.stringify(d.body)}`);
  const res = await fetch(d.body.url);
  check(res.ok, `GET ${objectKey}: ${res.status}`);
  return Buffer.from(await res.arrayBuffer());
}

async function uploadWith(browser, major, dir) {
  const tag = `u${major}-${randomBytes(3).toString("hex")}`;
  const small = { name: `small-${tag}.txt`, bytes: Buffer.from(`hello from Uppy ${major}\n`.repeat(100)) };
  const big = { name: `big-${tag}.bin`, bytes: randomBytes(6 * 1024 * 1024 + 123) };
  for (const f of [small, big]) {
    f.path = path.join(dir, f.name);
    await writeFile(f.path, f.bytes);
  }

  const page = await browser.newPage();
  const console_lines = [];
  page.on("console", (m) => console_lines.push(`${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => console_lines.push(`pageerror: ${e.message}`));
  try {
    await page.goto(`${page_url}/?uppy=${major}`);
    await page.waitForFunction(() => window.carcosaReady === true, null, { timeout: 30_000 });
    await page.locator(".uppy-Dashboard-input").first().setInputFiles([small.path, big.path]);
    await page.locator(".uppy-StatusBar-actionBtn--upload").click();
    await page.waitForFunction(() => window.carcosaResult !== undefined, null, { timeout: 120_000 });
    const result = await page.evaluate(() => window.carcosaResult);
    check(
      result.failed.length === 0 && result.successful.length === 2,
      `Uppy ${major}: ${JSON.stringify(result)}`,
    );
    check(
      result.recorded.length === 1 && result.recorded[0].status === 200,
      `Uppy ${major}: the POST upload was not recorded: ${JSON.stringify(result.recorded)}`,
    );
  } catch (e) {
    console.error(`--- Uppy ${major} page console:\n${console_lines.join("\n")}`);
    throw e;
  } finally {
    await page.close();
  }

  const files = await allFiles();
  for (const f of [small, big]) {
    const row = files.find((r) => r.filename === f.name);
    check(row, `Uppy ${major}: no File row for ${f.name}`);
    check(row.size === f.bytes.length, `Uppy ${major}: ${f.name} recorded with ${row.size} bytes, sent ${f.bytes.length}`);
    const bytes = await stored(row.key);
    check(sha256(bytes) === sha256(f.bytes), `Uppy ${major}: the stored ${f.name} differs from what was sent`);
    console.log(`Uppy ${major}: ${f.name} (${f.bytes.length} bytes) stored and recorded as ${row.key}`);
  }
}

const dir = await mkdtemp(path.join(tmpdir(), "carcosa-uppy-"));
const browser = await chromium.launch({
  executablePath,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
});
try {
  for (const major of [5, 6]) {
    await uploadWith(browser, major, dir);
  }
  console.log("Uppy 5 and Uppy 6: POST-policy and multipart uploads stored and recorded");
} finally {
  await browser.close();
  await rm(dir, { recursive: true, force: true });
}
