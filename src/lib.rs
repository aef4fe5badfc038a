//! carcosa-edge: the edge half of the Carcosa upload platform.
//!
//! A caller with a project API key asks for an upload URL; the service verifies the key, resolves
//! project → team → bucket scope from PostgreSQL in one statement, decrypts the bucket's
//! credentials and returns a SigV4-presigned URL. The caller uploads straight to S3 (or R2, or any
//! S3-compatible server) and then confirms, which the service checks against S3 and records.
//!
//! The core is sans-IO: signing, key checks, scope decisions and object keys are plain functions
//! of their inputs, with time and randomness passed in. Only [`store`] talks SQL, and only the
//! [`runtime::Runtime`] implementations (the Worker entry point, tests) do IO.
//!
//! ```
//! use carcosa_edge::sigv4::{Bucket, Credentials, Expiry, GetObject, Presign, SigningKeyCache, SigningTime, UrlStyle};
//!
//! let bucket = Bucket::new("http://127.0.0.1:9000", UrlStyle::Path, "uploads", "us-east-1").unwrap();
//! let creds = Credentials::new("AKIDEXAMPLE", "secret");
//! let at = SigningTime::from_unix(1_700_000_000).unwrap();
//! let mut keys = SigningKeyCache::new();
//! let url = GetObject::new(&bucket, &creds, "acme/site/a.txt").presign(&mut keys, at, Expiry::from_secs(900).unwrap()).unwrap().url;
//! assert!(url.starts_with("http://127.0.0.1:9000/uploads/acme/site/a.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256"));
//! ```
//!
//! See `ARCHITECTURE.md` for the map of modules and the flow of a request.

pub mod api;
pub mod apikey;
#[cfg(not(target_arch = "wasm32"))]
pub mod cli;
pub mod disposition;
pub mod ids;
pub mod object_key;
pub mod permission;
pub mod pg_handshake;
pub mod provider;
pub mod rate_limit;
pub mod runtime;
pub mod s3_xml;
pub mod scope;
pub mod scope_cache;
pub mod scram;
pub mod sigv4;
pub mod storage;
pub mod store;
pub mod timestamp;
pub mod upload_id;
pub mod upload_token;
pub mod vault;

#[cfg(target_arch = "wasm32")]
mod db_socket;
#[cfg(target_arch = "wasm32")]
mod edge;
#[cfg(target_arch = "wasm32")]
mod webcrypto;
