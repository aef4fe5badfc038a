//! Integration tests: one binary, one module per area. They need the services started by
//! `scripts/test`: PostgreSQL (`pg.rs`), the S3 server (`s3.rs`) and, for `worker::` scenarios,
//! the wasm Worker under `wrangler dev` (`target.rs`).
#![cfg(not(target_arch = "wasm32"))]
// A failed step is a failed test: helpers panic instead of returning errors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

/// Declares scenario tests, each run twice: in-process (`native::…`) and against the wasm Worker
/// under `wrangler dev` (`worker::…`). Each name is an `async fn(&Target)` in the calling module.
macro_rules! scenarios {
    ($($name:ident),* $(,)?) => {
        mod native {
            $(#[tokio::test] async fn $name() { super::$name(&crate::target::Target::native().await).await })*
        }
        mod worker {
            $(#[tokio::test] async fn $name() { super::$name(&crate::target::Target::worker().await).await })*
        }
    };
}

mod audit_deletions;
mod bad_input;
mod bucket_cors;
mod cli;
mod cli_doctor;
mod cli_list;
mod cli_secrets;
mod cli_tls;
mod companion;
mod deferred_writer;
mod flows;
mod handshake;
mod hardening;
mod listing;
mod migrate;
mod migrate_online;
mod multipart;
mod no_overwrite;
mod openapi;
mod outage;
mod pg;
mod post_policy;
mod rate_limits;
mod s3;
mod size_limits;
mod target;
mod usage;
mod world;
