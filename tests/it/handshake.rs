//! `pg_handshake` against the real PostgreSQL (SCRAM-SHA-256 on TCP, as `scripts/test` starts
//! it): the session it opens is one `tokio-postgres` can use, a wrong password is refused by the
//! server, and the key stretching it asks for is the one SCRAM defines.

use carcosa_edge::pg_handshake::{self, Handshake, HandshakeError};
use hmac::digest::KeyInit;
use hmac::Mac;
use tokio::net::TcpStream;
use tokio_postgres::config::{Host, SslMode};
use tokio_postgres::{Config, NoTls};
use zeroize::Zeroizing;

use crate::pg;

/// PBKDF2-HMAC-SHA-256, one block: what the Worker asks WebCrypto for.
fn pbkdf2(password: &[u8], salt: &[u8], iterations: u32) -> [u8; 32] {
    let mac = |data: &[u8]| -> [u8; 32] {
        let mut m = hmac::Hmac::<sha2::Sha256>::new_from_slice(password).unwrap();
        m.update(data);
        m.finalize().into_bytes().into()
    };
    let mut u = mac(&[salt, &1u32.to_be_bytes()].concat());
    let mut out = u;
    for _ in 1..iterations {
        u = mac(&u);
        out.iter_mut().zip(u).for_each(|(o, x)| *o ^= x);
    }
    out
}

async fn tcp(config: &Config) -> TcpStream {
    let Host::Tcp(host) = &config.get_hosts()[0] else {
        panic!("the test server is reached over TCP")
    };
    TcpStream::connect((host.as_str(), config.get_ports()[0]))
        .await
        .unwrap()
}

async fn start(config: &Config) -> Result<Handshake<TcpStream>, HandshakeError> {
    let stream = tcp(config).await;
    pg_handshake::start(
        stream,
        config,
        "fyko+d2lbbFgONRv9qkxdawL",
        async |password: &[u8], salt: &[u8], i| Ok(Zeroizing::new(pbkdf2(password, salt, i))),
    )
    .await
}

#[tokio::test]
async fn opens_a_session_tokio_postgres_can_use() {
    let db = pg::fresh_db().await;
    let config: Config = db.url.parse().unwrap();
    assert!(
        config.get_password().is_some(),
        "the test URL authenticates with a password"
    );
    let Handshake::Ready(stream) = start(&config).await.unwrap() else {
        panic!("the test server offers SCRAM-SHA-256")
    };
    let mut raw = config.clone();
    raw.ssl_mode(SslMode::Disable);
    let (client, connection) = raw.connect_raw(stream, NoTls).await.unwrap();
    let task = tokio::spawn(connection);
    let row = client
        .query_one(
            "SELECT current_user::text, current_database()::text, current_setting('client_encoding')",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), config.get_user().unwrap());
    assert_eq!(row.get::<_, String>(1), db.name);
    assert_eq!(row.get::<_, String>(2), "UTF8");
    // Statements after the handshake go straight through, parameters and all.
    let n: i64 = client.query_one("SELECT $1::int8 * 2", &[&21i64]).await.unwrap().get(0);
    assert_eq!(n, 42);
    drop(client);
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_wrong_password_is_refused_by_the_server() {
    let db = pg::fresh_db().await;
    let mut config: Config = db.url.parse().unwrap();
    config.password("not-the-password");
    match start(&config).await {
        Err(HandshakeError::Server { code, .. }) => assert_eq!(code, "28P01"),
        Err(e) => panic!("expected the server's refusal, got {e}"),
        Ok(_) => panic!("a wrong password was accepted"),
    }
}

#[tokio::test]
async fn an_unknown_database_is_the_servers_error() {
    let db = pg::fresh_db().await;
    let mut config: Config = db.url.parse().unwrap();
    config.dbname("carcosa_no_such_database");
    match start(&config).await {
        Err(HandshakeError::Server { code, message }) => {
            assert_eq!(code, "3D000");
            assert!(message.contains("carcosa_no_such_database"), "{message}");
        }
        Err(e) => panic!("expected the server's refusal, got {e}"),
        Ok(_) => panic!("an unknown database was accepted"),
    }
}
