//! `"Organization"` rows and their owners' memberships.

use tokio_postgres::types::Type;
use tokio_postgres::{GenericClient, Row};

use super::{check_id, check_name, check_slug, fresh_id, only_row, unique_violation, ProvisionError};
use crate::store::{get, Param, StoreError};

/// An `"Organization"` row.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Organization {
    /// `"Organization"."id"`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Globally unique slug.
    pub slug: String,
    /// The owning user.
    pub owner_id: String,
}

/// The columns [`organization`] reads, from alias `o`.
macro_rules! columns {
    () => {
        r#"o.id, o.name, o.slug, o."ownerId""#
    };
}

fn organization(row: &Row) -> Result<Organization, StoreError> {
    Ok(Organization {
        id: get(row, 0)?,
        name: get(row, 1)?,
        slug: get(row, 2)?,
        owner_id: get(row, 3)?,
    })
}

/// Creates an organisation owned by `owner_id`, with the owner as its `OWNER` member.
///
/// # Errors
/// [`ProvisionError::Invalid`] for a bad name, slug or id; [`ProvisionError::Conflict`] when the
/// slug is taken; [`ProvisionError::NotFound`] when the owner does not exist.
pub async fn create_org(
    client: &impl GenericClient,
    name: &str,
    slug: &str,
    owner_id: &str,
    now_ms: i64,
) -> Result<Organization, ProvisionError> {
    const SQL: &str = concat!(
        r#"WITH o AS (
            INSERT INTO "Organization" (id, name, slug, "ownerId", "createdAt", "updatedAt")
            SELECT $1, $2, $3, u.id, "#,
        ts!(4),
        ", ",
        ts!(4),
        r#" FROM "User" u WHERE u.id = $5
            RETURNING *
        ), m AS (
            INSERT INTO "OrganizationMember" (id, "organizationId", "userId", role, "joinedAt")
            SELECT $6, o.id, o."ownerId", 'OWNER'::"OrganizationRole", "#,
        ts!(4),
        r#" FROM o
        )
        SELECT "#,
        columns!(),
        " FROM o"
    );
    check_name("an organization name", name)?;
    check_slug("organization", slug)?;
    check_id("user", owner_id)?;
    let (id, member_id) = (fresh_id()?, fresh_id()?);
    let params: [Param<'_>; 6] = [
        (&id, Type::TEXT),
        (&name, Type::TEXT),
        (&slug, Type::TEXT),
        (&now_ms, Type::INT8),
        (&owner_id, Type::TEXT),
        (&member_id, Type::TEXT),
    ];
    let rows = client
        .query_typed(SQL, &params)
        .await
        .map_err(|e| unique_violation(e, || format!("an organization with slug '{slug}' already exists")))?;
    let row = only_row(&rows, || format!("no user with id '{owner_id}'"))?;
    Ok(organization(row)?)
}

/// The organisation with this id.
///
/// # Errors
/// [`ProvisionError::Invalid`] for a malformed id; [`ProvisionError::Store`] when the database fails.
pub async fn get_org(client: &impl GenericClient, id: &str) -> Result<Option<Organization>, ProvisionError> {
    const SQL: &str = concat!("SELECT ", columns!(), r#" FROM "Organization" o WHERE o.id = $1"#);
    check_id("organization", id)?;
    let rows = client.query_typed(SQL, &[(&id, Type::TEXT)]).await?;
    Ok(rows.first().map(organization).transpose()?)
}

/// The organisation with this slug.
///
/// # Errors
/// [`ProvisionError::Store`] when the database fails.
pub async fn get_org_by_slug(client: &impl GenericClient, slug: &str) -> Result<Option<Organization>, ProvisionError> {
    const SQL: &str = concat!("SELECT ", columns!(), r#" FROM "Organization" o WHERE o.slug = $1"#);
    let rows = client.query_typed(SQL, &[(&slug, Type::TEXT)]).await?;
    Ok(rows.first().map(organization).transpose()?)
}

/// Every organisation, oldest first.
///
/// # Errors
/// [`ProvisionError::Store`] when the database fails.
pub async fn list_orgs(client: &impl GenericClient) -> Result<Vec<Organization>, ProvisionError> {
    const SQL: &str = concat!(
        "SELECT ",
        columns!(),
        r#" FROM "Organization" o ORDER BY o."createdAt", o.id"#
    );
    let rows = client.query_typed(SQL, &[]).await?;
    Ok(rows.iter().map(organization).collect::<Result<_, _>>()?)
}
