//! `"Project"` rows and their first `"Version"`.

use tokio_postgres::types::Type;
use tokio_postgres::{GenericClient, Row};

use super::{check_id, check_name, check_slug, fresh_id, get_bucket, only_row, unique_violation, ProvisionError};
use crate::sigv4::MAX_PUT_BYTES;
use crate::store::{get, Param, StoreError};

/// A project to create.
pub struct NewProject<'a> {
    /// Display name.
    pub name: &'a str,
    /// Globally unique slug.
    pub slug: &'a str,
    /// The owning user.
    pub owner_id: &'a str,
    /// The bucket its files go to.
    pub bucket_id: &'a str,
    /// The team it belongs to; it must own the bucket or have a `READ_WRITE` / `ADMIN` share.
    pub team_id: &'a str,
    /// Whether uploads must name a tenant.
    pub multi_tenant: bool,
    /// Its largest upload in bytes (1 to 5 GiB); `None`: the deployment's `MAX_UPLOAD_BYTES`.
    pub max_upload_bytes: Option<u64>,
}

/// A `"Project"` row.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Project {
    /// `"Project"."id"`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Globally unique slug.
    pub slug: String,
    /// The owning user.
    pub owner_id: String,
    /// The bucket its files go to.
    pub bucket_id: String,
    /// Its team, if any (upstream sets it to NULL when the team is deleted).
    pub team_id: Option<String>,
    /// Whether uploads must name a tenant.
    pub multi_tenant: bool,
    /// `"edgeMaxUploadBytes"`: its largest upload in bytes; `None`: the deployment's
    /// `MAX_UPLOAD_BYTES`, which is also the ceiling of any value here.
    pub max_upload_bytes: Option<i64>,
}

/// The columns [`project`] reads, from alias `p`.
macro_rules! columns {
    () => {
        r#"p.id, p.name, p.slug, p."ownerId", p."bucketId", p."teamId", p."multiTenant", p."edgeMaxUploadBytes""#
    };
}

fn project(row: &Row) -> Result<Project, StoreError> {
    Ok(Project {
        id: get(row, 0)?,
        name: get(row, 1)?,
        slug: get(row, 2)?,
        owner_id: get(row, 3)?,
        bucket_id: get(row, 4)?,
        team_id: get(row, 5)?,
        multi_tenant: get(row, 6)?,
        max_upload_bytes: get(row, 7)?,
    })
}

/// A project upload limit as stored: 1 byte to S3's 5 GiB (the Worker also caps it by the
/// deployment's `MAX_UPLOAD_BYTES`).
fn check_upload_limit(bytes: Option<u64>) -> Result<Option<i64>, ProvisionError> {
    bytes
        .map(|b| {
            i64::try_from(b)
                .ok()
                .filter(|b| (1..=MAX_PUT_BYTES.cast_signed()).contains(b))
                .ok_or_else(|| {
                    ProvisionError::Invalid(format!(
                        "a project's upload limit is 1 to {MAX_PUT_BYTES} bytes (5 GiB), not {b}"
                    ))
                })
        })
        .transpose()
}

/// The condition that team `$team` may put a project's files in bucket `b`: it owns it or has a
/// `READ_WRITE` / `ADMIN` share of it (the upstream rule).
macro_rules! may_write {
    ($team:literal) => {
        concat!(
            r#"(b."ownerTeamId" = "#,
            $team,
            r#" OR EXISTS (
                SELECT 1 FROM "BucketTeamAccess" a
                WHERE a."bucketId" = b.id AND a."teamId" = "#,
            $team,
            r#" AND a."accessLevel" IN ('READ_WRITE', 'ADMIN')))"#
        )
    };
}

/// Creates a project and its active `v1` `"Version"`, as the upstream API does. The team must own
/// the bucket or have a `READ_WRITE` or `ADMIN` share of it (the upstream rule); no API key is
/// created.
///
/// # Errors
/// [`ProvisionError::Invalid`] for bad input; [`ProvisionError::NotFound`] when the owner, bucket
/// or team does not exist; [`ProvisionError::Conflict`] when the slug is taken or the team may not
/// write to the bucket.
pub async fn create_project(
    client: &impl GenericClient,
    new: &NewProject<'_>,
    now_ms: i64,
) -> Result<Project, ProvisionError> {
    const SQL: &str = concat!(
        r#"WITH p AS (
            INSERT INTO "Project" (id, name, slug, "ownerId", "bucketId", "teamId", "multiTenant", "createdAt", "updatedAt",
                                   "edgeMaxUploadBytes")
            SELECT $1, $2, $3, u.id, b.id, t.id, $7, "#,
        ts!(8),
        ", ",
        ts!(8),
        r#", $10 FROM "User" u, "Bucket" b, "Team" t
            WHERE u.id = $4 AND b.id = $5 AND t.id = $6 AND "#,
        may_write!("t.id"),
        r#"
            RETURNING *
        ), v AS (
            INSERT INTO "Version" (id, "projectId", "versionName", "isActive", "createdAt")
            SELECT $9, p.id, 'v1', true, "#,
        ts!(8),
        r#" FROM p
        )
        SELECT "#,
        columns!(),
        " FROM p"
    );
    const WHY: &str = r#"SELECT EXISTS (SELECT 1 FROM "User" WHERE id = $1),
                                EXISTS (SELECT 1 FROM "Bucket" WHERE id = $2),
                                EXISTS (SELECT 1 FROM "Team" WHERE id = $3)"#;
    check_name("a project name", new.name)?;
    check_slug("project", new.slug)?;
    check_id("user", new.owner_id)?;
    check_id("bucket", new.bucket_id)?;
    check_id("team", new.team_id)?;
    let limit = check_upload_limit(new.max_upload_bytes)?;
    let (id, version_id) = (fresh_id()?, fresh_id()?);
    let params: [Param<'_>; 10] = [
        (&id, Type::TEXT),
        (&new.name, Type::TEXT),
        (&new.slug, Type::TEXT),
        (&new.owner_id, Type::TEXT),
        (&new.bucket_id, Type::TEXT),
        (&new.team_id, Type::TEXT),
        (&new.multi_tenant, Type::BOOL),
        (&now_ms, Type::INT8),
        (&version_id, Type::TEXT),
        (&limit, Type::INT8),
    ];
    let rows = client
        .query_typed(SQL, &params)
        .await
        .map_err(|e| unique_violation(e, || format!("a project with slug '{}' already exists", new.slug)))?;
    if let Some(row) = rows.first() {
        return Ok(project(row)?);
    }
    let why: [Param<'_>; 3] = [
        (&new.owner_id, Type::TEXT),
        (&new.bucket_id, Type::TEXT),
        (&new.team_id, Type::TEXT),
    ];
    let rows = client.query_typed(WHY, &why).await?;
    let row = only_row(&rows, || "the owner, bucket or team does not exist".into())?;
    let (user, bucket, team): (bool, bool, bool) = (get(row, 0)?, get(row, 1)?, get(row, 2)?);
    Err(if !user {
        ProvisionError::NotFound(format!("no user with id '{}'", new.owner_id))
    } else if !bucket {
        ProvisionError::NotFound(format!("no bucket with id '{}'", new.bucket_id))
    } else if !team {
        ProvisionError::NotFound(format!("no team with id '{}'", new.team_id))
    } else {
        ProvisionError::Conflict(format!(
            "team '{}' neither owns bucket '{}' nor has a READ_WRITE or ADMIN share of it",
            new.team_id, new.bucket_id
        ))
    })
}

/// The project with this id.
///
/// # Errors
/// [`ProvisionError::Invalid`] for a malformed id; [`ProvisionError::Store`] when the database fails.
pub async fn get_project(client: &impl GenericClient, id: &str) -> Result<Option<Project>, ProvisionError> {
    const SQL: &str = concat!("SELECT ", columns!(), r#" FROM "Project" p WHERE p.id = $1"#);
    check_id("project", id)?;
    let rows = client.query_typed(SQL, &[(&id, Type::TEXT)]).await?;
    Ok(rows.first().map(project).transpose()?)
}

/// The project with this slug (project slugs are globally unique).
///
/// # Errors
/// [`ProvisionError::Store`] when the database fails.
pub async fn get_project_by_slug(client: &impl GenericClient, slug: &str) -> Result<Option<Project>, ProvisionError> {
    const SQL: &str = concat!("SELECT ", columns!(), r#" FROM "Project" p WHERE p.slug = $1"#);
    let rows = client.query_typed(SQL, &[(&slug, Type::TEXT)]).await?;
    Ok(rows.first().map(project).transpose()?)
}

/// Points a project at another bucket, which its team must own or have a `READ_WRITE` / `ADMIN`
/// share of. Returns the project as updated.
///
/// # Errors
/// [`ProvisionError::Invalid`] for malformed ids; [`ProvisionError::NotFound`] when the project
/// does not exist; [`ProvisionError::Conflict`] when its team may not write to the bucket.
pub async fn set_project_bucket(
    client: &impl GenericClient,
    project_id: &str,
    bucket_id: &str,
    now_ms: i64,
) -> Result<Project, ProvisionError> {
    const SQL: &str = concat!(
        r#"UPDATE "Project" p SET "bucketId" = b.id, "updatedAt" = "#,
        ts!(3),
        r#" FROM "Bucket" b
           WHERE p.id = $1 AND b.id = $2 AND "#,
        may_write!(r#"p."teamId""#),
        " RETURNING ",
        columns!()
    );
    check_id("project", project_id)?;
    check_id("bucket", bucket_id)?;
    let params: [Param<'_>; 3] = [
        (&project_id, Type::TEXT),
        (&bucket_id, Type::TEXT),
        (&now_ms, Type::INT8),
    ];
    let rows = client.query_typed(SQL, &params).await?;
    if let Some(row) = rows.first() {
        return Ok(project(row)?);
    }
    if get_project(client, project_id).await?.is_none() {
        return Err(ProvisionError::NotFound(format!("no project with id '{project_id}'")));
    }
    if get_bucket(client, bucket_id).await?.is_none() {
        return Err(ProvisionError::NotFound(format!("no bucket with id '{bucket_id}'")));
    }
    Err(ProvisionError::Conflict(format!(
        "the team of project '{project_id}' may not write to bucket '{bucket_id}'"
    )))
}

/// The projects of one team, or every project, oldest first.
///
/// # Errors
/// [`ProvisionError::Invalid`] for a malformed id; [`ProvisionError::Store`] when the database fails.
pub async fn list_projects(client: &impl GenericClient, team_id: Option<&str>) -> Result<Vec<Project>, ProvisionError> {
    const SQL: &str = concat!(
        "SELECT ",
        columns!(),
        r#" FROM "Project" p WHERE $1::text IS NULL OR p."teamId" = $1 ORDER BY p."createdAt", p.id"#
    );
    if let Some(id) = team_id {
        check_id("team", id)?;
    }
    let rows = client.query_typed(SQL, &[(&team_id, Type::TEXT)]).await?;
    Ok(rows.iter().map(project).collect::<Result<_, _>>()?)
}

/// Sets a project's upload limit in bytes (1 to 5 GiB), or clears it (`None`: the deployment's
/// `MAX_UPLOAD_BYTES`). Workers see the change within their scope cache's TTL. Returns the
/// project as updated.
///
/// # Errors
/// [`ProvisionError::Invalid`] for a malformed id or a limit out of range;
/// [`ProvisionError::NotFound`] when the project does not exist.
pub async fn set_project_upload_limit(
    client: &impl GenericClient,
    project_id: &str,
    max_upload_bytes: Option<u64>,
    now_ms: i64,
) -> Result<Project, ProvisionError> {
    const SQL: &str = concat!(
        r#"UPDATE "Project" p SET "edgeMaxUploadBytes" = $2, "updatedAt" = "#,
        ts!(3),
        " WHERE p.id = $1 RETURNING ",
        columns!()
    );
    check_id("project", project_id)?;
    let limit = check_upload_limit(max_upload_bytes)?;
    let params: [Param<'_>; 3] = [(&project_id, Type::TEXT), (&limit, Type::INT8), (&now_ms, Type::INT8)];
    let rows = client.query_typed(SQL, &params).await?;
    let row = rows
        .first()
        .ok_or_else(|| ProvisionError::NotFound(format!("no project with id '{project_id}'")))?;
    Ok(project(row)?)
}
