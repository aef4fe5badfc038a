use std::collections::BTreeMap;

use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use http::Method;
use sha2::{Digest, Sha256};

use super::canonical::*;
use super::key::hmac_keyed;
use super::*;
use proptest::prelude::*;
use UrlStyle::{Path, VirtualHost};

const AKID: &str = "AKIAIOSFODNN7EXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
/// 2013-05-24T00:00:00Z, the time of the AWS documentation example.
const AWS_TIME: i64 = 1_369_353_600;
const AWS_QUERY: &str = "X-Amz-Algorithm=AWS4-HMAC-SHA256\
    &X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request\
    &X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host";
const AWS_DATE: &str = "20130524T000000Z";
const AWS_HOST: &str = "examplebucket.s3.amazonaws.com";

type Signed = Result<Presigned, PresignError>;

fn at(offset: i64) -> SigningTime {
    SigningTime::from_unix(AWS_TIME + offset).unwrap()
}

fn day() -> Expiry {
    Expiry::from_secs(86_400).unwrap()
}

fn creds() -> Credentials {
    Credentials::new(AKID, SECRET)
}

fn bucket(style: UrlStyle) -> Bucket {
    let (endpoint, name) = match style {
        Path => ("http://127.0.0.1:9000", "uploads"),
        VirtualHost => ("https://s3.amazonaws.com", "examplebucket"),
    };
    Bucket::new(endpoint, style, name, "us-east-1").unwrap()
}

/// Presigns the PUT of `object` that `build` shapes, in `style`'s bucket.
fn put(style: UrlStyle, object: &str, build: impl FnOnce(PutObject) -> PutObject) -> Presigned {
    try_put(style, object, build).unwrap()
}

fn try_put(style: UrlStyle, object: &str, build: impl FnOnce(PutObject) -> PutObject) -> Signed {
    let (bucket, creds) = (bucket(style), creds());
    build(PutObject::new(&bucket, &creds, object)).presign_uncached(at(0), day())
}

fn get(object: &str, creds: &Credentials, query: &[(&str, &str)]) -> Presigned {
    let bucket = bucket(VirtualHost);
    let mut action = GetObject::new(&bucket, creds, object);
    for (name, value) in query {
        action = action.query(name, value);
    }
    action.presign_uncached(at(0), day()).unwrap()
}

fn signature(presigned: &Presigned) -> &str {
    presigned.url.rsplit_once("&X-Amz-Signature=").unwrap().1
}

fn encoded(input: &str, keep_slash: bool) -> String {
    let mut out = String::new();
    encode_into(&mut out, input, keep_slash);
    out
}

fn decoded(input: &str) -> String {
    let (bytes, mut out, mut i) = (input.as_bytes(), Vec::new(), 0);
    while i < bytes.len() {
        let hex = (bytes[i] == b'%').then(|| &input[i + 1..i + 3]);
        out.push(hex.map_or(bytes[i], |h| u8::from_str_radix(h, 16).unwrap()));
        i += if hex.is_some() { 3 } else { 1 };
    }
    String::from_utf8(out).unwrap()
}

impl Sink for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

#[test]
fn aws_get_example_step_by_step() {
    let (bucket, creds, extras) = (bucket(VirtualHost), creds(), Extras::default());
    let key = SigningKey::derive(&creds, at(0), "us-east-1");
    let (bucket, credentials, extras) = (&bucket, &creds, &extras);
    let request = Request {
        method: Method::GET,
        bucket,
        credentials,
        object_key: "test.txt",
        subresource: &[],
        extras,
    };
    let unsigned = request.unsigned(&key, at(0), day()).unwrap();
    assert_eq!(&unsigned.url[unsigned.query.clone()], AWS_QUERY);
    assert_eq!(&unsigned.url[unsigned.path.clone()], "/test.txt");
    assert_eq!(unsigned.url, format!("https://{AWS_HOST}/test.txt?{AWS_QUERY}"));
    assert!(unsigned.headers.is_empty());

    let mut creq = Vec::new();
    unsigned.canonical_request("GET", AWS_HOST, &mut creq);
    let expected = format!("GET\n/test.txt\n{AWS_QUERY}\nhost:{AWS_HOST}\n\nhost\nUNSIGNED-PAYLOAD");
    assert_eq!(String::from_utf8(creq.clone()).unwrap(), expected);
    let hash = "3bfa292879f6447bbcda7001decf97f4a54dc650c8942174ae0a9121cf58ad04";
    assert_eq!(hex::encode(Sha256::digest(&creq)), hash);
    assert_eq!(hex_bytes(&Sha256::digest(&creq).into()), hash.as_bytes());
    let mut sts = Vec::new();
    unsigned.string_to_sign(&key.scope, &hash.as_bytes().try_into().unwrap(), &mut sts);
    let scope = "20130524/us-east-1/s3/aws4_request";
    let expected = format!("AWS4-HMAC-SHA256\n20130524T000000Z\n{scope}\n{hash}");
    assert_eq!(String::from_utf8(sts).unwrap(), expected);
}

#[test]
fn canonical_request_places_host_among_signed_headers() {
    let (bucket, creds) = (bucket(Path), creds());
    let key = SigningKey::derive(&creds, at(0), "us-east-1");
    let extras = Extras {
        query: Vec::new(),
        headers: BTreeMap::from([
            ("x-amz-meta-a".to_owned(), " a  b ".to_owned()),
            ("content-type".to_owned(), "text/plain".to_owned()),
        ]),
    };
    let request = Request {
        method: Method::PUT,
        bucket: &bucket,
        credentials: &creds,
        object_key: "k",
        subresource: &[],
        extras: &extras,
    };
    let unsigned = request.unsigned(&key, at(0), day()).unwrap();
    let mut creq = Vec::new();
    unsigned.canonical_request("PUT", bucket.host(), &mut creq);
    let creq = String::from_utf8(creq).unwrap();
    let headers = "content-type:text/plain\nhost:127.0.0.1:9000\nx-amz-meta-a:a b\n";
    let signed = "content-type;host;x-amz-meta-a";
    assert!(
        creq.ends_with(&format!("\n{headers}\n{signed}\nUNSIGNED-PAYLOAD")),
        "{creq}"
    );
    let query = &unsigned.url[unsigned.query.clone()];
    assert!(
        query.ends_with("&X-Amz-SignedHeaders=content-type%3Bhost%3Bx-amz-meta-a"),
        "{query}"
    );
}

#[test]
fn aws_presign_vectors() {
    let got = get("test.txt", &creds(), &[]);
    let sig = "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404";
    let url = format!("https://{AWS_HOST}/test.txt?{AWS_QUERY}&X-Amz-Signature={sig}");
    assert_eq!((got.method, got.url), (Method::GET, url));
    assert!(got.headers.is_empty());

    let got = put(VirtualHost, "test.txt", |p| p);
    let sig = "f4db56459304dafaa603a99a23c6bea8821890259a65c18ff503a4a72a80efd9";
    assert_eq!(signature(&got), sig);

    let token = creds().with_session_token("oej5cie4uctureturdtuc5dctd");
    let got = get("test.txt", &token, &[]);
    let sig = "bf77b83a7135594046c90a7e7e10cf1a4c8f8ecc1d541d0f42bea6b7670870c7";
    assert_eq!(signature(&got), sig);
    let expected = "&X-Amz-Security-Token=oej5cie4uctureturdtuc5dctd&X-Amz-SignedHeaders=host&";
    assert!(got.url.contains(expected));

    let got = get("test.txt", &creds(), &[("response-content-type", "text/plain")]);
    let sig = "9cee3ba363b3a52fed152d18bb250d52a459d0905600d9b032825a3794ffd2cb";
    assert_eq!(signature(&got), sig);
    let expected = "&response-content-type=text%2Fplain&X-Amz-Signature=";
    assert!(got.url.contains(expected));
}

/// Signatures computed independently with botocore 1.43 (path style, 900 s).
#[test]
fn awkward_keys_headers_and_tokens_match_botocore() {
    let object = "dir/a b+c%d~*:é😀/x";
    let path = "/uploads/dir/a%20b%2Bc%25d~%2A%3A%C3%A9%F0%9F%98%80/x?";
    let (bucket, plain) = (bucket(Path), creds());
    let token = creds().with_session_token("tok/en+==");
    let expires = Expiry::from_secs(900).unwrap();

    let put = PutObject::new(&bucket, &token, object).content_type("image/png");
    let put = put.content_length(1234).presign_uncached(at(0), expires);
    let put = put.unwrap();
    assert!(put.url.contains(path));
    assert!(put.url.contains("&X-Amz-Security-Token=tok%2Fen%2B%3D%3D&"));
    let sig = "c169cf7ffd0b83cf91b2a2ea14ac65fc6082fa134d16db845d0f150df248d846";
    assert_eq!(signature(&put), sig);

    let disposition = "attachment; filename=\"a b.txt\"";
    let get = GetObject::new(&bucket, &plain, object);
    let get = get.query("response-content-disposition", disposition);
    let get = get.presign_uncached(at(0), expires).unwrap();
    let sig = "ba3c5673ce78f3cd851ad5a5f1eef58767255b569983baccaaa3ed177a2809fb";
    assert_eq!(signature(&get), sig);
}

#[test]
fn encoding_follows_rfc_3986() {
    let reserved = "%2A%3A%40%21%24%26%27%28%29%3D%2C%3B%3F%23";
    let cases = [
        ("AZaz09-_.~", "AZaz09-_.~"),
        ("a b+c%d", "a%20b%2Bc%25d"),
        ("*:@!$&'()=,;?#", reserved),
        ("é✓😀", "%C3%A9%E2%9C%93%F0%9F%98%80"),
        ("\u{0}\n\\", "%00%0A%5C"),
    ];
    for (input, expected) in cases {
        assert_eq!(encoded(input, true), expected);
        assert_eq!(encoded(input, false), expected);
    }
    assert_eq!(encoded("/a b/c/", true), "/a%20b/c/");
    assert_eq!(encoded("/a b/c/", false), "%2Fa%20b%2Fc%2F");
}

#[test]
fn query_is_sorted_by_encoded_name_then_value() {
    let params = [("b", "2"), ("a", "z"), ("up", ""), ("a", "y"), ("k", "/ +"), ("B", "")];
    let mut params = [&params[..], &[("~", ""), ("%", ""), ("a", "%"), ("a", "&")]].concat();
    sort_params(&mut params);
    let mut query = String::new();
    for (name, value) in params {
        push_param(&mut query, name, value);
        query.push('&');
    }
    assert_eq!(query, "%25=&B=&a=%25&a=%26&a=y&a=z&b=2&k=%2F%20%2B&up=&~=&");
}

#[test]
fn other_params_sort_around_the_signers_own() {
    let get = |name: &str| get("k", &creds(), &[(name, "v")]).url;
    for before in ["A", "X", "X-Amy", "X-Amz", "%", "-", "é"] {
        let url = get(before);
        assert!(
            url.contains(&format!("?{}=v&X-Amz-Algorithm=", encoded(before, false))),
            "{url}"
        );
    }
    for after in ["a", "X-AmzA", "X-B", "Y", "_", "~"] {
        let url = get(after);
        let tail = format!("&X-Amz-SignedHeaders=host&{}=v&X-Amz-Signature=", encoded(after, false));
        assert!(url.contains("?X-Amz-Algorithm=") && url.contains(&tail), "{url}");
    }
}

#[test]
fn put_signs_the_headers_the_client_must_send() {
    let got = put(Path, "a.png", |p| {
        let p = p.content_type("text/plain").content_type("  image/png  ; q=1 ");
        p.content_length(1234).header("X-Amz-Meta-Owner", "user  1")
    });
    let signed = "content-length%3Bcontent-type%3Bhost%3Bx-amz-meta-owner";
    assert!(got.url.contains(&format!("&X-Amz-SignedHeaders={signed}&")));
    let owned = |(n, v): (&str, &str)| (n.to_owned(), v.to_owned());
    let expected = [("content-length", "1234"), ("content-type", "image/png ; q=1")];
    let expected = expected.into_iter().chain([("x-amz-meta-owner", "user 1")]);
    assert_eq!(got.headers, expected.map(owned).collect::<Vec<_>>());
    assert_eq!(got.method, Method::PUT);
}

#[test]
fn unusable_headers_params_and_keys_are_refused() {
    for name in ["Host", "Authorization", "x-amz-content-sha256", "bad name", ""] {
        let want = PresignError::InvalidHeader(name.to_ascii_lowercase());
        assert_eq!(try_put(Path, "k", |p| p.header(name, "x")), Err(want));
    }
    let want = PresignError::InvalidHeader("content-type".into());
    for bad in ["a\tb", "a\r\nb", "caf\u{e9}", "\u{7f}"] {
        assert_eq!(
            try_put(Path, "k", |p| p.content_type(bad)),
            Err(want.clone()),
            "{bad:?}"
        );
    }
    for name in ["X-Amz-Signature", "x-amz-checksum-crc32", "X-AMZ-DATE", ""] {
        let want = PresignError::InvalidQueryParam(name.into());
        assert_eq!(try_put(Path, "k", |p| p.query(name, "x")), Err(want));
    }
    let long = "k".repeat(1025);
    for object in ["", ".", "..", "a/./b", "a/../b", "../x", "x/..", &long] {
        let got = try_put(Path, object, |p| p);
        assert!(matches!(got, Err(PresignError::InvalidObjectKey(_))), "{object}");
    }
    for object in [&long[1..], "a/.b/..c/...", "/lead//double/", "é"] {
        assert!(try_put(Path, object, |p| p).is_ok(), "{object:?}");
    }
}

#[test]
fn the_key_is_the_actions_own_whatever_the_cache_holds() {
    let (bucket, creds) = (bucket(Path), creds());
    let other = Credentials::new("AKIDOTHER", SECRET);
    let mut keys = SigningKeyCache::new();
    keys.get(&creds, at(0), "eu-west-1");
    keys.get(&other, at(0), "us-east-1");
    let get = GetObject::new(&bucket, &creds, "k");
    let cached = get.presign(&mut keys, at(86_399), day()).unwrap();
    assert_eq!(cached, get.presign_uncached(at(86_399), day()).unwrap());
    // The next day's signature is another day's key, not yesterday's reused.
    let tomorrow = get.presign(&mut keys, at(86_400), day()).unwrap();
    assert!(tomorrow.url.contains("%2F20130525%2Fus-east-1%2F"), "{}", tomorrow.url);
    assert_eq!(tomorrow, get.presign_uncached(at(86_400), day()).unwrap());
}

#[test]
fn expiry_and_time_bounds() {
    assert_eq!(Expiry::from_secs(0), Err(PresignError::InvalidExpiry(0)));
    assert_eq!(Expiry::from_secs(1).map(Expiry::as_secs), Ok(1));
    assert_eq!(Expiry::from_secs(604_800).map(Expiry::as_secs), Ok(604_800));
    let too_long = PresignError::InvalidExpiry(604_801);
    assert_eq!(Expiry::from_secs(604_801), Err(too_long));

    assert_eq!(
        (at(0).amz_date(), at(0).date_stamp().as_str()),
        (AWS_DATE.into(), "20130524")
    );
    assert_eq!(at(86_399).amz_date(), "20130524T235959Z");
    let (first, last) = (0, 253_402_300_799);
    assert_eq!(
        SigningTime::from_unix(first).map(SigningTime::amz_date),
        Ok("19700101T000000Z".into())
    );
    assert_eq!(
        SigningTime::from_unix(last).map(SigningTime::amz_date),
        Ok("99991231T235959Z".into())
    );
    for bad in [-1, last + 1, i64::MIN, i64::MAX] {
        let want = PresignError::InvalidTime(bad);
        assert_eq!(SigningTime::from_unix(bad), Err(want));
    }
}

#[test]
fn bucket_urls_by_style_and_port() {
    let cases = [
        ("http://127.0.0.1:9000", Path, "http://127.0.0.1:9000/b-1/"),
        ("https://S3.Ex.com:443/", Path, "https://s3.ex.com/b-1/"),
        ("http://localhost:80", Path, "http://localhost/b-1/"),
        ("http://[::1]:9000", Path, "http://[::1]:9000/b-1/"),
        ("https://a.r2.dev", VirtualHost, "https://b-1.a.r2.dev/"),
        ("http://m.test:9000", VirtualHost, "http://b-1.m.test:9000/"),
    ];
    for (endpoint, style, url) in cases {
        let bucket = Bucket::new(endpoint, style, "b-1", "auto").unwrap();
        assert_eq!(bucket.bucket_url(), url);
        assert_eq!(url.split('/').nth(2), Some(bucket.host()));
        assert_eq!(bucket.object_url("a b/c+d"), format!("{url}a%20b/c%2Bd"));
        assert_eq!((bucket.name(), bucket.region()), ("b-1", "auto"));
    }
}

#[test]
fn bad_buckets_are_refused() {
    let endpoint = |why| Err(BucketError::InvalidEndpoint(why));
    let new = |endpoint: &str, style, name: &str| Bucket::new(endpoint, style, name, "r");
    let scheme = Err(BucketError::UnsupportedScheme("ftp".into()));
    assert_eq!(new("ftp://host", Path, "b"), scheme);
    assert_eq!(new("host:9000", Path, "b"), endpoint("missing scheme"));
    assert_eq!(new("not a url", Path, "b"), endpoint("not a URL"));
    let userinfo = endpoint("user info is not allowed");
    assert_eq!(new("http://u:p@host", Path, "b"), userinfo);
    let path = endpoint("path or query is not allowed");
    assert_eq!(new("http://host/base", Path, "b"), path);
    assert_eq!(new("http://:80", Path, "b"), endpoint("missing host"));
    for bad_port in ["http://host:99999", "http://host:x", "http://host:"] {
        assert_eq!(new(bad_port, Path, "b"), endpoint("invalid port"), "{bad_port}");
    }
    assert_eq!(new("http://host/?x=1", Path, "b"), path);
    let dns = endpoint("virtual-host style needs a DNS name");
    assert_eq!(new("http://127.0.0.1", VirtualHost, "b"), dns);
    assert_eq!(new("http://[::1]", VirtualHost, "b"), dns);

    let names = [(Path, ""), (Path, "a/b"), (Path, ".."), (VirtualHost, "Up")];
    for (style, name) in names.into_iter().chain([(VirtualHost, "a..b")]) {
        let got = new("http://host", style, name);
        assert_eq!(got, Err(BucketError::InvalidName), "{name}");
    }
    for region in ["", "us/east", "us east", "é"] {
        let got = Bucket::new("http://host", Path, "b", region);
        assert_eq!(got, Err(BucketError::InvalidRegion), "{region}");
    }
    assert!(new("http://host", Path, "Legacy_Bucket").is_ok());
}

#[test]
fn create_head_and_delete_sign_their_method_and_path() {
    let (bucket, creds) = (bucket(Path), creds());
    let create = CreateBucket::new(&bucket, &creds).presign_uncached(at(0), day());
    let head = HeadObject::new(&bucket, &creds, "k").presign_uncached(at(0), day());
    let delete = DeleteObject::new(&bucket, &creds, "k").presign_uncached(at(0), day());
    let (create, head, delete) = (create.unwrap(), head.unwrap(), delete.unwrap());
    assert_eq!((&create.method, &head.method), (&Method::PUT, &Method::HEAD));
    assert_eq!(delete.method, Method::DELETE);
    let path = |p: &Presigned| p.url.split_once('?').unwrap().0.to_owned();
    assert_eq!(path(&create), "http://127.0.0.1:9000/uploads");
    assert_eq!(path(&head), "http://127.0.0.1:9000/uploads/k");
    assert_eq!(path(&delete), "http://127.0.0.1:9000/uploads/k");
    assert_ne!(delete.url, head.url, "the method is part of the signature");
}

#[test]
fn head_bucket_signs_head_on_the_bucket_url() {
    let (bucket, creds) = (bucket(Path), creds());
    let head = HeadBucket::new(&bucket, &creds).presign_uncached(at(0), day()).unwrap();
    let create = CreateBucket::new(&bucket, &creds)
        .presign_uncached(at(0), day())
        .unwrap();
    assert_eq!(head.method, Method::HEAD);
    // Path style: `/bucket`, as the AWS SDKs send it; virtual-host style: `/`.
    assert_eq!(head.url.split_once('?').unwrap().0, "http://127.0.0.1:9000/uploads");
    assert_ne!(head.url, create.url, "the method is part of the signature");
    let vhost = Bucket::new("https://s3.amazonaws.com", VirtualHost, "examplebucket", "us-east-1").unwrap();
    let head = HeadBucket::new(&vhost, &creds).presign_uncached(at(0), day()).unwrap();
    assert_eq!(
        head.url.split_once('?').unwrap().0,
        "https://examplebucket.s3.amazonaws.com/"
    );
}

#[test]
fn cache_derives_once_per_scope() {
    let mut cache = SigningKeyCache::new();
    // Keys are compared by what they sign.
    let mac = |key: &SigningKey| <[u8; 32]>::from(key.mac.clone().chain_update(b"x").finalize().into_bytes());
    let first = mac(cache.get(&creds(), at(0), "us-east-1"));
    assert_eq!(first, mac(&SigningKey::derive(&creds(), at(0), "us-east-1")));
    assert_eq!(mac(cache.get(&creds(), at(3_600), "us-east-1")), first);
    assert_eq!(cache.entries.len(), 1);

    cache.get(&creds(), at(0), "auto");
    let rotated = Credentials::new(AKID, "new secret");
    assert_ne!(mac(cache.get(&rotated, at(0), "us-east-1")), first);
    assert_eq!(cache.entries.len(), 3);

    cache.get(&creds(), at(86_400), "us-east-1");
    assert_eq!(cache.entries.len(), 1, "keys of other days are dropped");
    for i in 0..20 {
        cache.get(&creds(), at(86_400), &format!("region-{i}"));
    }
    assert_eq!(cache.entries.len(), SigningKeyCache::CAPACITY);
}

#[test]
fn debug_hides_secrets() {
    let creds = creds().with_session_token("tok3n");
    let key = SigningKey::derive(&creds, at(0), "us-east-1");
    for shown in [format!("{creds:?}"), format!("{key:?}")] {
        assert!(shown.contains(AKID), "{shown}");
        assert!(!shown.contains("wJalr"), "{shown}");
        assert!(!shown.contains("tok3n"), "{shown}");
    }
    assert_eq!(creds.session_token(), Some("tok3n"));
}

#[test]
fn hmac_matches_the_reference_for_any_key_length() {
    for len in [0, 1, 32, 63, 64, 65, 200] {
        let key = vec![0x5a; len];
        let mut reference = <Hmac<Sha256> as KeyInit>::new_from_slice(&key).unwrap();
        reference.update(b"message");
        let expected: [u8; 32] = reference.finalize().into_bytes().into();
        assert_eq!(*hmac_sha256(&key, b"message"), expected, "{len}");
    }
    let key = [0x5a; 32];
    let prekeyed = hmac_keyed(&key).clone().chain_update(b"message");
    assert_eq!(
        <[u8; 32]>::from(prekeyed.finalize().into_bytes()),
        *hmac_sha256(&key, b"message")
    );
}

/// An upload id with every character class AWS upload ids use.
const UPLOAD_ID: &str = "VXBsb2FkIElE~.-_+/==";

/// Signatures from botocore 1.43 `generate_presigned_url` (path style, 900 s, the AWS
/// example credentials, `botocore.auth.get_current_datetime` fixed at 2013-05-24T00:00:00Z).
#[test]
fn multipart_actions_match_botocore() {
    let (bucket, creds) = (bucket(Path), creds());
    let (object, expires) = ("dir/a b.bin", Expiry::from_secs(900).unwrap());
    let sign = |signed: Signed| signed.unwrap();
    let cases = [
        (
            sign(CreateMultipartUpload::new(&bucket, &creds, object).presign_uncached(at(0), expires)),
            Method::POST,
            "16f5c9d91c5a708ad5cf9abbe8f23263f01054b3505c56c16958b78aedbf54b1",
        ),
        (
            sign(UploadPart::new(&bucket, &creds, object, 7, UPLOAD_ID).presign_uncached(at(0), expires)),
            Method::PUT,
            "c0c123812ec4baf00492107d1abbbadeb9410196452caef6c515a6622312c149",
        ),
        (
            sign(CompleteMultipartUpload::new(&bucket, &creds, object, UPLOAD_ID).presign_uncached(at(0), expires)),
            Method::POST,
            "dd9699c3a9669868360e1e21a1639ef85fe486f0029b8401d150e63285d4be27",
        ),
        (
            sign(AbortMultipartUpload::new(&bucket, &creds, object, UPLOAD_ID).presign_uncached(at(0), expires)),
            Method::DELETE,
            "fa0f857ec24a8e462c4fd9a156cc8159513c01a07ad18528a668c4e85515396d",
        ),
        (
            sign(
                ListParts::new(&bucket, &creds, object, UPLOAD_ID)
                    .query("part-number-marker", "1")
                    .query("max-parts", "2")
                    .presign_uncached(at(0), expires),
            ),
            Method::GET,
            "d343f70f941b8389477b3c8d220fee4baf45ce5d98b039985348bea2299c21b5",
        ),
    ];
    for (got, method, sig) in cases {
        assert_eq!((&got.method, signature(&got)), (&method, sig), "{}", got.url);
        assert!(got
            .url
            .starts_with("http://127.0.0.1:9000/uploads/dir/a%20b.bin?X-Amz-Algorithm="));
        assert!(got.headers.is_empty());
    }
}

/// rusty-s3's `UploadPart` test: the AWS example inputs with part 1 of upload `abcd`.
#[test]
fn upload_part_aws_example() {
    let (bucket, creds) = (bucket(VirtualHost), creds());
    let got = UploadPart::new(&bucket, &creds, "test.txt", 1, "abcd").presign_uncached(at(0), day());
    let sig = "d2ed12e1e116c88a79cd6d1726f5fe75c99db8a0292ba000f97ecc309a9303f8";
    let url = format!("https://{AWS_HOST}/test.txt?{AWS_QUERY}&partNumber=1&uploadId=abcd&X-Amz-Signature={sig}");
    assert_eq!(got.map(|p| (p.method, p.url)), Ok((Method::PUT, url)));
}

#[test]
fn multipart_query_is_canonical() {
    let (bucket, creds) = (bucket(Path), creds());
    let query = |signed: Signed| {
        let url = signed.unwrap().url;
        let (_, query) = url.split_once("&X-Amz-SignedHeaders=host&").unwrap();
        query.rsplit_once("&X-Amz-Signature=").unwrap().0.to_owned()
    };

    let create = CreateMultipartUpload::new(&bucket, &creds, "k");
    assert_eq!(query(create.presign_uncached(at(0), day())), "uploads=");
    let part = UploadPart::new(&bucket, &creds, "k", 10_000, UPLOAD_ID).presign_uncached(at(0), day());
    assert_eq!(query(part), "partNumber=10000&uploadId=VXBsb2FkIElE~.-_%2B%2F%3D%3D");
    let list = ListParts::new(&bucket, &creds, "k", "a b&c=d").query("max-parts", "5");
    assert_eq!(
        query(list.presign_uncached(at(0), day())),
        "max-parts=5&uploadId=a%20b%26c%3Dd"
    );
}

#[test]
fn part_numbers_are_bounded() {
    let (bucket, creds) = (bucket(Path), creds());
    let part = |n| UploadPart::new(&bucket, &creds, "k", n, "id").presign_uncached(at(0), day());
    for bad in [0, 10_001, u16::MAX] {
        assert_eq!(part(bad), Err(PresignError::InvalidPartNumber(bad)));
    }
    for good in [1, 2, 10_000] {
        assert!(part(good).is_ok(), "{good}");
    }
}

#[test]
fn multipart_params_cannot_be_repeated_and_headers_are_signed() {
    let (bucket, creds) = (bucket(Path), creds());
    let refused = |name: &str| Err(PresignError::InvalidQueryParam(name.into()));
    let list = ListParts::new(&bucket, &creds, "k", "id").query("uploadId", "other");
    assert_eq!(list.presign_uncached(at(0), day()), refused("uploadId"));
    let part = UploadPart::new(&bucket, &creds, "k", 1, "id").query("partNumber", "2");
    assert_eq!(part.presign_uncached(at(0), day()), refused("partNumber"));
    let create = CreateMultipartUpload::new(&bucket, &creds, "k").query("uploads", "");
    assert_eq!(create.presign_uncached(at(0), day()), refused("uploads"));
    let abort = AbortMultipartUpload::new(&bucket, &creds, "", "id");
    assert!(matches!(
        abort.presign_uncached(at(0), day()),
        Err(PresignError::InvalidObjectKey(_))
    ));

    let create = CreateMultipartUpload::new(&bucket, &creds, "k").content_type("video/mp4");
    let create = create
        .header("x-amz-meta-owner", "u1")
        .presign_uncached(at(0), day())
        .unwrap();
    assert!(create
        .url
        .contains("&X-Amz-SignedHeaders=content-type%3Bhost%3Bx-amz-meta-owner&"));
    let owned = |(n, v): (&str, &str)| (n.to_owned(), v.to_owned());
    let expected = [("content-type", "video/mp4"), ("x-amz-meta-owner", "u1")];
    assert_eq!(create.headers, expected.map(owned).to_vec());
    let part = UploadPart::new(&bucket, &creds, "k", 1, "id").content_length(5_242_880);
    let part = part.presign_uncached(at(0), day()).unwrap();
    assert!(part.url.contains("&X-Amz-SignedHeaders=content-length%3Bhost&"));
    assert_eq!(part.headers, vec![owned(("content-length", "5242880"))]);
    let complete = CompleteMultipartUpload::new(&bucket, &creds, "k", "id").if_none_match("*");
    let complete = complete.presign_uncached(at(0), day()).unwrap();
    assert!(complete.url.contains("&X-Amz-SignedHeaders=host%3Bif-none-match&"));
    assert_eq!(complete.headers, vec![owned(("if-none-match", "*"))]);
}

#[test]
fn complete_body_is_sorted_and_escaped() {
    let body = complete_multipart_body(&[(3, "\"c\""), (1, "\"a&<b>'\""), (2, "unquoted")]);
    let part = |n: u16, etag: &str| format!("<Part><PartNumber>{n}</PartNumber><ETag>{etag}</ETag></Part>");
    let parts = [part(1, "\"a&amp;&lt;b&gt;'\""), part(2, "unquoted"), part(3, "\"c\"")];
    let expected = format!("<CompleteMultipartUpload>{}</CompleteMultipartUpload>", parts.concat());
    assert_eq!(body, Ok(expected));
    let one = "<CompleteMultipartUpload><Part><PartNumber>10000</PartNumber><ETag>\"e\"</ETag></Part>\
        </CompleteMultipartUpload>";
    assert_eq!(complete_multipart_body(&[(10_000, "\"e\"")]).as_deref(), Ok(one));

    let refused = |why| Err(PresignError::InvalidParts(why));
    assert_eq!(complete_multipart_body(&[]), refused("no parts"));
    let repeated = complete_multipart_body(&[(2, "\"x\""), (1, "\"y\""), (2, "\"x\"")]);
    assert_eq!(repeated, refused("a part number is repeated"));
    for etag in ["\"a\u{0}\"", "a\nb", "\u{85}"] {
        let got = complete_multipart_body(&[(1, etag)]);
        assert_eq!(got, refused("an ETag has a control character"), "{etag:?}");
    }
    for bad in [0, 10_001] {
        let got = complete_multipart_body(&[(1, "\"a\""), (bad, "\"b\"")]);
        assert_eq!(got, Err(PresignError::InvalidPartNumber(bad)));
    }
}

proptest! {
    #[test]
    fn any_object_key_round_trips_through_the_url(object in prop_oneof![any::<String>(), "[a./ %+]{0,8}"]) {
        match try_put(Path, &object, |p| p) {
            Ok(got) => {
                let uri: http::Uri = got.url.parse().unwrap();
                prop_assert_eq!(decoded(uri.path()), format!("/uploads/{object}"));
                prop_assert!(got.url.starts_with(&bucket(Path).object_url(&object)));
                prop_assert_eq!(uri.query().unwrap().matches("X-Amz-Signature=").count(), 1);
            }
            Err(err) => prop_assert_eq!(validate_object_key(&object), Err(err)),
        }
    }
}
