//! API key parsing and hashing: any string either fails to parse or is a well-formed key whose
//! hash is 64 lowercase hex digits that matches itself and nothing else given.
#![no_main]

use carcosa_edge::apikey::ApiKey;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(key) = ApiKey::parse(s) else {
        return;
    };
    assert_eq!(key.expose_secret(), s);
    assert!(s.starts_with("carc_"));
    let hash = key.hash();
    assert_eq!(hash.as_str().len(), 64);
    assert!(hash
        .as_str()
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    assert!(hash.matches(hash.as_str()));
    assert!(!hash.matches(s));
    // Parsing is exact: a key with anything around it is another string and must not parse.
    assert!(ApiKey::parse(&format!(" {s}")).is_err());
    assert!(ApiKey::parse(&format!("{s}=")).is_err());
});
