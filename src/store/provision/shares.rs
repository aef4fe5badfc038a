//! `"BucketTeamAccess"` rows: a bucket shared with a team that does not own it.

use tokio_postgres::types::Type;
use tokio_postgres::{GenericClient, Row};

use super::{check_id, fresh_id, only_row, ProvisionError};
use crate::scope::ShareLevel;
use crate::store::{get, Param, StoreError};

/// A `"BucketTeamAccess"` row.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Share {
    /// `"BucketTeamAccess"."id"`.
    pub id: String,
    /// The shared bucket.
    pub bucket_id: String,
    /// The team it is shared with.
    pub team_id: String,
    /// The level, as stored (free text upstream; see [`ShareLevel::from_stored`]).
    pub access_level: String,
}

/// The columns [`share`] reads, from alias `a`.
macro_rules! columns {
    () => {
        r#"a.id, a."bucketId", a."teamId", a."accessLevel""#
    };
}

/// How many columns [`columns`] names: anything a statement returns after them starts here.
const COLUMNS: usize = 4;

fn share(row: &Row) -> Result<Share, StoreError> {
    Ok(Share {
        id: get(row, 0)?,
        bucket_id: get(row, 1)?,
        team_id: get(row, 2)?,
        access_level: get(row, 3)?,
    })
}

/// Shares a bucket with a team that does not own it, or changes the level of an existing share.
/// The flag says whether the share is new.
///
/// # Errors
/// [`ProvisionError::Invalid`] for malformed ids; [`ProvisionError::NotFound`] when the bucket or
/// team does not exist; [`ProvisionError::Conflict`] when the team owns the bucket.
pub async fn share_bucket(
    client: &impl GenericClient,
    bucket_id: &str,
    team_id: &str,
    level: ShareLevel,
    now_ms: i64,
) -> Result<(Share, bool), ProvisionError> {
    const SQL: &str = concat!(
        r#"INSERT INTO "BucketTeamAccess" AS a (id, "bucketId", "teamId", "accessLevel", "createdAt")
           SELECT $1, b.id, t.id, $4, "#,
        ts!(5),
        r#" FROM "Bucket" b, "Team" t
           WHERE b.id = $2 AND t.id = $3 AND b."ownerTeamId" <> t.id
           ON CONFLICT ("bucketId", "teamId") DO UPDATE SET "accessLevel" = EXCLUDED."accessLevel"
           RETURNING "#,
        columns!(),
        ", (a.xmax = 0)"
    );
    const WHY: &str = r#"SELECT (SELECT "ownerTeamId" FROM "Bucket" WHERE id = $1),
                                EXISTS (SELECT 1 FROM "Team" WHERE id = $2)"#;
    check_id("bucket", bucket_id)?;
    check_id("team", team_id)?;
    let id = fresh_id()?;
    let level = level.as_str();
    let params: [Param<'_>; 5] = [
        (&id, Type::TEXT),
        (&bucket_id, Type::TEXT),
        (&team_id, Type::TEXT),
        (&level, Type::TEXT),
        (&now_ms, Type::INT8),
    ];
    let rows = client.query_typed(SQL, &params).await?;
    if let Some(row) = rows.first() {
        return Ok((share(row)?, get(row, COLUMNS)?));
    }
    let rows = client
        .query_typed(WHY, &[(&bucket_id, Type::TEXT), (&team_id, Type::TEXT)])
        .await?;
    let row = only_row(&rows, || "the bucket or team does not exist".into())?;
    let (owner, team_exists): (Option<String>, bool) = (get(row, 0)?, get(row, 1)?);
    Err(match owner {
        None => ProvisionError::NotFound(format!("no bucket with id '{bucket_id}'")),
        Some(_) if !team_exists => ProvisionError::NotFound(format!("no team with id '{team_id}'")),
        Some(_) => ProvisionError::Conflict(format!(
            "team '{team_id}' owns bucket '{bucket_id}'; there is nothing to share"
        )),
    })
}

/// Removes a team's share of a bucket. Returns whether there was one.
///
/// # Errors
/// [`ProvisionError::Invalid`] for malformed ids; [`ProvisionError::Store`] when the database fails.
pub async fn unshare_bucket(
    client: &impl GenericClient,
    bucket_id: &str,
    team_id: &str,
) -> Result<bool, ProvisionError> {
    const SQL: &str = r#"DELETE FROM "BucketTeamAccess" WHERE "bucketId" = $1 AND "teamId" = $2 RETURNING id"#;
    check_id("bucket", bucket_id)?;
    check_id("team", team_id)?;
    let rows = client
        .query_typed(SQL, &[(&bucket_id, Type::TEXT), (&team_id, Type::TEXT)])
        .await?;
    Ok(!rows.is_empty())
}

/// Shares, of one bucket and/or with one team (every share when neither is given), oldest first.
///
/// # Errors
/// [`ProvisionError::Invalid`] for malformed ids; [`ProvisionError::Store`] when the database fails.
pub async fn list_shares(
    client: &impl GenericClient,
    bucket_id: Option<&str>,
    team_id: Option<&str>,
) -> Result<Vec<Share>, ProvisionError> {
    const SQL: &str = concat!(
        "SELECT ",
        columns!(),
        r#" FROM "BucketTeamAccess" a
           WHERE ($1::text IS NULL OR a."bucketId" = $1) AND ($2::text IS NULL OR a."teamId" = $2)
           ORDER BY a."createdAt", a.id"#
    );
    if let Some(id) = bucket_id {
        check_id("bucket", id)?;
    }
    if let Some(id) = team_id {
        check_id("team", id)?;
    }
    let rows = client
        .query_typed(SQL, &[(&bucket_id, Type::TEXT), (&team_id, Type::TEXT)])
        .await?;
    Ok(rows.iter().map(share).collect::<Result<_, _>>()?)
}
