//! The client side of SCRAM-SHA-256 (RFC 5802, RFC 7677), PostgreSQL's password exchange, with
//! the key stretching left to the caller.
//!
//! Why not `postgres-protocol`'s: it runs PBKDF2 (4096 HMAC rounds) inside its message handling,
//! which in the Worker means as wasm on the request's thread — several milliseconds of CPU per
//! new connection. Here the salted password is an input, so the Worker can compute it with
//! WebCrypto (native code) and the tests with any PBKDF2. Sans-IO: no socket, no clock; the
//! nonce is passed in.

use std::cell::RefCell;
use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use thiserror::Error;
use zeroize::Zeroizing;

use crate::sigv4::hmac_sha256;

/// The mechanism name sent in `SASLInitialResponse`.
pub const MECHANISM: &str = "SCRAM-SHA-256";

/// GS2 header for "no channel binding, and the client does not support it".
const GS2_HEADER: &str = "n,,";

/// Iteration counts outside this range are refused: fewer is a downgrade, more a way for a
/// hostile server to burn the Worker's CPU.
const ITERATIONS: std::ops::RangeInclusive<u32> = 4096..=600_000;

/// Why an exchange was abandoned. Carries no secret.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ScramError {
    /// The server's message is not a SCRAM message of the expected kind.
    #[error("malformed SCRAM message from the server")]
    Malformed,
    /// The server's nonce does not extend ours.
    #[error("the server's SCRAM nonce does not extend the client's")]
    NonceMismatch,
    /// The server asked for an iteration count outside the accepted range.
    #[error("the server asked for {0} SCRAM iterations")]
    Iterations(u32),
    /// The server refused the proof (`e=…`).
    #[error("the server refused the password: {0}")]
    Refused(String),
    /// The server's signature is wrong: it does not know the password.
    #[error("the server's SCRAM signature does not match")]
    BadServerSignature,
}

/// The exchange after the client's first message.
pub struct ClientFirst {
    /// `n=,r=<nonce>`: the part of the first message that enters the signature.
    bare: String,
    nonce: String,
}

impl ClientFirst {
    /// Starts an exchange with a printable nonce (the caller makes it from random bytes). The
    /// user name is empty, as PostgreSQL takes it from the start-up message.
    #[must_use]
    pub fn new(nonce: &str) -> Self {
        Self {
            bare: format!("n=,r={nonce}"),
            nonce: nonce.to_owned(),
        }
    }

    /// The client's first message (`SASLInitialResponse` data).
    #[must_use]
    pub fn message(&self) -> String {
        format!("{GS2_HEADER}{}", self.bare)
    }

    /// Reads the server's first message: what to stretch the password with.
    ///
    /// # Errors
    /// A malformed message, a nonce that does not extend ours, or an iteration count outside
    /// 4096..=600000.
    pub fn server_first(self, message: &[u8]) -> Result<ServerFirst, ScramError> {
        let text = std::str::from_utf8(message).map_err(|_| ScramError::Malformed)?;
        let mut fields = text.split(',');
        let nonce = attribute(fields.next(), 'r')?;
        let salt = attribute(fields.next(), 's')?;
        let iterations = attribute(fields.next(), 'i')?;
        if nonce.len() <= self.nonce.len() || !nonce.starts_with(&self.nonce) {
            return Err(ScramError::NonceMismatch);
        }
        let salt = STANDARD.decode(salt).map_err(|_| ScramError::Malformed)?;
        let iterations: u32 = iterations.parse().map_err(|_| ScramError::Malformed)?;
        if !ITERATIONS.contains(&iterations) {
            return Err(ScramError::Iterations(iterations));
        }
        Ok(ServerFirst {
            client_first_bare: self.bare,
            server_first: text.to_owned(),
            server_nonce: nonce.to_owned(),
            salt,
            iterations,
        })
    }
}

/// The server's challenge: stretch the password with [`ServerFirst::salt`] and
/// [`ServerFirst::iterations`] (PBKDF2-HMAC-SHA-256, 32 bytes), then call
/// [`ServerFirst::client_final`].
pub struct ServerFirst {
    client_first_bare: String,
    server_first: String,
    server_nonce: String,
    salt: Vec<u8>,
    iterations: u32,
}

impl ServerFirst {
    /// PBKDF2's salt.
    #[must_use]
    pub fn salt(&self) -> &[u8] {
        &self.salt
    }

    /// PBKDF2's iteration count.
    #[must_use]
    pub fn iterations(&self) -> u32 {
        self.iterations
    }

    /// The client's final message (`SASLResponse` data), from the salted password.
    #[must_use]
    pub fn client_final(self, salted_password: &[u8; 32]) -> ClientFinal {
        let without_proof = format!("c={},r={}", STANDARD.encode(GS2_HEADER), self.server_nonce);
        let auth_message = format!("{},{},{without_proof}", self.client_first_bare, self.server_first);
        let client_key = hmac_sha256(salted_password, b"Client Key");
        let stored_key: [u8; 32] = Sha256::digest(client_key.as_slice()).into();
        let signature = hmac_sha256(&stored_key, auth_message.as_bytes());
        let mut proof = Zeroizing::new([0u8; 32]);
        for (p, (k, s)) in proof.iter_mut().zip(client_key.iter().zip(signature.iter())) {
            *p = k ^ s;
        }
        let server_key = hmac_sha256(salted_password, b"Server Key");
        let server_signature = hmac_sha256(&*server_key, auth_message.as_bytes());
        ClientFinal {
            message: format!("{without_proof},p={}", STANDARD.encode(proof.as_slice())),
            server_signature: *server_signature,
        }
    }
}

/// The client's proof, and the signature the server must answer with.
pub struct ClientFinal {
    message: String,
    server_signature: [u8; 32],
}

impl fmt::Debug for ClientFinal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientFinal { .. }")
    }
}

impl ClientFinal {
    /// The client's final message.
    #[must_use]
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Checks the server's final message (`v=…`, or `e=…` when it refused the proof).
    ///
    /// # Errors
    /// The server refused, sent something else, or does not know the password.
    pub fn server_final(&self, message: &[u8]) -> Result<(), ScramError> {
        let text = std::str::from_utf8(message).map_err(|_| ScramError::Malformed)?;
        let first = text.split(',').next();
        if let Ok(reason) = attribute(first, 'e') {
            return Err(ScramError::Refused(reason.to_owned()));
        }
        let verifier = STANDARD
            .decode(attribute(first, 'v')?)
            .map_err(|_| ScramError::Malformed)?;
        if bool::from(verifier.ct_eq(&self.server_signature)) {
            Ok(())
        } else {
            Err(ScramError::BadServerSignature)
        }
    }
}

/// The value of `name=value`, when the field has that name.
fn attribute(field: Option<&str>, name: char) -> Result<&str, ScramError> {
    field
        .and_then(|f| f.strip_prefix(name))
        .and_then(|f| f.strip_prefix('='))
        .ok_or(ScramError::Malformed)
}

/// The password as SCRAM hashes it: SASLprep'd (RFC 4013) when that succeeds, else the bytes as
/// given — what PostgreSQL does on both sides.
#[must_use]
pub fn normalize(password: &[u8]) -> Zeroizing<Vec<u8>> {
    let prepared = std::str::from_utf8(password)
        .ok()
        .and_then(|p| stringprep::saslprep(p).ok())
        .map(|p| p.as_bytes().to_vec());
    Zeroizing::new(prepared.unwrap_or_else(|| password.to_vec()))
}

/// Salted passwords (PBKDF2's output, SCRAM's `SaltedPassword`) already computed, so a new
/// connection with the same password, salt and iteration count skips the key stretching — the
/// bulk of a new connection's CPU in the Worker. RFC 5802 (section 5.1) allows a client to keep
/// them for re-authentication: PostgreSQL advertises a role's salt and count unchanged until its
/// password is changed (which draws a new salt). Entries are keyed by a SHA-256 of all three, not
/// by the password; values are zeroed when dropped. The salted password lets its holder log in as
/// the role, as the password (which the isolate holds anyway, in its connection string) does.
/// Sans-IO: the caller computes and stores.
#[derive(Default)]
pub struct SaltedPasswords {
    /// Oldest first; at most [`SaltedPasswords::CAPACITY`].
    entries: Vec<([u8; 32], Zeroizing<[u8; 32]>)>,
}

impl fmt::Debug for SaltedPasswords {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SaltedPasswords({} entries)", self.entries.len())
    }
}

impl SaltedPasswords {
    /// A Worker talks to one database (one role) through its binding; a few entries cover a
    /// password rotation in flight.
    pub const CAPACITY: usize = 4;

    fn id(password: &[u8], salt: &[u8], iterations: u32) -> [u8; 32] {
        let mut h = Sha256::new();
        // Length-prefixed, so no two (password, salt) pairs hash the same input.
        h.update((password.len() as u64).to_be_bytes());
        h.update(password);
        h.update((salt.len() as u64).to_be_bytes());
        h.update(salt);
        h.update(iterations.to_be_bytes());
        h.finalize().into()
    }

    /// The salted password computed earlier for these inputs.
    #[must_use]
    pub fn get(&self, password: &[u8], salt: &[u8], iterations: u32) -> Option<Zeroizing<[u8; 32]>> {
        let id = Self::id(password, salt, iterations);
        self.entries
            .iter()
            .find(|(k, _)| bool::from(k.ct_eq(&id)))
            .map(|(_, v)| v.clone())
    }

    /// Keeps `salted` for these inputs, dropping the oldest entry when full.
    pub fn put(&mut self, password: &[u8], salt: &[u8], iterations: u32, salted: &[u8; 32]) {
        let id = Self::id(password, salt, iterations);
        self.entries.retain(|(k, _)| !bool::from(k.ct_eq(&id)));
        if self.entries.len() >= Self::CAPACITY {
            self.entries.remove(0);
        }
        self.entries.push((id, Zeroizing::new(*salted)));
    }

    /// The salted password for these inputs: from `cache`, else computed with `stretch`
    /// (PBKDF2-HMAC-SHA-256) and kept.
    ///
    /// # Errors
    /// What `stretch` returned.
    pub async fn get_or_stretch<F>(
        cache: &RefCell<Self>,
        password: &[u8],
        salt: &[u8],
        iterations: u32,
        stretch: F,
    ) -> Result<Zeroizing<[u8; 32]>, String>
    where
        F: AsyncFnOnce(&[u8], &[u8], u32) -> Result<Zeroizing<[u8; 32]>, String>,
    {
        if let Some(salted) = cache.borrow().get(password, salt, iterations) {
            return Ok(salted);
        }
        let salted = stretch(password, salt, iterations).await?;
        cache.borrow_mut().put(password, salt, iterations, &salted);
        Ok(salted)
    }

    /// How many salted passwords are kept.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether none is.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn salted_passwords_are_kept_per_password_salt_and_count_and_bounded() {
        let mut cache = SaltedPasswords::default();
        assert!(cache.get(b"pw", b"salt", 4096).is_none());
        cache.put(b"pw", b"salt", 4096, &[1; 32]);
        assert_eq!(*cache.get(b"pw", b"salt", 4096).unwrap(), [1; 32]);
        // Any of the three differing is another entry.
        assert!(cache.get(b"pw2", b"salt", 4096).is_none());
        assert!(cache.get(b"pw", b"salt2", 4096).is_none());
        assert!(cache.get(b"pw", b"salt", 4097).is_none());
        // The length prefix keeps "p"+"wsalt" apart from "pw"+"salt".
        assert!(cache.get(b"p", b"wsalt", 4096).is_none());
        // Storing again replaces, not duplicates.
        cache.put(b"pw", b"salt", 4096, &[2; 32]);
        assert_eq!(cache.len(), 1);
        assert_eq!(*cache.get(b"pw", b"salt", 4096).unwrap(), [2; 32]);
        // Bounded: the oldest goes first.
        for i in 0..SaltedPasswords::CAPACITY as u8 {
            cache.put(b"other", &[i], 4096, &[i; 32]);
        }
        assert_eq!(cache.len(), SaltedPasswords::CAPACITY);
        assert!(
            cache.get(b"pw", b"salt", 4096).is_none(),
            "the oldest entry was dropped"
        );
        assert_eq!(*cache.get(b"other", &[0], 4096).unwrap(), [0; 32]);
        // Debug shows no key material.
        assert_eq!(format!("{cache:?}"), "SaltedPasswords(4 entries)");
    }

    /// PBKDF2-HMAC-SHA-256 for one 32-byte block, written out for the tests (the Worker uses
    /// WebCrypto's).
    fn pbkdf2(password: &[u8], salt: &[u8], iterations: u32) -> [u8; 32] {
        let mut block = salt.to_vec();
        block.extend_from_slice(&1u32.to_be_bytes());
        let mut u = *hmac_sha256(password, &block);
        let mut out = u;
        for _ in 1..iterations {
            u = *hmac_sha256(password, &u);
            for (o, x) in out.iter_mut().zip(u) {
                *o ^= x;
            }
        }
        out
    }

    // RFC 7677 section 3, with the user name PostgreSQL leaves empty: the proof and signature
    // below were computed for `n=,` from the RFC's password, nonces, salt and count, and the
    // RFC's own example (user "user") is checked by `rfc_7677_example`.
    const CLIENT_NONCE: &str = "rOprNGfwEbeRWgbNEkqO";
    const SERVER_FIRST: &str = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";

    #[test]
    fn rfc_7677_example() {
        // The RFC's exchange names the user; PostgreSQL's does not, so build the RFC's bare
        // message by hand through the same code.
        let first = ClientFirst {
            bare: format!("n=user,r={CLIENT_NONCE}"),
            nonce: CLIENT_NONCE.to_owned(),
        };
        assert_eq!(first.message(), "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
        let server = first.server_first(SERVER_FIRST.as_bytes()).unwrap();
        assert_eq!(server.iterations(), 4096);
        let salted = pbkdf2(b"pencil", server.salt(), server.iterations());
        let last = server.client_final(&salted);
        assert_eq!(
            last.message(),
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
        assert_eq!(
            last.server_final(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="),
            Ok(())
        );
    }

    #[test]
    fn a_server_that_does_not_know_the_password_is_refused() {
        let server = ClientFirst::new(CLIENT_NONCE)
            .server_first(SERVER_FIRST.as_bytes())
            .unwrap();
        let last = server.client_final(&pbkdf2(b"pencil", b"salt", 4096));
        let wrong = STANDARD.encode([7u8; 32]);
        assert_eq!(
            last.server_final(format!("v={wrong}").as_bytes()),
            Err(ScramError::BadServerSignature)
        );
        assert_eq!(
            last.server_final(b"e=invalid-proof"),
            Err(ScramError::Refused("invalid-proof".into()))
        );
        assert_eq!(last.server_final(b"x=1"), Err(ScramError::Malformed));
    }

    #[test]
    fn server_first_is_checked() {
        let first = || ClientFirst::new(CLIENT_NONCE);
        let cases: [(&str, ScramError); 6] = [
            (
                "r=someoneelse,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
                ScramError::NonceMismatch,
            ),
            (
                "r=rOprNGfwEbeRWgbNEkqO,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
                ScramError::NonceMismatch,
            ),
            (
                "r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=1",
                ScramError::Iterations(1),
            ),
            (
                "r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4000000000",
                ScramError::Iterations(4_000_000_000),
            ),
            ("r=rOprNGfwEbeRWgbNEkqOx,s=not base64,i=4096", ScramError::Malformed),
            (
                "s=W22ZaJ0SNY7soEsUEjb6gQ==,r=rOprNGfwEbeRWgbNEkqOx,i=4096",
                ScramError::Malformed,
            ),
        ];
        for (message, want) in cases {
            assert_eq!(first().server_first(message.as_bytes()).err(), Some(want), "{message}");
        }
    }

    #[test]
    fn passwords_are_prepared_like_postgresql() {
        assert_eq!(normalize(b"pencil").as_slice(), b"pencil");
        // SASLprep maps a non-ASCII space to a space and NFKC-normalises.
        assert_eq!(normalize("a\u{00A0}b".as_bytes()).as_slice(), b"a b");
        assert_eq!(normalize("\u{2168}".as_bytes()).as_slice(), b"IX");
        // Compatibility characters decompose; combining marks compose (UAX #15's example).
        assert_eq!(normalize("\u{FB01}\u{FF21}".as_bytes()).as_slice(), b"fiA");
        assert_eq!(normalize("e\u{0301}".as_bytes()).as_slice(), "\u{00E9}".as_bytes());
        assert_eq!(
            normalize("\u{1E9B}\u{0323}".as_bytes()).as_slice(),
            "\u{1E69}".as_bytes()
        );
        // Not prepable (a control character) or not UTF-8: used as given.
        assert_eq!(normalize(b"a\x07b").as_slice(), b"a\x07b");
        assert_eq!(normalize(b"\xff\xfe").as_slice(), b"\xff\xfe");
    }

    #[test]
    fn right_to_left_passwords_follow_rfc_3454_tables_d1_and_d2() {
        // An Arabic ligature (class AL) becomes its two letters (AL, AL): right-to-left throughout,
        // so SASLprep succeeds.
        assert_eq!(
            normalize("\u{FEFB}".as_bytes()).as_slice(),
            "\u{0644}\u{0627}".as_bytes()
        );
        // Hebrew letters (R; a wide alef becomes an alef) around a digit (EN, in neither table):
        // right-to-left at both ends, so SASLprep succeeds.
        let hebrew = "\u{05D0}1\u{FB21}";
        assert_eq!(normalize(hebrew.as_bytes()).as_slice(), "\u{05D0}1\u{05D0}".as_bytes());
        // Right-to-left and left-to-right ("IX" from U+2168) together are prohibited, and so is
        // right-to-left text that does not end with a right-to-left character: the password is
        // used as given, as PostgreSQL does.
        for prohibited in ["\u{FEFB}\u{2168}", "\u{2168}\u{FEFB}", "\u{FEFB}1"] {
            assert_eq!(
                normalize(prohibited.as_bytes()).as_slice(),
                prohibited.as_bytes(),
                "{prohibited:?}"
            );
        }
    }

    #[test]
    fn matches_postgres_protocol() {
        use postgres_protocol::authentication::sasl::{ChannelBinding, ScramSha256};
        // Its nonce is random: read it from its first message and use the same one.
        for password in ["pencil", "p\u{00E4}ss w\u{00F6}rd", "\u{2168}"] {
            let mut theirs = ScramSha256::new(password.as_bytes(), ChannelBinding::unsupported());
            let their_first = std::str::from_utf8(theirs.message()).unwrap().to_owned();
            let nonce = their_first.strip_prefix("n,,n=,r=").unwrap();
            let ours = ClientFirst::new(nonce);
            assert_eq!(ours.message(), their_first);
            let server_first = format!("r={nonce}SERVER,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096");
            theirs.update(server_first.as_bytes()).unwrap();
            let server = ours.server_first(server_first.as_bytes()).unwrap();
            let salted = pbkdf2(&normalize(password.as_bytes()), server.salt(), server.iterations());
            let last = server.client_final(&salted);
            assert_eq!(last.message().as_bytes(), theirs.message(), "{password}");
        }
    }
}
