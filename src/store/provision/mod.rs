//! Provisioning: the statements an operator runs to set up and list users, organisations, teams,
//! buckets and their shares, projects, tenants and API keys — one module per entity, each with one
//! column list and one row mapper. The `carcosa-edge` command line is their only caller; the
//! request path never is.
//!
//! Every function takes any [`GenericClient`], so the command line can run several of them in one
//! [`tokio_postgres::Transaction`].
//!
//! Each function checks its input in Rust before any SQL runs, makes its row ids itself with
//! [`crate::ids::new_id`] (the upstream tooling generates ids client-side, so the tables have no id
//! defaults), and writes `createdAt` / `updatedAt` / `joinedAt` from the caller's clock, as Prisma
//! does (`updatedAt` has no database default, and a `CURRENT_TIMESTAMP` default would follow the
//! session's time zone rather than UTC). A write that spans rows (an organisation and its owner's
//! membership, a project and its first version) is one statement, so it is atomic without a
//! transaction.
//!
//! Nothing here selects or returns a key hash or a credential: buckets arrive with their
//! credentials already encrypted, and API keys arrive as their [`KeyHash`].

mod api_keys;
mod buckets;
mod orgs;
mod projects;
mod shares;
mod teams;
mod tenants;
mod users;

use tokio_postgres::error::SqlState;
#[cfg(doc)]
use tokio_postgres::GenericClient;
use tokio_postgres::Row;

pub use self::api_keys::{create_api_key, list_api_keys, revoke_api_key, ApiKeyRecord, NewApiKey, Revocation};
pub use self::buckets::{create_bucket, get_bucket, get_bucket_row, list_buckets, upsert_bucket, Bucket, NewBucket};
pub use self::orgs::{create_org, get_org, get_org_by_slug, list_orgs, Organization};
pub use self::projects::{
    create_project, get_project, get_project_by_slug, list_projects, set_project_bucket, set_project_upload_limit,
    NewProject, Project,
};
pub use self::shares::{list_shares, share_bucket, unshare_bucket, Share};
pub use self::teams::{create_team, get_team, get_team_by_slug, list_teams, Team};
pub use self::tenants::{create_tenant, list_tenants, Tenant};
pub use self::users::{ensure_user, User};
use super::StoreError;
use crate::ids::{looks_like_id, new_id, ID_RANDOM_BYTES};
use crate::permission::PermissionError;
pub use crate::permission::{Grants, MAX_GRANTS};
pub use crate::provider::Provider;
pub use crate::scope::ShareLevel;

/// Why a provisioning step failed. The messages are written for the operator and name the
/// offending value; they never contain SQL, a key hash or a credential.
#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    /// The input was refused before any SQL ran.
    #[error("{0}")]
    Invalid(String),
    /// A row the step needs does not exist.
    #[error("{0}")]
    NotFound(String),
    /// A row with the same unique name already exists, or the rows are in a state that forbids
    /// the step.
    #[error("{0}")]
    Conflict(String),
    /// The operating system's random number generator failed.
    #[error("the system random number generator failed")]
    Random,
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<PermissionError> for ProvisionError {
    fn from(e: PermissionError) -> Self {
        Self::Invalid(e.to_string())
    }
}

impl From<tokio_postgres::Error> for ProvisionError {
    fn from(e: tokio_postgres::Error) -> Self {
        Self::Store(e.into())
    }
}

/// `Conflict(message())` for a unique violation; any other error is a store error.
fn unique_violation(e: tokio_postgres::Error, message: impl FnOnce() -> String) -> ProvisionError {
    if e.code() == Some(&SqlState::UNIQUE_VIOLATION) {
        ProvisionError::Conflict(message())
    } else {
        e.into()
    }
}

/// The row an insert-or-select returned; none means what it referred to does not exist.
fn only_row(rows: &[Row], missing: impl FnOnce() -> String) -> Result<&Row, ProvisionError> {
    rows.first().ok_or_else(|| ProvisionError::NotFound(missing()))
}

fn fresh_id() -> Result<String, ProvisionError> {
    let mut random = [0u8; ID_RANDOM_BYTES];
    getrandom::getrandom(&mut random).map_err(|_| ProvisionError::Random)?;
    Ok(new_id(random))
}

// Input checks ------------------------------------------------------------------------------------

/// Longest name, label or slug accepted.
const MAX_NAME_CHARS: usize = 100;
const MAX_SLUG_CHARS: usize = 64;
const MAX_EMAIL_CHARS: usize = 254;

/// Checks a row id given by the operator.
///
/// # Errors
/// [`ProvisionError::Invalid`] unless `id` looks like an id ([`looks_like_id`]).
pub fn check_id(kind: &str, id: &str) -> Result<(), ProvisionError> {
    if looks_like_id(id) {
        Ok(())
    } else {
        Err(ProvisionError::Invalid(format!(
            "'{}' is not a valid {kind} id (1-64 characters of A-Z, a-z, 0-9, '_' and '-')",
            id.escape_debug()
        )))
    }
}

/// Checks a slug: 1–64 characters of `a-z`, `0-9`, `-` and `_`, starting with a letter or digit.
/// Slugs become segments of object keys (`{org}/{team}/{project}/tenants/{tenant}/…`), so this is
/// stricter than the schema.
///
/// # Errors
/// [`ProvisionError::Invalid`] naming `kind` and the slug.
pub fn check_slug(kind: &str, slug: &str) -> Result<(), ProvisionError> {
    let ok = (1..=MAX_SLUG_CHARS).contains(&slug.len())
        && slug
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(ProvisionError::Invalid(format!(
            "invalid {kind} slug '{}': use 1-{MAX_SLUG_CHARS} characters of a-z, 0-9, '-' and '_', \
             starting with a letter or digit",
            slug.escape_debug()
        )))
    }
}

/// Checks a display name or label: 1–100 characters, not blank, no control characters.
///
/// # Errors
/// [`ProvisionError::Invalid`] naming `what`.
pub fn check_name(what: &str, name: &str) -> Result<(), ProvisionError> {
    let chars = name.chars().count();
    if name.trim().is_empty() || chars > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(ProvisionError::Invalid(format!(
            "{what} must be 1-{MAX_NAME_CHARS} characters, not blank, without control characters"
        )));
    }
    Ok(())
}

/// Checks an e-mail address: something `@` something, at most 254 characters, no white space.
///
/// # Errors
/// [`ProvisionError::Invalid`].
pub fn check_email(email: &str) -> Result<(), ProvisionError> {
    let ok = email.len() <= MAX_EMAIL_CHARS
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty());
    if ok {
        Ok(())
    } else {
        Err(ProvisionError::Invalid(format!(
            "'{}' is not an e-mail address",
            email.escape_debug()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        for ok in ["demo", "a", "acme-corp", "team_2", "0day", &"a".repeat(64)] {
            assert!(check_slug("x", ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "-a",
            "_a",
            "A",
            "a b",
            "a/b",
            "..",
            ".",
            "é",
            "a.b",
            &"a".repeat(65),
        ] {
            let e = check_slug("team", bad).unwrap_err();
            assert!(e.to_string().starts_with("invalid team slug"), "{bad}: {e}");
        }
    }

    #[test]
    fn names_emails_and_ids() {
        assert!(check_name("a name", "Acme Corp").is_ok());
        assert!(check_name("a name", &"é".repeat(100)).is_ok());
        for bad in ["", "   ", "a\nb", &"a".repeat(101)] {
            assert!(check_name("a name", bad).is_err(), "{bad:?}");
        }
        assert!(check_email("admin@localhost").is_ok());
        for bad in ["", "admin", "@x", "x@", "a b@c", &format!("{}@x", "a".repeat(253))] {
            assert!(check_email(bad).is_err(), "{bad:?}");
        }
        assert!(check_id("team", "cabc123").is_ok());
        let e = check_id("team", "x'; DROP").unwrap_err();
        assert_eq!(
            e.to_string(),
            "'x\\'; DROP' is not a valid team id (1-64 characters of A-Z, a-z, 0-9, '_' and '-')"
        );
    }
}
