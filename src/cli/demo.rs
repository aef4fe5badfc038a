//! `demo`: a local development project in one step.

use anyhow::{bail, Context as _};
use clap::Args;
use serde::Serialize;
use serde_json::json;

use super::bucket::{normalise_endpoint, seal, NewBucketArgs};
use super::db::{now_ms, random, Db};
use super::key::KeyView;
use super::output::Output;
use super::secrets::{vault_key, CredentialArgs, ENCRYPTION_KEY_VAR};
use super::DEFAULT_OWNER_EMAIL;
use crate::apikey::ApiKey;
use crate::permission::{Grants, PermissionGroup};
use crate::provider::Provider;
use crate::store::migrate;
use crate::store::provision::{self, NewApiKey, NewProject};

/// Fixed names of the demo setup.
const DEMO_ORG: &str = "demo";
const DEMO_TEAM: &str = "default";
const DEMO_PROJECT: &str = "demo";

#[derive(Args)]
pub(super) struct DemoArgs {
    /// Endpoint of the S3-compatible server, e.g. http://127.0.0.1:9000
    #[arg(long, value_name = "URL")]
    endpoint: String,
    /// The bucket's name at that server
    #[arg(long)]
    bucket_name: String,
    #[command(flatten)]
    credentials: CredentialArgs,
    /// Region [signing default: us-east-1]
    #[arg(long)]
    region: Option<String>,
    /// Storage provider
    #[arg(long, value_enum, ignore_case = true, default_value = "s3")]
    provider: Provider,
    /// E-mail of the owning user
    #[arg(long, value_name = "EMAIL", default_value = DEFAULT_OWNER_EMAIL)]
    owner_email: String,
}

/// A row the demo found or made, and whether it made it.
#[derive(Serialize)]
struct Got<T> {
    #[serde(flatten)]
    row: T,
    created: bool,
}

impl DemoArgs {
    pub(super) async fn run(self, db: &Db) -> anyhow::Result<Output> {
        let args = self;
        let vault = vault_key()?;
        let now = now_ms()?;
        let new_bucket = NewBucketArgs {
            team_id: "",
            name: &args.bucket_name,
            provider: args.provider,
            bucket_name: &args.bucket_name,
            region: args.region.as_deref(),
            endpoint: normalise_endpoint(Some(&args.endpoint)),
        };
        let sealed = seal(&vault, &new_bucket, &args.credentials)?;
        let mut client = db.connect().await?;
        let report = migrate::migrate(&mut client)
            .await
            .context("migrating failed; finished steps stay, and running migrate again resumes")?;
        let key = ApiKey::generate(random()?);
        let key_hash = key.hash();

        let tx = client.transaction().await.context("could not start a transaction")?;
        let (owner, _) = provision::ensure_user(&tx, &args.owner_email).await?;
        let org = match provision::get_org_by_slug(&tx, DEMO_ORG).await? {
            Some(org) => Got {
                row: org,
                created: false,
            },
            None => Got {
                row: provision::create_org(&tx, "Demo", DEMO_ORG, &owner.id, now).await?,
                created: true,
            },
        };
        let team = match provision::get_team_by_slug(&tx, &org.row.id, DEMO_TEAM).await? {
            Some(team) => Got {
                row: team,
                created: false,
            },
            None => Got {
                row: provision::create_team(&tx, &org.row.id, "Default", DEMO_TEAM, now).await?,
                created: true,
            },
        };
        let bucket_args = NewBucketArgs {
            team_id: &team.row.id,
            ..new_bucket
        };
        let (bucket, bucket_created) = provision::upsert_bucket(&tx, &bucket_args.with(&sealed), now).await?;
        let bucket = Got {
            row: bucket,
            created: bucket_created,
        };
        let project = match provision::get_project_by_slug(&tx, DEMO_PROJECT).await? {
            Some(p) if p.team_id.as_deref() != Some(team.row.id.as_str()) => bail!(
                "a project with slug '{DEMO_PROJECT}' already exists outside team {}/{}; the demo cannot use it",
                org.row.slug,
                team.row.slug
            ),
            Some(p) if p.bucket_id != bucket.row.id => Got {
                row: provision::set_project_bucket(&tx, &p.id, &bucket.row.id, now).await?,
                created: false,
            },
            Some(p) => Got { row: p, created: false },
            None => {
                let new = NewProject {
                    name: "Demo",
                    slug: DEMO_PROJECT,
                    owner_id: &owner.id,
                    bucket_id: &bucket.row.id,
                    team_id: &team.row.id,
                    multi_tenant: false,
                    max_upload_bytes: None,
                };
                Got {
                    row: provision::create_project(&tx, &new, now).await?,
                    created: true,
                }
            }
        };
        let grants = Grants::group(PermissionGroup::Standard);
        let new_key = NewApiKey {
            project_id: &project.row.id,
            label: Some("demo"),
            grants: &grants,
            expires_at_ms: None,
            key_hash: &key_hash,
        };
        let record = provision::create_api_key(&tx, &new_key, now).await?;
        tx.commit().await.context("could not commit the transaction")?;

        let migrations = match (report.adopted, report.applied.len()) {
            (true, n) => format!("adopted an existing Carcosa database, applied {n} migration(s)"),
            (false, 0) => "up to date".to_owned(),
            (false, n) => format!("applied {n} migration(s)"),
        };
        let new = |c: bool| if c { " (new)" } else { "" };
        let text = format!(
            "migrations    {migrations}\n\
             organization  {} {}{}\n\
             team          {} {}{}\n\
             bucket        {} at {} {}{}\n\
             project       {} {}{}\n\
             API key       {} (STANDARD permissions)\n\n    {}\n\n\
             This is the only time the key is shown. The Worker must use the same {ENCRYPTION_KEY_VAR}.",
            org.row.slug,
            org.row.id,
            new(org.created),
            team.row.slug,
            team.row.id,
            new(team.created),
            bucket.row.bucket_name,
            bucket.row.endpoint.as_deref().unwrap_or(""),
            bucket.row.id,
            new(bucket.created),
            project.row.slug,
            project.row.id,
            new(project.created),
            record.id,
            key.expose_secret(),
        );
        let json = json!({
            "migrations": { "applied": super::migrate::applied(&report), "adopted": report.adopted },
            "organization": org,
            "team": team,
            "bucket": bucket,
            "project": project,
            "apiKey": key.expose_secret(),
            "key": KeyView::new(&record, now),
        });
        Output::new(text, &json)
    }
}
