//! `"Tenant"` rows of multi-tenant projects.

use serde_json::Value;
use tokio_postgres::types::Type;
use tokio_postgres::{GenericClient, Row};

use super::{check_id, check_slug, fresh_id, get_project, unique_violation, ProvisionError};
use crate::store::{get, Param, StoreError};

/// A `"Tenant"` row.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Tenant {
    /// `"Tenant"."id"`.
    pub id: String,
    /// The project.
    pub project_id: String,
    /// Slug, unique within the project.
    pub slug: String,
    /// Free-form metadata, if any.
    pub metadata: Option<Value>,
}

/// The columns [`tenant`] reads, from alias `tn`.
macro_rules! columns {
    () => {
        r#"tn.id, tn."projectId", tn.slug, tn.metadata"#
    };
}

fn tenant(row: &Row) -> Result<Tenant, StoreError> {
    Ok(Tenant {
        id: get(row, 0)?,
        project_id: get(row, 1)?,
        slug: get(row, 2)?,
        metadata: get(row, 3)?,
    })
}

/// Creates a tenant of a multi-tenant project. `metadata`, when given, must be a JSON object.
///
/// Tenants of single-tenant projects are refused: the edge refuses every request that names
/// one, so such a row could never be used.
///
/// # Errors
/// [`ProvisionError::Invalid`] for bad input; [`ProvisionError::NotFound`] when the project does
/// not exist; [`ProvisionError::Conflict`] when it is not multi-tenant or already has this tenant.
pub async fn create_tenant(
    client: &impl GenericClient,
    project_id: &str,
    slug: &str,
    metadata: Option<&Value>,
    now_ms: i64,
) -> Result<Tenant, ProvisionError> {
    const SQL: &str = concat!(
        r#"INSERT INTO "Tenant" AS tn (id, "projectId", slug, metadata, "createdAt")
           SELECT $1, p.id, $3, $4, "#,
        ts!(5),
        r#" FROM "Project" p WHERE p.id = $2 AND p."multiTenant"
           RETURNING "#,
        columns!()
    );
    check_id("project", project_id)?;
    check_slug("tenant", slug)?;
    if metadata.is_some_and(|m| !m.is_object()) {
        return Err(ProvisionError::Invalid("tenant metadata must be a JSON object".into()));
    }
    let id = fresh_id()?;
    let params: [Param<'_>; 5] = [
        (&id, Type::TEXT),
        (&project_id, Type::TEXT),
        (&slug, Type::TEXT),
        (&metadata, Type::JSONB),
        (&now_ms, Type::INT8),
    ];
    let rows = client
        .query_typed(SQL, &params)
        .await
        .map_err(|e| unique_violation(e, || format!("the project already has a tenant with slug '{slug}'")))?;
    if let Some(row) = rows.first() {
        return Ok(tenant(row)?);
    }
    Err(match get_project(client, project_id).await? {
        None => ProvisionError::NotFound(format!("no project with id '{project_id}'")),
        Some(p) => ProvisionError::Conflict(format!(
            "project '{}' is not multi-tenant; tenants are only used by multi-tenant projects",
            p.slug
        )),
    })
}

/// The tenants of a project, oldest first.
///
/// # Errors
/// [`ProvisionError::Invalid`] for a malformed id; [`ProvisionError::Store`] when the database fails.
pub async fn list_tenants(client: &impl GenericClient, project_id: &str) -> Result<Vec<Tenant>, ProvisionError> {
    const SQL: &str = concat!(
        "SELECT ",
        columns!(),
        r#" FROM "Tenant" tn WHERE tn."projectId" = $1 ORDER BY tn."createdAt", tn.id"#
    );
    check_id("project", project_id)?;
    let rows = client.query_typed(SQL, &[(&project_id, Type::TEXT)]).await?;
    Ok(rows.iter().map(tenant).collect::<Result<_, _>>()?)
}
