//! CPU cost of the sans-IO work one presign does, natively (`cargo bench --bench presign`).
//!
//! Every step a `POST /v1/uploads` or `POST /v1/downloads` takes between reading the request and
//! writing the response, except the database round trip: key parsing and hashing, the scope
//! decision, object-key building, credential decryption, the signing-key cache and SigV4
//! presigning. `request_path/*` runs them back to back, as the handlers do. The inputs are fixed
//! and typical (an AWS bucket, a STANDARD key, a 40-character secret), so runs compare.
//!
//! Criterion does not build for wasm32, where clippy also checks this target: there it is empty.

#[cfg(not(target_arch = "wasm32"))]
mod native {
    // A benchmark whose fixed inputs fail to parse has nothing to measure: stop loudly.
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::hint::black_box;

    use carcosa_edge::apikey::ApiKey;
    use carcosa_edge::object_key::{Prefix, SafeFileName};
    use carcosa_edge::permission::{PermissionGroup, PermissionSet};
    use carcosa_edge::provider::Provider;
    use carcosa_edge::scope::{self, BucketRow, Operation, ScopeRow, TeamRow};
    use carcosa_edge::sigv4::{
        Bucket, Credentials, Expiry, GetObject, Presign, PutObject, SigningKey, SigningKeyCache, SigningTime, UrlStyle,
    };
    use carcosa_edge::storage;
    use carcosa_edge::vault::VaultKey;
    use criterion::{criterion_group, Criterion};

    const ACCESS_KEY_ID: &str = "AKIAIOSFODNN7EXAMPLE";
    const SECRET_KEY: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    const VAULT_KEY: &str = "base64:AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";
    /// 2026-11-25T14:00:00Z.
    const NOW_SECS: i64 = 1_795_615_200;
    const UPLOAD_ID: &str = "c0123456789abcdef01234567";
    const OBJECT_KEY: &str = "acme/default/site/c0123456789abcdef01234567/holiday-photo.jpg";

    fn at() -> SigningTime {
        SigningTime::from_unix(NOW_SECS).unwrap()
    }

    fn expiry() -> Expiry {
        Expiry::from_secs(900).unwrap()
    }

    fn bucket() -> Bucket {
        Bucket::new(
            "https://s3.us-east-1.amazonaws.com",
            UrlStyle::VirtualHost,
            "carcosa-uploads",
            "us-east-1",
        )
        .unwrap()
    }

    fn credentials() -> Credentials {
        Credentials::new(ACCESS_KEY_ID, SECRET_KEY)
    }

    fn api_key() -> String {
        ApiKey::generate([42; 32]).expose_secret().to_owned()
    }

    /// What `store::resolve_scope` returns for a STANDARD key of a single-tenant project whose
    /// team owns its bucket.
    fn scope_row(vault: &VaultKey) -> ScopeRow {
        let grants: Vec<&str> = PermissionGroup::Standard.grants().to_vec();
        ScopeRow {
            key_id: "ckey0000000000000000000001".into(),
            permissions: PermissionSet::from_json(&serde_json::json!(grants)),
            key_expires_at_ms: None,
            project_id: "cproj000000000000000000001".into(),
            project_slug: "site".into(),
            multi_tenant: false,
            team: Some(TeamRow {
                id: "cteam000000000000000000001".into(),
                slug: "default".into(),
                org_slug: "acme".into(),
            }),
            bucket: BucketRow {
                id: "cbkt0000000000000000000001".into(),
                provider: Provider::S3,
                bucket_name: "carcosa-uploads".into(),
                region: Some("us-east-1".into()),
                endpoint: None,
                encrypted_access_key: vault.encrypt(ACCESS_KEY_ID, [1; 24]),
                encrypted_secret_key: vault.encrypt(SECRET_KEY, [2; 24]),
                owner_team_id: "cteam000000000000000000001".into(),
            },
            share_level: None,
            tenant: None,
            max_upload_bytes: None,
            uploads_per_minute: None,
        }
    }

    fn sigv4(c: &mut Criterion) {
        let (bucket, creds, at, expiry) = (bucket(), credentials(), at(), expiry());
        let mut g = c.benchmark_group("sigv4");
        g.bench_function("signing_key_derive", |b| {
            b.iter(|| SigningKey::derive(black_box(&creds), black_box(at), black_box("us-east-1")));
        });
        let mut cache = SigningKeyCache::new();
        cache.get(&creds, at, bucket.region());
        g.bench_function("signing_key_cache_hit", |b| {
            b.iter(|| {
                cache.get(black_box(&creds), black_box(at), black_box("us-east-1"));
            });
        });
        g.bench_function("put_object_presign", |b| {
            b.iter(|| {
                PutObject::new(&bucket, &creds, black_box(OBJECT_KEY))
                    .presign(&mut cache, at, expiry)
                    .unwrap()
            });
        });
        g.bench_function("put_object_presign_type_length", |b| {
            b.iter(|| {
                PutObject::new(&bucket, &creds, black_box(OBJECT_KEY))
                    .content_type(black_box("image/jpeg"))
                    .content_length(black_box(48_213))
                    .presign(&mut cache, at, expiry)
                    .unwrap()
            });
        });
        g.bench_function("get_object_presign", |b| {
            b.iter(|| {
                GetObject::new(&bucket, &creds, black_box(OBJECT_KEY))
                    .presign(&mut cache, at, expiry)
                    .unwrap()
            });
        });
        g.finish();
    }

    fn credentials_and_keys(c: &mut Criterion) {
        let vault = VaultKey::parse(VAULT_KEY).unwrap();
        let sealed = vault.encrypt(SECRET_KEY, [2; 24]);
        let row = scope_row(&vault);
        let raw = api_key();
        let mut g = c.benchmark_group("auth");
        g.bench_function("vault_decrypt_secret", |b| {
            b.iter(|| vault.decrypt(black_box(&sealed)).unwrap());
        });
        g.bench_function("storage_signable", |b| {
            b.iter(|| storage::signable(black_box(&row.bucket), &vault).unwrap());
        });
        g.bench_function("api_key_parse_hash", |b| {
            b.iter(|| ApiKey::parse(black_box(&raw)).unwrap().hash());
        });
        let now_ms = NOW_SECS * 1000;
        g.bench_function("scope_authorize_upload", |b| {
            b.iter(|| scope::authorize(black_box(&row), Operation::Upload, None, now_ms).unwrap());
        });
        g.finish();
    }

    fn object_keys(c: &mut Criterion) {
        let prefix = Prefix::new("acme", "default", "site", None).unwrap();
        let mut g = c.benchmark_group("object_key");
        g.bench_function("safe_file_name_and_key", |b| {
            b.iter(|| {
                let name = SafeFileName::new(black_box("C:\\fakepath\\holiday-photo.jpg")).unwrap();
                prefix.object_key(black_box(UPLOAD_ID), &name, 1024).unwrap()
            });
        });
        g.finish();
    }

    /// The handlers' CPU work in order, minus IO: what one request costs besides its database
    /// round trip, with a warm signing-key cache (the isolate's steady state).
    fn request_path(c: &mut Criterion) {
        let vault = VaultKey::parse(VAULT_KEY).unwrap();
        let row = scope_row(&vault);
        let raw = api_key();
        let (now_ms, at, expiry) = (NOW_SECS * 1000, at(), expiry());
        let mut cache = SigningKeyCache::new();
        let mut g = c.benchmark_group("request_path");
        g.bench_function("upload_sans_io", |b| {
            b.iter(|| {
                let hash = ApiKey::parse(black_box(&raw)).unwrap().hash();
                let scope = scope::authorize(black_box(&row), Operation::Upload, None, now_ms).unwrap();
                let name = SafeFileName::new(black_box("holiday-photo.jpg")).unwrap();
                let key = scope.prefix.object_key(UPLOAD_ID, &name, 1024).unwrap();
                let target = storage::signable(&scope.bucket, &vault).unwrap();
                let url = PutObject::new(&target.bucket, &target.credentials, &key)
                    .content_type("image/jpeg")
                    .content_length(48_213)
                    .presign(&mut cache, at, expiry)
                    .unwrap();
                (hash, url)
            });
        });
        g.bench_function("download_sans_io", |b| {
            b.iter(|| {
                let hash = ApiKey::parse(black_box(&raw)).unwrap().hash();
                let scope = scope::authorize(black_box(&row), Operation::Download, None, now_ms).unwrap();
                let key = scope.prefix.check_key(black_box(OBJECT_KEY)).unwrap();
                let target = storage::signable(&scope.bucket, &vault).unwrap();
                let url = GetObject::new(&target.bucket, &target.credentials, key)
                    .presign(&mut cache, at, expiry)
                    .unwrap();
                (hash, url)
            });
        });
        g.finish();
    }

    /// The same presigned PUT (bucket, key, credentials, time, expiry, signed headers) from
    /// carcosa-edge's signer, rusty-s3 and the AWS SDK's aws-sigv4, each ending in the URL a
    /// client would use. rusty-s3 and aws-sigv4 derive the signing key (four more HMACs) on
    /// every call, as their APIs have no way to pass one in; carcosa-edge is measured both
    /// with a key derived beforehand (`carcosa_edge`, what its handlers do with the key cache)
    /// and deriving it each time (`carcosa_edge_derive`, like for like with the others).
    fn compare(c: &mut Criterion) {
        let peers = peers::Peers::new();
        let headers: &[(&str, &str)] = &[("content-type", "image/jpeg"), ("content-length", "48213")];
        for signed in [&[][..], headers] {
            peers.assert_same_signature(signed);
        }
        let mut g = c.benchmark_group("compare");
        for (name, signed) in [("put", &[][..]), ("put_type_length", headers)] {
            g.bench_function(format!("carcosa_edge/{name}"), |b| {
                b.iter(|| peers.carcosa_edge(black_box(signed)))
            });
            g.bench_function(format!("carcosa_edge_derive/{name}"), |b| {
                b.iter(|| peers.carcosa_edge_derive(black_box(signed)));
            });
            g.bench_function(format!("rusty_s3/{name}"), |b| {
                b.iter(|| peers.rusty_s3(black_box(signed)))
            });
            g.bench_function(format!("aws_sigv4/{name}"), |b| {
                b.iter(|| peers.aws_sigv4(black_box(signed)))
            });
        }
        g.finish();
    }

    mod peers {
        use std::time::{Duration, SystemTime};

        use aws_sigv4::http_request::{
            self, PercentEncodingMode, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
            UriPathNormalizationMode,
        };
        use aws_sigv4::sign::v4;
        use aws_smithy_runtime_api::client::identity::Identity;
        use carcosa_edge::sigv4::{self, Presign, PutObject, SigningKeyCache};
        use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
        use rusty_s3::S3Action;
        use std::cell::RefCell;

        use super::{at, bucket, credentials, expiry, ACCESS_KEY_ID, NOW_SECS, OBJECT_KEY, SECRET_KEY};

        const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

        pub struct Peers {
            bucket: sigv4::Bucket,
            creds: sigv4::Credentials,
            /// Warm, as in a busy isolate.
            keys: RefCell<SigningKeyCache>,
            rusty_bucket: rusty_s3::Bucket,
            rusty_creds: rusty_s3::Credentials,
            identity: Identity,
        }

        impl Peers {
            pub fn new() -> Self {
                let (bucket, creds) = (bucket(), credentials());
                let mut keys = SigningKeyCache::new();
                keys.get(&creds, at(), bucket.region());
                let endpoint = "https://s3.us-east-1.amazonaws.com".parse().unwrap();
                let style = rusty_s3::UrlStyle::VirtualHost;
                let rusty_bucket = rusty_s3::Bucket::new(endpoint, style, "carcosa-uploads", "us-east-1").unwrap();
                let rusty_creds = rusty_s3::Credentials::new(ACCESS_KEY_ID, SECRET_KEY);
                let identity =
                    aws_credential_types::Credentials::new(ACCESS_KEY_ID, SECRET_KEY, None, None, "bench").into();
                Self {
                    bucket,
                    creds,
                    keys: RefCell::new(keys),
                    rusty_bucket,
                    rusty_creds,
                    identity,
                }
            }

            pub fn carcosa_edge(&self, headers: &[(&str, &str)]) -> String {
                let put = self.carcosa_edge_put(headers);
                put.presign(&mut self.keys.borrow_mut(), at(), expiry()).unwrap().url
            }

            pub fn carcosa_edge_derive(&self, headers: &[(&str, &str)]) -> String {
                self.carcosa_edge_put(headers)
                    .presign_uncached(at(), expiry())
                    .unwrap()
                    .url
            }

            fn carcosa_edge_put(&self, headers: &[(&str, &str)]) -> PutObject<'_> {
                let mut put = PutObject::new(&self.bucket, &self.creds, OBJECT_KEY);
                for (name, value) in headers {
                    put = put.header(name, value);
                }
                put
            }

            pub fn rusty_s3(&self, headers: &[(&str, &str)]) -> String {
                let mut put = self.rusty_bucket.put_object(Some(&self.rusty_creds), OBJECT_KEY);
                for (name, value) in headers {
                    put.headers_mut().insert(*name, *value);
                }
                let time = jiff::Timestamp::from_second(NOW_SECS).unwrap();
                put.sign_with_time(Duration::from_secs(900), &time).into()
            }

            /// S3's rules on aws-sigv4's generic signer: paths encoded once and not normalised,
            /// an unsigned payload, no `x-amz-content-sha256`, the signature in the query.
            pub fn aws_sigv4(&self, headers: &[(&str, &str)]) -> String {
                let mut settings = SigningSettings::default();
                settings.percent_encoding_mode = PercentEncodingMode::Single;
                settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
                settings.signature_location = SignatureLocation::QueryParams;
                settings.expires_in = Some(Duration::from_secs(900));
                let params = v4::SigningParams::builder()
                    .identity(&self.identity)
                    .region("us-east-1")
                    .name("s3")
                    .time(SystemTime::UNIX_EPOCH + Duration::from_secs(NOW_SECS.unsigned_abs()))
                    .settings(settings)
                    .build()
                    .unwrap()
                    .into();
                let mut url = self.bucket.object_url(OBJECT_KEY);
                let body = SignableBody::UnsignedPayload;
                let request = SignableRequest::new("PUT", &url, headers.iter().copied(), body).unwrap();
                let (instructions, _) = http_request::sign(request, &params).unwrap().into_parts();
                for (i, (name, value)) in instructions.params().iter().enumerate() {
                    url.push(if i == 0 { '?' } else { '&' });
                    url.push_str(name);
                    url.push('=');
                    url.extend(utf8_percent_encode(value, QUERY_VALUE));
                }
                url
            }

            /// All three sign the same canonical request, so they must produce the same path,
            /// the same query parameters (in whatever order) and the same signature.
            pub fn assert_same_signature(&self, headers: &[(&str, &str)]) {
                let split = |url: String| {
                    let (path, query) = url.split_once('?').unwrap();
                    let mut params: Vec<String> = query.split('&').map(str::to_owned).collect();
                    params.sort();
                    (path.to_owned(), params)
                };
                let ours = split(self.carcosa_edge(headers));
                assert_eq!(ours, split(self.carcosa_edge_derive(headers)));
                assert!(ours.1.iter().any(|p| p.starts_with("X-Amz-Signature=")));
                assert_eq!(ours, split(self.rusty_s3(headers)), "rusty-s3, headers {headers:?}");
                assert_eq!(ours, split(self.aws_sigv4(headers)), "aws-sigv4, headers {headers:?}");
            }
        }
    }

    criterion_group!(benches, sigv4, compare, credentials_and_keys, object_keys, request_path);

    pub fn main() {
        benches();
        Criterion::default().configure_from_args().final_summary();
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    native::main();
}

#[cfg(target_arch = "wasm32")]
fn main() {}
