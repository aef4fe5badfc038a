//! WebCrypto from the Worker (wasm32 only): the runtime's native PBKDF2 for SCRAM's key
//! stretching, which as wasm costs several times the CPU (see `pg_handshake`).

use js_sys::{Array, Object, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Crypto, CryptoKey, Pbkdf2Params};
use zeroize::Zeroizing;

/// PBKDF2-HMAC-SHA-256, one 32-byte block.
///
/// # Errors
/// WebCrypto is missing or refused the input (the message carries no key material).
pub async fn pbkdf2_sha256(password: &[u8], salt: &[u8], iterations: u32) -> Result<Zeroizing<[u8; 32]>, String> {
    let fail = |what: &'static str| move |_: JsValue| format!("WebCrypto {what} failed");
    let crypto: Crypto = Reflect::get(&js_sys::global(), &JsValue::from_str("crypto"))
        .map_err(fail("lookup"))?
        .unchecked_into();
    let subtle = crypto.subtle();
    // The JS copy of the password lives until the collector takes it; there is no way to wipe
    // it, as with every secret WebCrypto is given.
    let raw = Uint8Array::from(password);
    let usages = Array::of1(&JsValue::from_str("deriveBits"));
    let key: CryptoKey = JsFuture::from(
        subtle
            .import_key_with_str("raw", &raw, "PBKDF2", false, &usages)
            .map_err(fail("importKey"))?,
    )
    .await
    .map_err(fail("importKey"))?
    .unchecked_into();
    let params = Pbkdf2Params::new(
        "PBKDF2",
        &JsValue::from_str("SHA-256"),
        iterations,
        &Uint8Array::from(salt),
    );
    let bits = JsFuture::from(
        subtle
            .derive_bits_with_object(params.unchecked_ref::<Object>(), &key, 256)
            .map_err(fail("deriveBits"))?,
    )
    .await
    .map_err(fail("deriveBits"))?;
    let bits = Uint8Array::new(&bits);
    let mut out = Zeroizing::new([0u8; 32]);
    if bits.length() != 32 {
        return Err("WebCrypto deriveBits returned the wrong length".into());
    }
    bits.copy_to(out.as_mut_slice());
    Ok(out)
}
