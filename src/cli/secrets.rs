//! Secrets the command line reads: the credential encryption key and bucket credentials. They
//! come from the environment (or flags, for bucket credentials) and are never printed.

use std::env::VarError;
use std::io::Read as _;

use anyhow::{bail, Context as _};
use clap::Args;
use zeroize::Zeroizing;

use crate::vault::VaultKey;

/// The environment variable holding the bucket credential encryption key (`base64:<32 bytes>`).
pub const ENCRYPTION_KEY_VAR: &str = "CREDENTIALS_ENCRYPTION_KEY";

/// The credential encryption key from the environment.
pub(super) fn vault_key() -> anyhow::Result<VaultKey> {
    let raw = match std::env::var(ENCRYPTION_KEY_VAR) {
        Ok(value) if !value.trim().is_empty() => Zeroizing::new(value),
        Ok(_) | Err(VarError::NotPresent) => bail!(
            "{ENCRYPTION_KEY_VAR} is not set: bucket credentials are stored encrypted with it. Set it to the \
             key the Worker uses, or make a new one with `carcosa-edge keygen`"
        ),
        Err(VarError::NotUnicode(_)) => bail!("{ENCRYPTION_KEY_VAR} is not valid UTF-8"),
    };
    VaultKey::parse(raw.trim()).with_context(|| {
        format!("{ENCRYPTION_KEY_VAR} is invalid; expected base64:<32 bytes>, as `carcosa-edge keygen` prints")
    })
}

/// Where a bucket's credentials come from: the environment (or, discouraged, flags, which other
/// users can read in the process list), or standard input. None is required as a flag.
#[derive(Args)]
pub(super) struct CredentialArgs {
    /// Access key id of the bucket [better: the environment variable]
    #[arg(
        long,
        env = "CARCOSA_BUCKET_ACCESS_KEY_ID",
        hide_env_values = true,
        value_name = "ID"
    )]
    access_key_id: Option<String>,
    /// Secret access key of the bucket [better: the environment variable or --credentials-stdin]
    #[arg(
        long,
        env = "CARCOSA_BUCKET_SECRET_ACCESS_KEY",
        hide_env_values = true,
        value_name = "SECRET"
    )]
    secret_access_key: Option<String>,
    /// Read the access key id and the secret access key from standard input, one per line
    /// (instead of the flags or the environment)
    #[arg(long)]
    credentials_stdin: bool,
}

/// A bucket's access key id and secret access key, wiped from memory when dropped.
pub(super) struct BucketCredentials {
    pub(super) access_key_id: Zeroizing<String>,
    pub(super) secret_access_key: Zeroizing<String>,
}

/// The most standard input may hold: two credentials, generously.
const STDIN_LIMIT: u64 = 16 * 1024;

impl CredentialArgs {
    /// The credentials, from standard input or from the environment and flags.
    pub(super) fn read(&self) -> anyhow::Result<BucketCredentials> {
        let credentials = if self.credentials_stdin {
            let mut input = Zeroizing::new(String::new());
            std::io::stdin()
                .lock()
                .take(STDIN_LIMIT)
                .read_to_string(&mut input)
                .context("could not read the bucket's credentials from standard input")?;
            let mut lines = input.lines().map(str::trim).filter(|l| !l.is_empty());
            let (Some(id), Some(secret), None) = (lines.next(), lines.next(), lines.next()) else {
                bail!(
                    "--credentials-stdin expects two lines on standard input: the access key id, then the secret \
                     access key"
                );
            };
            BucketCredentials {
                access_key_id: Zeroizing::new(id.to_owned()),
                secret_access_key: Zeroizing::new(secret.to_owned()),
            }
        } else {
            let (Some(id), Some(secret)) = (&self.access_key_id, &self.secret_access_key) else {
                bail!(
                    "the bucket's credentials are missing: set CARCOSA_BUCKET_ACCESS_KEY_ID and \
                     CARCOSA_BUCKET_SECRET_ACCESS_KEY, or pipe them (two lines) into --credentials-stdin"
                );
            };
            BucketCredentials {
                access_key_id: Zeroizing::new(id.clone()),
                secret_access_key: Zeroizing::new(secret.clone()),
            }
        };
        if credentials.access_key_id.is_empty() || credentials.secret_access_key.is_empty() {
            bail!("the bucket's access key id and secret access key must not be empty");
        }
        Ok(credentials)
    }
}
