//! `"ApiKey"` rows, recorded by hash and listed without it.

use serde_json::Value;
use tokio_postgres::types::Type;
use tokio_postgres::{GenericClient, Row};

use super::{check_id, check_name, fresh_id, only_row, ProvisionError};
use crate::apikey::KeyHash;
use crate::permission::Grants;
use crate::store::{get, Param, StoreError};

/// An API key to record.
pub struct NewApiKey<'a> {
    /// The project it belongs to.
    pub project_id: &'a str,
    /// A label for people, if any.
    pub label: Option<&'a str>,
    /// What it may do.
    pub grants: &'a Grants,
    /// When it stops working (Unix ms), if ever.
    pub expires_at_ms: Option<i64>,
    /// The hash of the key; the key itself is never stored.
    pub key_hash: &'a KeyHash,
}

/// An `"ApiKey"` row, without its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    /// `"ApiKey"."id"`.
    pub id: String,
    /// The project.
    pub project_id: String,
    /// The label, if any.
    pub label: Option<String>,
    /// The grants, as stored (the upstream API may have stored any JSON).
    pub permissions: Value,
    /// When it was created (Unix ms).
    pub created_at_ms: i64,
    /// When it was last used (Unix ms), if ever.
    pub last_used_at_ms: Option<i64>,
    /// When it expires (Unix ms), if ever.
    pub expires_at_ms: Option<i64>,
    /// When it was revoked (Unix ms), if it was.
    pub revoked_at_ms: Option<i64>,
}

/// The `"ApiKey"` columns [`api_key`] reads, from alias `k`, timestamps as Unix milliseconds;
/// never the hash.
macro_rules! columns {
    () => {
        r#"k.id, k."projectId", k.label, k.permissions,
           (EXTRACT(EPOCH FROM k."createdAt") * 1000)::int8,
           (EXTRACT(EPOCH FROM k."lastUsedAt") * 1000)::int8,
           (EXTRACT(EPOCH FROM k."expiresAt") * 1000)::int8,
           (EXTRACT(EPOCH FROM k."revokedAt") * 1000)::int8"#
    };
}

/// How many columns [`columns`] names: anything a statement returns after them starts here.
const COLUMNS: usize = 8;

fn api_key(row: &Row) -> Result<ApiKeyRecord, StoreError> {
    Ok(ApiKeyRecord {
        id: get(row, 0)?,
        project_id: get(row, 1)?,
        label: get(row, 2)?,
        permissions: get(row, 3)?,
        created_at_ms: get(row, 4)?,
        last_used_at_ms: get(row, 5)?,
        expires_at_ms: get(row, 6)?,
        revoked_at_ms: get(row, 7)?,
    })
}

/// Records a new API key for a project, by its hash.
///
/// # Errors
/// [`ProvisionError::Invalid`] for a malformed project id, a bad label or an expiry not after
/// `now_ms`; [`ProvisionError::NotFound`] when the project does not exist.
pub async fn create_api_key(
    client: &impl GenericClient,
    new: &NewApiKey<'_>,
    now_ms: i64,
) -> Result<ApiKeyRecord, ProvisionError> {
    const SQL: &str = concat!(
        r#"INSERT INTO "ApiKey" AS k (id, "projectId", label, "keyHash", permissions, "createdAt", "expiresAt")
           SELECT $1, p.id, $3, $4, $5, "#,
        ts!(6),
        ", ",
        ts!(7),
        r#" FROM "Project" p WHERE p.id = $2
           RETURNING "#,
        columns!()
    );
    check_id("project", new.project_id)?;
    if let Some(label) = new.label {
        check_name("a key label", label)?;
    }
    if new.expires_at_ms.is_some_and(|at| at <= now_ms) {
        return Err(ProvisionError::Invalid(
            "an API key's expiry must be in the future".into(),
        ));
    }
    let id = fresh_id()?;
    let hash = new.key_hash.as_str();
    let permissions = Value::from(new.grants.as_slice().to_vec());
    let params: [Param<'_>; 7] = [
        (&id, Type::TEXT),
        (&new.project_id, Type::TEXT),
        (&new.label, Type::TEXT),
        (&hash, Type::TEXT),
        (&permissions, Type::JSONB),
        (&now_ms, Type::INT8),
        (&new.expires_at_ms, Type::INT8),
    ];
    let rows = client.query_typed(SQL, &params).await?;
    let row = only_row(&rows, || format!("no project with id '{}'", new.project_id))?;
    Ok(api_key(row)?)
}

/// A project's API keys, oldest first, revoked ones included. Never reads `"keyHash"`.
///
/// # Errors
/// [`ProvisionError::Invalid`] for a malformed id; [`ProvisionError::Store`] when the database fails.
pub async fn list_api_keys(client: &impl GenericClient, project_id: &str) -> Result<Vec<ApiKeyRecord>, ProvisionError> {
    const SQL: &str = concat!(
        "SELECT ",
        columns!(),
        r#" FROM "ApiKey" k WHERE k."projectId" = $1 ORDER BY k."createdAt", k.id"#
    );
    check_id("project", project_id)?;
    let rows = client.query_typed(SQL, &[(&project_id, Type::TEXT)]).await?;
    Ok(rows.iter().map(api_key).collect::<Result<_, _>>()?)
}

/// What [`revoke_api_key`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    /// The key as it now is.
    pub key: ApiKeyRecord,
    /// False when the key had already been revoked (its `revokedAt` is kept).
    pub newly_revoked: bool,
}

/// Revokes a key: sets `"revokedAt"` unless it is already set, so revoking twice is harmless.
/// Returns `None` when there is no such key.
///
/// # Errors
/// [`ProvisionError::Invalid`] for a malformed id; [`ProvisionError::Store`] when the database fails.
pub async fn revoke_api_key(
    client: &impl GenericClient,
    key_id: &str,
    now_ms: i64,
) -> Result<Option<Revocation>, ProvisionError> {
    const SQL: &str = concat!(
        r#"WITH old AS (SELECT id, "revokedAt" FROM "ApiKey" WHERE id = $1 FOR UPDATE)
           UPDATE "ApiKey" k SET "revokedAt" = COALESCE(k."revokedAt", "#,
        ts!(2),
        r#") FROM old WHERE k.id = old.id
           RETURNING "#,
        columns!(),
        r#", old."revokedAt" IS NULL"#
    );
    check_id("API key", key_id)?;
    let rows = client
        .query_typed(SQL, &[(&key_id, Type::TEXT), (&now_ms, Type::INT8)])
        .await?;
    let Some(row) = rows.first() else { return Ok(None) };
    Ok(Some(Revocation {
        key: api_key(row)?,
        newly_revoked: get(row, COLUMNS)?,
    }))
}
