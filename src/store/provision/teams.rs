//! `"Team"` rows (with their organisation's slug and owner) and their owners' memberships.

use tokio_postgres::types::Type;
use tokio_postgres::{GenericClient, Row};

use super::{check_id, check_name, check_slug, fresh_id, only_row, unique_violation, ProvisionError};
use crate::store::{get, Param, StoreError};

/// A `"Team"` row with its organisation's slug and owner.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Team {
    /// `"Team"."id"`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Slug, unique within the organisation.
    pub slug: String,
    /// The organisation.
    pub organization_id: String,
    /// The organisation's slug.
    #[serde(rename = "organizationSlug")]
    pub org_slug: String,
    /// The organisation's owner.
    #[serde(skip)]
    pub org_owner_id: String,
}

/// `SELECT` of the columns [`team`] reads, from `$from` aliased `t`, joined to its organisation.
macro_rules! select {
    ($from:literal) => {
        concat!(
            r#"SELECT t.id, t.name, t.slug, t."organizationId", o.slug, o."ownerId" FROM "#,
            $from,
            r#" t JOIN "Organization" o ON o.id = t."organizationId" "#
        )
    };
}

fn team(row: &Row) -> Result<Team, StoreError> {
    Ok(Team {
        id: get(row, 0)?,
        name: get(row, 1)?,
        slug: get(row, 2)?,
        organization_id: get(row, 3)?,
        org_slug: get(row, 4)?,
        org_owner_id: get(row, 5)?,
    })
}

/// Creates a team in an organisation, with the organisation's owner as its `OWNER` member.
///
/// # Errors
/// [`ProvisionError::Invalid`] for a bad name, slug or id; [`ProvisionError::NotFound`] when the
/// organisation does not exist; [`ProvisionError::Conflict`] when it already has a team with
/// this slug.
pub async fn create_team(
    client: &impl GenericClient,
    org_id: &str,
    name: &str,
    slug: &str,
    now_ms: i64,
) -> Result<Team, ProvisionError> {
    const SQL: &str = concat!(
        r#"WITH t AS (
            INSERT INTO "Team" (id, name, slug, "organizationId", "createdAt", "updatedAt")
            SELECT $1, $2, $3, o.id, "#,
        ts!(4),
        ", ",
        ts!(4),
        r#" FROM "Organization" o WHERE o.id = $5
            RETURNING id, name, slug, "organizationId"
        ), m AS (
            INSERT INTO "TeamMember" (id, "teamId", "userId", role, "joinedAt")
            SELECT $6, t.id, o."ownerId", 'OWNER'::"TeamRole", "#,
        ts!(4),
        r#" FROM t JOIN "Organization" o ON o.id = t."organizationId"
        ) "#,
        select!("t")
    );
    check_id("organization", org_id)?;
    check_name("a team name", name)?;
    check_slug("team", slug)?;
    let (id, member_id) = (fresh_id()?, fresh_id()?);
    let params: [Param<'_>; 6] = [
        (&id, Type::TEXT),
        (&name, Type::TEXT),
        (&slug, Type::TEXT),
        (&now_ms, Type::INT8),
        (&org_id, Type::TEXT),
        (&member_id, Type::TEXT),
    ];
    let rows = client
        .query_typed(SQL, &params)
        .await
        .map_err(|e| unique_violation(e, || format!("the organization already has a team with slug '{slug}'")))?;
    let row = only_row(&rows, || format!("no organization with id '{org_id}'"))?;
    Ok(team(row)?)
}

/// The team with this id.
///
/// # Errors
/// [`ProvisionError::Invalid`] for a malformed id; [`ProvisionError::Store`] when the database fails.
pub async fn get_team(client: &impl GenericClient, id: &str) -> Result<Option<Team>, ProvisionError> {
    const SQL: &str = concat!(select!(r#""Team""#), "WHERE t.id = $1");
    check_id("team", id)?;
    let rows = client.query_typed(SQL, &[(&id, Type::TEXT)]).await?;
    Ok(rows.first().map(team).transpose()?)
}

/// The team with this slug in an organisation.
///
/// # Errors
/// [`ProvisionError::Invalid`] for a malformed id; [`ProvisionError::Store`] when the database fails.
pub async fn get_team_by_slug(
    client: &impl GenericClient,
    org_id: &str,
    slug: &str,
) -> Result<Option<Team>, ProvisionError> {
    const SQL: &str = concat!(select!(r#""Team""#), r#"WHERE t."organizationId" = $1 AND t.slug = $2"#);
    check_id("organization", org_id)?;
    let rows = client
        .query_typed(SQL, &[(&org_id, Type::TEXT), (&slug, Type::TEXT)])
        .await?;
    Ok(rows.first().map(team).transpose()?)
}

/// The teams of one organisation, or of all, oldest first.
///
/// # Errors
/// [`ProvisionError::Invalid`] for a malformed id; [`ProvisionError::Store`] when the database fails.
pub async fn list_teams(client: &impl GenericClient, org_id: Option<&str>) -> Result<Vec<Team>, ProvisionError> {
    const SQL: &str = concat!(
        select!(r#""Team""#),
        r#"WHERE $1::text IS NULL OR t."organizationId" = $1 ORDER BY t."createdAt", t.id"#
    );
    if let Some(id) = org_id {
        check_id("organization", id)?;
    }
    let rows = client.query_typed(SQL, &[(&org_id, Type::TEXT)]).await?;
    Ok(rows.iter().map(team).collect::<Result<_, _>>()?)
}
