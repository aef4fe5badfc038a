//! SCRAM server messages: the first and final messages from a server that may send anything.
//! The input is the server-first message, then a NUL, then the server-final message.
#![no_main]

use carcosa_edge::scram::{ClientFirst, ScramError};
use libfuzzer_sys::fuzz_target;

const NONCE: &str = "fyko+d2lbbFgONRv9qkxdawL";

fuzz_target!(|data: &[u8]| {
    let (first, last) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let server_first = match ClientFirst::new(NONCE).server_first(first) {
        Ok(server_first) => server_first,
        Err(ScramError::Iterations(n)) => {
            assert!(!(4096..=600_000).contains(&n));
            return;
        }
        Err(_) => return,
    };
    assert!((4096..=600_000).contains(&server_first.iterations()));
    let client_final = server_first.client_final(&[7u8; 32]);
    // The proof is computed by the client; the nonce it sends must extend ours.
    assert!(client_final.message().contains(&format!("r={NONCE}")));
    match client_final.server_final(last) {
        // Only a server that knows the salted password can sign; fuzzed input cannot forge an HMAC.
        Ok(()) => panic!("server_final accepted a signature computed without the password"),
        Err(ScramError::Refused(reason)) => assert!(last.starts_with(b"e=") && !reason.contains(',')),
        Err(_) => {}
    }
});
