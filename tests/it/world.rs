//! A provisioned world for scenario tests: organisation, team, a bucket on the test S3 server
//! (fresh per test), a project and an API key, made with the same provisioning code the CLI uses.
//! Slugs carry a random suffix because Worker scenarios share one database.

use carcosa_edge::apikey::ApiKey;
use carcosa_edge::permission::PermissionGroup;
use carcosa_edge::store::provision::{self as p, Grants, NewApiKey, NewBucket, NewProject, Provider, ShareLevel};

use crate::s3::rand_bytes;
use crate::target::Target;

pub fn now_ms() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

/// What a scenario starts from.
pub struct World {
    pub user: p::User,
    pub org: p::Organization,
    /// The bucket row (owned by `team`).
    pub bucket: p::Bucket,
    /// The bucket's name on the S3 server.
    pub s3_bucket: String,
    pub project: p::Project,
    /// A raw key with the STANDARD group.
    pub key: String,
    pub key_id: String,
}

/// How to build a [`World`].
#[derive(Default)]
pub struct Setup {
    pub multi_tenant: bool,
    /// Overrides the bucket endpoint (to point at a closed port).
    pub endpoint: Option<String>,
}

impl World {
    pub async fn new(t: &Target) -> Self {
        Self::with(t, Setup::default()).await
    }

    /// A world whose project is multi-tenant, with tenants of these slugs (returned in order).
    pub async fn with_tenants(t: &Target, slugs: &[&str]) -> (Self, Vec<p::Tenant>) {
        let w = Self::with(
            t,
            Setup {
                multi_tenant: true,
                ..Setup::default()
            },
        )
        .await;
        let mut tenants = Vec::new();
        for slug in slugs {
            tenants.push(
                p::create_tenant(&t.db, &w.project.id, slug, None, now_ms())
                    .await
                    .unwrap(),
            );
        }
        (w, tenants)
    }

    pub async fn with(t: &Target, setup: Setup) -> Self {
        let db = &t.db;
        let now = now_ms();
        let suffix = hex::encode(rand_bytes());
        let (user, _) = p::ensure_user(db, &format!("owner-{suffix}@example.com"))
            .await
            .unwrap();
        let org = p::create_org(db, "Acme", &format!("acme-{suffix}"), &user.id, now)
            .await
            .unwrap();
        let team = p::create_team(db, &org.id, "Default", "default", now).await.unwrap();
        let s3_bucket = t.s3.new_bucket().await;
        let endpoint = setup.endpoint.unwrap_or_else(|| t.s3.endpoint.clone());
        let bucket = p::create_bucket(
            db,
            &NewBucket {
                team_id: &team.id,
                name: "Uploads",
                provider: Provider::S3,
                bucket_name: &s3_bucket,
                region: Some("us-east-1"),
                endpoint: Some(&endpoint),
                encrypted_access_key: &t.vault.encrypt(&t.s3.access_key, nonce()),
                encrypted_secret_key: &t.vault.encrypt(&t.s3.secret_key, nonce()),
            },
            now,
        )
        .await
        .unwrap();
        let project = p::create_project(
            db,
            &NewProject {
                name: "Site",
                slug: &format!("site-{suffix}"),
                owner_id: &user.id,
                bucket_id: &bucket.id,
                team_id: &team.id,
                multi_tenant: setup.multi_tenant,
                max_upload_bytes: None,
            },
            now,
        )
        .await
        .unwrap();
        let (key, key_id) = new_key(t, &project.id, &Grants::group(PermissionGroup::Standard)).await;
        Self {
            user,
            org,
            bucket,
            s3_bucket,
            project,
            key,
            key_id,
        }
    }

    /// Another key for this world's project.
    pub async fn key_with(&self, t: &Target, grants: &[&str]) -> String {
        new_key(t, &self.project.id, &Grants::new(grants.iter().copied()).unwrap())
            .await
            .0
    }

    /// A second team in the same organisation with a project on this world's bucket, shared at
    /// `level`, and a STANDARD key for that project.
    pub async fn sharing_project(&self, t: &Target, level: ShareLevel) -> (p::Team, p::Project, String) {
        let db = &t.db;
        let now = now_ms();
        let team = p::create_team(
            db,
            &self.org.id,
            "Partners",
            &format!("partners-{}", hex::encode(rand_bytes())),
            now,
        )
        .await
        .unwrap();
        // Projects can only be created on a bucket the team may write to; the level is set after.
        p::share_bucket(db, &self.bucket.id, &team.id, ShareLevel::ReadWrite, now)
            .await
            .unwrap();
        let project = p::create_project(
            db,
            &NewProject {
                name: "Partner site",
                slug: &format!("partner-{}", hex::encode(rand_bytes())),
                owner_id: &self.user.id,
                bucket_id: &self.bucket.id,
                team_id: &team.id,
                multi_tenant: false,
                max_upload_bytes: None,
            },
            now,
        )
        .await
        .unwrap();
        p::share_bucket(db, &self.bucket.id, &team.id, level, now)
            .await
            .unwrap();
        let (key, _) = new_key(t, &project.id, &Grants::group(PermissionGroup::Standard)).await;
        (team, project, key)
    }
}

async fn new_key(t: &Target, project_id: &str, grants: &Grants) -> (String, String) {
    let mut random = [0u8; 32];
    getrandom::getrandom(&mut random).unwrap();
    let key = ApiKey::generate(random);
    let record = p::create_api_key(
        &t.db,
        &NewApiKey {
            project_id,
            label: Some("test"),
            grants,
            expires_at_ms: None,
            key_hash: &key.hash(),
        },
        now_ms(),
    )
    .await
    .unwrap();
    (key.expose_secret().to_owned(), record.id)
}

fn nonce() -> [u8; 24] {
    let mut n = [0u8; 24];
    getrandom::getrandom(&mut n).unwrap();
    n
}
