//! Provisioning: the statements an operator runs to set up users, organisations, teams, buckets,
//! projects, tenants and API keys. The `carcosa-edge` command line is their only caller; the
//! request path never is.
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

use std::str::FromStr;

use serde_json::Value;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::Type;
use tokio_postgres::{Client, Row};

use super::{get, Param, StoreError};
use crate::apikey::KeyHash;
use crate::ids::{looks_like_id, new_id, ID_RANDOM_BYTES};
use crate::permission::{is_valid_grant, PermissionGroup};
use crate::scope::BucketRow;

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
/// Most grants one key may hold (the upstream API's limit).
pub const MAX_GRANTS: usize = 50;

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

// Users -------------------------------------------------------------------------------------------

/// A `"User"` row, as far as provisioning cares.
#[derive(Debug, Clone, PartialEq, Eq)]
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
pub async fn ensure_user(client: &Client, email: &str) -> Result<(User, bool), ProvisionError> {
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

// Organisations and teams -------------------------------------------------------------------------

/// An `"Organization"` row.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    client: &Client,
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
            RETURNING id, name, slug, "ownerId"
        ), m AS (
            INSERT INTO "OrganizationMember" (id, "organizationId", "userId", role, "joinedAt")
            SELECT $6, o.id, o."ownerId", 'OWNER'::"OrganizationRole", "#,
        ts!(4),
        r#" FROM o
        )
        SELECT id, name, slug, "ownerId" FROM o"#
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
pub async fn get_org(client: &Client, id: &str) -> Result<Option<Organization>, ProvisionError> {
    const SQL: &str = r#"SELECT id, name, slug, "ownerId" FROM "Organization" WHERE id = $1"#;
    check_id("organization", id)?;
    let rows = client.query_typed(SQL, &[(&id, Type::TEXT)]).await?;
    Ok(rows.first().map(organization).transpose()?)
}

/// The organisation with this slug.
///
/// # Errors
/// [`ProvisionError::Store`] when the database fails.
pub async fn get_org_by_slug(client: &Client, slug: &str) -> Result<Option<Organization>, ProvisionError> {
    const SQL: &str = r#"SELECT id, name, slug, "ownerId" FROM "Organization" WHERE slug = $1"#;
    let rows = client.query_typed(SQL, &[(&slug, Type::TEXT)]).await?;
    Ok(rows.first().map(organization).transpose()?)
}

/// A `"Team"` row with its organisation's slug and owner.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    pub org_slug: String,
    /// The organisation's owner.
    pub org_owner_id: String,
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

macro_rules! team_select {
    ($from:literal) => {
        concat!(
            r#"SELECT t.id, t.name, t.slug, t."organizationId", o.slug, o."ownerId" FROM "#,
            $from,
            r#" t JOIN "Organization" o ON o.id = t."organizationId" "#
        )
    };
}

/// Creates a team in an organisation, with the organisation's owner as its `OWNER` member.
///
/// # Errors
/// [`ProvisionError::Invalid`] for a bad name, slug or id; [`ProvisionError::NotFound`] when the
/// organisation does not exist; [`ProvisionError::Conflict`] when it already has a team with
/// this slug.
pub async fn create_team(
    client: &Client,
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
        team_select!("t")
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
pub async fn get_team(client: &Client, id: &str) -> Result<Option<Team>, ProvisionError> {
    const SQL: &str = concat!(team_select!(r#""Team""#), "WHERE t.id = $1");
    check_id("team", id)?;
    let rows = client.query_typed(SQL, &[(&id, Type::TEXT)]).await?;
    Ok(rows.first().map(team).transpose()?)
}

/// The team with this slug in an organisation.
///
/// # Errors
/// [`ProvisionError::Invalid`] for a malformed id; [`ProvisionError::Store`] when the database fails.
pub async fn get_team_by_slug(client: &Client, org_id: &str, slug: &str) -> Result<Option<Team>, ProvisionError> {
    const SQL: &str = concat!(
        team_select!(r#""Team""#),
        r#"WHERE t."organizationId" = $1 AND t.slug = $2"#
    );
    check_id("organization", org_id)?;
    let rows = client
        .query_typed(SQL, &[(&org_id, Type::TEXT), (&slug, Type::TEXT)])
        .await?;
    Ok(rows.first().map(team).transpose()?)
}

// Buckets -----------------------------------------------------------------------------------------

/// A storage provider, as `"Bucket"."provider"` spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    /// `s3`: AWS S3 or any S3-compatible server (MinIO, …).
    S3,
    /// `r2`: Cloudflare R2 (needs an endpoint; region `auto`).
    R2,
}

impl Provider {
    /// The stored value.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::S3 => "s3",
            Self::R2 => "r2",
        }
    }
}

impl FromStr for Provider {
    type Err = ProvisionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "s3" => Ok(Self::S3),
            "r2" => Ok(Self::R2),
            _ => Err(ProvisionError::Invalid(format!(
                "unknown provider '{}': expected s3 or r2",
                s.escape_debug()
            ))),
        }
    }
}

/// A bucket to record. Credentials must already be encrypted (`v1:…`, see [`crate::vault`]).
pub struct NewBucket<'a> {
    /// The owning team.
    pub team_id: &'a str,
    /// Display name.
    pub name: &'a str,
    /// The provider.
    pub provider: Provider,
    /// The bucket's name at the provider.
    pub bucket_name: &'a str,
    /// The region, if any.
    pub region: Option<&'a str>,
    /// A custom endpoint URL, if any.
    pub endpoint: Option<&'a str>,
    /// `v1:…` encrypted access key id.
    pub encrypted_access_key: &'a str,
    /// `v1:…` encrypted secret access key.
    pub encrypted_secret_key: &'a str,
}

impl NewBucket<'_> {
    fn check(&self) -> Result<(), ProvisionError> {
        check_id("team", self.team_id)?;
        check_name("a bucket name", self.name)?;
        let b = self.bucket_name;
        if b.is_empty() || b.len() > 255 || b.chars().any(|c| c.is_whitespace() || c.is_control() || c == '/') {
            return Err(ProvisionError::Invalid(format!(
                "'{}' is not a bucket name",
                b.escape_debug()
            )));
        }
        if self
            .region
            .is_some_and(|r| r.is_empty() || r.chars().any(|c| c.is_whitespace() || c.is_control()))
        {
            return Err(ProvisionError::Invalid(
                "the region must not be empty or contain white space".into(),
            ));
        }
        if self.provider == Provider::R2 && self.endpoint.is_none() {
            return Err(ProvisionError::Invalid(
                "an r2 bucket needs its endpoint (https://<account id>.r2.cloudflarestorage.com)".into(),
            ));
        }
        // A guard against storing plaintext where ciphertext belongs (the upstream seed did).
        for value in [self.encrypted_access_key, self.encrypted_secret_key] {
            if !value.starts_with("v1:") {
                return Err(ProvisionError::Invalid(
                    "bucket credentials must be encrypted before they are stored".into(),
                ));
            }
        }
        Ok(())
    }
}

/// A `"Bucket"` row, without its credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bucket {
    /// `"Bucket"."id"`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// `s3` or `r2` (other values may exist in databases written by other tools).
    pub provider: String,
    /// The bucket's name at the provider.
    pub bucket_name: String,
    /// The region, if set.
    pub region: Option<String>,
    /// The endpoint, if set.
    pub endpoint: Option<String>,
    /// `pending`, `testing`, `connected` or `error`.
    pub status: String,
    /// The owning team.
    pub owner_team_id: String,
}

fn bucket(row: &Row) -> Result<Bucket, StoreError> {
    Ok(Bucket {
        id: get(row, 0)?,
        name: get(row, 1)?,
        provider: get(row, 2)?,
        bucket_name: get(row, 3)?,
        region: get(row, 4)?,
        endpoint: get(row, 5)?,
        status: get(row, 6)?,
        owner_team_id: get(row, 7)?,
    })
}

macro_rules! insert_bucket {
    () => {
        concat!(
            r#"INSERT INTO "Bucket" (id, name, provider, "bucketName", region, endpoint,
                   "encryptedAccessKey", "encryptedSecretKey", status, "ownerTeamId", "createdAt", "updatedAt")
               SELECT $1, $2, $3, $4, $5, $6, $7, $8, 'pending', t.id, "#,
            ts!(9),
            ", ",
            ts!(9),
            r#" FROM "Team" t WHERE t.id = $10 "#
        )
    };
}

fn bucket_params<'a>(
    id: &'a String,
    b: &'a NewBucket<'a>,
    provider: &'a &'static str,
    now_ms: &'a i64,
) -> [Param<'a>; 10] {
    [
        (id, Type::TEXT),
        (&b.name, Type::TEXT),
        (provider, Type::TEXT),
        (&b.bucket_name, Type::TEXT),
        (&b.region, Type::TEXT),
        (&b.endpoint, Type::TEXT),
        (&b.encrypted_access_key, Type::TEXT),
        (&b.encrypted_secret_key, Type::TEXT),
        (now_ms, Type::INT8),
        (&b.team_id, Type::TEXT),
    ]
}

/// Records a bucket owned by a team, with status `pending`: the credentials have not been tried
/// yet (the dashboard's connection test moves it on; the edge signs for any status).
///
/// # Errors
/// [`ProvisionError::Invalid`] for bad input or unencrypted credentials;
/// [`ProvisionError::NotFound`] when the team does not exist; [`ProvisionError::Conflict`] when
/// the team already has a bucket with this name and provider.
pub async fn create_bucket(client: &Client, new: &NewBucket<'_>, now_ms: i64) -> Result<Bucket, ProvisionError> {
    const SQL: &str = concat!(
        insert_bucket!(),
        r#"RETURNING id, name, provider, "bucketName", region, endpoint, status, "ownerTeamId""#
    );
    new.check()?;
    let id = fresh_id()?;
    let provider = new.provider.as_str();
    let rows = client
        .query_typed(SQL, &bucket_params(&id, new, &provider, &now_ms))
        .await
        .map_err(|e| {
            unique_violation(e, || {
                format!("the team already has an {provider} bucket named '{}'", new.bucket_name)
            })
        })?;
    let row = only_row(&rows, || format!("no team with id '{}'", new.team_id))?;
    Ok(bucket(row)?)
}

/// Records a bucket like [`create_bucket`], or, when the team already has one with this name and
/// provider, updates its display name, region, endpoint and credentials. The flag says whether
/// the row was created.
///
/// # Errors
/// As [`create_bucket`], without the conflict.
pub async fn upsert_bucket(
    client: &Client,
    new: &NewBucket<'_>,
    now_ms: i64,
) -> Result<(Bucket, bool), ProvisionError> {
    const SQL: &str = concat!(
        insert_bucket!(),
        r#"ON CONFLICT ("ownerTeamId", "bucketName", provider) DO UPDATE SET
               name = EXCLUDED.name, region = EXCLUDED.region, endpoint = EXCLUDED.endpoint,
               "encryptedAccessKey" = EXCLUDED."encryptedAccessKey",
               "encryptedSecretKey" = EXCLUDED."encryptedSecretKey",
               "updatedAt" = EXCLUDED."updatedAt"
           RETURNING id, name, provider, "bucketName", region, endpoint, status, "ownerTeamId", (xmax = 0)"#
    );
    new.check()?;
    let id = fresh_id()?;
    let provider = new.provider.as_str();
    let rows = client
        .query_typed(SQL, &bucket_params(&id, new, &provider, &now_ms))
        .await?;
    let row = only_row(&rows, || format!("no team with id '{}'", new.team_id))?;
    Ok((bucket(row)?, get(row, 8)?))
}

/// The bucket with this id, without its credentials.
///
/// # Errors
/// [`ProvisionError::Invalid`] for a malformed id; [`ProvisionError::Store`] when the database fails.
pub async fn get_bucket(client: &Client, id: &str) -> Result<Option<Bucket>, ProvisionError> {
    const SQL: &str = concat!(
        r#"SELECT id, name, provider, "bucketName", region, endpoint, status, "ownerTeamId""#,
        r#" FROM "Bucket" WHERE id = $1"#
    );
    check_id("bucket", id)?;
    let rows = client.query_typed(SQL, &[(&id, Type::TEXT)]).await?;
    Ok(rows.first().map(bucket).transpose()?)
}

/// The bucket with this id as the edge signs for it: credentials still encrypted.
///
/// # Errors
/// [`ProvisionError::Invalid`] for a malformed id; [`ProvisionError::Store`] when the database fails.
pub async fn get_bucket_row(client: &Client, id: &str) -> Result<Option<BucketRow>, ProvisionError> {
    const SQL: &str = concat!(
        r#"SELECT id, provider, "bucketName", region, endpoint, "encryptedAccessKey", "encryptedSecretKey","#,
        r#" "ownerTeamId" FROM "Bucket" WHERE id = $1"#
    );
    check_id("bucket", id)?;
    let rows = client.query_typed(SQL, &[(&id, Type::TEXT)]).await?;
    let Some(row) = rows.first() else { return Ok(None) };
    Ok(Some(BucketRow {
        id: get(row, 0)?,
        provider: get(row, 1)?,
        bucket_name: get(row, 2)?,
        region: get(row, 3)?,
        endpoint: get(row, 4)?,
        encrypted_access_key: get(row, 5)?,
        encrypted_secret_key: get(row, 6)?,
        owner_team_id: get(row, 7)?,
    }))
}

/// How much of a bucket a team it is shared with may use (`"BucketTeamAccess"."accessLevel"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShareLevel {
    /// `READ_ONLY`: downloads only.
    ReadOnly,
    /// `READ_WRITE`: uploads and downloads; the team may create projects on the bucket.
    ReadWrite,
    /// `ADMIN`: as `READ_WRITE` (the upstream dashboard also lets it manage the share).
    Admin,
}

impl ShareLevel {
    /// The stored value.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ReadOnly => "READ_ONLY",
            Self::ReadWrite => "READ_WRITE",
            Self::Admin => "ADMIN",
        }
    }
}

impl FromStr for ShareLevel {
    type Err = ProvisionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [Self::ReadOnly, Self::ReadWrite, Self::Admin]
            .into_iter()
            .find(|l| l.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                ProvisionError::Invalid(format!(
                    "unknown access level '{}': expected READ_ONLY, READ_WRITE or ADMIN",
                    s.escape_debug()
                ))
            })
    }
}

/// A `"BucketTeamAccess"` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Share {
    /// `"BucketTeamAccess"."id"`.
    pub id: String,
    /// The shared bucket.
    pub bucket_id: String,
    /// The team it is shared with.
    pub team_id: String,
    /// The level, as stored.
    pub access_level: String,
}

/// Shares a bucket with a team that does not own it, or changes the level of an existing share.
/// The flag says whether the share is new.
///
/// # Errors
/// [`ProvisionError::Invalid`] for malformed ids; [`ProvisionError::NotFound`] when the bucket or
/// team does not exist; [`ProvisionError::Conflict`] when the team owns the bucket.
pub async fn share_bucket(
    client: &Client,
    bucket_id: &str,
    team_id: &str,
    level: ShareLevel,
    now_ms: i64,
) -> Result<(Share, bool), ProvisionError> {
    const SQL: &str = concat!(
        r#"INSERT INTO "BucketTeamAccess" (id, "bucketId", "teamId", "accessLevel", "createdAt")
           SELECT $1, b.id, t.id, $4, "#,
        ts!(5),
        r#" FROM "Bucket" b, "Team" t
           WHERE b.id = $2 AND t.id = $3 AND b."ownerTeamId" <> t.id
           ON CONFLICT ("bucketId", "teamId") DO UPDATE SET "accessLevel" = EXCLUDED."accessLevel"
           RETURNING id, "bucketId", "teamId", "accessLevel", (xmax = 0)"#
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
        let share = Share {
            id: get(row, 0)?,
            bucket_id: get(row, 1)?,
            team_id: get(row, 2)?,
            access_level: get(row, 3)?,
        };
        return Ok((share, get(row, 4)?));
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
pub async fn unshare_bucket(client: &Client, bucket_id: &str, team_id: &str) -> Result<bool, ProvisionError> {
    const SQL: &str = r#"DELETE FROM "BucketTeamAccess" WHERE "bucketId" = $1 AND "teamId" = $2 RETURNING id"#;
    check_id("bucket", bucket_id)?;
    check_id("team", team_id)?;
    let rows = client
        .query_typed(SQL, &[(&bucket_id, Type::TEXT), (&team_id, Type::TEXT)])
        .await?;
    Ok(!rows.is_empty())
}

// Projects and tenants ----------------------------------------------------------------------------

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
}

/// A `"Project"` row.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    })
}

/// Creates a project and its active `v1` `"Version"`, as the upstream API does. The team must own
/// the bucket or have a `READ_WRITE` or `ADMIN` share of it (the upstream rule); no API key is
/// created.
///
/// # Errors
/// [`ProvisionError::Invalid`] for bad input; [`ProvisionError::NotFound`] when the owner, bucket
/// or team does not exist; [`ProvisionError::Conflict`] when the slug is taken or the team may not
/// write to the bucket.
pub async fn create_project(client: &Client, new: &NewProject<'_>, now_ms: i64) -> Result<Project, ProvisionError> {
    const SQL: &str = concat!(
        r#"WITH p AS (
            INSERT INTO "Project" (id, name, slug, "ownerId", "bucketId", "teamId", "multiTenant", "createdAt", "updatedAt")
            SELECT $1, $2, $3, u.id, b.id, t.id, $7, "#,
        ts!(8),
        ", ",
        ts!(8),
        r#" FROM "User" u, "Bucket" b, "Team" t
            WHERE u.id = $4 AND b.id = $5 AND t.id = $6
              AND (b."ownerTeamId" = t.id OR EXISTS (
                    SELECT 1 FROM "BucketTeamAccess" a
                    WHERE a."bucketId" = b.id AND a."teamId" = t.id AND a."accessLevel" IN ('READ_WRITE', 'ADMIN')))
            RETURNING id, name, slug, "ownerId", "bucketId", "teamId", "multiTenant"
        ), v AS (
            INSERT INTO "Version" (id, "projectId", "versionName", "isActive", "createdAt")
            SELECT $9, p.id, 'v1', true, "#,
        ts!(8),
        r#" FROM p
        )
        SELECT id, name, slug, "ownerId", "bucketId", "teamId", "multiTenant" FROM p"#
    );
    const WHY: &str = r#"SELECT EXISTS (SELECT 1 FROM "User" WHERE id = $1),
                                EXISTS (SELECT 1 FROM "Bucket" WHERE id = $2),
                                EXISTS (SELECT 1 FROM "Team" WHERE id = $3)"#;
    check_name("a project name", new.name)?;
    check_slug("project", new.slug)?;
    check_id("user", new.owner_id)?;
    check_id("bucket", new.bucket_id)?;
    check_id("team", new.team_id)?;
    let (id, version_id) = (fresh_id()?, fresh_id()?);
    let params: [Param<'_>; 9] = [
        (&id, Type::TEXT),
        (&new.name, Type::TEXT),
        (&new.slug, Type::TEXT),
        (&new.owner_id, Type::TEXT),
        (&new.bucket_id, Type::TEXT),
        (&new.team_id, Type::TEXT),
        (&new.multi_tenant, Type::BOOL),
        (&now_ms, Type::INT8),
        (&version_id, Type::TEXT),
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
pub async fn get_project(client: &Client, id: &str) -> Result<Option<Project>, ProvisionError> {
    const SQL: &str = concat!(
        r#"SELECT id, name, slug, "ownerId", "bucketId", "teamId", "multiTenant""#,
        r#" FROM "Project" WHERE id = $1"#
    );
    check_id("project", id)?;
    let rows = client.query_typed(SQL, &[(&id, Type::TEXT)]).await?;
    Ok(rows.first().map(project).transpose()?)
}

/// The project with this slug (project slugs are globally unique).
///
/// # Errors
/// [`ProvisionError::Store`] when the database fails.
pub async fn get_project_by_slug(client: &Client, slug: &str) -> Result<Option<Project>, ProvisionError> {
    const SQL: &str = concat!(
        r#"SELECT id, name, slug, "ownerId", "bucketId", "teamId", "multiTenant""#,
        r#" FROM "Project" WHERE slug = $1"#
    );
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
    client: &Client,
    project_id: &str,
    bucket_id: &str,
    now_ms: i64,
) -> Result<Project, ProvisionError> {
    const SQL: &str = concat!(
        r#"UPDATE "Project" p SET "bucketId" = b.id, "updatedAt" = "#,
        ts!(3),
        r#" FROM "Bucket" b
           WHERE p.id = $1 AND b.id = $2
             AND (b."ownerTeamId" = p."teamId" OR EXISTS (
                   SELECT 1 FROM "BucketTeamAccess" a
                   WHERE a."bucketId" = b.id AND a."teamId" = p."teamId" AND a."accessLevel" IN ('READ_WRITE', 'ADMIN')))
           RETURNING p.id, p.name, p.slug, p."ownerId", p."bucketId", p."teamId", p."multiTenant""#
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

/// A `"Tenant"` row.
#[derive(Debug, Clone, PartialEq, Eq)]
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

/// Creates a tenant of a multi-tenant project. `metadata`, when given, must be a JSON object.
///
/// Tenants of single-tenant projects are refused: the edge refuses every request that names
/// one, so such a row could never be used.
///
/// # Errors
/// [`ProvisionError::Invalid`] for bad input; [`ProvisionError::NotFound`] when the project does
/// not exist; [`ProvisionError::Conflict`] when it is not multi-tenant or already has this tenant.
pub async fn create_tenant(
    client: &Client,
    project_id: &str,
    slug: &str,
    metadata: Option<&Value>,
    now_ms: i64,
) -> Result<Tenant, ProvisionError> {
    const SQL: &str = concat!(
        r#"INSERT INTO "Tenant" (id, "projectId", slug, metadata, "createdAt")
           SELECT $1, p.id, $3, $4, "#,
        ts!(5),
        r#" FROM "Project" p WHERE p.id = $2 AND p."multiTenant"
           RETURNING id, "projectId", slug, metadata"#
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
        return Ok(Tenant {
            id: get(row, 0)?,
            project_id: get(row, 1)?,
            slug: get(row, 2)?,
            metadata: get(row, 3)?,
        });
    }
    Err(match get_project(client, project_id).await? {
        None => ProvisionError::NotFound(format!("no project with id '{project_id}'")),
        Some(p) => ProvisionError::Conflict(format!(
            "project '{}' is not multi-tenant; tenants are only used by multi-tenant projects",
            p.slug
        )),
    })
}

// API keys ----------------------------------------------------------------------------------------

/// The grants of a new API key: 1–[`MAX_GRANTS`] distinct strings, each accepted by
/// [`is_valid_grant`], and `*` only on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grants(Vec<String>);

impl Grants {
    /// Checks explicit grants, dropping repeats (the first occurrence keeps its place).
    ///
    /// # Errors
    /// [`ProvisionError::Invalid`] naming the first bad grant, or saying what else is wrong.
    pub fn new<I, S>(grants: I) -> Result<Self, ProvisionError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut out: Vec<String> = Vec::new();
        for grant in grants {
            let grant = grant.into();
            if !is_valid_grant(&grant) {
                return Err(ProvisionError::Invalid(format!(
                    "invalid permission '{}': expected a permission such as files:read or uploads:create, \
                     <resource>:<read|write|delete|create|manage|*>, or *",
                    grant.escape_debug()
                )));
            }
            if !out.contains(&grant) {
                out.push(grant);
            }
        }
        if out.is_empty() {
            return Err(ProvisionError::Invalid(
                "an API key needs at least one permission".into(),
            ));
        }
        if out.len() > MAX_GRANTS {
            return Err(ProvisionError::Invalid(format!(
                "an API key may hold at most {MAX_GRANTS} permissions"
            )));
        }
        if out.len() > 1 && out.iter().any(|g| g == "*") {
            return Err(ProvisionError::Invalid(
                "'*' grants every permission and must be given alone".into(),
            ));
        }
        Ok(Self(out))
    }

    /// The grants of a permission group.
    #[must_use]
    pub fn group(group: PermissionGroup) -> Self {
        Self(group.grants().iter().map(|&g| g.to_owned()).collect())
    }

    /// The grant strings.
    #[must_use]
    pub fn as_slice(&self) -> &[String] {
        &self.0
    }
}

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

/// The `"ApiKey"` columns [`api_key`] reads, from alias `k`, timestamps as Unix milliseconds.
macro_rules! key_columns {
    () => {
        r#"k.id, k."projectId", k.label, k.permissions,
           (EXTRACT(EPOCH FROM k."createdAt") * 1000)::int8,
           (EXTRACT(EPOCH FROM k."lastUsedAt") * 1000)::int8,
           (EXTRACT(EPOCH FROM k."expiresAt") * 1000)::int8,
           (EXTRACT(EPOCH FROM k."revokedAt") * 1000)::int8"#
    };
}

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
pub async fn create_api_key(client: &Client, new: &NewApiKey<'_>, now_ms: i64) -> Result<ApiKeyRecord, ProvisionError> {
    const SQL: &str = concat!(
        r#"INSERT INTO "ApiKey" AS k (id, "projectId", label, "keyHash", permissions, "createdAt", "expiresAt")
           SELECT $1, p.id, $3, $4, $5, "#,
        ts!(6),
        ", ",
        ts!(7),
        r#" FROM "Project" p WHERE p.id = $2
           RETURNING "#,
        key_columns!()
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
pub async fn list_api_keys(client: &Client, project_id: &str) -> Result<Vec<ApiKeyRecord>, ProvisionError> {
    const SQL: &str = concat!(
        "SELECT ",
        key_columns!(),
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
pub async fn revoke_api_key(client: &Client, key_id: &str, now_ms: i64) -> Result<Option<Revocation>, ProvisionError> {
    const SQL: &str = concat!(
        r#"WITH old AS (SELECT id, "revokedAt" FROM "ApiKey" WHERE id = $1 FOR UPDATE)
           UPDATE "ApiKey" k SET "revokedAt" = COALESCE(k."revokedAt", "#,
        ts!(2),
        r#") FROM old WHERE k.id = old.id
           RETURNING "#,
        key_columns!(),
        r#", old."revokedAt" IS NULL"#
    );
    check_id("API key", key_id)?;
    let rows = client
        .query_typed(SQL, &[(&key_id, Type::TEXT), (&now_ms, Type::INT8)])
        .await?;
    let Some(row) = rows.first() else { return Ok(None) };
    Ok(Some(Revocation {
        key: api_key(row)?,
        newly_revoked: get(row, 8)?,
    }))
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

    #[test]
    fn grants_are_checked() {
        let g = Grants::new(["files:read", "uploads:*", "files:read"]).unwrap();
        assert_eq!(g.as_slice(), ["files:read", "uploads:*"]);
        assert_eq!(Grants::new(["*"]).unwrap().as_slice(), ["*"]);

        let msg = |r: Result<Grants, ProvisionError>| r.unwrap_err().to_string();
        assert!(msg(Grants::new(["files:read", "nope"])).starts_with("invalid permission 'nope'"));
        assert!(msg(Grants::new(["FILES:READ"])).starts_with("invalid permission"));
        assert!(msg(Grants::new(["transforms:execute"])).starts_with("invalid permission"));
        assert_eq!(
            msg(Grants::new(Vec::<String>::new())),
            "an API key needs at least one permission"
        );
        assert_eq!(
            msg(Grants::new(["*", "files:read"])),
            "'*' grants every permission and must be given alone"
        );
        let many: Vec<String> = (0..51).map(|i| format!("r{}:read", "x".repeat(i))).collect();
        assert!(msg(Grants::new(many)).contains("at most 50"));
    }

    #[test]
    fn groups_become_grants() {
        assert_eq!(Grants::group(PermissionGroup::Admin).as_slice(), ["*"]);
        let standard = Grants::group(PermissionGroup::Standard);
        assert_eq!(standard.as_slice().len(), 9);
        assert!(Grants::new(standard.as_slice().to_vec()).is_ok());
    }

    #[test]
    fn levels_and_providers_parse() {
        assert_eq!("read_only".parse::<ShareLevel>().unwrap(), ShareLevel::ReadOnly);
        assert_eq!("READ_WRITE".parse::<ShareLevel>().unwrap().as_str(), "READ_WRITE");
        assert_eq!("ADMIN".parse::<ShareLevel>().unwrap(), ShareLevel::Admin);
        assert!("OWNER".parse::<ShareLevel>().is_err());
        assert_eq!("R2".parse::<Provider>().unwrap(), Provider::R2);
        assert!("gcs".parse::<Provider>().is_err());
    }

    #[test]
    fn new_buckets_are_checked() {
        let good = NewBucket {
            team_id: "cteam",
            name: "Uploads",
            provider: Provider::S3,
            bucket_name: "uploads",
            region: None,
            endpoint: None,
            encrypted_access_key: "v1:a:b",
            encrypted_secret_key: "v1:a:b",
        };
        assert!(good.check().is_ok());
        let plaintext = NewBucket {
            encrypted_secret_key: "minioadmin",
            ..good
        };
        assert!(plaintext.check().unwrap_err().to_string().contains("must be encrypted"));
        let r2 = NewBucket {
            provider: Provider::R2,
            ..good
        };
        assert!(r2.check().unwrap_err().to_string().contains("needs its endpoint"));
        let spaced = NewBucket {
            bucket_name: "a b",
            ..good
        };
        assert!(spaced.check().is_err());
    }
}
