//! `keygen`: a new credential encryption key.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::json;
use zeroize::Zeroizing;

use super::db::random;
use super::output::Output;
use super::secrets::ENCRYPTION_KEY_VAR;

pub(super) fn run() -> anyhow::Result<Output> {
    let bytes = Zeroizing::new(random::<32>()?);
    let key = format!("base64:{}", STANDARD.encode(*bytes));
    let text = format!(
        "{key}\n\nSet it as {ENCRYPTION_KEY_VAR} for this tool and as a secret of the Worker \
         (wrangler secret put {ENCRYPTION_KEY_VAR}). Buckets stored under one key cannot be read with another."
    );
    Output::new(text, &json!({ "credentialsEncryptionKey": key }))
}
