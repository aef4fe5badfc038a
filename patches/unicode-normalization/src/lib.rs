//! NFKC without Unicode tables in the Worker: the only part of `unicode-normalization` this build
//! uses, in its place through `[patch.crates-io]` in the root Cargo.toml.
//!
//! Its one user is `stringprep`, whose SASLprep prepares the PostgreSQL password for SCRAM (in
//! `postgres-protocol` and in the Worker's own handshake) and calls only
//! [`UnicodeNormalization::nfkc`], on characters and on a string. The real crate's composition tables
//! were the largest single item in the Worker's wasm (about 110 KB, 60 KiB of its gzip) for a
//! step that changes nothing in an ASCII password. The Workers runtime has NFKC built in
//! (`String.prototype.normalize`), so the wasm build asks it; native builds (the command line,
//! the tests) use ICU4X's normalizer, which they already carry for URLs. Written here because no
//! crate offers NFKC on wasm32 without shipping the tables. Tested through SASLprep in
//! `src/scram.rs` (native) and by every database test against the Worker, whose role's password
//! needs NFKC (`scripts/test`).

/// Normalisation of a character stream, as the real crate's trait of the same name spells it.
pub trait UnicodeNormalization<I: Iterator<Item = char>> {
    /// The characters in Normalization Form KC (compatibility decomposition, then canonical
    /// composition).
    fn nfkc(self) -> Nfkc;
}

impl<I: Iterator<Item = char>> UnicodeNormalization<I> for I {
    fn nfkc(self) -> Nfkc {
        let text: String = self.collect();
        text.as_str().nfkc()
    }
}

impl<'a> UnicodeNormalization<std::str::Chars<'a>> for &'a str {
    fn nfkc(self) -> Nfkc {
        Nfkc(nfkc(self).chars().collect::<Vec<_>>().into_iter())
    }
}

/// The characters of a normalised string.
#[derive(Debug, Clone)]
pub struct Nfkc(std::vec::IntoIter<char>);

impl Iterator for Nfkc {
    type Item = char;

    fn next(&mut self) -> Option<char> {
        self.0.next()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

#[cfg(target_arch = "wasm32")]
fn nfkc(text: &str) -> String {
    String::from(js_sys::JsString::from(text).normalize("NFKC"))
}

#[cfg(not(target_arch = "wasm32"))]
fn nfkc(text: &str) -> String {
    icu_normalizer::ComposingNormalizerBorrowed::new_nfkc()
        .normalize(text)
        .into_owned()
}
