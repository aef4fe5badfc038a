//! `pg_handshake` against the real PostgreSQL (SCRAM-SHA-256 on TCP, as `scripts/test` starts
//! it): the session it opens is one `tokio-postgres` can use, a wrong password is refused by the
//! server, and the key stretching it asks for is the one SCRAM defines. The server's other
//! password methods (`md5`, `password`) are checked on two roles `scripts/lib.sh`'s pg_hba.conf
//! gives them to.

use carcosa_edge::pg_handshake::{self, HandshakeError, Replay};
use carcosa_edge::scram::SaltedPasswords;
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

async fn start(config: &Config) -> Result<Replay<TcpStream>, HandshakeError> {
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
    let client = session(&config).await;
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
}

/// `pg_handshake::start` with the salted password kept in `cache`; `stretched` counts PBKDF2 runs.
async fn start_kept(
    config: &Config,
    cache: &std::cell::RefCell<SaltedPasswords>,
    stretched: &std::cell::Cell<u32>,
) -> Result<Replay<TcpStream>, HandshakeError> {
    let pbkdf2_counted = async |p: &[u8], s: &[u8], i: u32| {
        stretched.set(stretched.get() + 1);
        Ok(Zeroizing::new(pbkdf2(p, s, i)))
    };
    let stretch = async |password: &[u8], salt: &[u8], i: u32| {
        SaltedPasswords::get_or_stretch(cache, password, salt, i, pbkdf2_counted).await
    };
    pg_handshake::start(tcp(config).await, config, "fyko+d2lbbFgONRv9qkxdawL", stretch).await
}

#[tokio::test]
async fn a_kept_salted_password_opens_the_next_session_without_stretching() {
    let db = pg::fresh_db().await;
    let config: Config = db.url.parse().unwrap();
    let cache = std::cell::RefCell::new(SaltedPasswords::default());
    let stretched = std::cell::Cell::new(0);
    for round in 0..3 {
        let stream = start_kept(&config, &cache, &stretched)
            .await
            .unwrap_or_else(|e| panic!("session {round}: {e}"));
        let mut raw = config.clone();
        raw.ssl_mode(SslMode::Disable);
        let (client, connection) = raw.connect_raw(stream, NoTls).await.unwrap();
        let task = tokio::spawn(connection);
        let one: i32 = client.query_one("SELECT 1", &[]).await.unwrap().get(0);
        assert_eq!(one, 1);
        drop(client);
        task.await.unwrap().unwrap();
    }
    // The server verified every session's proof; only the first needed PBKDF2.
    assert_eq!(stretched.get(), 1);
    assert_eq!(cache.borrow().len(), 1);

    // A wrong password is another entry, and the server still refuses it.
    let mut wrong = config.clone();
    wrong.password("not-the-password");
    assert_password_refused(start_kept(&wrong, &cache, &stretched).await, "kept salted password");
    assert_eq!(stretched.get(), 2);
}

/// The server refused the password (SQLSTATE 28P01); `what` names the case.
fn assert_password_refused<T>(result: Result<T, HandshakeError>, what: &str) {
    match result {
        Err(HandshakeError::Server { code, .. }) => assert_eq!(code, "28P01", "{what}"),
        Err(e) => panic!("{what}: expected the server's refusal, got {e}"),
        Ok(_) => panic!("{what}: a wrong password was accepted"),
    }
}

/// A `tokio-postgres` client on a session `pg_handshake` opened.
async fn session(config: &Config) -> tokio_postgres::Client {
    let stream = start(config).await.unwrap();
    let mut raw = config.clone();
    raw.ssl_mode(SslMode::Disable);
    let (client, connection) = raw.connect_raw(stream, NoTls).await.unwrap();
    tokio::spawn(async move { connection.await.unwrap() });
    client
}

/// Creates (or resets) `role` with `password`, stored as `encryption` (`md5` or `scram-sha-256`);
/// the returned config logs in as it to `db`.
async fn login_role(db: &pg::TestDb, role: &str, password: &str, encryption: &str) -> Config {
    db.client
        .batch_execute(&format!(
            "SET password_encryption = '{encryption}';
             DO $$ BEGIN CREATE ROLE {role} LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
             ALTER ROLE {role} LOGIN PASSWORD '{password}';"
        ))
        .await
        .unwrap();
    let mut config: Config = db.url.parse().unwrap();
    config.user(role).password(password);
    config
}

#[tokio::test]
async fn md5_and_cleartext_passwords_open_sessions_too() {
    let db = pg::fresh_db().await;
    // pg_hba.conf (scripts/lib.sh): md5 for this role, a cleartext password for the other.
    for (role, encryption) in [
        ("carcosa_md5_login", "md5"),
        ("carcosa_password_login", "scram-sha-256"),
    ] {
        let config = login_role(&db, role, "s3cret-pässword", encryption).await;
        let client = session(&config).await;
        let user: String = client.query_one("SELECT current_user::text", &[]).await.unwrap().get(0);
        assert_eq!(user, role);
        // The server did ask for that method (read as the superuser).
        let method: String = db
            .client
            .query_one(
                "SELECT auth_method FROM pg_hba_file_rules WHERE $1 = ANY(user_name) LIMIT 1",
                &[&role],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(method, if role.contains("md5") { "md5" } else { "password" });

        let mut wrong = config.clone();
        wrong.password("not-the-password");
        assert_password_refused(start(&wrong).await, role);
    }
}

#[tokio::test]
async fn channel_binding_required_is_refused_before_connecting_further() {
    let db = pg::fresh_db().await;
    let mut config: Config = db.url.parse().unwrap();
    config.channel_binding(tokio_postgres::config::ChannelBinding::Require);
    match start(&config).await {
        Err(e @ HandshakeError::Unsupported(_)) => {
            assert!(e.to_string().contains("channel binding"), "{e}")
        }
        Err(e) => panic!("expected Unsupported, got {e}"),
        Ok(_) => panic!("channel binding cannot be done here"),
    }
}

#[tokio::test]
async fn a_wrong_password_is_refused_by_the_server() {
    let db = pg::fresh_db().await;
    let mut config: Config = db.url.parse().unwrap();
    config.password("not-the-password");
    assert_password_refused(start(&config).await, "SCRAM");
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
