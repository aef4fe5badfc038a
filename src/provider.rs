//! Which storage provider a bucket lives at, as `"Bucket"."provider"` spells it. One type for the
//! request path (`scope`, `storage`), `store` and the command line.

use std::fmt;
use std::str::FromStr;

/// A storage provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(not(target_arch = "wasm32"), derive(clap::ValueEnum, serde::Serialize))]
#[cfg_attr(not(target_arch = "wasm32"), serde(rename_all = "lowercase"))]
pub enum Provider {
    /// `s3`: AWS S3 or any S3-compatible server (MinIO, …).
    S3,
    /// `r2`: Cloudflare R2 (needs an endpoint; region `auto`).
    R2,
}

/// A provider name that is neither `s3` nor `r2`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown provider '{}': expected s3 or r2", .0.escape_debug())]
pub struct UnknownProvider(pub String);

impl Provider {
    /// The stored value.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::S3 => "s3",
            Self::R2 => "r2",
        }
    }

    /// The provider a stored value means. The column is free text upstream, which treats
    /// anything but `r2` as S3-compatible; so does this.
    #[must_use]
    pub fn from_stored(s: &str) -> Self {
        if s.eq_ignore_ascii_case("r2") {
            Self::R2
        } else {
            Self::S3
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Provider {
    type Err = UnknownProvider;

    /// Strict: `s3` or `r2` in any ASCII case, for input an operator typed.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [Self::S3, Self::R2]
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownProvider(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_strictly_and_reads_leniently() {
        assert_eq!("R2".parse::<Provider>().unwrap(), Provider::R2);
        assert_eq!("s3".parse::<Provider>().unwrap(), Provider::S3);
        assert_eq!(
            "gcs".parse::<Provider>().unwrap_err().to_string(),
            "unknown provider 'gcs': expected s3 or r2"
        );
        assert_eq!(Provider::from_stored("R2"), Provider::R2);
        assert_eq!(Provider::from_stored("minio"), Provider::S3);
    }
}
