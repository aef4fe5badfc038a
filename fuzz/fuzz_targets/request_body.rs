//! Request bodies into the types the handlers parse them into (`POST /v1/uploads`,
//! `/v1/downloads`, `/v1/tokens`, the upstream init and confirm), then into the checks the
//! handlers apply next: the file name's sanitising and a claimed key's prefix check.
//!
//! Properties: no text field that parses holds a control character, and no metadata holds NUL.
#![no_main]

use carcosa_edge::api::compat::{ConfirmUpload, InitUpload};
use carcosa_edge::api::downloads::PresignDownload;
use carcosa_edge::api::tokens::MintToken;
use carcosa_edge::api::uploads::PresignUpload;
use carcosa_edge::object_key::{Prefix, SafeFileName};
use libfuzzer_sys::fuzz_target;

fn clean(text: &str) {
    assert!(!text.chars().any(char::is_control), "{text:?}");
}

fn no_nul(metadata: &serde_json::Map<String, serde_json::Value>) {
    let json = serde_json::Value::Object(metadata.clone()).to_string();
    assert!(!json.contains("\\u0000"), "{json}");
}

fuzz_target!(|data: &[u8]| {
    let prefix = Prefix::new("acme", "site", "photos", None).unwrap();
    if let Ok(body) = serde_json::from_slice::<PresignUpload>(data) {
        clean(&body.filename);
        body.content_type.as_deref().map(clean);
        body.tenant.as_deref().map(clean);
        body.metadata.as_ref().map(|m| no_nul(&m.0));
        if let Ok(name) = SafeFileName::new(&body.filename) {
            let _ = prefix.object_key("upl_0123456789", &name, 1024);
        }
    }
    if let Ok(body) = serde_json::from_slice::<PresignDownload>(data) {
        clean(&body.key);
        body.tenant.as_deref().map(clean);
        let _ = prefix.check_key(&body.key);
    }
    if let Ok(body) = serde_json::from_slice::<MintToken>(data) {
        body.permissions.iter().flatten().for_each(|p| clean(p));
        body.tenant.as_deref().map(clean);
    }
    if let Ok(body) = serde_json::from_slice::<InitUpload>(data) {
        clean(&body.file_name);
        body.metadata.as_ref().map(|m| no_nul(&m.0));
    }
    if let Ok(body) = serde_json::from_slice::<ConfirmUpload>(data) {
        clean(&body.upload_id);
    }
});
