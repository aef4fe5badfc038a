// The JavaScript Worker a Workers developer would write for carcosa-edge's presign paths: pg through
// the Hyperdrive binding, tweetnacl for the stored credentials, aws4fetch for SigV4 query signing.
// scripts/bench measures it next to the Rust Worker; same routes, SQL and answers (see bench/README.md).
import { Client } from "pg";
import nacl from "tweetnacl";
import { AwsClient } from "aws4fetch";

// The same one-statement scope lookup as the Rust Worker (src/store/mod.rs resolve_scope): the same
// rows and WHERE, written as a developer would, every table a join. SCOPE_STATEMENT=subqueries (a
// var) sends the Rust Worker's shape instead, the organisation and the team's share read through
// scalar subqueries, so that a comparison can leave the statement's planning out of it.
const SCOPE_COLUMNS = (org, share) => `k.id AS key_id, k.permissions, (EXTRACT(EPOCH FROM k."expiresAt") * 1000)::int8 AS expires_ms,
    p.id AS project_id, p.slug AS project_slug, p."multiTenant" AS multi_tenant, t.id AS team_id, t.slug AS team_slug,
    ${org} AS org_slug, b.id AS bucket_id, b.provider, b."bucketName" AS bucket_name, b.region, b.endpoint,
    b."encryptedAccessKey" AS access_key, b."encryptedSecretKey" AS secret_key, b."ownerTeamId" AS owner_team_id,
    ${share} AS share_level, tn.id AS tenant_id, tn.slug AS tenant_slug`;
const SCOPE_FROM = `FROM "ApiKey" k JOIN "Project" p ON p.id = k."projectId" JOIN "Bucket" b ON b.id = p."bucketId"
  LEFT JOIN "Team" t ON t.id = p."teamId"`;
const SCOPE_WHERE = `LEFT JOIN "Tenant" tn ON tn."projectId" = p.id AND tn.slug = $2
  WHERE k."keyHash" = $1 AND k."revokedAt" IS NULL LIMIT 1`;
const SCOPE_SQL = {
  joins: `SELECT ${SCOPE_COLUMNS("o.slug", 'a."accessLevel"')}
  ${SCOPE_FROM} LEFT JOIN "Organization" o ON o.id = t."organizationId"
  LEFT JOIN "BucketTeamAccess" a ON a."bucketId" = b.id AND a."teamId" = p."teamId"
  ${SCOPE_WHERE}`,
  subqueries: `SELECT ${SCOPE_COLUMNS(
    '(SELECT o.slug FROM "Organization" o WHERE o.id = t."organizationId" LIMIT 1)',
    '(SELECT a."accessLevel" FROM "BucketTeamAccess" a WHERE a."bucketId" = b.id AND a."teamId" = p."teamId" LIMIT 1)',
  )}
  ${SCOPE_FROM}
  ${SCOPE_WHERE}`,
};
const TS = (n) => `(to_timestamp($${n}::float8 / 1000) AT TIME ZONE 'UTC')`;
const INSERT_UPLOAD = `INSERT INTO "Upload" (id, "projectId", path, status, "createdAt", size, "contentType", filename,
    "tenantId", "apiKeyId", "bucketId", "expiresAt", metadata)
  VALUES ($1, $2, $3, 'initiated', ${TS(4)}, $5, $6, $7, $8, $9, $10, ${TS(11)}, $12)`;
const TOUCH_KEY = `UPDATE "ApiKey" SET "lastUsedAt" = ${TS(2)} WHERE id = $1 AND ("lastUsedAt" IS NULL OR "lastUsedAt" < ${TS(2)} - interval '1 minute')`;
const LEGACY = { write: ["uploads:create", "uploads:init", "uploads:complete"], read: ["files:read"] }; // the grants these routes need
const touched = new Map(); // key id -> last lastUsedAt write by this isolate (ms), as the Rust Worker throttles it

class HttpError extends Error {
  constructor(status, code, message) { super(message); this.status = status; this.code = code; }
}
const json = (status, body) => Response.json(body, { status });
const b64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));

async function sha256Hex(text) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

// Stored as `v1:<b64 nonce>:<b64 mac‖ciphertext>`, libsodium's secretbox layout, which tweetnacl opens as is.
function decrypt(stored, key) {
  const [version, nonce, sealed] = stored.split(":");
  const plain = version === "v1" && nacl.secretbox.open(b64(sealed), b64(nonce), key);
  if (!plain) throw new HttpError(500, "internal", "stored credentials do not decrypt");
  return new TextDecoder().decode(plain);
}

function allows(grants, wanted) {
  const list = Array.isArray(grants) ? grants : ["read", "write"];
  return list.some((g) => g === "*" || g === "admin" || wanted.some((w) => g === w || g === w.split(":")[0] + ":*" || (LEGACY[g] || []).includes(w)));
}

// Key → scope, checked as src/scope.rs does: expiry, permission, bucket access, tenant.
async function authorize(request, env, db, wanted, needsWrite, tenant) {
  const raw = (request.headers.get("authorization") || "").replace(/^bearer\s+/i, "") || request.headers.get("x-api-key") || "";
  if (!/^carc_[A-Za-z0-9_-]{43}$/.test(raw)) throw new HttpError(401, "invalid_api_key", "invalid API key");
  const { rows: [row] } = await db.query(SCOPE_SQL[env.SCOPE_STATEMENT] ?? SCOPE_SQL.joins, [await sha256Hex(raw), tenant ?? null]);
  if (!row) throw new HttpError(401, "invalid_api_key", "invalid API key");
  if (row.expires_ms !== null && Number(row.expires_ms) <= Date.now()) throw new HttpError(401, "api_key_expired", "the API key has expired");
  if (!allows(row.permissions, wanted)) throw new HttpError(403, "permission_denied", `the API key lacks the ${wanted[0]} permission`);
  const access = !row.team_id ? 0 : row.team_id === row.owner_team_id || ["READ_WRITE", "ADMIN"].includes(row.share_level) ? 2 : row.share_level === "READ_ONLY" ? 1 : 0;
  if (access < (needsWrite ? 2 : 1)) throw new HttpError(403, access ? "bucket_read_only" : "bucket_access_denied", "no access to the bucket");
  if (tenant && !row.multi_tenant) throw new HttpError(400, "tenant_not_supported", "this project is not multi-tenant");
  if (!tenant && row.multi_tenant && needsWrite) throw new HttpError(400, "tenant_required", "name a tenant");
  if (tenant && !row.tenant_id) throw new HttpError(404, "tenant_not_found", "no such tenant");
  const prefix = [row.org_slug, row.team_slug, row.project_slug, ...(tenant ? ["tenants", row.tenant_slug] : [])].join("/");
  return { row, prefix };
}

async function presign(env, row, key, method, expiresIn, headers = {}) {
  const vaultKey = b64(env.CREDENTIALS_ENCRYPTION_KEY.replace(/^base64:/, ""));
  const region = row.provider.toLowerCase() === "r2" ? "auto" : row.region || "us-east-1";
  const path = key.split("/").map(encodeURIComponent).join("/");
  const url = new URL(row.endpoint ? `${row.endpoint.replace(/\/$/, "")}/${row.bucket_name}/${path}` : `https://${row.bucket_name}.s3.${region}.amazonaws.com/${path}`);
  url.searchParams.set("X-Amz-Expires", String(expiresIn));
  const aws = new AwsClient({ accessKeyId: decrypt(row.access_key, vaultKey), secretAccessKey: decrypt(row.secret_key, vaultKey), service: "s3", region });
  // allHeaders: aws4fetch leaves content-type and content-length unsigned otherwise.
  const signed = await aws.sign(url, { method, headers, aws: { signQuery: true, allHeaders: true } });
  return signed.url;
}

function expiry(body) {
  const secs = body.expiresIn ?? 900;
  if (!Number.isInteger(secs) || secs < 1 || secs > 604800) throw new HttpError(400, "invalid_expiry", "expiresIn must be 1-604800");
  return secs;
}

async function createUpload(request, env, db) {
  const body = await request.json().catch(() => { throw new HttpError(400, "invalid_json", "the body is not JSON"); });
  const original = String(body.filename ?? body.fileName ?? "").replace(/[\u0000-\u001f\u007f-\u009f]/g, "").trim();
  const name = original.split(/[\\/]/).pop().trim().slice(0, 90);
  if (!name || name === "." || name === "..") throw new HttpError(400, "invalid_filename", "filename is required");
  const { contentType, size, metadata } = body;
  if (contentType !== undefined && !/^[\w!#$&^.+-]+\/[\w!#$&^.+-]+(;[ -~]*)?$/.test(contentType)) throw new HttpError(400, "invalid_content_type", "bad contentType");
  if (size !== undefined && !(Number.isSafeInteger(size) && size >= 0 && size <= 5 * 1024 ** 3)) throw new HttpError(413, "file_too_large", "size must be at most 5 GiB");
  const expiresIn = expiry(body);
  const { row, prefix } = await authorize(request, env, db, ["uploads:create", "uploads:init"], true, body.tenant ?? body.tenantId);
  const uploadId = "c" + [...crypto.getRandomValues(new Uint8Array(12))].map((b) => b.toString(16).padStart(2, "0")).join("");
  const key = `${prefix}/${uploadId}/${name}`;
  const headers = {};
  if (size !== undefined) headers["content-length"] = String(size);
  if (contentType !== undefined) headers["content-type"] = contentType;
  const now = Date.now();
  const url = await presign(env, row, key, "PUT", expiresIn, headers);
  await db.query(INSERT_UPLOAD, [uploadId, row.project_id, key, now, size ?? null, contentType ?? null, original,
    row.tenant_id, row.key_id, row.bucket_id, now + expiresIn * 1000, metadata ?? null]);
  const expiresAt = new Date(now + expiresIn * 1000).toISOString();
  return { row, response: json(201, { uploadId, key, method: "PUT", url, headers, expiresIn, expiresAt }) };
}

async function createDownload(request, env, db) {
  const body = await request.json().catch(() => { throw new HttpError(400, "invalid_json", "the body is not JSON"); });
  const expiresIn = expiry(body);
  const { row, prefix } = await authorize(request, env, db, ["files:read"], false, body.tenant ?? body.tenantId);
  const key = String(body.key ?? "");
  if (!key.startsWith(prefix + "/") || key.split("/").some((s) => !s || s === "." || s === "..") || key.length > 1024) throw new HttpError(403, "key_outside_scope", "the key is outside this project's prefix");
  const now = Date.now();
  const url = await presign(env, row, key, "GET", expiresIn);
  return { row, response: json(200, { key, method: "GET", url, expiresIn, expiresAt: new Date(now + expiresIn * 1000).toISOString() }) };
}

export default {
  async fetch(request, env, ctx) {
    const { pathname } = new URL(request.url);
    if (pathname === "/v1/health") return json(200, { status: "ok" });
    const route = { "/v1/uploads": createUpload, "/v1/downloads": createDownload }[pathname];
    if (!route) return json(404, { error: "not_found", message: "no such route" });
    if (request.method !== "POST") return json(405, { error: "method_not_allowed", message: "use POST" });
    // A connection per request, as Cloudflare's Hyperdrive examples do: Hyperdrive pools the real
    // connections to PostgreSQL. It is closed after the response, inside waitUntil, with the
    // lastUsedAt write (once a minute per key and isolate, as the Rust Worker does).
    const db = new Client({ connectionString: env.HYPERDRIVE.connectionString });
    let row;
    try {
      await db.connect();
      const out = await route(request, env, db);
      row = out.row;
      return out.response;
    } catch (e) {
      if (e instanceof HttpError) return json(e.status, { error: e.code, message: e.message });
      console.error("request failed:", e.message);
      return json(503, { error: "database_unavailable", message: "try again later" });
    } finally {
      const now = Date.now(), last = row && touched.get(row.key_id);
      const touch = row && !(last > now - 60000) ? (touched.set(row.key_id, now), db.query(TOUCH_KEY, [row.key_id, now])) : null;
      ctx.waitUntil(Promise.resolve(touch).catch(() => {}).finally(() => db.end().catch(() => {})));
    }
  },
};
