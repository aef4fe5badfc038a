//! Upload ids: decoding arbitrary text with a fixed key, and the round trip of tickets built from
//! the input. The first byte picks the mode: even decodes the rest as an id; odd splits the rest
//! at NULs into the ticket's text fields, encodes and decodes it.
#![no_main]

use carcosa_edge::upload_id::{row_id, UploadIdError, UploadIdKey, UploadTicket};
use libfuzzer_sys::fuzz_target;

const SECRET: [u8; 32] = [0x42; 32];

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let key = UploadIdKey::derive(&SECRET);
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    if mode % 2 == 0 {
        if let Ok(ticket) = UploadTicket::decode(text, &key) {
            // Only an id this key signed decodes, and it re-encodes to itself.
            assert_eq!(row_id(text), ticket.row_id);
            assert_eq!(UploadTicket::decode(&ticket.encode(&key), &key), Ok(ticket));
        }
        return;
    }
    let mut fields = text.split('\0');
    let mut next = || fields.next().unwrap_or_default().to_owned();
    let ticket = UploadTicket {
        row_id: next(),
        project_id: next(),
        tenant_id: Some(next()).filter(|t| !t.is_empty()),
        key_id: next(),
        bucket_id: next(),
        object_key: next(),
        size: next().parse().ok(),
        content_type: Some(next()).filter(|t| !t.is_empty()),
        created_at_ms: next().parse().unwrap_or(1_700_000_000_000),
        expires_at_ms: next().parse().unwrap_or(1_700_000_900_000),
        s3_upload_id: Some(next()).filter(|t| !t.is_empty()),
    };
    let id = ticket.encode(&key);
    match UploadTicket::decode(&id, &key) {
        Ok(decoded) => assert_eq!(decoded, ticket),
        // Ids whose row part is not an id, or that are too long to hand out, are refused.
        Err(UploadIdError::Malformed) => {}
        Err(e) => panic!("an id this key encoded was refused as {e:?}: {id}"),
    }
    // A different key never accepts it.
    let other = UploadIdKey::derive(&[0x24; 32]);
    assert!(UploadTicket::decode(&id, &other).is_err());
});
