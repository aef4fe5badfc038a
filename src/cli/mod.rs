//! The `carcosa-edge` command line (native only): schema migrations and provisioning of
//! organizations, teams, buckets, projects, tenants and API keys.
//!
//! Every command prints one result on stdout: text for people, or with `--json` exactly one JSON
//! object. Errors go to stderr (as JSON with `--json`) and the exit status is 1; usage errors
//! exit with 2.
//!
//! Secrets: none is required as a flag. Bucket credentials come from the environment or standard
//! input (flags still work, but show in the process list) and are stored only encrypted with
//! `CREDENTIALS_ENCRYPTION_KEY`, which is read only from the environment; the database URL comes
//! from `DATABASE_URL` and its password may come from `PGPASSWORD`. Connections use TLS as the
//! URL's `sslmode` says ([`tls`]). A new
//! API key is printed once and only its SHA-256 is stored. Nothing prints a key hash, a decrypted
//! credential or the database URL; database errors are reported without the server's `DETAIL`,
//! which can echo row values.
//!
//! Layout: [`args`] holds the top-level arguments and the list of nouns; each noun (`org`,
//! `team`, `bucket`, …) is one module with its subcommands and their handlers; [`output`] prints;
//! [`db`] connects; [`secrets`] reads the encryption key and bucket credentials. A new command is
//! a variant in its noun's enum (or a new noun in [`args::Command`]) and a handler beside it.

mod args;
mod bucket;
mod bucket_cors;
mod db;
mod demo;
mod doctor;
mod key;
mod keygen;
mod migrate;
mod org;
mod output;
mod project;
mod secrets;
mod team;
mod tenant;
mod tls;

use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser as _;

pub use self::secrets::ENCRYPTION_KEY_VAR;

/// Owner of organizations (and the demo project) when no `--owner-email` is given.
pub const DEFAULT_OWNER_EMAIL: &str = "admin@localhost";

/// Parses the command line, runs the command and prints its result or error. The entry point of
/// the `carcosa-edge` binary.
#[must_use]
pub fn main() -> ExitCode {
    let cli = args::Cli::parse();
    let json = cli.json;
    let result = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")
        .and_then(|rt| rt.block_on(cli.run()));
    output::print(result, json)
}
