//! Migrations against a real PostgreSQL: fresh databases, repeated and
//! concurrent runs, adoption of a database created by the upstream tooling,
//! and refusal of modified migrations.

use std::collections::{BTreeMap, BTreeSet};
use std::error::Error as _;
use std::time::{SystemTime, UNIX_EPOCH};

use carcosa_edge::store::migrate::{migrate, status, MigrateError, MIGRATIONS};
use tokio_postgres::Client;

use crate::pg::{empty_db, fresh_db, migrated};

pub(crate) const UPSTREAM_FIXTURE: &str = include_str!("../fixtures/upstream_prisma.sql");

/// The upstream tables and columns: `name udt` with `!` for NOT NULL.
const UPSTREAM_TABLES: &[(&str, &str)] = &[
    ("Organization", "id text!, name text!, slug text!, description text, logo text, createdAt timestamp!, updatedAt timestamp!, ownerId text!"),
    ("Team", "id text!, name text!, slug text!, description text, organizationId text!, createdAt timestamp!, updatedAt timestamp!"),
    ("TeamMember", "id text!, teamId text!, userId text!, role TeamRole!, joinedAt timestamp!"),
    ("OrganizationMember", "id text!, organizationId text!, userId text!, role OrganizationRole!, joinedAt timestamp!"),
    ("Invitation", "id text!, email text!, organizationId text, teamId text, role TeamRole!, status InvitationStatus!, invitedBy text!, expiresAt timestamp!, acceptedAt timestamp, createdAt timestamp!"),
    ("User", "id text!, name text, email text, emailVerified timestamp, image text, passwordHash text"),
    ("Account", "id text!, userId text!, type text!, provider text!, providerAccountId text!, refresh_token text, access_token text, expires_at int4, token_type text, scope text, id_token text, session_state text"),
    ("Session", "id text!, sessionToken text!, userId text!, expires timestamp!"),
    ("VerificationToken", "identifier text!, token text!, expires timestamp!"),
    ("Bucket", "id text!, name text!, provider text!, bucketName text!, region text, endpoint text, encryptedAccessKey text!, encryptedSecretKey text!, status text!, lastChecked timestamp, ownerTeamId text!, createdAt timestamp!, updatedAt timestamp!"),
    ("BucketTeamAccess", "id text!, bucketId text!, teamId text!, accessLevel text!, createdAt timestamp!"),
    ("Project", "id text!, name text!, slug text!, ownerId text!, createdAt timestamp!, updatedAt timestamp!, bucketId text!, multiTenant bool!, teamId text"),
    ("File", "id text!, projectId text!, tenantId text, path text!, filename text!, size int8!, mimeType text!, version text!, metadata jsonb, uploadedAt timestamp!, lastAccessed timestamp"),
    ("Transform", "id text!, projectId text!, fileId text!, originalPath text!, transformPath text!, transformOptions jsonb!, status text!, error text, processingTime int4, createdAt timestamp!, completedAt timestamp"),
    ("Upload", "id text!, projectId text!, path text!, status text!, createdAt timestamp!"),
    ("Tenant", "id text!, projectId text!, slug text!, metadata jsonb, createdAt timestamp!"),
    ("ApiKey", "id text!, projectId text!, label text, keyHash text!, permissions jsonb!, lastUsedAt timestamp, createdAt timestamp!, revokedAt timestamp"),
    ("Token", "id text!, projectId text!, name text!, description text, keyHash text!, createdAt timestamp!, lastUsedAt timestamp, revokedAt timestamp"),
    ("Version", "id text!, projectId text!, versionName text!, isActive bool!, createdAt timestamp!"),
    ("RateLimitConfig", "id text!, projectId text!, uploadsPerMinute int4!, transformsPerMinute int4!, bandwidthPerMonthMiB int4, updatedAt timestamp!"),
    ("UsageDaily", "id text!, projectId text!, day timestamp!, uploads int4!, transforms int4!, bandwidthBytes int8!"),
    ("AuditLog", "id text!, projectId text!, userId text!, action text!, resource text!, details jsonb, ipAddress text, userAgent text, createdAt timestamp!"),
];

/// Columns added by the edge, all nullable.
const EDGE_COLUMNS: &[(&str, &str)] = &[
    ("Upload", "size int8, contentType text, filename text, tenantId text, apiKeyId text, bucketId text, fileId text, expiresAt timestamp, completedAt timestamp, s3UploadId text, metadata jsonb"),
    ("ApiKey", "expiresAt timestamp"),
    ("Project", "edgeMaxUploadBytes int8"),
];

/// Indexes the upstream migrations create (besides primary keys).
const UPSTREAM_INDEXES: &[&str] = &[
    "Organization_slug_key",
    "Organization_ownerId_idx",
    "Team_organizationId_slug_key",
    "Team_organizationId_idx",
    "TeamMember_teamId_userId_key",
    "TeamMember_teamId_idx",
    "TeamMember_userId_idx",
    "OrganizationMember_organizationId_userId_key",
    "OrganizationMember_organizationId_idx",
    "OrganizationMember_userId_idx",
    "Invitation_email_idx",
    "Invitation_organizationId_idx",
    "Invitation_teamId_idx",
    "Invitation_status_idx",
    "Bucket_ownerTeamId_bucketName_provider_key",
    "BucketTeamAccess_bucketId_teamId_key",
    "BucketTeamAccess_bucketId_idx",
    "BucketTeamAccess_teamId_idx",
    "Project_slug_key",
    "Project_teamId_idx",
    "Project_bucketId_idx",
    "File_projectId_tenantId_path_version_key",
    "File_projectId_tenantId_idx",
    "File_projectId_version_idx",
    "Transform_projectId_status_idx",
    "Transform_fileId_idx",
    "Tenant_projectId_slug_key",
    "ApiKey_projectId_idx",
    "ApiKey_keyHash_idx",
    "Token_projectId_idx",
    "Version_projectId_versionName_key",
    "Version_projectId_isActive_idx",
    "RateLimitConfig_projectId_key",
    "UsageDaily_projectId_day_key",
    "UsageDaily_projectId_day_idx",
    "AuditLog_projectId_action_idx",
    "AuditLog_projectId_createdAt_idx",
    "AuditLog_userId_createdAt_idx",
    "User_email_key",
    "Account_provider_providerAccountId_key",
    "Session_sessionToken_key",
    "VerificationToken_token_key",
    "VerificationToken_identifier_token_key",
];

/// Indexes schema.prisma declares but the upstream migrations never create.
const DRIFT_INDEXES: &[&str] = &[
    "Bucket_ownerTeamId_idx",
    "Bucket_status_idx",
    "Project_ownerId_idx",
    "Project_createdAt_idx",
    "File_projectId_uploadedAt_idx",
    "File_projectId_mimeType_idx",
    "File_lastAccessed_idx",
    "Transform_projectId_createdAt_idx",
    "Transform_status_createdAt_idx",
    "Upload_projectId_idx",
    "Upload_projectId_status_idx",
    "Upload_projectId_createdAt_idx",
    "Token_keyHash_idx",
    "AuditLog_action_idx",
    "AuditLog_resource_idx",
];

const EDGE_INDEXES: &[&str] = &["Upload_projectId_path_idx", "Upload_fileId_idx"];

/// Every foreign key with its ON DELETE action (pg_constraint.confdeltype:
/// c cascade, r restrict, n set null).
const FOREIGN_KEYS: &[(&str, char)] = &[
    ("Organization_ownerId_fkey", 'c'),
    ("Team_organizationId_fkey", 'c'),
    ("TeamMember_teamId_fkey", 'c'),
    ("TeamMember_userId_fkey", 'c'),
    ("OrganizationMember_organizationId_fkey", 'c'),
    ("OrganizationMember_userId_fkey", 'c'),
    ("Invitation_invitedBy_fkey", 'c'),
    ("Invitation_organizationId_fkey", 'c'),
    ("Invitation_teamId_fkey", 'c'),
    ("Bucket_ownerTeamId_fkey", 'c'),
    ("BucketTeamAccess_bucketId_fkey", 'c'),
    ("BucketTeamAccess_teamId_fkey", 'c'),
    ("Project_bucketId_fkey", 'r'),
    ("Project_ownerId_fkey", 'c'),
    ("Project_teamId_fkey", 'n'),
    ("File_projectId_fkey", 'c'),
    ("File_tenantId_fkey", 'n'),
    ("Transform_fileId_fkey", 'c'),
    ("Transform_projectId_fkey", 'c'),
    ("Upload_projectId_fkey", 'r'),
    ("Tenant_projectId_fkey", 'c'),
    ("ApiKey_projectId_fkey", 'r'),
    ("Token_projectId_fkey", 'c'),
    ("Version_projectId_fkey", 'r'),
    ("RateLimitConfig_projectId_fkey", 'r'),
    ("UsageDaily_projectId_fkey", 'r'),
    ("AuditLog_projectId_fkey", 'c'),
    ("AuditLog_userId_fkey", 'c'),
    ("Account_userId_fkey", 'c'),
    ("Session_userId_fkey", 'c'),
    // edge columns
    ("Upload_tenantId_fkey", 'n'),
    ("Upload_apiKeyId_fkey", 'n'),
    ("Upload_bucketId_fkey", 'n'),
    ("Upload_fileId_fkey", 'n'),
];

/// Bookkeeping tables, excluded from schema comparisons.
const BOOKKEEPING: &[&str] = &["_carcosa_edge_migrations", "_prisma_migrations"];

// -- helpers ----------------------------------------------------------------

type Columns = BTreeMap<String, BTreeMap<String, (String, bool)>>;

fn parse_columns(spec: &[(&str, &str)]) -> Columns {
    let mut out = Columns::new();
    for (table, cols) in spec {
        let entry = out.entry((*table).to_owned()).or_default();
        for col in cols.split(", ") {
            let (name, ty) = col.split_once(' ').expect("`name type` pair");
            let not_null = ty.ends_with('!');
            let ty = ty.trim_end_matches('!');
            entry.insert(name.to_owned(), (ty.to_owned(), not_null));
        }
    }
    out
}

/// (table -> column -> (udt_name, NOT NULL)) for all non-bookkeeping tables.
async fn columns(client: &Client) -> Columns {
    let rows = client
        .query(
            "SELECT table_name::text, column_name::text, udt_name::text, is_nullable = 'NO'
             FROM information_schema.columns
             WHERE table_schema = current_schema()",
            &[],
        )
        .await
        .unwrap();
    let mut out = Columns::new();
    for row in rows {
        let table: String = row.get(0);
        if BOOKKEEPING.contains(&table.as_str()) {
            continue;
        }
        out.entry(table)
            .or_default()
            .insert(row.get(1), (row.get(2), row.get(3)));
    }
    out
}

async fn index_names(client: &Client) -> BTreeSet<String> {
    client
        .query(
            "SELECT indexname::text FROM pg_indexes WHERE schemaname = current_schema()",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<_, String>(0))
        .filter(|n| !n.ends_with("_pkey"))
        .collect()
}

/// Everything about the schema that matters for compatibility, one line per
/// object, ignoring column order and bookkeeping tables.
pub(crate) async fn schema_snapshot(client: &Client) -> BTreeSet<String> {
    let queries = [
        "SELECT format('column %s.%s %s(%s) nullable=%s default=%s',
                       table_name, column_name, udt_name, datetime_precision, is_nullable, column_default)
         FROM information_schema.columns
         WHERE table_schema = current_schema()
           AND table_name NOT IN ('_carcosa_edge_migrations', '_prisma_migrations')",
        "SELECT format('index %s %s', indexname, indexdef)
         FROM pg_indexes
         WHERE schemaname = current_schema()
           AND tablename NOT IN ('_carcosa_edge_migrations', '_prisma_migrations')",
        "SELECT format('constraint %s on %s: %s', c.conname, c.conrelid::regclass, pg_get_constraintdef(c.oid))
         FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
         WHERE t.relnamespace = current_schema()::regnamespace
           AND t.relname NOT IN ('_carcosa_edge_migrations', '_prisma_migrations')",
        "SELECT format('enum %s %s', t.typname, string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder))
         FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid
         WHERE t.typnamespace = current_schema()::regnamespace
         GROUP BY t.typname",
    ];
    let mut out = BTreeSet::new();
    for q in queries {
        for row in client.query(q, &[]).await.unwrap() {
            out.insert(row.get::<_, String>(0));
        }
    }
    out
}

/// (row count, md5 of the sorted rows) of `table`, over `cols` only.
async fn table_digest(client: &Client, table: &str, cols: &[String]) -> (i64, String) {
    let list = cols.iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>().join(", ");
    let sql = format!(
        "SELECT count(*), coalesce(md5(string_agg(r, E'\\n' ORDER BY r)), '')
         FROM (SELECT ROW({list})::text AS r FROM \"{table}\") s"
    );
    let row = client.query_one(&sql, &[]).await.unwrap();
    (row.get(0), row.get(1))
}

pub(crate) async fn count(client: &Client, sql: &str) -> i64 {
    client.query_one(sql, &[]).await.unwrap().get(0)
}

async fn exists(client: &Client, relation: &str) -> bool {
    client
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&relation])
        .await
        .unwrap()
        .get(0)
}

fn all_versions() -> Vec<i32> {
    MIGRATIONS.iter().map(|m| m.version).collect()
}

// -- fresh database ---------------------------------------------------------

#[tokio::test]
async fn fresh_database_gets_every_migration() {
    let mut db = empty_db().await;
    let report = migrated(&mut db.client).await;
    assert_eq!(
        report.applied.iter().map(|a| a.version).collect::<Vec<_>>(),
        all_versions()
    );
    assert_eq!(
        report.applied.iter().map(|a| a.name).collect::<Vec<_>>(),
        [
            "upstream_schema",
            "upstream_missing_indexes",
            "edge_columns",
            "project_upload_limit"
        ]
    );
    assert_eq!(report.already_applied, 0);
    assert!(!report.adopted);
    assert!(!report.is_noop());

    let recorded = db
        .client
        .query(
            r#"SELECT "version", "name", "checksum" FROM "_carcosa_edge_migrations" ORDER BY 1"#,
            &[],
        )
        .await
        .unwrap();
    assert_eq!(recorded.len(), MIGRATIONS.len());
    for (row, m) in recorded.iter().zip(MIGRATIONS) {
        assert_eq!(row.get::<_, i32>(0), m.version);
        assert_eq!(row.get::<_, String>(1), m.name);
        assert_eq!(row.get::<_, String>(2), m.checksum());
    }
}

#[tokio::test]
async fn fresh_database_has_exactly_the_upstream_and_edge_columns() {
    let db = fresh_db().await;
    let mut expected = parse_columns(UPSTREAM_TABLES);
    for (table, cols) in parse_columns(EDGE_COLUMNS) {
        expected.get_mut(&table).unwrap().extend(cols);
    }
    let actual = columns(&db.client).await;
    assert_eq!(actual.keys().collect::<Vec<_>>(), expected.keys().collect::<Vec<_>>());
    for (table, cols) in &expected {
        assert_eq!(&actual[table], cols, "columns of {table}");
    }

    // Prisma's DateTime is TIMESTAMP(3) everywhere.
    let imprecise = count(
        &db.client,
        "SELECT count(*) FROM information_schema.columns
         WHERE table_schema = current_schema() AND udt_name = 'timestamp'
           AND datetime_precision <> 3",
    )
    .await;
    assert_eq!(imprecise, 0);
}

#[tokio::test]
async fn fresh_database_has_the_upstream_defaults_and_enums() {
    let db = fresh_db().await;
    let defaults: BTreeMap<(String, String), Option<String>> = db
        .client
        .query(
            "SELECT table_name::text, column_name::text, column_default::text
             FROM information_schema.columns WHERE table_schema = current_schema()",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| ((r.get(0), r.get(1)), r.get(2)))
        .collect();
    let default = |t: &str, c: &str| defaults[&(t.to_owned(), c.to_owned())].clone();
    assert_eq!(
        default("ApiKey", "permissions").as_deref(),
        Some(r#"'["read", "write"]'::jsonb"#)
    );
    assert_eq!(default("Bucket", "status").as_deref(), Some("'pending'::text"));
    assert_eq!(
        default("BucketTeamAccess", "accessLevel").as_deref(),
        Some("'READ_WRITE'::text")
    );
    assert_eq!(
        default("TeamMember", "role").as_deref(),
        Some(r#"'MEMBER'::"TeamRole""#)
    );
    assert_eq!(
        default("OrganizationMember", "role").as_deref(),
        Some(r#"'MEMBER'::"OrganizationRole""#)
    );
    assert_eq!(
        default("Invitation", "status").as_deref(),
        Some(r#"'PENDING'::"InvitationStatus""#)
    );
    assert_eq!(default("File", "version").as_deref(), Some("'v1'::text"));
    assert_eq!(default("Transform", "status").as_deref(), Some("'pending'::text"));
    assert_eq!(default("Project", "multiTenant").as_deref(), Some("false"));
    assert_eq!(default("Version", "isActive").as_deref(), Some("false"));
    assert_eq!(default("RateLimitConfig", "uploadsPerMinute").as_deref(), Some("120"));
    assert_eq!(
        default("RateLimitConfig", "transformsPerMinute").as_deref(),
        Some("360")
    );
    assert_eq!(default("UsageDaily", "bandwidthBytes").as_deref(), Some("0"));
    assert_eq!(default("File", "uploadedAt").as_deref(), Some("CURRENT_TIMESTAMP"));
    // @updatedAt and ids are set by the client, never by a default.
    assert_eq!(default("Project", "updatedAt"), None);
    assert_eq!(default("Project", "id"), None);
    assert_eq!(default("Upload", "status"), None);

    let enums: BTreeMap<String, String> = db
        .client
        .query(
            "SELECT t.typname::text, string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder)
             FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid
             WHERE t.typnamespace = current_schema()::regnamespace GROUP BY t.typname",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(enums.len(), 3);
    assert_eq!(enums["TeamRole"], "OWNER,ADMIN,MEMBER,VIEWER");
    assert_eq!(enums["OrganizationRole"], "OWNER,ADMIN,MEMBER,VIEWER");
    assert_eq!(enums["InvitationStatus"], "PENDING,ACCEPTED,DECLINED,EXPIRED");
}

#[tokio::test]
async fn fresh_database_has_every_index_including_drift_and_edge() {
    let db = fresh_db().await;
    let expected: BTreeSet<String> = UPSTREAM_INDEXES
        .iter()
        .chain(DRIFT_INDEXES)
        .chain(EDGE_INDEXES)
        .map(|s| (*s).to_owned())
        .collect();
    assert_eq!(index_names(&db.client).await, expected);

    // Prisma's naming: *_key unique, *_idx not.
    let rows = db
        .client
        .query(
            "SELECT c.relname::text, i.indisunique FROM pg_index i
             JOIN pg_class c ON c.oid = i.indexrelid
             WHERE c.relnamespace = current_schema()::regnamespace",
            &[],
        )
        .await
        .unwrap();
    for row in rows {
        let name: String = row.get(0);
        let unique: bool = row.get(1);
        if name.ends_with("_idx") {
            assert!(!unique, "{name} must not be unique");
        } else {
            assert!(unique, "{name} must be unique");
        }
    }

    // Every table but VerificationToken has a Prisma-named primary key.
    let pkeys = count(
        &db.client,
        "SELECT count(*) FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
         WHERE c.contype = 'p' AND t.relnamespace = current_schema()::regnamespace
           AND c.conname = t.relname || '_pkey' AND t.relname <> '_carcosa_edge_migrations'",
    )
    .await;
    assert_eq!(pkeys, i64::try_from(UPSTREAM_TABLES.len()).unwrap() - 1);
}

#[tokio::test]
async fn fresh_database_has_every_foreign_key_with_upstream_on_delete() {
    let db = fresh_db().await;
    let actual: BTreeMap<String, char> = db
        .client
        .query(
            "SELECT conname::text, confdeltype::text, confupdtype::text FROM pg_constraint
             WHERE contype = 'f' AND connamespace = current_schema()::regnamespace",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| {
            let name: String = r.get(0);
            let on_update: String = r.get(2);
            assert_eq!(on_update, "c", "{name}: ON UPDATE CASCADE");
            (name, r.get::<_, String>(1).chars().next().unwrap())
        })
        .collect();
    let expected: BTreeMap<String, char> = FOREIGN_KEYS.iter().map(|(n, a)| ((*n).to_owned(), *a)).collect();
    assert_eq!(actual, expected);
}

#[tokio::test]
async fn edge_foreign_keys_set_null_on_delete() {
    let db = fresh_db().await;
    db.client
        .batch_execute(
            r#"
            INSERT INTO "User" ("id") VALUES ('u');
            INSERT INTO "Organization" ("id", "name", "slug", "updatedAt", "ownerId") VALUES ('o', 'O', 'o', now(), 'u');
            INSERT INTO "Team" ("id", "name", "slug", "organizationId", "updatedAt") VALUES ('t', 'T', 'default', 'o', now());
            INSERT INTO "Bucket" ("id", "name", "provider", "bucketName", "encryptedAccessKey", "encryptedSecretKey", "ownerTeamId", "updatedAt")
                VALUES ('b', 'B', 's3', 'bkt', 'x', 'y', 't', now());
            INSERT INTO "Project" ("id", "name", "slug", "ownerId", "updatedAt", "bucketId", "teamId") VALUES ('p', 'P', 'p', 'u', now(), 'b', 't');
            INSERT INTO "Tenant" ("id", "projectId", "slug") VALUES ('ten', 'p', 'acme');
            INSERT INTO "ApiKey" ("id", "projectId", "keyHash") VALUES ('k', 'p', 'h');
            INSERT INTO "File" ("id", "projectId", "path", "filename", "size", "mimeType") VALUES ('f', 'p', 'a/b', 'b', 1, 'text/plain');
            INSERT INTO "Upload" ("id", "projectId", "path", "status", "tenantId", "apiKeyId", "bucketId", "fileId", "size", "metadata")
                VALUES ('up', 'p', 'a/b', 'completed', 'ten', 'k', 'b', 'f', 1, '{"a": "b"}');
            DELETE FROM "Tenant";
            DELETE FROM "ApiKey";
            DELETE FROM "File";
            "#,
        )
        .await
        .unwrap();
    let row = db
        .client
        .query_one(
            r#"SELECT "tenantId", "apiKeyId", "fileId", "bucketId" FROM "Upload" WHERE "id" = 'up'"#,
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, Option<String>>(0), None);
    assert_eq!(row.get::<_, Option<String>>(1), None);
    assert_eq!(row.get::<_, Option<String>>(2), None);
    assert_eq!(row.get::<_, Option<String>>(3).as_deref(), Some("b"));

    // Duplicate (projectId, path) uploads are allowed, as upstream.
    db.client
        .batch_execute(
            r#"INSERT INTO "Upload" ("id", "projectId", "path", "status") VALUES ('up2', 'p', 'a/b', 'initiated')"#,
        )
        .await
        .unwrap();
}

// -- repeated and concurrent runs -------------------------------------------

#[tokio::test]
async fn second_run_is_a_noop() {
    let mut db = fresh_db().await;
    let before = schema_snapshot(&db.client).await;
    let report = migrated(&mut db.client).await;
    assert!(report.is_noop());
    assert!(report.applied.is_empty());
    assert_eq!(report.already_applied, MIGRATIONS.len());
    assert!(!report.adopted);
    assert_eq!(schema_snapshot(&db.client).await, before);
    assert_eq!(
        count(&db.client, r#"SELECT count(*) FROM "_carcosa_edge_migrations""#).await,
        i64::try_from(MIGRATIONS.len()).unwrap()
    );
}

#[tokio::test]
async fn every_migration_file_is_idempotent_on_its_own() {
    let db = fresh_db().await;
    let before = schema_snapshot(&db.client).await;
    // Step by step, as the runner sends them (a concurrent index build cannot
    // share a query string with other statements).
    for m in MIGRATIONS {
        for step in m.steps() {
            db.client
                .batch_execute(step.sql)
                .await
                .unwrap_or_else(|e| panic!("re-running migration {} failed: {e:?}", m.version));
        }
    }
    assert_eq!(schema_snapshot(&db.client).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_runs_apply_each_migration_once() {
    let db = empty_db().await;
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let mut client = db.connect().await;
        tasks.push(tokio::spawn(async move { migrate(&mut client).await }));
    }
    let mut applied = Vec::new();
    for task in tasks {
        let report = task.await.unwrap().expect("every concurrent run succeeds");
        assert!(!report.adopted);
        applied.extend(report.applied.iter().map(|a| a.version));
    }
    applied.sort_unstable();
    assert_eq!(applied, all_versions(), "each migration applied exactly once");
    assert_eq!(
        count(&db.client, r#"SELECT count(*) FROM "_carcosa_edge_migrations""#).await,
        i64::try_from(MIGRATIONS.len()).unwrap()
    );
}

// -- status -----------------------------------------------------------------

#[tokio::test]
async fn status_lists_pending_then_applied() {
    let mut db = empty_db().await;
    let pending = status(&db.client).await.unwrap();
    assert_eq!(pending.iter().map(|s| s.version).collect::<Vec<_>>(), all_versions());
    assert!(pending.iter().all(|s| s.applied_at_ms.is_none()));
    assert!(
        !exists(&db.client, "\"_carcosa_edge_migrations\"").await,
        "status is read-only"
    );

    migrated(&mut db.client).await;
    let applied = status(&db.client).await.unwrap();
    assert_eq!(
        applied.iter().map(|s| s.name).collect::<Vec<_>>(),
        MIGRATIONS.iter().map(|m| m.name).collect::<Vec<_>>()
    );
    let now_ms = i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis()).unwrap();
    for s in &applied {
        let at = s.applied_at_ms.expect("applied");
        // Stored in UTC: within a minute of this machine's clock either way.
        assert!((now_ms - at).abs() < 60_000, "applied at {at} ms, now {now_ms} ms");
    }
}

// -- adoption of an upstream database ---------------------------------------

#[tokio::test]
async fn adopting_an_upstream_database_keeps_every_row() {
    let mut db = empty_db().await;
    db.client.batch_execute(UPSTREAM_FIXTURE).await.unwrap();

    // The fixture really is an upstream database: drift indexes absent.
    let names = index_names(&db.client).await;
    for idx in DRIFT_INDEXES.iter().chain(EDGE_INDEXES) {
        assert!(!names.contains(*idx), "fixture already has {idx}");
    }

    let upstream_columns = columns(&db.client).await;
    assert_eq!(upstream_columns, parse_columns(UPSTREAM_TABLES));
    let mut before = BTreeMap::new();
    for (table, cols) in &upstream_columns {
        let cols: Vec<String> = cols.keys().cloned().collect();
        before.insert(table.clone(), table_digest(&db.client, table, &cols).await);
    }
    let prisma_before = table_digest(
        &db.client,
        "_prisma_migrations",
        &[
            "id",
            "checksum",
            "finished_at",
            "migration_name",
            "logs",
            "rolled_back_at",
            "started_at",
            "applied_steps_count",
        ]
        .map(String::from),
    )
    .await;

    let report = migrated(&mut db.client).await;
    assert!(report.adopted);
    assert_eq!(report.already_applied, 0);
    assert_eq!(
        report.applied.iter().map(|a| a.version).collect::<Vec<_>>(),
        all_versions()
    );

    // Every pre-existing row, column by column, is unchanged.
    for (table, cols) in &upstream_columns {
        let cols: Vec<String> = cols.keys().cloned().collect();
        let after = table_digest(&db.client, table, &cols).await;
        assert_eq!(after, before[table], "rows of {table}");
    }
    assert_eq!(before["Upload"].0, 5);
    assert_eq!(before["File"].0, 4);
    assert_eq!(before["ApiKey"].0, 3);
    assert_eq!(before["User"].0, 3);

    // Prisma's bookkeeping is untouched.
    let prisma_after = table_digest(
        &db.client,
        "_prisma_migrations",
        &[
            "id",
            "checksum",
            "finished_at",
            "migration_name",
            "logs",
            "rolled_back_at",
            "started_at",
            "applied_steps_count",
        ]
        .map(String::from),
    )
    .await;
    assert_eq!(prisma_after, prisma_before);
    assert_eq!(prisma_after.0, 4);

    // A few values read back through the driver.
    let key = db
        .client
        .query_one(
            r#"SELECT "keyHash", "permissions", "revokedAt" IS NULL, "expiresAt" IS NULL FROM "ApiKey" WHERE "id" = 'ak_p1_standard'"#,
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        key.get::<_, String>(0),
        "27a8494170f1ff164056926df50109b48f37a8b9ce0daa326ccaf6e60e1d2eff"
    );
    assert_eq!(
        key.get::<_, serde_json::Value>(1),
        serde_json::json!(["files:read", "files:write", "transforms:execute"])
    );
    assert!(key.get::<_, bool>(2));
    assert!(key.get::<_, bool>(3));

    let bucket = db
        .client
        .query_one(
            r#"SELECT "encryptedAccessKey", "ownerTeamId", "status" FROM "Bucket" WHERE "id" = 'bkt_r2'"#,
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        bucket.get::<_, String>(0),
        "v1:9V/xb2b0M2Ama5Xbb4/sAddgMQVDBq5K:V4YW5bHcA0lqfCihhgQkg4DcQgtePp/aqaFbwupGSjI="
    );
    assert_eq!(bucket.get::<_, String>(1), "team_default");
    assert_eq!(bucket.get::<_, String>(2), "connected");

    let size: i64 = db
        .client
        .query_one(r#"SELECT "size" FROM "File" WHERE "id" = 'fil_report'"#, &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(size, 5_368_709_120);

    // New columns are NULL on adopted rows.
    let filled = count(
        &db.client,
        r#"SELECT count(*) FROM "Upload" WHERE num_nonnulls("size", "contentType", "filename", "tenantId",
               "apiKeyId", "bucketId", "fileId", "expiresAt", "completedAt", "s3UploadId", "metadata") > 0"#,
    )
    .await;
    assert_eq!(filled, 0);
    assert_eq!(
        count(
            &db.client,
            r#"SELECT count(*) FROM "ApiKey" WHERE "expiresAt" IS NOT NULL"#
        )
        .await,
        0
    );

    // Missing indexes were created.
    let names = index_names(&db.client).await;
    for idx in UPSTREAM_INDEXES.iter().chain(DRIFT_INDEXES).chain(EDGE_INDEXES) {
        assert!(names.contains(*idx), "missing {idx}");
    }

    // And a second run is a no-op that no longer reports adoption.
    let again = migrated(&mut db.client).await;
    assert!(again.is_noop());
    assert!(!again.adopted);
}

#[tokio::test]
async fn adopted_schema_equals_fresh_schema() {
    let mut adopted = empty_db().await;
    adopted.client.batch_execute(UPSTREAM_FIXTURE).await.unwrap();
    migrated(&mut adopted.client).await;
    let fresh = fresh_db().await;

    let a = schema_snapshot(&adopted.client).await;
    let f = schema_snapshot(&fresh.client).await;
    let only_adopted: Vec<_> = a.difference(&f).collect();
    let only_fresh: Vec<_> = f.difference(&a).collect();
    assert!(
        only_adopted.is_empty() && only_fresh.is_empty(),
        "schemas differ\nonly adopted: {only_adopted:#?}\nonly fresh: {only_fresh:#?}"
    );
}

// -- refusals and failures --------------------------------------------------

#[tokio::test]
async fn modified_migration_is_refused_and_nothing_is_applied() {
    let mut db = fresh_db().await;
    // Pretend 3 is pending and 2 was applied from different SQL.
    db.client
        .batch_execute(
            r#"DELETE FROM "_carcosa_edge_migrations" WHERE "version" = 3;
               UPDATE "_carcosa_edge_migrations" SET "checksum" = repeat('0', 64) WHERE "version" = 2;"#,
        )
        .await
        .unwrap();

    let err = migrate(&mut db.client).await.unwrap_err();
    assert!(matches!(err, MigrateError::Modified { version: 2 }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains('2'), "{text}");
    for sql_word in ["CREATE", "ALTER", "SELECT", "INSERT"] {
        assert!(!text.contains(sql_word), "{text}");
    }
    let versions: Vec<i32> = db
        .client
        .query(r#"SELECT "version" FROM "_carcosa_edge_migrations" ORDER BY 1"#, &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(versions, [1, 2, 4], "pending migration 3 was not applied");
}

#[tokio::test]
async fn unknown_applied_migration_is_refused() {
    let mut db = fresh_db().await;
    db.client
        .batch_execute(
            r#"INSERT INTO "_carcosa_edge_migrations" ("version", "name", "checksum") VALUES (999, 'from_the_future', 'x')"#,
        )
        .await
        .unwrap();
    let err = migrate(&mut db.client).await.unwrap_err();
    assert!(matches!(err, MigrateError::Unknown { version: 999 }), "{err:?}");
}

#[tokio::test]
async fn failed_migration_rolls_everything_back() {
    let mut db = empty_db().await;
    // A Carcosa database from before the bucket-sharing upstream migration.
    db.client
        .batch_execute(
            r#"CREATE TABLE "Project" ("id" TEXT PRIMARY KEY, "teamId" TEXT);
               CREATE TABLE "Bucket" ("id" TEXT PRIMARY KEY, "teamId" TEXT NOT NULL);"#,
        )
        .await
        .unwrap();

    let err = migrate(&mut db.client).await.unwrap_err();
    assert!(matches!(err, MigrateError::Apply { version: 1, .. }), "{err:?}");
    assert_eq!(err.to_string(), "migration 1 (upstream_schema) failed");
    let source = err.source().expect("database error kept as source");
    let detail = format!("{source:?}");
    assert!(detail.contains("ownerTeamId"), "{detail}");

    // Nothing survived: no bookkeeping table, no enum, no new table.
    assert!(!exists(&db.client, "\"_carcosa_edge_migrations\"").await);
    assert!(!exists(&db.client, "\"Organization\"").await);
    let enums = count(&db.client, "SELECT count(*) FROM pg_type WHERE typname = 'TeamRole'").await;
    assert_eq!(enums, 0);
}
