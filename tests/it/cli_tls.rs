//! The command line against a PostgreSQL that accepts only TLS (`hostssl`), with a certificate
//! for `localhost` from a CA made for the test run: every libpq `sslmode` does what libpq does.
//!
//! `scripts/test` starts that server (`pg_start_tls` in `scripts/lib.sh`) and sets
//! `CARCOSA_TEST_TLS_DATABASE_URL` (its admin URL, host 127.0.0.1) and `CARCOSA_TEST_TLS_DIR`
//! (holding `ca.crt`, the CA that signed the server's certificate, and `wrong-ca.crt`, one that
//! signed nothing). Because the server refuses plain connections, a command that succeeds went
//! over TLS.

use std::process::Command;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_carcosa-edge");

/// The TLS server's URL with `host` and `query`, and the certificate folder.
fn server(host: &str, query: &str) -> (String, String) {
    let var = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| {
            panic!(
                "{name} is not set: the TLS tests need the TLS-only PostgreSQL that `scripts/test` starts \
                 (pg_start_tls in scripts/lib.sh)"
            )
        })
    };
    let url = var("CARCOSA_TEST_TLS_DATABASE_URL").replace("127.0.0.1", host);
    let sep = if query.is_empty() { "" } else { "?" };
    (format!("{url}{sep}{query}"), var("CARCOSA_TEST_TLS_DIR"))
}

/// Runs `migrate --status --json` against `url` with a clean environment: (success, stdout, stderr).
fn status(url: &str, env: &[(&str, &str)]) -> (bool, String, String) {
    let mut cmd = Command::new(BIN);
    for var in ["DATABASE_URL", "PGSSLMODE", "PGSSLROOTCERT", "HOME"] {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().copied());
    let out = cmd
        .args(["--json", "--database-url", url, "migrate", "--status"])
        .output()
        .expect("run carcosa-edge");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    (out.status.success(), stdout, stderr)
}

#[track_caller]
fn connects(url: &str, env: &[(&str, &str)]) {
    let (ok, stdout, stderr) = status(url, env);
    assert!(ok, "{url}: {stderr}");
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert!(v["migrations"].as_array().is_some_and(|m| !m.is_empty()), "{v}");
}

/// Fails with a JSON error whose messages contain every one of `expected`.
#[track_caller]
fn refused(url: &str, env: &[(&str, &str)], expected: &[&str]) {
    let (ok, stdout, stderr) = status(url, env);
    assert!(!ok && stdout.is_empty(), "{url} succeeded: {stdout}");
    let v: Value = serde_json::from_str(&stderr).unwrap_or_else(|_| panic!("not JSON: {stderr}"));
    let all = format!("{} {}", v["error"], v["causes"]);
    for e in expected {
        assert!(all.contains(e), "{url}: expected {e:?} in {all}");
    }
    assert!(!all.contains(":postgres@"), "the URL's password leaked: {all}");
}

#[test]
fn prefer_and_require_encrypt_without_checking_the_certificate() {
    // prefer is the default, as in libpq; this server offers TLS (and takes nothing else).
    connects(&server("127.0.0.1", "").0, &[]);
    connects(&server("127.0.0.1", "sslmode=prefer").0, &[]);
    connects(&server("127.0.0.1", "sslmode=require").0, &[]);
    // libpq's environment variables count when the URL says nothing.
    connects(&server("127.0.0.1", "").0, &[("PGSSLMODE", "require")]);
}

#[test]
fn disable_against_a_tls_only_server_fails_clearly() {
    refused(
        &server("127.0.0.1", "sslmode=disable").0,
        &[],
        &[
            "sslmode=disable",
            "accepts only encrypted connections",
            "no encryption (SQLSTATE 28000)",
        ],
    );
    refused(
        &server("127.0.0.1", "").0,
        &[("PGSSLMODE", "disable")],
        &["sslmode=disable"],
    );
}

#[test]
fn verify_full_checks_the_chain_and_the_host_name() {
    let (url, dir) = server("localhost", "");
    let ca = format!("{dir}/ca.crt");
    let wrong = format!("{dir}/wrong-ca.crt");
    connects(&format!("{url}?sslmode=verify-full&sslrootcert={ca}"), &[]);
    connects(&format!("{url}?sslmode=verify-full"), &[("PGSSLROOTCERT", &ca)]);
    refused(
        &format!("{url}?sslmode=verify-full&sslrootcert={wrong}"),
        &[],
        &["sslmode=verify-full", "does not lead to a root in sslrootcert"],
    );
    // The certificate names localhost, not 127.0.0.1.
    let (by_ip, _) = server("127.0.0.1", "");
    refused(
        &format!("{by_ip}?sslmode=verify-full&sslrootcert={ca}"),
        &[],
        &["does not name this host", "127.0.0.1"],
    );
    // No roots at all: said before any connection is tried.
    refused(
        &format!("{url}?sslmode=verify-full"),
        &[],
        &["sslmode=verify-full needs trusted root certificates"],
    );
}

#[test]
fn verify_ca_and_require_with_roots_check_the_chain_only() {
    let (by_ip, dir) = server("127.0.0.1", "");
    let ca = format!("{dir}/ca.crt");
    let wrong = format!("{dir}/wrong-ca.crt");
    connects(&format!("{by_ip}?sslmode=verify-ca&sslrootcert={ca}"), &[]);
    refused(
        &format!("{by_ip}?sslmode=verify-ca&sslrootcert={wrong}"),
        &[],
        &["does not lead to a root"],
    );
    // libpq: require with a root certificate behaves as verify-ca.
    connects(&format!("{by_ip}?sslmode=require&sslrootcert={ca}"), &[]);
    refused(
        &format!("{by_ip}?sslmode=require&sslrootcert={wrong}"),
        &[],
        &["does not lead to a root"],
    );
    refused(
        &format!("{by_ip}?sslmode=verify-ca&sslrootcert={dir}/missing.crt"),
        &[],
        &["cannot read sslrootcert"],
    );
}
