//! Object-key sanitising and checking. The input, split at the first NUL, is a client's file
//! name and a key a client claims is its own.
//!
//! Properties: a sanitised name is one safe segment; the key built from it lies inside the
//! project's prefix and passes the same check a download applies; a key that passes the check
//! is inside the prefix and has only plain segments.
#![no_main]

use carcosa_edge::object_key::{Prefix, SafeFileName};
use carcosa_edge::sigv4::MAX_OBJECT_KEY_BYTES;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (name, claimed) = text.split_once('\0').unwrap_or((text, ""));
    let prefix = Prefix::new("acme", "site", "photos", Some("tenant-1")).unwrap();

    if let Ok(safe) = SafeFileName::new(name) {
        let s = safe.as_str();
        assert!(!s.is_empty() && s != "." && s != "..", "{s:?}");
        assert!(!s.contains(['/', '\\']), "{s:?}");
        assert!(!s.chars().any(char::is_control), "{s:?}");
        assert_eq!(s.trim(), s);
        assert!(s.len() <= MAX_OBJECT_KEY_BYTES);
        for max in [150, 1024, 4096] {
            if let Ok(key) = prefix.object_key("upl_0123456789", &safe, max) {
                assert!(key.len() <= max.min(MAX_OBJECT_KEY_BYTES), "{key:?}");
                assert_eq!(prefix.check_key(&key), Ok(key.as_str()), "{key:?}");
            }
        }
    }

    if let Ok(key) = prefix.check_key(claimed) {
        assert!(key.starts_with("acme/site/photos/tenants/tenant-1/"));
        assert!(key.len() <= MAX_OBJECT_KEY_BYTES);
        assert!(key.split('/').all(|s| !s.is_empty() && s != "." && s != ".."));
        assert!(!key.chars().any(char::is_control));
        // Another tenant's prefix never accepts it.
        let other = Prefix::new("acme", "site", "photos", Some("tenant-2")).unwrap();
        assert!(other.check_key(key).is_err());
    }
});
