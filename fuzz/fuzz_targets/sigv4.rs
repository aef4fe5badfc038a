//! SigV4 canonicalisation and encoding, through the public presigners. The first byte picks the
//! URL style; the rest, split at NULs, is an object key, a content type and a
//! `response-content-disposition` value. A second mode (high bit of the first byte) parses the
//! rest as a bucket endpoint.
//!
//! Properties: a signed URL is the bucket's URL of exactly that key (its path decodes back to
//! the key), carries only URL-safe characters, and signing is deterministic.
#![no_main]

use carcosa_edge::sigv4::{
    Bucket, Credentials, Expiry, GetObject, Presign, PutObject, SigningKeyCache, SigningTime, UrlStyle,
};
use libfuzzer_sys::fuzz_target;
use percent_encoding::percent_decode_str;

fn url_safe(url: &str) -> bool {
    url.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-._~%/?&=:".contains(&b))
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let style = if mode & 1 == 0 {
        UrlStyle::Path
    } else {
        UrlStyle::VirtualHost
    };
    if mode & 0x80 != 0 {
        if let Ok(bucket) = Bucket::new(text, style, "uploads", "us-east-1") {
            let url = bucket.bucket_url();
            assert!(url.starts_with("http://") || url.starts_with("https://"));
            assert!(url.ends_with('/'));
        }
        return;
    }
    let Ok(bucket) = Bucket::new("https://s3.us-east-1.amazonaws.com", style, "uploads", "us-east-1") else {
        return;
    };
    let creds = Credentials::new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
    let at = SigningTime::from_unix(1_700_000_000).unwrap();
    let expiry = Expiry::from_secs(900).unwrap();
    let mut fields = text.split('\0');
    let key = fields.next().unwrap_or_default();
    let content_type = fields.next().unwrap_or_default();
    let disposition = fields.next().unwrap_or_default();
    let mut keys = SigningKeyCache::new();

    let get = GetObject::new(&bucket, &creds, key).query("response-content-disposition", disposition);
    if let Ok(signed) = get.presign(&mut keys, at, expiry) {
        let object_url = bucket.object_url(key);
        assert!(signed
            .url
            .starts_with(&format!("{object_url}?X-Amz-Algorithm=AWS4-HMAC-SHA256")));
        assert!(url_safe(&signed.url), "{:?}", signed.url);
        let path = object_url
            .split_once("amazonaws.com/")
            .map(|(_, p)| p)
            .unwrap_or_default();
        let path = if matches!(style, UrlStyle::Path) {
            path.strip_prefix("uploads/").unwrap_or_default()
        } else {
            path
        };
        assert_eq!(percent_decode_str(path).decode_utf8().unwrap(), key);
        let again = GetObject::new(&bucket, &creds, key)
            .query("response-content-disposition", disposition)
            .presign(&mut SigningKeyCache::new(), at, expiry)
            .unwrap();
        assert_eq!(again, signed);
    }
    if let Ok(signed) = PutObject::new(&bucket, &creds, key)
        .content_type(content_type)
        .presign(&mut keys, at, expiry)
    {
        assert!(url_safe(&signed.url), "{:?}", signed.url);
        for (name, value) in &signed.headers {
            assert!(!name.is_empty() && value.bytes().all(|b| (0x20..0x7f).contains(&b)));
        }
    }
});
