//! `"User"` rows: the owners of organisations and projects.

use tokio_postgres::types::Type;
use tokio_postgres::GenericClient;

use super::{check_email, fresh_id, ProvisionError};
use crate::store::get;

/// A `"User"` row, as far as provisioning cares.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct User {
    /// `"User"."id"`.
    pub id: String,
    /// `"User"."email"` (unique).
    pub email: String,
}

/// Returns the user with this e-mail address, creating one (no name, no password: it cannot log
/// in to the dashboard until it sets one there) when there is none. The flag says whether it was
/// created. Addresses are matched exactly, as the unique index does.
///
/// # Errors
/// [`ProvisionError::Invalid`] for a malformed address; [`ProvisionError::Store`] when the
/// database fails.
pub async fn ensure_user(client: &impl GenericClient, email: &str) -> Result<(User, bool), ProvisionError> {
    const SQL: &str = r#"
        WITH ins AS (
            INSERT INTO "User" (id, email) VALUES ($1, $2)
            ON CONFLICT (email) DO NOTHING
            RETURNING id
        )
        SELECT id, true FROM ins
        UNION ALL
        SELECT id, false FROM "User" WHERE email = $2
        LIMIT 1"#;
    check_email(email)?;
    // A concurrent insert of the same address that commits after this statement's snapshot makes
    // the first attempt see nothing; the second sees it.
    for _ in 0..2 {
        let id = fresh_id()?;
        let rows = client
            .query_typed(SQL, &[(&id, Type::TEXT), (&email, Type::TEXT)])
            .await?;
        if let Some(row) = rows.first() {
            return Ok((
                User {
                    id: get(row, 0)?,
                    email: email.to_owned(),
                },
                get(row, 1)?,
            ));
        }
    }
    Err(ProvisionError::Conflict(format!(
        "the user '{email}' is being created concurrently; try again"
    )))
}
