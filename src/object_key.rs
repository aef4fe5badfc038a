//! Object keys: where in the bucket an upload lands.
//!
//! Every object a project writes lives under `{org}/{team}/{project}[/tenants/{tenant}]/`, and each
//! upload adds its own id as a directory, so two uploads of `report.pdf` never overwrite each other:
//! `acme/default/site/c1f0…/report.pdf`. Keys handed back by clients (downloads) are untrusted and are
//! only accepted inside the caller's prefix.

use std::fmt;

use crate::sigv4::MAX_OBJECT_KEY_BYTES;

/// Why a key or file name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Nothing usable was left of the file name after sanitising.
    #[error("the file name is empty once path separators and control characters are removed")]
    EmptyFileName,
    /// A stored slug cannot be used as one path segment.
    #[error("a slug in the project's scope cannot be used in an object key")]
    InvalidSlug,
    /// A client-supplied key lies outside the caller's prefix.
    #[error("the key is outside this project's storage prefix")]
    OutsidePrefix,
    /// A client-supplied key has empty, `.` or `..` segments or control characters.
    #[error("the key has empty, '.' or '..' segments or control characters")]
    Malformed,
    /// The key would exceed S3's 1024-byte limit.
    #[error("the key is longer than 1024 bytes")]
    TooLong,
}

/// The storage prefix of a project (and tenant), without a trailing slash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prefix(String);

impl Prefix {
    /// Builds `{org}/{team}/{project}` or `{org}/{team}/{project}/tenants/{tenant}`.
    ///
    /// # Errors
    /// [`KeyError::InvalidSlug`] when a slug is empty, `.`/`..`, or holds `/` or control characters.
    pub fn new(org: &str, team: &str, project: &str, tenant: Option<&str>) -> Result<Self, KeyError> {
        let mut segments = vec![org, team, project];
        if let Some(tenant) = tenant {
            segments.extend(["tenants", tenant]);
        }
        if !segments.iter().all(|s| is_plain_segment(s)) {
            return Err(KeyError::InvalidSlug);
        }
        Ok(Self(segments.join("/")))
    }

    /// The prefix as a string, without a trailing slash.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key of upload `upload_id` named `filename` (already sanitised) under this prefix, at
    /// most `max_key_bytes` long (S3's 1024 bytes, or less where the store allows less): only a
    /// name that does not fit is shortened, keeping its extension. The original name stays in the
    /// upload record.
    ///
    /// # Errors
    /// [`KeyError::TooLong`] when the prefix and id leave no room for a name.
    pub fn object_key(
        &self,
        upload_id: &str,
        filename: &SafeFileName,
        max_key_bytes: usize,
    ) -> Result<String, KeyError> {
        let dir = format!("{}/{}/", self.0, upload_id);
        let room = max_key_bytes.min(MAX_OBJECT_KEY_BYTES).saturating_sub(dir.len());
        let name = shorten(&filename.0, room);
        if name.is_empty() {
            return Err(KeyError::TooLong);
        }
        Ok(dir + &name)
    }

    /// Accepts a client-supplied key only if it lies strictly inside this prefix and is well formed.
    ///
    /// # Errors
    /// [`KeyError::OutsidePrefix`], [`KeyError::Malformed`] or [`KeyError::TooLong`].
    pub fn check_key<'k>(&self, key: &'k str) -> Result<&'k str, KeyError> {
        if key.len() > MAX_OBJECT_KEY_BYTES {
            return Err(KeyError::TooLong);
        }
        if !key.split('/').all(is_plain_segment) {
            return Err(KeyError::Malformed);
        }
        match key.strip_prefix(self.0.as_str()) {
            Some(rest) if rest.len() > 1 && rest.starts_with('/') => Ok(key),
            _ => Err(KeyError::OutsidePrefix),
        }
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A file name that is safe as the last segment of a key: no separators, no control characters,
/// not `.`/`..`, at most [`MAX_OBJECT_KEY_BYTES`] bytes (its key may shorten it further).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SafeFileName(String);

impl SafeFileName {
    /// Sanitises a client's file name.
    ///
    /// Keeps the last path component (clients send `C:\fakepath\a.txt` or `dir/a.txt`), drops
    /// control characters, trims white space, and shortens names no key could hold while keeping
    /// a short extension, so `x….tar.gz` stays recognisable.
    ///
    /// # Errors
    /// [`KeyError::EmptyFileName`] when nothing usable is left.
    pub fn new(raw: &str) -> Result<Self, KeyError> {
        let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
        let cleaned: String = last
            .chars()
            .filter(|c| !c.is_control() && !is_format_character(*c))
            .collect();
        let cleaned = cleaned.trim();
        if cleaned.is_empty() || cleaned == "." || cleaned == ".." {
            return Err(KeyError::EmptyFileName);
        }
        Ok(Self(shorten(cleaned, MAX_OBJECT_KEY_BYTES)))
    }

    /// The sanitised name.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `name` without Unicode format characters (general category Cf): bidi controls such as U+202E
/// make `gpj.exe` display as `exe.jpg`, and zero-width ones make two names look alike.
#[must_use]
pub fn without_format_characters(name: &str) -> String {
    name.chars().filter(|c| !is_format_character(*c)).collect()
}

/// Whether `c` is in Unicode's general category Cf (format), as of Unicode 15.1. Hand-written:
/// the list is short and stable, and a general-category crate would put all of its tables into
/// the Worker's bundle for these few ranges.
#[must_use]
pub fn is_format_character(c: char) -> bool {
    matches!(
        u32::from(c),
        0xAD | 0x600..=0x605
            | 0x61C
            | 0x6DD
            | 0x70F
            | 0x890..=0x891
            | 0x8E2
            | 0x180E
            | 0x200B..=0x200F
            | 0x202A..=0x202E
            | 0x2060..=0x2064
            | 0x2066..=0x206F
            | 0xFEFF
            | 0xFFF9..=0xFFFB
            | 0x110BD
            | 0x110CD
            | 0x13430..=0x1343F
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0001
            | 0xE0020..=0xE007F
    )
}

/// Cuts `name` to at most `max` bytes on a character boundary, keeping an extension of up to 16
/// bytes when there is room for some of the stem too (empty when `max` is 0).
fn shorten(name: &str, max: usize) -> String {
    if name.len() <= max {
        return name.to_owned();
    }
    let ext = match name.rfind('.') {
        Some(dot) if dot > 0 && name.len() - dot <= 16 && name.len() - dot < max => &name[dot..],
        _ => "",
    };
    let cut = |ext: &str| {
        let mut stem_end = max - ext.len();
        while !name.is_char_boundary(stem_end) {
            stem_end -= 1;
        }
        let stem = name[..stem_end].trim_end();
        let short = format!("{stem}{ext}");
        // ". x" cut to one byte is ".": a segment S3 paths and key checks treat as "here".
        (!stem.is_empty() && short != "." && short != "..").then_some(short)
    };
    // Without the extension when it leaves no room for the stem's first character.
    cut(ext).or_else(|| cut("")).unwrap_or_default()
}

fn is_plain_segment(s: &str) -> bool {
    !s.is_empty() && s != "." && s != ".." && !s.contains('/') && !s.chars().any(char::is_control)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn prefix() -> Prefix {
        Prefix::new("acme", "default", "site", None).unwrap()
    }

    /// Found by fuzzing (fuzz/fuzz_targets/object_key.rs): a name like ". x" shortened to fit
    /// the key became ".", a key the download check then refused as malformed.
    #[test]
    fn shortening_never_leaves_a_dot_segment() {
        let p = prefix();
        for raw in [".            _", "..          _", ". .x"] {
            let name = SafeFileName::new(raw).unwrap();
            for max in 0..40 {
                if let Ok(key) = p.object_key("upl_1", &name, "acme/default/site/upl_1/".len() + max) {
                    assert_eq!(p.check_key(&key), Ok(key.as_str()), "{raw:?} at {max}");
                }
            }
        }
    }

    #[test]
    fn prefixes_with_and_without_tenant() {
        assert_eq!(prefix().as_str(), "acme/default/site");
        let p = Prefix::new("acme", "default", "site", Some("t-1")).unwrap();
        assert_eq!(p.as_str(), "acme/default/site/tenants/t-1");
        assert_eq!(Prefix::new("acme", "..", "site", None), Err(KeyError::InvalidSlug));
        assert_eq!(Prefix::new("acme", "a/b", "site", None), Err(KeyError::InvalidSlug));
        assert_eq!(Prefix::new("", "t", "site", None), Err(KeyError::InvalidSlug));
    }

    #[test]
    fn file_names_are_sanitised() {
        let check = |raw: &str, want: Result<&str, KeyError>| {
            assert_eq!(
                SafeFileName::new(raw).as_ref().map(SafeFileName::as_str),
                want.as_ref().map(|s| *s),
                "{raw:?}"
            );
        };
        check("report.pdf", Ok("report.pdf"));
        check("../../etc/passwd", Ok("passwd"));
        check("C:\\fakepath\\photo 1.jpg", Ok("photo 1.jpg"));
        check("a\u{0}b\nc\u{7f}.txt", Ok("abc.txt"));
        check("  spaced  ", Ok("spaced"));
        check("my file+(1)%20~*:ü.txt", Ok("my file+(1)%20~*:ü.txt"));
        check("..", Err(KeyError::EmptyFileName));
        check("dir/", Err(KeyError::EmptyFileName));
        check("\n\t", Err(KeyError::EmptyFileName));
        check("invoice\u{202E}fdp.exe", Ok("invoicefdp.exe"));
        check("a\u{200B}b\u{FEFF}\u{2066}.txt\u{E0041}", Ok("ab.txt"));
        check("\u{202E}\u{200F}", Err(KeyError::EmptyFileName));
    }

    #[test]
    fn only_names_the_key_cannot_hold_are_shortened() {
        // 200 bytes: whole under S3's limit, where every name used to be cut to 90.
        let name = SafeFileName::new(&format!("{}.txt", "a".repeat(196))).unwrap();
        let key = prefix().object_key("c1", &name, MAX_OBJECT_KEY_BYTES).unwrap();
        assert_eq!(key, format!("acme/default/site/c1/{}", name.as_str()));
        // A name as long as S3 allows is cut so that the whole key is 1024 bytes, extension kept.
        let long = SafeFileName::new(&format!("{}.tar.gz", "é".repeat(600))).unwrap();
        assert!(long.as_str().len() <= MAX_OBJECT_KEY_BYTES);
        let key = prefix().object_key("c1", &long, MAX_OBJECT_KEY_BYTES).unwrap();
        assert!(
            key.len() <= MAX_OBJECT_KEY_BYTES && key.len() > MAX_OBJECT_KEY_BYTES - 2,
            "{}",
            key.len()
        );
        assert!(key.ends_with(".gz") && key.contains("/c1/é"), "{key}");
        // A store with shorter keys (a setting) shortens more; S3's limit is never exceeded.
        let key = prefix().object_key("c1", &long, 60).unwrap();
        assert!(key.len() <= 60 && key.ends_with(".gz"), "{key}");
        assert!(prefix().object_key("c1", &long, 5000).unwrap().len() <= MAX_OBJECT_KEY_BYTES);
        // No room for even one character of the name.
        assert_eq!(prefix().object_key("c1", &long, 21), Err(KeyError::TooLong));
        assert_eq!(prefix().object_key("c1", &name, 22).unwrap(), "acme/default/site/c1/a");
    }

    #[test]
    fn object_keys_are_unique_per_upload() {
        let name = SafeFileName::new("a.txt").unwrap();
        let a = prefix().object_key("c1", &name, MAX_OBJECT_KEY_BYTES).unwrap();
        let b = prefix().object_key("c2", &name, MAX_OBJECT_KEY_BYTES).unwrap();
        assert_eq!(a, "acme/default/site/c1/a.txt");
        assert_ne!(a, b);
    }

    #[test]
    fn client_keys_must_stay_inside_the_prefix() {
        let p = prefix();
        assert!(p.check_key("acme/default/site/c1/a.txt").is_ok());
        assert_eq!(p.check_key("acme/default/site"), Err(KeyError::OutsidePrefix));
        assert_eq!(p.check_key("acme/default/site/"), Err(KeyError::Malformed));
        assert_eq!(p.check_key("acme/default/sitex/a"), Err(KeyError::OutsidePrefix));
        assert_eq!(p.check_key("acme/default/other/a"), Err(KeyError::OutsidePrefix));
        assert_eq!(p.check_key("acme/default/site/../other/a"), Err(KeyError::Malformed));
        assert_eq!(p.check_key("acme/default/site//a"), Err(KeyError::Malformed));
        assert_eq!(
            p.check_key(&format!("acme/default/site/{}", "a".repeat(1100))),
            Err(KeyError::TooLong)
        );
    }

    proptest! {
        #[test]
        fn sanitised_names_are_always_one_safe_segment(raw in any::<String>()) {
            if let Ok(name) = SafeFileName::new(&raw) {
                prop_assert!(name.as_str().len() <= MAX_OBJECT_KEY_BYTES);
                prop_assert!(is_plain_segment(name.as_str()));
                prop_assert!(!name.as_str().contains('\\'));
                prop_assert!(!name.as_str().chars().any(is_format_character));
                for max in [40, 160, MAX_OBJECT_KEY_BYTES] {
                    let key = prefix().object_key("c1", &name, max).unwrap();
                    prop_assert!(key.len() <= max);
                    prop_assert!(prefix().check_key(&key).is_ok());
                }
            }
        }
    }
}
