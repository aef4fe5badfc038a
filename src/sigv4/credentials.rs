//! What a signature is made with: the credentials, the instant and the URL's lifetime.

use std::fmt;

use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use super::{PresignError, MAX_EXPIRY_SECS};

/// S3 access credentials. `Debug` shows only the access key id.
#[derive(Clone)]
pub struct Credentials {
    pub(super) access_key_id: String,
    pub(super) secret_access_key: Zeroizing<String>,
    /// SHA-256 of the secret, made once: how the signing-key cache tells credentials apart
    /// without hashing the secret on every signature.
    pub(super) secret_digest: Zeroizing<[u8; 32]>,
    session_token: Option<Zeroizing<String>>,
}

impl Credentials {
    /// Long-term credentials: an access key id and its secret.
    #[must_use]
    pub fn new(access_key_id: impl Into<String>, secret_access_key: impl Into<String>) -> Self {
        let secret_access_key = Zeroizing::new(secret_access_key.into());
        let secret_digest = Zeroizing::new(Sha256::digest(secret_access_key.as_bytes()).into());
        Self {
            access_key_id: access_key_id.into(),
            secret_access_key,
            secret_digest,
            session_token: None,
        }
    }

    /// Adds the session token of temporary credentials, sent as `X-Amz-Security-Token`.
    #[must_use]
    pub fn with_session_token(mut self, token: impl Into<String>) -> Self {
        self.session_token = Some(Zeroizing::new(token.into()));
        self
    }

    /// The access key id.
    #[must_use]
    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }

    /// The session token, if these are temporary credentials.
    #[must_use]
    pub fn session_token(&self) -> Option<&str> {
        self.session_token.as_deref().map(String::as_str)
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// The instant a request is signed at, in whole UTC seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct SigningTime(pub(super) OffsetDateTime);

impl SigningTime {
    /// The signing time for a Unix timestamp.
    ///
    /// # Errors
    ///
    /// [`PresignError::InvalidTime`] before 1970 or after year 9999, which the
    /// four-digit year of `X-Amz-Date` cannot express.
    pub fn from_unix(secs: i64) -> Result<Self, PresignError> {
        match OffsetDateTime::from_unix_timestamp(secs) {
            Ok(t) if secs >= 0 => Ok(Self(t)),
            _ => Err(PresignError::InvalidTime(secs)),
        }
    }

    /// The `X-Amz-Date` form, `yyyymmddThhmmssZ`.
    #[must_use]
    pub fn amz_date(self) -> String {
        self.amz_date_bytes().iter().copied().map(char::from).collect()
    }

    /// The credential-scope date, `yyyymmdd`.
    #[must_use]
    pub fn date_stamp(self) -> String {
        self.amz_date_bytes()[..8].iter().copied().map(char::from).collect()
    }

    /// `yyyymmddThhmmssZ` as ASCII bytes, written digit by digit: every presign needs it, and
    /// `format!` costs more than the rest of building the URL. The year has four digits
    /// because [`SigningTime::from_unix`] accepts 1970 to 9999 only.
    pub(super) fn amz_date_bytes(self) -> [u8; 16] {
        let (year, month, day) = self.0.to_calendar_date();
        let (hour, minute, second) = self.0.to_hms();
        let mut out = *b"00000000T000000Z";
        let fields = [
            (0..4, year.unsigned_abs()),
            (4..6, u32::from(u8::from(month))),
            (6..8, u32::from(day)),
            (9..11, u32::from(hour)),
            (11..13, u32::from(minute)),
            (13..15, u32::from(second)),
        ];
        for (digits, mut value) in fields {
            for digit in out[digits].iter_mut().rev() {
                *digit = b'0' + (value % 10) as u8;
                value /= 10;
            }
        }
        out
    }
}

/// How long a presigned URL stays valid (`X-Amz-Expires`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Expiry(u32);

impl Expiry {
    /// An expiry of `secs` seconds.
    ///
    /// # Errors
    ///
    /// [`PresignError::InvalidExpiry`] unless `secs` is in 1..=604800 (seven days),
    /// the range S3 accepts.
    pub fn from_secs(secs: u32) -> Result<Self, PresignError> {
        if (1..=MAX_EXPIRY_SECS).contains(&secs) {
            Ok(Self(secs))
        } else {
            Err(PresignError::InvalidExpiry(secs))
        }
    }

    /// The expiry in seconds.
    #[must_use]
    pub const fn as_secs(self) -> u32 {
        self.0
    }
}
