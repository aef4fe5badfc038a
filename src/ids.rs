//! Row ids in the style the upstream schema uses: short, lowercase, URL-safe, starting with a letter.

/// Random bytes an id is made from (96 bits: collisions are not a practical concern).
pub const ID_RANDOM_BYTES: usize = 12;

/// A new id: `c` followed by 24 hex digits, 25 characters like a cuid. The caller supplies the
/// randomness so this stays free of IO.
#[must_use]
pub fn new_id(random: [u8; ID_RANDOM_BYTES]) -> String {
    format!("c{}", hex::encode(random))
}

/// Whether `s` could be an id this service or the upstream tooling made: 1–64 characters of
/// `[A-Za-z0-9_-]`. Anything else is refused before it reaches SQL or a log.
#[must_use]
pub fn looks_like_id(s: &str) -> bool {
    (1..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_look_like_ids() {
        let id = new_id([0xab; ID_RANDOM_BYTES]);
        assert_eq!(id, "cabababababababababababab");
        assert_eq!(id.len(), 25);
        assert!(looks_like_id(&id));
        assert!(looks_like_id("clx2k9v0a0000abcd1234efgh"));
        assert!(!looks_like_id(""));
        assert!(!looks_like_id("a/b"));
        assert!(!looks_like_id("a b"));
        assert!(!looks_like_id(&"a".repeat(65)));
    }
}
