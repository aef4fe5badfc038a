//! `carcosa-edge bucket cors`: applies to a bucket the CORS rules browsers need to upload to it
//! from a page (presigned PUTs, POST policies, multipart parts), with a `PutBucketCors` signed by
//! carcosa-edge's own SigV4 and the bucket's stored credentials, and prints them.

use anyhow::{anyhow, bail, Context as _};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use clap::Args;
use md5::{Digest as _, Md5};
use serde_json::json;

use super::db::{now_ms, Db};
use super::output::Output;
use super::secrets::vault_key;
use crate::sigv4::{cors_configuration_xml, CorsRule, Expiry, Presign as _, PutBucketCors, SigningTime};
use crate::store::provision;

/// Lifetime of the signed request: it is sent at once.
const EXPIRY_SECS: u32 = 300;

#[derive(Args)]
pub(super) struct CorsArgs {
    /// Bucket id
    #[arg(long, value_name = "BUCKET_ID")]
    bucket: String,
    /// An origin pages upload from, e.g. https://app.example.com (repeat for more; `*` for any)
    #[arg(long = "origin", value_name = "ORIGIN", required = true)]
    origins: Vec<String>,
    /// How long browsers may cache a preflight answer, in seconds
    #[arg(long, value_name = "SECS", default_value_t = 3600)]
    max_age_secs: u32,
}

/// Accepts `*` or `scheme://host[:port]` (what browsers send in `Origin`): no path, no slash.
fn check_origin(origin: &str) -> anyhow::Result<()> {
    if origin == "*" {
        return Ok(());
    }
    let rest = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .ok_or_else(|| anyhow!("origin {origin:?} must start with https:// or http:// (or be *)"))?;
    let host_ok = !rest.is_empty()
        && rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]*".contains(&b));
    if !host_ok {
        bail!("origin {origin:?} must be scheme://host[:port], without a path or trailing slash");
    }
    Ok(())
}

pub(super) async fn bucket_cors(db: &Db, args: &CorsArgs) -> anyhow::Result<Output> {
    for origin in &args.origins {
        check_origin(origin)?;
    }
    let vault = vault_key()?;
    let client = db.connect().await?;
    let row = provision::get_bucket_row(&client, &args.bucket)
        .await?
        .ok_or_else(|| anyhow!("no bucket with id {}", args.bucket))?;
    let signable = crate::storage::signable(&row, &vault).context("could not prepare signing for this bucket")?;

    let rule = CorsRule::for_browser_uploads(args.origins.clone(), args.max_age_secs);
    let body = cors_configuration_xml(std::slice::from_ref(&rule));
    let content_md5 = STANDARD.encode(Md5::digest(body.as_bytes()));
    let at = SigningTime::from_unix(now_ms()?.div_euclid(1000))?;
    let signed = PutBucketCors::new(&signable.bucket, &signable.credentials, &content_md5)
        .presign_uncached(at, Expiry::from_secs(EXPIRY_SECS)?)?;

    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .context("could not start an HTTP client")?;
    let mut request = http
        .put(&signed.url)
        .header("content-type", "application/xml")
        .body(body);
    for (name, value) in &signed.headers {
        request = request.header(name, value);
    }
    let response = request
        .send()
        .await
        .with_context(|| format!("could not reach the storage endpoint of bucket {}", row.bucket_name))?;
    let status = response.status();
    if !status.is_success() {
        let text = response.text().await.unwrap_or_default();
        let code = xml_element(&text, "Code").unwrap_or("no error code");
        let message = xml_element(&text, "Message").unwrap_or("");
        bail!(
            "the storage server refused PutBucketCors on bucket {}: {} {code}{}{message}",
            row.bucket_name,
            status.as_u16(),
            if message.is_empty() { "" } else { ": " }
        );
    }

    let text = format!(
        "CORS rules applied to bucket {} ({}):\n  origins:  {}\n  methods:  {}\n  headers:  {}\n  exposed:  {}\n  max age:  {} s",
        row.bucket_name,
        row.id,
        rule.allowed_origins.join(", "),
        rule.allowed_methods.join(", "),
        rule.allowed_headers.join(", "),
        rule.expose_headers.join(", "),
        rule.max_age_secs,
    );
    let json = json!({
        "bucket": row.id,
        "bucketName": row.bucket_name,
        "applied": true,
        "rules": [{
            "allowedOrigins": rule.allowed_origins,
            "allowedMethods": rule.allowed_methods,
            "allowedHeaders": rule.allowed_headers,
            "exposeHeaders": rule.expose_headers,
            "maxAgeSeconds": rule.max_age_secs,
        }],
    });
    Output::new(text, &json)
}

/// The text of the first `<name>…</name>` in an S3 error document.
fn xml_element<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let start = xml.find(&format!("<{name}>"))? + name.len() + 2;
    let len = xml[start..].find(&format!("</{name}>"))?;
    Some(&xml[start..start + len])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_scheme_and_host() {
        for ok in [
            "*",
            "https://app.example.com",
            "http://127.0.0.1:8080",
            "https://*.example.com",
        ] {
            check_origin(ok).unwrap();
        }
        for bad in [
            "app.example.com",
            "https://app.example.com/",
            "https://a/b",
            "ftp://a",
            "https://",
            "https://a b",
        ] {
            assert!(check_origin(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn error_codes_are_read_from_s3_errors() {
        let xml = "<?xml version=\"1.0\"?><Error><Code>NotImplemented</Code><Message>nope</Message></Error>";
        assert_eq!(xml_element(xml, "Code"), Some("NotImplemented"));
        assert_eq!(xml_element(xml, "Message"), Some("nope"));
        assert_eq!(xml_element(xml, "Resource"), None);
    }
}
