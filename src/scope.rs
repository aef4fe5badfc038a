//! Scope: what an authenticated key may do, decided over rows already fetched.
//!
//! `store` fetches one [`ScopeRow`] per request (key → project → team → bucket → share → tenant in a
//! single statement); this module turns it into an [`Authorized`] scope or a [`ScopeError`]. It never
//! queries Postgres and never reads the clock: the caller passes `now`.

use crate::object_key::{KeyError, Prefix};
use crate::permission::{Permission, PermissionSet};
use crate::provider::Provider;

/// A storage bucket as stored in `"Bucket"`, credentials still encrypted.
#[derive(Clone, PartialEq, Eq)]
pub struct BucketRow {
    /// `"Bucket"."id"`.
    pub id: String,
    /// The provider (any stored value but `r2` means S3-compatible).
    pub provider: Provider,
    /// The bucket's name at the provider.
    pub bucket_name: String,
    /// The region, if set.
    pub region: Option<String>,
    /// A custom endpoint (MinIO, R2, …), if set.
    pub endpoint: Option<String>,
    /// `v1:…` encrypted access key id.
    pub encrypted_access_key: String,
    /// `v1:…` encrypted secret access key.
    pub encrypted_secret_key: String,
    /// The team that owns the bucket.
    pub owner_team_id: String,
}

impl std::fmt::Debug for BucketRow {
    // The encrypted columns stay out of logs too: they are useless without the key, but logs are
    // not the place to collect them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BucketRow")
            .field("id", &self.id)
            .field("provider", &self.provider)
            .field("bucket_name", &self.bucket_name)
            .field("region", &self.region)
            .field("endpoint", &self.endpoint)
            .field("owner_team_id", &self.owner_team_id)
            .finish_non_exhaustive()
    }
}

/// Everything one request needs to know about its key's scope, fetched in one statement.
#[derive(Debug, Clone)]
pub struct ScopeRow {
    /// `"ApiKey"."id"`.
    pub key_id: String,
    /// `"ApiKey"."permissions"`, parsed.
    pub permissions: PermissionSet,
    /// `"ApiKey"."expiresAt"` in Unix milliseconds, if the key expires.
    pub key_expires_at_ms: Option<i64>,
    /// `"Project"."id"`.
    pub project_id: String,
    /// `"Project"."slug"`.
    pub project_slug: String,
    /// Whether uploads must name a tenant.
    pub multi_tenant: bool,
    /// The project's team, if it has one.
    pub team: Option<TeamRow>,
    /// The bucket the request works on (the project's, or the upload's for completions).
    pub bucket: BucketRow,
    /// The project team's share of the bucket, when the team does not own it and the stored
    /// level is one this service knows.
    pub share_level: Option<ShareLevel>,
    /// The tenant the request named, when it exists in this project.
    pub tenant: Option<TenantRow>,
    /// `"Project"."edgeMaxUploadBytes"`: the project's largest upload in bytes; `None` leaves it
    /// to the deployment's `MAX_UPLOAD_BYTES`.
    pub max_upload_bytes: Option<u64>,
    /// `"RateLimitConfig"."uploadsPerMinute"`, when the project has a row.
    pub uploads_per_minute: Option<i32>,
}

/// A project's team and organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamRow {
    /// `"Team"."id"`.
    pub id: String,
    /// `"Team"."slug"`.
    pub slug: String,
    /// `"Organization"."slug"`.
    pub org_slug: String,
}

/// A tenant of a multi-tenant project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantRow {
    /// `"Tenant"."id"`.
    pub id: String,
    /// `"Tenant"."slug"`.
    pub slug: String,
}

/// How much of a bucket a team it is shared with may use (`"BucketTeamAccess"."accessLevel"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(not(target_arch = "wasm32"), derive(clap::ValueEnum, serde::Serialize))]
#[cfg_attr(not(target_arch = "wasm32"), serde(rename_all = "SCREAMING_SNAKE_CASE"))]
pub enum ShareLevel {
    /// `READ_ONLY`: downloads only.
    #[cfg_attr(not(target_arch = "wasm32"), value(name = "READ_ONLY"))]
    ReadOnly,
    /// `READ_WRITE`: uploads and downloads; the team may create projects on the bucket.
    #[cfg_attr(not(target_arch = "wasm32"), value(name = "READ_WRITE"))]
    ReadWrite,
    /// `ADMIN`: as `READ_WRITE` (the upstream dashboard also lets it manage the share).
    #[cfg_attr(not(target_arch = "wasm32"), value(name = "ADMIN"))]
    Admin,
}

/// An access level that is not `READ_ONLY`, `READ_WRITE` or `ADMIN`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown access level '{}': expected READ_ONLY, READ_WRITE or ADMIN", .0.escape_debug())]
pub struct UnknownShareLevel(pub String);

impl ShareLevel {
    /// Every level.
    pub const ALL: [Self; 3] = [Self::ReadOnly, Self::ReadWrite, Self::Admin];

    /// The stored value.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ReadOnly => "READ_ONLY",
            Self::ReadWrite => "READ_WRITE",
            Self::Admin => "ADMIN",
        }
    }

    /// The level a stored value means, exactly as spelled; `None` for anything else (the column
    /// is free text upstream, and an unknown level grants nothing).
    #[must_use]
    pub fn from_stored(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.as_str() == s)
    }

    /// The bucket access the level gives.
    #[must_use]
    pub const fn access(self) -> Access {
        match self {
            Self::ReadOnly => Access::Read,
            Self::ReadWrite | Self::Admin => Access::ReadWrite,
        }
    }
}

impl std::fmt::Display for ShareLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ShareLevel {
    type Err = UnknownShareLevel;

    /// Any ASCII case, for input an operator typed.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|l| l.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownShareLevel(s.to_owned()))
    }
}

/// What a request wants to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// Presign an upload.
    Upload,
    /// Confirm an upload.
    Complete,
    /// Presign a download.
    Download,
    /// List the project's files or uploads.
    List,
    /// Delete files (the objects and their rows).
    Delete,
}

impl Operation {
    /// Any one of these permissions allows the operation.
    #[must_use]
    pub fn permissions(self) -> &'static [Permission] {
        match self {
            Self::Upload => &[Permission::UploadsCreate, Permission::UploadsInit],
            Self::Complete => &[Permission::UploadsComplete],
            Self::Download | Self::List => &[Permission::FilesRead],
            Self::Delete => &[Permission::FilesDelete],
        }
    }

    /// The bucket access the operation needs.
    fn needs(self) -> Access {
        match self {
            Self::Upload | Self::Complete | Self::Delete => Access::ReadWrite,
            Self::Download | Self::List => Access::Read,
        }
    }
}

/// A team's access to a bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    /// No access.
    None,
    /// Download URLs only (`READ_ONLY` share).
    Read,
    /// Uploads and downloads (owner, `READ_WRITE` or `ADMIN` share).
    ReadWrite,
}

/// Why a request falls outside its key's scope. Each variant maps to one HTTP status in `api`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    /// The key's `expiresAt` has passed.
    #[error("the API key has expired")]
    KeyExpired,
    /// The key lacks every permission that allows the operation.
    #[error("the API key lacks the {0} permission")]
    PermissionDenied(&'static str),
    /// The project's team has read-only access to the bucket.
    #[error("the project's bucket is shared read-only with its team")]
    BucketReadOnly,
    /// The project's team neither owns nor shares the bucket (or the project has no team).
    #[error("the project's team has no access to its bucket")]
    BucketAccessDenied,
    /// A multi-tenant project was called without a tenant.
    #[error("this project is multi-tenant: name a tenant")]
    TenantRequired,
    /// A tenant was named for a project that has none.
    #[error("this project is not multi-tenant: do not name a tenant")]
    TenantNotSupported,
    /// The named tenant does not exist in this project.
    #[error("no such tenant in this project")]
    TenantNotFound,
    /// The project's slugs cannot form a storage prefix.
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// A scope the request may act in.
#[derive(Debug, Clone)]
pub struct Authorized {
    /// The key acting.
    pub key_id: String,
    /// The project acted for.
    pub project_id: String,
    /// Where the project's (and tenant's) objects live.
    pub prefix: Prefix,
    /// The bucket to sign for.
    pub bucket: BucketRow,
    /// The tenant acted for, if any.
    pub tenant_id: Option<String>,
    /// The access the project's team has (at least what the operation needs).
    pub access: Access,
    /// When the key expires (Unix milliseconds), if it does: nothing signed for it may outlive it.
    pub key_expires_at_ms: Option<i64>,
    /// The project's own upload size limit, if it has one (see [`Authorized::upload_limit`]).
    pub project_max_upload_bytes: Option<u64>,
    /// The project's `uploadsPerMinute`, which picks its rate-limit tier.
    pub uploads_per_minute: Option<i32>,
}

impl Authorized {
    /// The largest object this scope may upload, in bytes: the project's limit, never above the
    /// deployment's `deployment_max` (which is itself at most S3's 5 GiB).
    #[must_use]
    pub fn upload_limit(&self, deployment_max: u64) -> u64 {
        self.project_max_upload_bytes
            .map_or(deployment_max, |own| own.min(deployment_max))
    }
}

/// The access a project's team has to the bucket in `row`.
#[must_use]
pub fn bucket_access(row: &ScopeRow) -> Access {
    let Some(team) = &row.team else { return Access::None };
    if team.id == row.bucket.owner_team_id {
        return Access::ReadWrite;
    }
    row.share_level.map_or(Access::None, ShareLevel::access)
}

/// Decides whether `row`'s key may perform `op`, naming `tenant` (a slug) or not, at `now_ms`.
///
/// `row.tenant` must be the tenant that `tenant` names, as fetched (None when it does not exist).
///
/// # Errors
/// A [`ScopeError`] saying which rule refused the request; checks run in the order a caller can
/// fix them: key validity, permission, bucket access, tenant.
pub fn authorize(row: &ScopeRow, op: Operation, tenant: Option<&str>, now_ms: i64) -> Result<Authorized, ScopeError> {
    if row.key_expires_at_ms.is_some_and(|exp| exp <= now_ms) {
        return Err(ScopeError::KeyExpired);
    }
    let wanted = op.permissions();
    if !row.permissions.allows_any(wanted) {
        return Err(ScopeError::PermissionDenied(wanted[0].as_str()));
    }
    let access = bucket_access(row);
    if access < op.needs() {
        return Err(if access == Access::Read {
            ScopeError::BucketReadOnly
        } else {
            ScopeError::BucketAccessDenied
        });
    }
    let Some(team) = &row.team else {
        return Err(ScopeError::BucketAccessDenied);
    };
    let tenant_row = match (row.multi_tenant, tenant) {
        (false, None) => None,
        (false, Some(_)) => return Err(ScopeError::TenantNotSupported),
        // Downloads, completions, listings and deletions may act project-wide; uploads must land
        // in a tenant.
        (true, None) if op == Operation::Upload => return Err(ScopeError::TenantRequired),
        (true, None) => None,
        (true, Some(_)) => Some(row.tenant.as_ref().ok_or(ScopeError::TenantNotFound)?),
    };
    let prefix = Prefix::new(
        &team.org_slug,
        &team.slug,
        &row.project_slug,
        tenant_row.map(|t| t.slug.as_str()),
    )?;
    Ok(Authorized {
        key_id: row.key_id.clone(),
        project_id: row.project_id.clone(),
        prefix,
        bucket: row.bucket.clone(),
        tenant_id: tenant_row.map(|t| t.id.clone()),
        access,
        key_expires_at_ms: row.key_expires_at_ms,
        project_max_upload_bytes: row.max_upload_bytes,
        uploads_per_minute: row.uploads_per_minute,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    /// A STANDARD-looking scope: key `k1` with `*`, project `site` of team `default` in `acme`,
    /// which owns bucket `b1`. Shared with other modules' tests.
    pub(crate) fn row() -> ScopeRow {
        ScopeRow {
            key_id: "k1".into(),
            permissions: PermissionSet::from_json(&json!(["*"])),
            key_expires_at_ms: None,
            project_id: "p1".into(),
            project_slug: "site".into(),
            multi_tenant: false,
            team: Some(TeamRow {
                id: "t1".into(),
                slug: "default".into(),
                org_slug: "acme".into(),
            }),
            bucket: BucketRow {
                id: "b1".into(),
                provider: Provider::S3,
                bucket_name: "uploads".into(),
                region: None,
                endpoint: None,
                encrypted_access_key: "v1:x:y".into(),
                encrypted_secret_key: "v1:x:y".into(),
                owner_team_id: "t1".into(),
            },
            share_level: None,
            tenant: None,
            max_upload_bytes: None,
            uploads_per_minute: None,
        }
    }

    fn shared(level: Option<&str>) -> ScopeRow {
        let mut r = row();
        r.bucket.owner_team_id = "other-team".into();
        r.share_level = level.and_then(ShareLevel::from_stored);
        r
    }

    fn check(r: &ScopeRow, op: Operation, tenant: Option<&str>, want: Result<&str, ScopeError>) {
        let got = authorize(r, op, tenant, 1_000).map(|a| a.prefix.as_str().to_owned());
        assert_eq!(got.as_deref().map_err(Clone::clone), want, "{op:?} tenant={tenant:?}");
    }

    #[test]
    fn upload_limit_is_the_project_s_never_above_the_deployment_s() {
        let mut r = row();
        let limit = |r: &ScopeRow, deployment| {
            authorize(r, Operation::Upload, None, 1_000)
                .unwrap()
                .upload_limit(deployment)
        };
        assert_eq!(limit(&r, 8_000), 8_000, "no project limit: the deployment's");
        r.max_upload_bytes = Some(1_000);
        assert_eq!(limit(&r, 8_000), 1_000);
        r.max_upload_bytes = Some(9_000);
        assert_eq!(limit(&r, 8_000), 8_000, "the deployment's is the ceiling");
        r.max_upload_bytes = Some(0);
        assert_eq!(limit(&r, 8_000), 0);
    }

    #[test]
    fn owner_team_may_upload_and_download() {
        check(&row(), Operation::Upload, None, Ok("acme/default/site"));
        check(&row(), Operation::Download, None, Ok("acme/default/site"));
    }

    #[test]
    fn shares_grant_what_their_level_says() {
        for level in ["READ_WRITE", "ADMIN"] {
            check(&shared(Some(level)), Operation::Upload, None, Ok("acme/default/site"));
        }
        let ro = shared(Some("READ_ONLY"));
        check(&ro, Operation::Upload, None, Err(ScopeError::BucketReadOnly));
        check(&ro, Operation::Complete, None, Err(ScopeError::BucketReadOnly));
        check(&ro, Operation::Download, None, Ok("acme/default/site"));
        // Listing reads; deleting writes.
        check(&ro, Operation::List, None, Ok("acme/default/site"));
        check(&ro, Operation::Delete, None, Err(ScopeError::BucketReadOnly));
        // A revoked share is a missing row; an unknown level grants nothing.
        for level in [None, Some("OWNER"), Some("read_write")] {
            check(
                &shared(level),
                Operation::Upload,
                None,
                Err(ScopeError::BucketAccessDenied),
            );
            check(
                &shared(level),
                Operation::Download,
                None,
                Err(ScopeError::BucketAccessDenied),
            );
        }
    }

    #[test]
    fn projects_without_a_team_have_no_access() {
        let mut r = row();
        r.team = None;
        check(&r, Operation::Download, None, Err(ScopeError::BucketAccessDenied));
    }

    #[test]
    fn permissions_are_checked_per_operation() {
        let mut r = row();
        r.permissions = PermissionSet::from_json(&json!(["files:read"]));
        check(
            &r,
            Operation::Upload,
            None,
            Err(ScopeError::PermissionDenied("uploads:create")),
        );
        check(
            &r,
            Operation::Complete,
            None,
            Err(ScopeError::PermissionDenied("uploads:complete")),
        );
        check(&r, Operation::Download, None, Ok("acme/default/site"));
        check(&r, Operation::List, None, Ok("acme/default/site"));
        check(
            &r,
            Operation::Delete,
            None,
            Err(ScopeError::PermissionDenied("files:delete")),
        );
        r.permissions = PermissionSet::from_json(&json!(["files:delete"]));
        check(&r, Operation::Delete, None, Ok("acme/default/site"));
        check(
            &r,
            Operation::List,
            None,
            Err(ScopeError::PermissionDenied("files:read")),
        );
        r.permissions = PermissionSet::from_json(&json!(["uploads:init"]));
        check(&r, Operation::Upload, None, Ok("acme/default/site"));
    }

    #[test]
    fn expired_keys_are_refused() {
        let mut r = row();
        r.key_expires_at_ms = Some(1_000);
        check(&r, Operation::Download, None, Err(ScopeError::KeyExpired));
        r.key_expires_at_ms = Some(1_001);
        check(&r, Operation::Download, None, Ok("acme/default/site"));
    }

    #[test]
    fn tenants() {
        let mut r = row();
        check(&r, Operation::Upload, Some("t"), Err(ScopeError::TenantNotSupported));
        r.multi_tenant = true;
        check(&r, Operation::Upload, None, Err(ScopeError::TenantRequired));
        check(&r, Operation::Upload, Some("nope"), Err(ScopeError::TenantNotFound));
        check(&r, Operation::Download, None, Ok("acme/default/site"));
        check(&r, Operation::List, None, Ok("acme/default/site"));
        check(&r, Operation::Delete, None, Ok("acme/default/site"));
        r.tenant = Some(TenantRow {
            id: "tn1".into(),
            slug: "blue".into(),
        });
        check(
            &r,
            Operation::Upload,
            Some("blue"),
            Ok("acme/default/site/tenants/blue"),
        );
        assert_eq!(
            authorize(&r, Operation::Upload, Some("blue"), 0)
                .unwrap()
                .tenant_id
                .as_deref(),
            Some("tn1")
        );
    }
}
