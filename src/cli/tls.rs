//! TLS for the command line's database connections, with libpq's `sslmode` and `sslrootcert`.
//!
//! tokio-postgres itself knows only `disable`, `prefer` and `require`, and nothing of
//! certificates, so these two settings are taken out of the connection string here (or read
//! from `PGSSLMODE` / `PGSSLROOTCERT`, as libpq does) and become a rustls configuration:
//!
//! | sslmode       | TLS                                  | certificate checked                          |
//! |---------------|--------------------------------------|----------------------------------------------|
//! | `disable`     | never                                | —                                            |
//! | `prefer` (default) | if the server offers it         | no                                           |
//! | `require`     | always                               | no; chain only when `sslrootcert` is given   |
//! | `verify-ca`   | always                               | chain to `sslrootcert`                       |
//! | `verify-full` | always                               | chain to `sslrootcert` and the host name     |
//!
//! `sslrootcert` is a PEM file of trusted roots, or `system` for the bundled Mozilla roots; for
//! `verify-*` without it, libpq's default `~/.postgresql/root.crt` must exist.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{anyhow, bail, Context as _};
use percent_encoding::percent_decode_str;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

/// libpq's `sslmode`, the five values that matter (`allow` is treated as `prefer`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    fn parse(s: &str) -> anyhow::Result<Self> {
        Ok(match s {
            "disable" => Self::Disable,
            "allow" | "prefer" => Self::Prefer,
            "require" => Self::Require,
            "verify-ca" => Self::VerifyCa,
            "verify-full" => Self::VerifyFull,
            _ => bail!(
                "invalid sslmode '{}': expected disable, prefer, require, verify-ca or verify-full",
                s.escape_debug()
            ),
        })
    }

    const fn as_str(self) -> &'static str {
        match self {
            Self::Disable => "disable",
            Self::Prefer => "prefer",
            Self::Require => "require",
            Self::VerifyCa => "verify-ca",
            Self::VerifyFull => "verify-full",
        }
    }

    /// What tokio-postgres is told: whether to ask for TLS and whether to insist.
    pub(super) const fn postgres(self) -> tokio_postgres::config::SslMode {
        use tokio_postgres::config::SslMode as Pg;
        match self {
            Self::Disable => Pg::Disable,
            Self::Prefer => Pg::Prefer,
            Self::Require | Self::VerifyCa | Self::VerifyFull => Pg::Require,
        }
    }
}

impl fmt::Display for SslMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where trusted roots come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum RootCert {
    /// A PEM file.
    File(PathBuf),
    /// The bundled Mozilla roots (`sslrootcert=system`).
    System,
}

/// The TLS settings of one connection string, and the string without them.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct TlsSettings {
    /// The connection string for tokio-postgres, without `sslmode` and `sslrootcert`.
    pub(super) conninfo: String,
    pub(super) mode: SslMode,
    pub(super) root_cert: Option<RootCert>,
}

/// Takes `sslmode` and `sslrootcert` out of a URL (`postgres://…?sslmode=…`) or a `key=value`
/// connection string; the environment's `PGSSLMODE` / `PGSSLROOTCERT` (passed in) fill what the
/// string does not say.
pub(super) fn settings(conninfo: &str, env_mode: Option<&str>, env_root: Option<&str>) -> anyhow::Result<TlsSettings> {
    let mut mode = None;
    let mut root = None;
    let rest = if conninfo.starts_with("postgres://") || conninfo.starts_with("postgresql://") {
        let (base, query) = conninfo.split_once('?').unwrap_or((conninfo, ""));
        let mut kept = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let v = percent_decode_str(v)
                .decode_utf8()
                .context("the database URL has a parameter that is not UTF-8")?;
            match k {
                "sslmode" => mode = Some(v.into_owned()),
                "sslrootcert" => root = Some(v.into_owned()),
                _ => kept.push(pair),
            }
        }
        if kept.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{}", kept.join("&"))
        }
    } else {
        let mut kept = Vec::new();
        for token in conninfo.split_whitespace() {
            match token.split_once('=') {
                Some(("sslmode", v)) => mode = Some(v.trim_matches('\'').to_owned()),
                Some(("sslrootcert", v)) => root = Some(v.trim_matches('\'').to_owned()),
                _ => kept.push(token),
            }
        }
        kept.join(" ")
    };
    let mode = SslMode::parse(mode.as_deref().or(env_mode).unwrap_or("prefer"))?;
    let root_cert = root.as_deref().or(env_root).filter(|r| !r.is_empty()).map(|r| {
        if r == "system" {
            RootCert::System
        } else {
            RootCert::File(PathBuf::from(r))
        }
    });
    Ok(TlsSettings {
        conninfo: rest,
        mode,
        root_cert,
    })
}

/// The rustls configuration for these settings; `None` for `disable`.
pub(super) fn client_config(settings: &TlsSettings) -> anyhow::Result<Option<ClientConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .context("could not set up TLS")?;
    // libpq: `require` with a root certificate checks the chain, as `verify-ca` does.
    let check = match (settings.mode, &settings.root_cert) {
        (SslMode::Disable, _) => return Ok(None),
        (SslMode::Prefer, _) | (SslMode::Require, None) => None,
        (SslMode::Require | SslMode::VerifyCa, _) => Some(false),
        (SslMode::VerifyFull, _) => Some(true),
    };
    let verifier: Arc<dyn ServerCertVerifier> = match check {
        None => Arc::new(Unverified(provider)),
        Some(check_name) => {
            let roots = roots(settings)?;
            let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .context("could not set up certificate verification")?;
            if check_name {
                webpki
            } else {
                Arc::new(ChainOnly(webpki))
            }
        }
    };
    Ok(Some(
        builder
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth(),
    ))
}

fn roots(settings: &TlsSettings) -> anyhow::Result<RootCertStore> {
    let mode = settings.mode;
    let path = match &settings.root_cert {
        Some(RootCert::System) => {
            return Ok(RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            })
        }
        Some(RootCert::File(path)) => path.clone(),
        None => {
            let default = std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".postgresql/root.crt"));
            match default.filter(|p| p.exists()) {
                Some(path) => path,
                None => bail!(
                    "sslmode={mode} needs trusted root certificates: set sslrootcert=<PEM file> in the URL \
                     (or PGSSLROOTCERT), or sslrootcert=system for the usual public roots"
                ),
            }
        }
    };
    let shown = path.display();
    let mut store = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(&path).with_context(|| format!("cannot read sslrootcert {shown}"))? {
        let cert = cert.with_context(|| format!("sslrootcert {shown} is not a PEM certificate file"))?;
        store
            .add(cert)
            .map_err(|e| anyhow!("sslrootcert {shown} holds an unusable certificate: {e}"))?;
    }
    if store.is_empty() {
        bail!("sslrootcert {shown} holds no certificate");
    }
    Ok(store)
}

/// A word on what to do about a certificate the handshake refused, found among `e`'s causes.
pub(super) fn advice(e: &(dyn std::error::Error + 'static)) -> Option<&'static str> {
    let mut cause = Some(e);
    while let Some(err) = cause {
        let rustls = err.downcast_ref::<rustls::Error>().or_else(|| {
            err.downcast_ref::<std::io::Error>()
                .and_then(std::io::Error::get_ref)
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        });
        if let Some(rustls::Error::InvalidCertificate(c)) = rustls {
            return Some(match c {
                CertificateError::UnknownIssuer | CertificateError::BadSignature => {
                    "the server's certificate does not lead to a root in sslrootcert"
                }
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                    "the server's certificate does not name this host: connect by a name it lists"
                }
                CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                    "the server's certificate has expired"
                }
                _ => "the server's certificate was refused",
            });
        }
        cause = err.source();
    }
    None
}

/// `prefer` and `require` without roots: encrypted, but any certificate is accepted, as libpq
/// does. The handshake's signatures are still checked, so the session key belongs to whoever
/// holds the certificate's key.
#[derive(Debug)]
struct Unverified(Arc<CryptoProvider>);

impl ServerCertVerifier for Unverified {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca`: the chain must lead to a trusted root; the host name is not compared.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // The chain is checked before the name, so a name error means the chain was good.
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> TlsSettings {
        settings(s, None, None).unwrap()
    }

    #[test]
    fn tls_parameters_leave_the_url() {
        let s = url(
            "postgres://u:p@db.example:5432/carcosa?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem&connect_timeout=5",
        );
        assert_eq!(s.conninfo, "postgres://u:p@db.example:5432/carcosa?connect_timeout=5");
        assert_eq!(s.mode, SslMode::VerifyFull);
        assert_eq!(s.root_cert, Some(RootCert::File("/etc/ca.pem".into())));

        let s = url("postgresql://h/db?sslmode=require");
        assert_eq!(
            (s.conninfo.as_str(), s.mode, s.root_cert),
            ("postgresql://h/db", SslMode::Require, None)
        );

        let s = url("host=h dbname=db sslmode=verify-ca sslrootcert=system");
        assert_eq!(s.conninfo, "host=h dbname=db");
        assert_eq!((s.mode, s.root_cert), (SslMode::VerifyCa, Some(RootCert::System)));
    }

    #[test]
    fn prefer_is_the_default_and_the_url_beats_the_environment() {
        assert_eq!(url("postgres://h/db").mode, SslMode::Prefer);
        let s = settings("postgres://h/db", Some("require"), Some("/ca.pem")).unwrap();
        assert_eq!(
            (s.mode, s.root_cert),
            (SslMode::Require, Some(RootCert::File("/ca.pem".into())))
        );
        let s = settings("postgres://h/db?sslmode=disable", Some("verify-full"), None).unwrap();
        assert_eq!(s.mode, SslMode::Disable);
        let e = settings("postgres://h/db?sslmode=verify", None, None).unwrap_err();
        assert!(e.to_string().starts_with("invalid sslmode 'verify'"), "{e}");
    }

    #[test]
    fn modes_become_configurations() {
        let with = |mode, root_cert| TlsSettings {
            conninfo: String::new(),
            mode,
            root_cert,
        };
        assert!(client_config(&with(SslMode::Disable, None)).unwrap().is_none());
        assert!(client_config(&with(SslMode::Prefer, None)).unwrap().is_some());
        assert!(client_config(&with(SslMode::Require, None)).unwrap().is_some());
        assert!(client_config(&with(SslMode::VerifyFull, Some(RootCert::System)))
            .unwrap()
            .is_some());
        let missing = with(SslMode::VerifyCa, Some(RootCert::File("/nonexistent/ca.pem".into())));
        let e = client_config(&missing).unwrap_err();
        assert_eq!(e.to_string(), "cannot read sslrootcert /nonexistent/ca.pem");
    }
}
