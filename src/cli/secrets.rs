//! Secrets the command line reads: the credential encryption key and bucket credentials. They
//! come from the environment (or flags, for bucket credentials) and are never printed.

use std::env::VarError;

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

/// Bucket credentials. The environment variables keep them out of the process list.
#[derive(Args)]
pub(super) struct CredentialArgs {
    /// Access key id of the bucket
    #[arg(
        long,
        env = "CARCOSA_BUCKET_ACCESS_KEY_ID",
        hide_env_values = true,
        value_name = "ID"
    )]
    pub(super) access_key_id: String,
    /// Secret access key of the bucket
    #[arg(
        long,
        env = "CARCOSA_BUCKET_SECRET_ACCESS_KEY",
        hide_env_values = true,
        value_name = "SECRET"
    )]
    pub(super) secret_access_key: String,
}
