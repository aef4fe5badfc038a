//! `bucket`: storage buckets, their encrypted credentials, and their sharing between teams.

use anyhow::Context as _;
use clap::{Args, Subcommand};
use serde_json::json;

use super::db::{now_ms, random, Db};
use super::output::Output;
use super::secrets::{vault_key, CredentialArgs};
use crate::provider::Provider;
use crate::scope::{BucketRow, ShareLevel};
use crate::store::provision::{self, NewBucket};
use crate::vault::VaultKey;

#[derive(Subcommand)]
pub(super) enum BucketCommand {
    /// Record a bucket owned by a team, its credentials encrypted with CREDENTIALS_ENCRYPTION_KEY
    Create(Box<BucketCreateArgs>),
    /// Share a bucket with another team, or change the level of a share
    Share {
        /// Bucket id
        #[arg(long, value_name = "BUCKET_ID")]
        bucket: String,
        /// Id of the team to share with
        #[arg(long, value_name = "TEAM_ID")]
        team: String,
        /// What the team may do: READ_ONLY (downloads), READ_WRITE or ADMIN (uploads too)
        #[arg(long, value_enum, ignore_case = true)]
        level: ShareLevel,
    },
    /// List the buckets a team owns, or every bucket (never their credentials)
    List {
        /// Only the buckets this team owns
        #[arg(long, value_name = "TEAM_ID")]
        team: Option<String>,
    },
    /// List the shares of a bucket, or with a team, or every share
    Shares {
        /// Only this bucket's shares
        #[arg(long, value_name = "BUCKET_ID")]
        bucket: Option<String>,
        /// Only the shares with this team
        #[arg(long, value_name = "TEAM_ID")]
        team: Option<String>,
    },
    /// Apply the CORS rules browsers need to upload to the bucket (S3, R2, MinIO), and print them
    Cors(super::bucket_cors::CorsArgs),
    /// Stop sharing a bucket with a team
    Unshare {
        /// Bucket id
        #[arg(long, value_name = "BUCKET_ID")]
        bucket: String,
        /// Team id
        #[arg(long, value_name = "TEAM_ID")]
        team: String,
    },
}

#[derive(Args)]
pub(super) struct BucketCreateArgs {
    /// Id of the owning team
    #[arg(long, value_name = "TEAM_ID")]
    team: String,
    /// Display name
    #[arg(long)]
    name: String,
    /// Storage provider (s3 covers any S3-compatible server)
    #[arg(long, value_enum, ignore_case = true)]
    provider: Provider,
    /// The bucket's name at the provider
    #[arg(long)]
    bucket_name: String,
    /// Region [signing default: us-east-1; auto for r2]
    #[arg(long)]
    region: Option<String>,
    /// Endpoint of an S3-compatible server, e.g. http://127.0.0.1:9000 (required for r2)
    #[arg(long, value_name = "URL")]
    endpoint: Option<String>,
    #[command(flatten)]
    credentials: CredentialArgs,
}

impl BucketCommand {
    pub(super) async fn run(self, db: &Db) -> anyhow::Result<Output> {
        match self {
            Self::Create(args) => create(db, &args).await,
            Self::Share { bucket, team, level } => share(db, &bucket, &team, level).await,
            Self::Unshare { bucket, team } => unshare(db, &bucket, &team).await,
            Self::Cors(args) => super::bucket_cors::bucket_cors(db, &args).await,
            Self::List { team } => list(db, team.as_deref()).await,
            Self::Shares { bucket, team } => shares(db, bucket.as_deref(), team.as_deref()).await,
        }
    }
}

async fn create(db: &Db, args: &BucketCreateArgs) -> anyhow::Result<Output> {
    let vault = vault_key()?;
    let now = now_ms()?;
    let new = NewBucketArgs {
        team_id: &args.team,
        name: &args.name,
        provider: args.provider,
        bucket_name: &args.bucket_name,
        region: args.region.as_deref(),
        endpoint: normalise_endpoint(args.endpoint.as_deref()),
    };
    let sealed = seal(&vault, &new, &args.credentials)?;
    let client = db.connect().await?;
    let bucket = provision::create_bucket(&client, &new.with(&sealed), now).await?;
    let text = format!(
        "created bucket '{}' ({}): {} bucket {}{}, credentials encrypted",
        bucket.name,
        bucket.id,
        bucket.provider,
        bucket.bucket_name,
        bucket
            .endpoint
            .as_deref()
            .map(|e| format!(" at {e}"))
            .unwrap_or_default(),
    );
    Output::new(text, &json!({ "bucket": bucket }))
}

async fn share(db: &Db, bucket_id: &str, team_id: &str, level: ShareLevel) -> anyhow::Result<Output> {
    let now = now_ms()?;
    let client = db.connect().await?;
    let (share, created) = provision::share_bucket(&client, bucket_id, team_id, level, now).await?;
    let text = format!(
        "{} bucket {} with team {}: {}",
        if created { "shared" } else { "updated the share of" },
        share.bucket_id,
        share.team_id,
        share.access_level
    );
    Output::new(text, &json!({ "share": share, "created": created }))
}

async fn unshare(db: &Db, bucket_id: &str, team_id: &str) -> anyhow::Result<Output> {
    let client = db.connect().await?;
    let removed = provision::unshare_bucket(&client, bucket_id, team_id).await?;
    let text = if removed {
        format!("bucket {bucket_id} is no longer shared with team {team_id}")
    } else {
        format!("bucket {bucket_id} was not shared with team {team_id}; nothing changed")
    };
    Output::new(
        text,
        &json!({ "bucketId": bucket_id, "teamId": team_id, "removed": removed }),
    )
}

async fn list(db: &Db, team_id: Option<&str>) -> anyhow::Result<Output> {
    let client = db.connect().await?;
    let buckets = provision::list_buckets(&client, team_id).await?;
    let mut text = format!("{} bucket(s)\n", buckets.len());
    for b in &buckets {
        text.push_str(&format!(
            "{}  {} {}{}  \"{}\"  team {}  {}\n",
            b.id,
            b.provider,
            b.bucket_name,
            b.endpoint.as_deref().map(|e| format!(" at {e}")).unwrap_or_default(),
            b.name.escape_debug(),
            b.owner_team_id,
            b.status
        ));
    }
    Output::new(text, &json!({ "buckets": buckets }))
}

async fn shares(db: &Db, bucket_id: Option<&str>, team_id: Option<&str>) -> anyhow::Result<Output> {
    let client = db.connect().await?;
    let shares = provision::list_shares(&client, bucket_id, team_id).await?;
    let mut text = format!("{} share(s)\n", shares.len());
    for a in &shares {
        text.push_str(&format!(
            "bucket {} with team {}: {}\n",
            a.bucket_id, a.team_id, a.access_level
        ));
    }
    Output::new(text, &json!({ "shares": shares }))
}

/// Bucket credentials, encrypted.
pub(super) struct Sealed {
    access_key: String,
    secret_key: String,
}

/// Encrypts the credentials and checks that the edge can sign for the bucket as it will be
/// stored: endpoint, name and region usable, credentials opening with the same key.
pub(super) fn seal(vault: &VaultKey, new: &NewBucketArgs<'_>, credentials: &CredentialArgs) -> anyhow::Result<Sealed> {
    let credentials = credentials.read()?;
    let sealed = Sealed {
        access_key: vault.encrypt(&credentials.access_key_id, random()?),
        secret_key: vault.encrypt(&credentials.secret_access_key, random()?),
    };
    let row = BucketRow {
        id: new.bucket_name.to_owned(),
        provider: new.provider,
        bucket_name: new.bucket_name.to_owned(),
        region: new.region.map(str::to_owned),
        endpoint: new.endpoint.map(str::to_owned),
        encrypted_access_key: sealed.access_key.clone(),
        encrypted_secret_key: sealed.secret_key.clone(),
        owner_team_id: String::new(),
    };
    crate::storage::signable(&row, vault).context("the edge could not sign requests for this bucket")?;
    Ok(sealed)
}

/// The non-secret parts of a bucket as given on the command line.
#[derive(Clone, Copy)]
pub(super) struct NewBucketArgs<'a> {
    pub(super) team_id: &'a str,
    pub(super) name: &'a str,
    pub(super) provider: Provider,
    pub(super) bucket_name: &'a str,
    pub(super) region: Option<&'a str>,
    pub(super) endpoint: Option<&'a str>,
}

impl<'a> NewBucketArgs<'a> {
    pub(super) fn with(&self, sealed: &'a Sealed) -> NewBucket<'a> {
        NewBucket {
            team_id: self.team_id,
            name: self.name,
            provider: self.provider,
            bucket_name: self.bucket_name,
            region: self.region,
            endpoint: self.endpoint,
            encrypted_access_key: &sealed.access_key,
            encrypted_secret_key: &sealed.secret_key,
        }
    }
}

/// An endpoint without trailing slashes, so that `http://h:9000/` and `http://h:9000` are stored alike.
pub(super) fn normalise_endpoint(endpoint: Option<&str>) -> Option<&str> {
    endpoint.map(|e| e.trim().trim_end_matches('/'))
}
