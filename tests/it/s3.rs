//! The S3-compatible test server (it checks every signature): one fresh bucket per test.
//!
//! `scripts/test` starts it and sets `CARCOSA_TEST_S3_ENDPOINT`, `CARCOSA_TEST_S3_ACCESS_KEY` and
//! `CARCOSA_TEST_S3_SECRET_KEY`. A missing server fails the test; it never skips.

use carcosa_edge::sigv4::{Bucket, CreateBucket, Credentials, Expiry, GetObject, Presign, SigningTime, UrlStyle};

/// Connection settings of the test server.
#[derive(Clone, Debug)]
pub struct TestS3 {
    pub endpoint: String,
    pub access_key: String,
    pub secret_key: String,
}

fn var(name: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| {
            panic!(
                "{name} is not set: the tests need the local S3 server; run them with `scripts/test`, which starts it"
            )
        })
}

/// The server from the environment.
pub fn server() -> TestS3 {
    TestS3 {
        endpoint: var("CARCOSA_TEST_S3_ENDPOINT"),
        access_key: var("CARCOSA_TEST_S3_ACCESS_KEY"),
        secret_key: var("CARCOSA_TEST_S3_SECRET_KEY"),
    }
}

/// A response, read whole.
pub struct Object {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

impl TestS3 {
    /// Bucket `name` on this server, path-style.
    pub fn bucket(&self, name: &str) -> Bucket {
        Bucket::new(&self.endpoint, UrlStyle::Path, name, "us-east-1").unwrap()
    }

    /// The server's own credentials.
    pub fn credentials(&self) -> Credentials {
        Credentials::new(self.access_key.clone(), self.secret_key.clone())
    }

    /// A signing time of now and a five-minute expiry.
    pub fn sign_now() -> (SigningTime, Expiry) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        (
            SigningTime::from_unix(i64::try_from(now).unwrap()).unwrap(),
            Expiry::from_secs(300).unwrap(),
        )
    }

    /// Creates a bucket with a random name and returns the name.
    pub async fn new_bucket(&self) -> String {
        let name = format!("t-{}", hex::encode(rand_bytes()));
        let bucket = self.bucket(&name);
        let creds = self.credentials();
        let (at, exp) = Self::sign_now();
        let url = CreateBucket::new(&bucket, &creds)
            .presign_uncached(at, exp)
            .unwrap()
            .url;
        let resp = reqwest::Client::new().put(&url).send().await.unwrap_or_else(|e| {
            panic!(
                "the S3 server at {} is unreachable ({e}); run the tests with `scripts/test`",
                self.endpoint
            )
        });
        assert!(resp.status().is_success(), "CreateBucket {name}: {}", resp.status());
        name
    }

    /// Reads an object with a presigned GET.
    pub async fn get(&self, bucket: &str, key: &str) -> Object {
        let bucket = self.bucket(bucket);
        let creds = self.credentials();
        let (at, exp) = Self::sign_now();
        let url = GetObject::new(&bucket, &creds, key)
            .presign_uncached(at, exp)
            .unwrap()
            .url;
        let resp = reqwest::get(&url).await.unwrap();
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned());
        Object {
            status,
            content_type,
            body: resp.bytes().await.unwrap().to_vec(),
        }
    }
}

/// Four random bytes: short suffixes keep keys short, which file-backed S3 servers need.
pub fn rand_bytes() -> [u8; 4] {
    let mut b = [0u8; 4];
    getrandom::getrandom(&mut b).unwrap();
    b
}
