//! Rate limits, in-process (the native runtime's fixed windows, with `wrangler.toml`'s limits) and
//! against the wasm Worker under `wrangler dev`, where the `[[ratelimits]]` bindings count: a key
//! of a project on a small tier is refused with 429 after its limit while other keys go on, and a
//! client address that fails authentication too often is refused while good keys still work.

use std::time::Duration;

use carcosa_edge::rate_limit::{self, FAILED_AUTH, PERIOD_SECS, TIERS};
use serde_json::json;

use crate::target::{Resp, Target};
use crate::world::{now_ms, World};

scenarios!(
    a_key_over_its_tier_is_refused,
    failed_authentication_is_limited_per_address
);

/// The window (of [`PERIOD_SECS`], clock-aligned as the limiters count) running now.
fn window() -> i64 {
    now_ms() / (i64::from(PERIOD_SECS) * 1000)
}

/// Waits for a fresh window if this one ends within 20 seconds, so that a test's requests all
/// fall in one window (each test takes a few seconds); returns that window.
async fn fresh_window() -> i64 {
    let period_ms = i64::from(PERIOD_SECS) * 1000;
    let left_ms = period_ms - now_ms() % period_ms;
    if left_ms < 20_000 {
        tokio::time::sleep(Duration::from_millis(u64::try_from(left_ms).unwrap() + 50)).await;
    }
    window()
}

/// Gives `project_id` a `"RateLimitConfig"` row, as the upstream dashboard writes it.
async fn set_uploads_per_minute(t: &Target, project_id: &str, per_minute: i32) {
    t.db.execute(
        r#"INSERT INTO "RateLimitConfig" (id, "projectId", "uploadsPerMinute", "updatedAt")
           VALUES ('rl-' || $1, $1, $2, now())"#,
        &[&project_id, &per_minute],
    )
    .await
    .unwrap();
}

fn assert_limited(r: &Resp, per_minute: u32) {
    assert_eq!((r.status, r.code()), (429, "rate_limited"), "{}", r.body);
    let wait: u32 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=PERIOD_SECS).contains(&wait), "Retry-After {wait}");
    assert_eq!(r.header("x-ratelimit-limit"), Some(per_minute.to_string().as_str()));
    assert!(
        r.body["message"].as_str().unwrap().contains("retry later"),
        "{}",
        r.body
    );
}

/// A project whose `uploadsPerMinute` is 60 is held to the largest tier not above it, the
/// lowest (10 a minute). Its key is refused once it has presigned that many times this minute,
/// on every presigning route, and so is an upload token minted from it; another key of the same
/// project, and a key of another project, are unaffected. Completing an upload is not counted.
async fn a_key_over_its_tier_is_refused(t: &Target) {
    let tier = rate_limit::tier_for(Some(60));
    assert_eq!(tier, TIERS[0]);
    let w = World::new(t).await;
    set_uploads_per_minute(t, &w.project.id, 60).await;
    let other_key = w.key_with(t, &["*"]).await;
    let other_project = World::new(t).await;

    let started = fresh_window().await;
    // A token counts against its key when minted, and when used.
    let minted = t.post("/v1/tokens", &w.key, &json!({})).await;
    assert_eq!(minted.status, 201, "{}", minted.body);
    let token = minted.s("token");
    let first = t
        .post("/v1/uploads", &token, &json!({"filename": "by-token.txt"}))
        .await;
    assert_eq!(first.status, 201, "{}", first.body);
    let mut granted = 2;
    let mut refused = None;
    // Every presigning route counts; the third route in the cycle is the SDK's init.
    let sdk_init = format!("/api/v1/projects/{}/uploads/init", w.project.id);
    for i in 0..tier.per_minute * 2 {
        let r = match i % 3 {
            0 => t.post("/v1/uploads", &w.key, &json!({"filename": "a.txt"})).await,
            1 => t.post("/v1/downloads", &w.key, &json!({"key": first.s("key")})).await,
            _ => t.post(&sdk_init, &w.key, &json!({"fileName": "b.txt"})).await,
        };
        if r.status == 429 {
            refused = Some(r);
            break;
        }
        assert!(r.status < 300, "{} {}", r.status, r.body);
        granted += 1;
    }
    let refused = refused.expect("the key was never refused");
    assert_eq!(window(), started, "the test outlived its window");
    assert_eq!(
        granted, tier.per_minute,
        "exactly the tier's limit is granted in a window"
    );
    assert_limited(&refused, tier.per_minute);

    // The token is its key's: refused too.
    let r = t.post("/v1/uploads", &token, &json!({"filename": "c.txt"})).await;
    assert_limited(&r, tier.per_minute);
    let r = t.post("/v1/tokens", &w.key, &json!({})).await;
    assert_limited(&r, tier.per_minute);
    // Completing what was already handed out is not presigning: not counted, not refused (the
    // object was never uploaded, so the answer is about that, not about the limit).
    let r = t
        .post(
            &format!("/v1/uploads/{}/complete", first.s("uploadId")),
            &w.key,
            &json!({}),
        )
        .await;
    assert_ne!(r.status, 429, "{}", r.body);

    // Another key of the same project, and another project's key, are counted apart.
    let r = t.post("/v1/uploads", &other_key, &json!({"filename": "d.txt"})).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = t
        .post("/v1/uploads", &other_project.key, &json!({"filename": "e.txt"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(window(), started, "the test outlived its window");
}

/// Failed authentications — malformed keys, revoked keys and forged upload tokens — are counted
/// per client address. Past the limit, that address's failures are answered 429 instead of
/// 401, while a good key from the same address still works and other addresses still get 401.
async fn failed_authentication_is_limited_per_address(t: &Target) {
    let w = World::new(t).await;
    let revoked = w.key_with(t, &["*"]).await;
    let r = t.post("/v1/uploads", &revoked, &json!({"filename": "a.txt"})).await;
    assert_eq!(r.status, 201, "{}", r.body);
    t.db.execute(
        r#"UPDATE "ApiKey" SET "revokedAt" = now() WHERE "keyHash" = $1"#,
        &[&carcosa_edge::apikey::ApiKey::parse(&revoked).unwrap().hash().as_str()],
    )
    .await
    .unwrap();
    let token = t.post("/v1/tokens", &w.key, &json!({})).await.s("token");
    let forged = format!("{}A", &token[..token.len() - 1]);
    let forged = if forged == token {
        format!("{}B", &token[..token.len() - 1])
    } else {
        forged
    };
    // The revoked key is remembered as live until the scope TTL passes.
    tokio::time::sleep(crate::target::revocation_bound()).await;

    let suffix = hex::encode(crate::s3::rand_bytes());
    let client = format!("2001:db8:fa11:{}::{}", &suffix[..4], &suffix[4..8]);
    let bystander = format!("2001:db8:b1:{}::{}", &suffix[..4], &suffix[4..8]);
    let send = |credential: String, from: String| async move {
        let auth = format!("Bearer {credential}");
        t.call(
            "POST",
            "/v1/uploads",
            &[
                ("authorization", &auth),
                ("content-type", "application/json"),
                ("cf-connecting-ip", &from),
            ],
            Some(r#"{"filename": "a.txt"}"#),
        )
        .await
    };
    let mut random = [0u8; 32];
    getrandom::getrandom(&mut random).unwrap();
    let unknown = carcosa_edge::apikey::ApiKey::generate(random)
        .expose_secret()
        .to_owned();
    let bad = ["carc_short".to_owned(), unknown, revoked.clone(), forged.clone()];
    let started = fresh_window().await;
    let mut failed = 0;
    let mut refused = None;
    for i in 0..FAILED_AUTH.per_minute * 2 {
        let r = send(bad[i as usize % bad.len()].clone(), client.clone()).await;
        if r.status == 429 {
            refused = Some(r);
            break;
        }
        assert_eq!((r.status, r.code()), (401, "invalid_api_key"), "{}", r.body);
        failed += 1;
    }
    let refused = refused.expect("the address was never refused");
    assert_eq!(window(), started, "the test outlived its window");
    assert_eq!(failed, FAILED_AUTH.per_minute);
    assert_limited(&refused, FAILED_AUTH.per_minute);
    assert_eq!(
        refused.body["message"], "too many failed authentications from this client; retry later",
        "{}",
        refused.body
    );
    // Every kind of failure is refused now.
    for credential in &bad {
        let r = send(credential.clone(), client.clone()).await;
        assert_limited(&r, FAILED_AUTH.per_minute);
    }
    // A good key from the same address works; another address still gets a plain 401.
    let r = send(w.key.clone(), client.clone()).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = send(forged, bystander).await;
    assert_eq!((r.status, r.code()), (401, "invalid_api_key"), "{}", r.body);
    assert_eq!(window(), started, "the test outlived its window");
}

/// `wrangler.toml` declares a binding for every limiter the Worker uses, with the limit the
/// Worker assumes (the binding cannot tell it) and a one-minute period.
#[test]
fn wrangler_toml_declares_the_limiters() {
    let toml = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/wrangler.toml")).unwrap();
    let declared: Vec<(String, u32, u32)> = toml
        // Tables only: comments may name them too.
        .split("\n[[ratelimits]]")
        .skip(1)
        .map(|block| {
            let field = |name: &str| {
                let line = block
                    .lines()
                    .find(|l| l.trim_start().starts_with(name))
                    .unwrap_or_else(|| panic!("no {name} in {block}"));
                line.split_once('=').unwrap().1.trim().to_owned()
            };
            let simple = field("simple");
            let number = |name: &str| -> u32 {
                let (_, rest) = simple.split_once(name).unwrap();
                let digits: String = rest
                    .trim_start_matches([' ', '='])
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect();
                digits.parse().unwrap()
            };
            (
                field("name").trim_matches('"').to_owned(),
                number("limit"),
                number("period"),
            )
        })
        .collect();
    let wanted: Vec<(String, u32, u32)> = TIERS
        .iter()
        .chain(std::iter::once(&FAILED_AUTH))
        .map(|t| (t.binding.to_owned(), t.per_minute, PERIOD_SECS))
        .collect();
    assert_eq!(declared, wanted);
}
