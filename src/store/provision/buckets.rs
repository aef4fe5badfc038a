//! `"Bucket"` rows. Credentials arrive encrypted and are never read back.

use tokio_postgres::types::Type;
use tokio_postgres::{GenericClient, Row};

use super::{check_id, check_name, fresh_id, only_row, unique_violation, ProvisionError};
use crate::provider::Provider;
use crate::scope::BucketRow;
use crate::store::{bucket_row, get, Param, StoreError, BUCKET_ROW_COLUMNS};

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
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Bucket {
    /// `"Bucket"."id"`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// The provider (other tools may have stored other values; they mean S3-compatible).
    pub provider: Provider,
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

/// The columns [`bucket`] reads, from alias `b`; never the credentials.
macro_rules! columns {
    () => {
        r#"b.id, b.name, b.provider, b."bucketName", b.region, b.endpoint, b.status, b."ownerTeamId""#
    };
}

/// How many columns [`columns`] names: anything a statement returns after them starts here.
const COLUMNS: usize = 8;

fn bucket(row: &Row) -> Result<Bucket, StoreError> {
    Ok(Bucket {
        id: get(row, 0)?,
        name: get(row, 1)?,
        provider: Provider::from_stored(&get::<String>(row, 2)?),
        bucket_name: get(row, 3)?,
        region: get(row, 4)?,
        endpoint: get(row, 5)?,
        status: get(row, 6)?,
        owner_team_id: get(row, 7)?,
    })
}

/// The `INSERT` shared by [`create_bucket`] and [`upsert_bucket`], up to its `ON CONFLICT`.
macro_rules! insert {
    () => {
        concat!(
            r#"INSERT INTO "Bucket" AS b (id, name, provider, "bucketName", region, endpoint,
                   "encryptedAccessKey", "encryptedSecretKey", status, "ownerTeamId", "createdAt", "updatedAt")
               SELECT $1, $2, $3, $4, $5, $6, $7, $8, 'pending', t.id, "#,
            ts!(9),
            ", ",
            ts!(9),
            r#" FROM "Team" t WHERE t.id = $10 "#
        )
    };
}

fn insert_params<'a>(
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
pub async fn create_bucket(
    client: &impl GenericClient,
    new: &NewBucket<'_>,
    now_ms: i64,
) -> Result<Bucket, ProvisionError> {
    const SQL: &str = concat!(insert!(), "RETURNING ", columns!());
    new.check()?;
    let id = fresh_id()?;
    let provider = new.provider.as_str();
    let rows = client
        .query_typed(SQL, &insert_params(&id, new, &provider, &now_ms))
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
    client: &impl GenericClient,
    new: &NewBucket<'_>,
    now_ms: i64,
) -> Result<(Bucket, bool), ProvisionError> {
    const SQL: &str = concat!(
        insert!(),
        r#"ON CONFLICT ("ownerTeamId", "bucketName", provider) DO UPDATE SET
               name = EXCLUDED.name, region = EXCLUDED.region, endpoint = EXCLUDED.endpoint,
               "encryptedAccessKey" = EXCLUDED."encryptedAccessKey",
               "encryptedSecretKey" = EXCLUDED."encryptedSecretKey",
               "updatedAt" = EXCLUDED."updatedAt"
           RETURNING "#,
        columns!(),
        ", (b.xmax = 0)"
    );
    new.check()?;
    let id = fresh_id()?;
    let provider = new.provider.as_str();
    let rows = client
        .query_typed(SQL, &insert_params(&id, new, &provider, &now_ms))
        .await?;
    let row = only_row(&rows, || format!("no team with id '{}'", new.team_id))?;
    Ok((bucket(row)?, get(row, COLUMNS)?))
}

/// The bucket with this id, without its credentials.
///
/// # Errors
/// [`ProvisionError::Invalid`] for a malformed id; [`ProvisionError::Store`] when the database fails.
pub async fn get_bucket(client: &impl GenericClient, id: &str) -> Result<Option<Bucket>, ProvisionError> {
    const SQL: &str = concat!("SELECT ", columns!(), r#" FROM "Bucket" b WHERE b.id = $1"#);
    check_id("bucket", id)?;
    let rows = client.query_typed(SQL, &[(&id, Type::TEXT)]).await?;
    Ok(rows.first().map(bucket).transpose()?)
}

/// The buckets one team owns, or every bucket, oldest first; never their credentials.
///
/// # Errors
/// [`ProvisionError::Invalid`] for a malformed id; [`ProvisionError::Store`] when the database fails.
pub async fn list_buckets(client: &impl GenericClient, team_id: Option<&str>) -> Result<Vec<Bucket>, ProvisionError> {
    const SQL: &str = concat!(
        "SELECT ",
        columns!(),
        r#" FROM "Bucket" b WHERE $1::text IS NULL OR b."ownerTeamId" = $1 ORDER BY b."createdAt", b.id"#
    );
    if let Some(id) = team_id {
        check_id("team", id)?;
    }
    let rows = client.query_typed(SQL, &[(&team_id, Type::TEXT)]).await?;
    Ok(rows.iter().map(bucket).collect::<Result<_, _>>()?)
}

/// The bucket with this id as the edge signs for it: credentials still encrypted.
///
/// # Errors
/// [`ProvisionError::Invalid`] for a malformed id; [`ProvisionError::Store`] when the database fails.
pub async fn get_bucket_row(client: &impl GenericClient, id: &str) -> Result<Option<BucketRow>, ProvisionError> {
    check_id("bucket", id)?;
    let sql = format!(r#"SELECT {BUCKET_ROW_COLUMNS} FROM "Bucket" b WHERE b.id = $1"#);
    let rows = client
        .query_typed(&sql, &[(&id, Type::TEXT)])
        .await
        .map_err(StoreError::from)?;
    Ok(rows.first().map(|r| bucket_row(r, 0)).transpose()?)
}

#[cfg(test)]
mod tests {
    use super::*;

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
