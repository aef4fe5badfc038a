//! A bucket at an endpoint, and the URLs of its objects.

use std::net::Ipv4Addr;

use super::canonical::encode_into;
use super::BucketError;

/// Where the bucket name goes in a URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlStyle {
    /// `scheme://host/bucket/key`: works with any endpoint, IP addresses included.
    Path,
    /// `scheme://bucket.host/key`: needs a lowercase DNS bucket name.
    VirtualHost,
}

/// An S3 bucket at an endpoint: everything needed to build its URLs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bucket {
    pub(super) scheme: &'static str,
    /// The `Host` header clients send: lowercase, with any non-default port.
    pub(super) host: String,
    /// `/bucket` in path style, empty in virtual-host style.
    pub(super) path_prefix: String,
    name: String,
    region: String,
}

impl Bucket {
    /// Bucket `name` in `region`, reached through `endpoint`
    /// (`https://s3.us-east-1.amazonaws.com`, `http://127.0.0.1:9000`, ...).
    ///
    /// # Errors
    ///
    /// [`BucketError::InvalidEndpoint`], [`BucketError::UnsupportedScheme`],
    /// [`BucketError::InvalidName`] or [`BucketError::InvalidRegion`], as documented
    /// on each variant.
    pub fn new(endpoint: &str, style: UrlStyle, name: &str, region: &str) -> Result<Self, BucketError> {
        let invalid = BucketError::InvalidEndpoint;
        let uri: http::Uri = endpoint.parse().map_err(|_| invalid("not a URL"))?;
        let (scheme, default_port) = match uri.scheme_str() {
            Some("https") => ("https", 443),
            Some("http") => ("http", 80),
            Some(other) => return Err(BucketError::UnsupportedScheme(other.to_owned())),
            None => return Err(invalid("missing scheme")),
        };
        let authority = uri.authority().ok_or(invalid("missing host"))?;
        if authority.as_str().contains('@') {
            return Err(invalid("user info is not allowed"));
        }
        if authority.host().is_empty() {
            return Err(invalid("missing host"));
        }
        // `http::Uri` accepts ports it cannot read as a u16 and then reports none.
        if authority.port_u16().is_none() && authority.as_str() != authority.host() {
            return Err(invalid("invalid port"));
        }
        if uri.query().is_some() || !matches!(uri.path(), "" | "/") {
            return Err(invalid("path or query is not allowed"));
        }
        if region.is_empty() || !region.bytes().all(|b| b.is_ascii_graphic() && b != b'/') {
            return Err(BucketError::InvalidRegion);
        }
        if !valid_bucket_name(name, style) {
            return Err(BucketError::InvalidName);
        }
        // `host` is signed, so sign what clients send: browsers lowercase the host
        // and leave out a default port.
        let bare_host = authority.host().to_ascii_lowercase();
        let mut host = match authority.port_u16() {
            Some(port) if port != default_port => format!("{bare_host}:{port}"),
            _ => bare_host.clone(),
        };
        let mut path_prefix = String::new();
        match style {
            UrlStyle::Path => {
                path_prefix.push('/');
                encode_into(&mut path_prefix, name, false);
            }
            UrlStyle::VirtualHost => {
                if bare_host.starts_with('[') || bare_host.parse::<Ipv4Addr>().is_ok() {
                    return Err(invalid("virtual-host style needs a DNS name"));
                }
                host = format!("{name}.{host}");
            }
        }
        let (name, region) = (name.to_owned(), region.to_owned());
        Ok(Self {
            scheme,
            host,
            path_prefix,
            name,
            region,
        })
    }

    /// The bucket name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The region used in the credential scope.
    #[must_use]
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The `Host` header value that requests to this bucket carry and sign.
    #[must_use]
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The unsigned URL of the bucket itself, ending in `/`.
    #[must_use]
    pub fn bucket_url(&self) -> String {
        self.url(&self.object_path(""))
    }

    /// The unsigned URL of an object, its key encoded the way `SigV4` canonicalises it
    /// (each segment percent-encoded, `/` kept).
    #[must_use]
    pub fn object_url(&self, object_key: &str) -> String {
        self.url(&self.object_path(object_key))
    }

    fn url(&self, path: &str) -> String {
        format!("{}://{}{path}", self.scheme, self.host)
    }

    fn object_path(&self, object_key: &str) -> String {
        let mut path = format!("{}/", self.path_prefix);
        encode_into(&mut path, object_key, true);
        path
    }
}

fn valid_bucket_name(name: &str, style: UrlStyle) -> bool {
    let dns = || {
        let allowed = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.';
        name.bytes().all(allowed) && !name.starts_with('.') && !name.ends_with('.')
    };
    !matches!(name, "" | "." | "..")
        && !name.contains('/')
        && (style == UrlStyle::Path || (dns() && !name.contains("..")))
}
