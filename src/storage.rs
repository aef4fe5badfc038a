//! Storage: turns a stored bucket into something the signer can sign for, decrypting its
//! credentials and choosing its URL style.

use crate::provider::Provider;
use crate::scope::BucketRow;
use crate::sigv4::{Bucket, BucketError, Credentials, UrlStyle};
use crate::vault::{VaultError, VaultKey};

/// Why a stored bucket cannot be signed for. Both are operator misconfigurations, never a
/// client's mistake.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The stored credentials do not decrypt with this service's key.
    #[error("bucket {bucket_id}: stored credentials cannot be decrypted")]
    Decrypt {
        /// The bucket's row id.
        bucket_id: String,
        /// Why.
        #[source]
        source: VaultError,
    },
    /// The endpoint, name or region is unusable.
    #[error("bucket {bucket_id}: invalid endpoint or name")]
    Bucket {
        /// The bucket's row id.
        bucket_id: String,
        /// Why.
        #[source]
        source: BucketError,
    },
    /// An R2 bucket without an endpoint: R2 has no default one.
    #[error("bucket {bucket_id}: an R2 bucket needs an endpoint (https://<account>.r2.cloudflarestorage.com)")]
    MissingEndpoint {
        /// The bucket's row id.
        bucket_id: String,
    },
}

/// A bucket ready to sign for.
#[derive(Debug)]
pub struct Signable {
    /// Where and how to address it.
    pub bucket: Bucket,
    /// Decrypted credentials.
    pub credentials: Credentials,
}

/// Builds the signable bucket for `row`.
///
/// A custom endpoint (MinIO, R2, any S3-compatible server) is addressed path-style, as the
/// upstream API does; AWS buckets use virtual-hosted URLs unless their name is not a valid host
/// label (dots or upper case), where path-style is the only style that keeps TLS valid. R2's
/// region is always `auto`.
///
/// # Errors
/// [`StorageError`] for undecryptable credentials or an unusable endpoint.
pub fn signable(row: &BucketRow, vault: &VaultKey) -> Result<Signable, StorageError> {
    let bucket_err = |source| StorageError::Bucket {
        bucket_id: row.id.clone(),
        source,
    };
    let is_r2 = row.provider == Provider::R2;
    let region = match row.region.as_deref().map(str::trim) {
        _ if is_r2 => "auto",
        Some(r) if !r.is_empty() => r,
        _ => "us-east-1",
    };
    let bucket = match row.endpoint.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
        Some(endpoint) => Bucket::new(endpoint, UrlStyle::Path, &row.bucket_name, region).map_err(bucket_err)?,
        None if is_r2 => {
            return Err(StorageError::MissingEndpoint {
                bucket_id: row.id.clone(),
            })
        }
        None => {
            let endpoint = format!("https://s3.{region}.amazonaws.com");
            let dns_safe = row
                .bucket_name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            let style = if dns_safe {
                UrlStyle::VirtualHost
            } else {
                UrlStyle::Path
            };
            Bucket::new(&endpoint, style, &row.bucket_name, region).map_err(bucket_err)?
        }
    };
    let decrypt = |stored: &str| {
        vault.decrypt(stored).map_err(|source| StorageError::Decrypt {
            bucket_id: row.id.clone(),
            source,
        })
    };
    let access_key = decrypt(&row.encrypted_access_key)?;
    let secret_key = decrypt(&row.encrypted_secret_key)?;
    Ok(Signable {
        bucket,
        credentials: Credentials::new(access_key.as_str(), secret_key.as_str()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> VaultKey {
        VaultKey::parse("base64:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=").unwrap()
    }

    fn row(provider: &str, endpoint: Option<&str>, name: &str, region: Option<&str>) -> BucketRow {
        BucketRow {
            id: "b1".into(),
            provider: Provider::from_stored(provider),
            bucket_name: name.into(),
            region: region.map(Into::into),
            endpoint: endpoint.map(Into::into),
            encrypted_access_key: key().encrypt("AKID", [1; 24]),
            encrypted_secret_key: key().encrypt("SECRET", [2; 24]),
            owner_team_id: "t1".into(),
        }
    }

    fn url(r: &BucketRow) -> String {
        signable(r, &key()).unwrap().bucket.object_url("a b.txt")
    }

    #[test]
    fn url_styles_follow_the_provider() {
        assert_eq!(
            url(&row("s3", None, "photos", Some("eu-west-1"))),
            "https://photos.s3.eu-west-1.amazonaws.com/a%20b.txt"
        );
        assert_eq!(
            url(&row("s3", None, "my.photos", None)),
            "https://s3.us-east-1.amazonaws.com/my.photos/a%20b.txt"
        );
        assert_eq!(
            url(&row("s3", Some("http://127.0.0.1:9000"), "photos", None)),
            "http://127.0.0.1:9000/photos/a%20b.txt"
        );
        let r2 = row(
            "r2",
            Some("https://acct.r2.cloudflarestorage.com"),
            "photos",
            Some("us-east-1"),
        );
        assert_eq!(signable(&r2, &key()).unwrap().bucket.region(), "auto");
    }

    #[test]
    fn misconfigured_buckets_are_errors() {
        assert!(matches!(
            signable(&row("r2", None, "photos", None), &key()),
            Err(StorageError::MissingEndpoint { .. })
        ));
        let mut r = row("s3", None, "photos", None);
        r.encrypted_secret_key = "minioadmin".into();
        let err = signable(&r, &key()).unwrap_err();
        assert!(matches!(err, StorageError::Decrypt { .. }));
        assert!(!err.to_string().contains("minioadmin"));
    }
}
