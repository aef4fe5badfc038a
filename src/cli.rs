//! The `carcosa-edge` command line (native only): schema migrations and provisioning of
//! organizations, teams, buckets, projects, tenants and API keys.
//!
//! Every command prints one result on stdout: text for people, or with `--json` exactly one JSON
//! object. Errors go to stderr (as JSON with `--json`) and the exit status is 1; usage errors
//! exit with 2.
//!
//! Secrets: bucket credentials come from flags or, better, the environment and are stored only
//! encrypted with `CREDENTIALS_ENCRYPTION_KEY`, which is read only from the environment. A new
//! API key is printed once and only its SHA-256 is stored. Nothing prints a key hash, a decrypted
//! credential or the database URL; database errors are reported without the server's `DETAIL`,
//! which can echo row values.

use std::env::VarError;
use std::future::Future;
use std::io::Write as _;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, Context as _};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use clap::{Args, Parser, Subcommand, ValueEnum};
use serde_json::{json, Value};
use tokio_postgres::{Client, NoTls};
use zeroize::Zeroizing;

use crate::apikey::ApiKey;
use crate::permission::PermissionGroup;
use crate::scope::BucketRow;
use crate::store::migrate;
use crate::store::provision::{
    self, ApiKeyRecord, Bucket, Grants, NewApiKey, NewBucket, NewProject, Organization, Project, Provider, ShareLevel,
    Team,
};
use crate::timestamp::rfc3339;
use crate::vault::VaultKey;

/// The environment variable holding the bucket credential encryption key (`base64:<32 bytes>`).
pub const ENCRYPTION_KEY_VAR: &str = "CREDENTIALS_ENCRYPTION_KEY";

/// Owner of organizations (and the demo project) when no `--owner-email` is given.
pub const DEFAULT_OWNER_EMAIL: &str = "admin@localhost";

const DAY_MS: i64 = 86_400_000;

mod bucket_cors;

/// Operator tool for carcosa-edge: database migrations and provisioning of organizations, teams,
/// buckets, projects, tenants and API keys.
#[derive(Parser)]
#[command(name = "carcosa-edge", version)]
struct Cli {
    /// PostgreSQL connection URL, e.g. postgres://user:password@127.0.0.1:5432/carcosa
    #[arg(
        long,
        env = "DATABASE_URL",
        global = true,
        hide_env_values = true,
        value_name = "URL"
    )]
    database_url: Option<String>,

    /// Print exactly one JSON object on stdout (errors as JSON on stderr)
    #[arg(long, global = true)]
    json: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Apply pending schema migrations (also adopts an existing Carcosa database)
    Migrate {
        /// Only list the migrations and whether each is applied
        #[arg(long)]
        status: bool,
    },
    /// Organizations
    #[command(subcommand)]
    Org(OrgCommand),
    /// Teams
    #[command(subcommand)]
    Team(TeamCommand),
    /// Storage buckets and their sharing between teams
    #[command(subcommand)]
    Bucket(BucketCommand),
    /// Projects
    #[command(subcommand)]
    Project(ProjectCommand),
    /// Tenants of multi-tenant projects
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Project API keys
    #[command(subcommand)]
    Key(KeyCommand),
    /// Print a new random CREDENTIALS_ENCRYPTION_KEY
    Keygen,
    /// Set up a local development project in one step (idempotent; prints a new API key every run)
    ///
    /// Migrates, then gets or creates organization `demo`, its team `default`, the bucket (its
    /// endpoint, region and credentials are updated if it exists) and the single-tenant project
    /// `demo`, and creates an API key with the STANDARD permissions.
    Demo(DemoArgs),
}

#[derive(Subcommand)]
enum OrgCommand {
    /// Create an organization owned by a user (created if there is none with that e-mail)
    Create {
        /// Display name
        #[arg(long)]
        name: String,
        /// Unique slug: a-z, 0-9, '-', '_' (a segment of every object key)
        #[arg(long)]
        slug: String,
        /// E-mail of the owning user
        #[arg(long, value_name = "EMAIL", default_value = DEFAULT_OWNER_EMAIL)]
        owner_email: String,
    },
}

#[derive(Subcommand)]
enum TeamCommand {
    /// Create a team in an organization; the organization's owner becomes its owner
    Create {
        /// Organization id
        #[arg(long, value_name = "ORG_ID")]
        org: String,
        /// Display name
        #[arg(long)]
        name: String,
        /// Slug, unique in the organization: a-z, 0-9, '-', '_'
        #[arg(long)]
        slug: String,
    },
}

#[derive(Subcommand)]
enum BucketCommand {
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
        level: LevelArg,
    },
    /// Apply the CORS rules browsers need to upload to the bucket (S3, R2, MinIO), and print them
    Cors(bucket_cors::CorsArgs),
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
struct BucketCreateArgs {
    /// Id of the owning team
    #[arg(long, value_name = "TEAM_ID")]
    team: String,
    /// Display name
    #[arg(long)]
    name: String,
    /// Storage provider (s3 covers any S3-compatible server)
    #[arg(long, value_enum, ignore_case = true)]
    provider: ProviderArg,
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

/// Bucket credentials. The environment variables keep them out of the process list.
#[derive(Args)]
struct CredentialArgs {
    /// Access key id of the bucket
    #[arg(
        long,
        env = "CARCOSA_BUCKET_ACCESS_KEY_ID",
        hide_env_values = true,
        value_name = "ID"
    )]
    access_key_id: String,
    /// Secret access key of the bucket
    #[arg(
        long,
        env = "CARCOSA_BUCKET_SECRET_ACCESS_KEY",
        hide_env_values = true,
        value_name = "SECRET"
    )]
    secret_access_key: String,
}

#[derive(Subcommand)]
enum ProjectCommand {
    /// Create a project (and its active version v1) on a bucket its team owns or may write to
    Create {
        /// Team id
        #[arg(long, value_name = "TEAM_ID")]
        team: String,
        /// Bucket id
        #[arg(long, value_name = "BUCKET_ID")]
        bucket: String,
        /// Display name
        #[arg(long)]
        name: String,
        /// Globally unique slug: a-z, 0-9, '-', '_'
        #[arg(long)]
        slug: String,
        /// Uploads must name a tenant
        #[arg(long)]
        multi_tenant: bool,
        /// E-mail of the owning user [default: the organization's owner]
        #[arg(long, value_name = "EMAIL")]
        owner_email: Option<String>,
    },
}

#[derive(Subcommand)]
enum TenantCommand {
    /// Create a tenant of a multi-tenant project
    Create {
        /// Project id
        #[arg(long, value_name = "PROJECT_ID")]
        project: String,
        /// Slug, unique in the project: a-z, 0-9, '-', '_'
        #[arg(long)]
        slug: String,
        /// Metadata, a JSON object
        #[arg(long, value_name = "JSON")]
        metadata: Option<String>,
    },
}

#[derive(Subcommand)]
enum KeyCommand {
    /// Create an API key and print it (the only time it is shown)
    Create {
        /// Project id
        #[arg(long, value_name = "PROJECT_ID")]
        project: String,
        /// A label for people
        #[arg(long)]
        label: Option<String>,
        /// A permission to grant; repeat for several (files:read, uploads:create, uploads:*, ... or * alone)
        #[arg(long = "permission", value_name = "PERMISSION", conflicts_with = "group")]
        permissions: Vec<String>,
        /// A permission group instead of single permissions [default: STANDARD]
        #[arg(long, value_enum, ignore_case = true)]
        group: Option<GroupArg>,
        /// Make the key stop working after this many days
        #[arg(long, value_name = "DAYS", value_parser = clap::value_parser!(u32).range(1..=3650))]
        expires_in_days: Option<u32>,
    },
    /// List a project's API keys (never their hashes)
    List {
        /// Project id
        #[arg(long, value_name = "PROJECT_ID")]
        project: String,
    },
    /// Revoke an API key (revoking twice is harmless)
    Revoke {
        /// API key id (as `key list` shows it; not the key itself)
        #[arg(long, value_name = "KEY_ID")]
        id: String,
    },
}

#[derive(Args)]
struct DemoArgs {
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
    provider: ProviderArg,
    /// E-mail of the owning user
    #[arg(long, value_name = "EMAIL", default_value = DEFAULT_OWNER_EMAIL)]
    owner_email: String,
}

#[derive(Clone, Copy, ValueEnum)]
enum ProviderArg {
    S3,
    R2,
}

impl From<ProviderArg> for Provider {
    fn from(p: ProviderArg) -> Self {
        match p {
            ProviderArg::S3 => Self::S3,
            ProviderArg::R2 => Self::R2,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum LevelArg {
    #[value(name = "READ_ONLY")]
    ReadOnly,
    #[value(name = "READ_WRITE")]
    ReadWrite,
    #[value(name = "ADMIN")]
    Admin,
}

impl From<LevelArg> for ShareLevel {
    fn from(l: LevelArg) -> Self {
        match l {
            LevelArg::ReadOnly => Self::ReadOnly,
            LevelArg::ReadWrite => Self::ReadWrite,
            LevelArg::Admin => Self::Admin,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum GroupArg {
    #[value(name = "READ_ONLY")]
    ReadOnly,
    #[value(name = "STANDARD")]
    Standard,
    #[value(name = "FULL")]
    Full,
    #[value(name = "ADMIN")]
    Admin,
}

impl From<GroupArg> for PermissionGroup {
    fn from(g: GroupArg) -> Self {
        match g {
            GroupArg::ReadOnly => Self::ReadOnly,
            GroupArg::Standard => Self::Standard,
            GroupArg::Full => Self::Full,
            GroupArg::Admin => Self::Admin,
        }
    }
}

/// What a command prints: the same result as text and as JSON.
struct Output {
    json: Value,
    text: String,
}

/// Parses the command line, runs the command and prints its result or error. The entry point of
/// the `carcosa-edge` binary.
#[must_use]
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let json = cli.json;
    let result = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")
        .and_then(|rt| rt.block_on(run(cli)));
    match result {
        Ok(out) => {
            let mut stdout = std::io::stdout().lock();
            let written = if json {
                writeln!(stdout, "{}", out.json)
            } else {
                writeln!(stdout, "{}", out.text.trim_end())
            };
            if written.and_then(|()| stdout.flush()).is_err() {
                return ExitCode::FAILURE;
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            let messages = error_messages(&e);
            let mut stderr = std::io::stderr().lock();
            let _ = if json {
                let (first, causes) = messages
                    .split_first()
                    .map_or(("error", &[][..]), |(f, c)| (f.as_str(), c));
                writeln!(stderr, "{}", json!({ "error": first, "causes": causes }))
            } else {
                let mut text = format!("error: {}", messages.join("\n  caused by: "));
                text.push('\n');
                stderr.write_all(text.as_bytes())
            };
            ExitCode::FAILURE
        }
    }
}

/// The messages of an error and its causes, without repeats. A database error contributes its
/// message, hint and SQLSTATE but never its `DETAIL`, which can quote row values.
fn error_messages(e: &anyhow::Error) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for cause in e.chain() {
        let message = if let Some(db) = cause.downcast_ref::<tokio_postgres::error::DbError>() {
            let mut m = format!("{} (SQLSTATE {})", db.message(), db.code().code());
            if let Some(hint) = db.hint() {
                m.push_str("; hint: ");
                m.push_str(hint);
            }
            m
        } else if cause
            .downcast_ref::<tokio_postgres::Error>()
            .is_some_and(|pg| pg.as_db_error().is_some())
        {
            // "db error": the server's error, next in the chain, says more.
            continue;
        } else {
            cause.to_string()
        };
        if out.last() != Some(&message) {
            out.push(message);
        }
    }
    out
}

async fn run(cli: Cli) -> anyhow::Result<Output> {
    let db = Db(cli.database_url);
    match cli.command {
        Command::Migrate { status } => migrate_command(&db, status).await,
        Command::Org(OrgCommand::Create {
            name,
            slug,
            owner_email,
        }) => org_create(&db, &name, &slug, &owner_email).await,
        Command::Team(TeamCommand::Create { org, name, slug }) => team_create(&db, &org, &name, &slug).await,
        Command::Bucket(BucketCommand::Create(args)) => bucket_create(&db, &args).await,
        Command::Bucket(BucketCommand::Share { bucket, team, level }) => {
            bucket_share(&db, &bucket, &team, level.into()).await
        }
        Command::Bucket(BucketCommand::Unshare { bucket, team }) => bucket_unshare(&db, &bucket, &team).await,
        Command::Bucket(BucketCommand::Cors(args)) => bucket_cors::bucket_cors(&db, &args).await,
        Command::Project(ProjectCommand::Create {
            team,
            bucket,
            name,
            slug,
            multi_tenant,
            owner_email,
        }) => {
            let new = ProjectArgs {
                team: &team,
                bucket: &bucket,
                name: &name,
                slug: &slug,
                multi_tenant,
            };
            project_create(&db, &new, owner_email.as_deref()).await
        }
        Command::Tenant(TenantCommand::Create {
            project,
            slug,
            metadata,
        }) => tenant_create(&db, &project, &slug, metadata.as_deref()).await,
        Command::Key(KeyCommand::Create {
            project,
            label,
            permissions,
            group,
            expires_in_days,
        }) => {
            let grants = if permissions.is_empty() {
                Grants::group(group.map_or(PermissionGroup::Standard, Into::into))
            } else {
                Grants::new(permissions)?
            };
            key_create(&db, &project, label.as_deref(), &grants, expires_in_days).await
        }
        Command::Key(KeyCommand::List { project }) => key_list(&db, &project).await,
        Command::Key(KeyCommand::Revoke { id }) => key_revoke(&db, &id).await,
        Command::Keygen => keygen(),
        Command::Demo(args) => demo(&db, &args).await,
    }
}

// Plumbing ----------------------------------------------------------------------------------------

/// The database URL, connected to only by commands that need it.
struct Db(Option<String>);

impl Db {
    async fn connect(&self) -> anyhow::Result<Client> {
        let url = self
            .0
            .as_deref()
            .filter(|u| !u.trim().is_empty())
            .ok_or_else(|| anyhow!("no database given: pass --database-url or set DATABASE_URL"))?;
        let (client, connection) = tokio_postgres::connect(url, NoTls)
            .await
            .context("could not connect to the database")?;
        tokio::spawn(async move {
            // A failure surfaces as an error on the next statement.
            let _ = connection.await;
        });
        Ok(client)
    }
}

/// Runs `work` inside one transaction on `client`: committed if it succeeds, rolled back if not.
async fn atomically<T>(client: &Client, work: impl Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    client
        .batch_execute("BEGIN")
        .await
        .context("could not start a transaction")?;
    match work.await {
        Ok(value) => {
            client
                .batch_execute("COMMIT")
                .await
                .context("could not commit the transaction")?;
            Ok(value)
        }
        Err(e) => {
            // Closing the connection rolls back too, should this fail.
            let _ = client.batch_execute("ROLLBACK").await;
            Err(e)
        }
    }
}

fn now_ms() -> anyhow::Result<i64> {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .context("the system clock is before 1970")?;
    Ok(i64::try_from(since.as_millis()).unwrap_or(i64::MAX))
}

fn random<const N: usize>() -> anyhow::Result<[u8; N]> {
    let mut buf = [0u8; N];
    getrandom::getrandom(&mut buf).map_err(|e| anyhow!("the system random number generator failed: {e}"))?;
    Ok(buf)
}

fn iso(ms: Option<i64>) -> Value {
    ms.map_or(Value::Null, |ms| Value::String(rfc3339(ms)))
}

fn iso_or(ms: Option<i64>, none: &str) -> String {
    ms.map_or_else(|| none.to_owned(), rfc3339)
}

/// The credential encryption key from the environment.
fn vault_key() -> anyhow::Result<VaultKey> {
    let raw = match std::env::var(ENCRYPTION_KEY_VAR) {
        Ok(value) if !value.trim().is_empty() => Zeroizing::new(value),
        Ok(_) | Err(VarError::NotPresent) => bail!(
            "{ENCRYPTION_KEY_VAR} is not set: bucket credentials are stored encrypted with it. Set it to the \
             key the Worker uses, or make a new one with `carcosa-edge keygen`"
        ),
        Err(VarError::NotUnicode(_)) => bail!("{ENCRYPTION_KEY_VAR} is not valid UTF-8"),
    };
    VaultKey::parse(raw.trim()).with_context(|| {
        format!("{ENCRYPTION_KEY_VAR} is invalid; expected base64:<32 bytes>, as `carcosa-edge keygen` prints")
    })
}

/// Bucket credentials, encrypted.
struct Sealed {
    access_key: String,
    secret_key: String,
}

/// Encrypts the credentials and checks that the edge can sign for the bucket as it will be
/// stored: endpoint, name and region usable, credentials opening with the same key.
fn seal(vault: &VaultKey, new: &NewBucketArgs<'_>, credentials: &CredentialArgs) -> anyhow::Result<Sealed> {
    if credentials.access_key_id.is_empty() || credentials.secret_access_key.is_empty() {
        bail!("the bucket's access key id and secret access key must not be empty");
    }
    let sealed = Sealed {
        access_key: vault.encrypt(&credentials.access_key_id, random()?),
        secret_key: vault.encrypt(&credentials.secret_access_key, random()?),
    };
    let row = BucketRow {
        id: new.bucket_name.to_owned(),
        provider: new.provider.as_str().to_owned(),
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
struct NewBucketArgs<'a> {
    team_id: &'a str,
    name: &'a str,
    provider: Provider,
    bucket_name: &'a str,
    region: Option<&'a str>,
    endpoint: Option<&'a str>,
}

impl<'a> NewBucketArgs<'a> {
    fn with(&self, sealed: &'a Sealed) -> NewBucket<'a> {
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
fn normalise_endpoint(endpoint: Option<&str>) -> Option<&str> {
    endpoint.map(|e| e.trim().trim_end_matches('/'))
}

fn org_json(o: &Organization) -> Value {
    json!({ "id": o.id, "name": o.name, "slug": o.slug, "ownerId": o.owner_id })
}

fn team_json(t: &Team) -> Value {
    json!({ "id": t.id, "name": t.name, "slug": t.slug, "organizationId": t.organization_id, "organizationSlug": t.org_slug })
}

fn bucket_json(b: &Bucket) -> Value {
    json!({
        "id": b.id, "name": b.name, "provider": b.provider, "bucketName": b.bucket_name,
        "region": b.region, "endpoint": b.endpoint, "status": b.status, "ownerTeamId": b.owner_team_id,
    })
}

fn project_json(p: &Project) -> Value {
    json!({
        "id": p.id, "name": p.name, "slug": p.slug, "ownerId": p.owner_id, "bucketId": p.bucket_id,
        "teamId": p.team_id, "multiTenant": p.multi_tenant,
    })
}

fn key_status(k: &ApiKeyRecord, now_ms: i64) -> &'static str {
    if k.revoked_at_ms.is_some() {
        "revoked"
    } else if k.expires_at_ms.is_some_and(|at| at <= now_ms) {
        "expired"
    } else {
        "active"
    }
}

fn key_json(k: &ApiKeyRecord, now_ms: i64) -> Value {
    json!({
        "id": k.id, "projectId": k.project_id, "label": k.label, "permissions": k.permissions,
        "status": key_status(k, now_ms), "createdAt": rfc3339(k.created_at_ms),
        "lastUsedAt": iso(k.last_used_at_ms), "expiresAt": iso(k.expires_at_ms), "revokedAt": iso(k.revoked_at_ms),
    })
}

fn permissions_text(permissions: &Value) -> String {
    match permissions.as_array() {
        Some(items) => items
            .iter()
            .map(|p| p.as_str().map_or_else(|| p.to_string(), str::to_owned))
            .collect::<Vec<_>>()
            .join(", "),
        None => permissions.to_string(),
    }
}

// Commands ----------------------------------------------------------------------------------------

async fn migrate_command(db: &Db, status: bool) -> anyhow::Result<Output> {
    let mut client = db.connect().await?;
    if status {
        let list = migrate::status(&client)
            .await
            .context("could not read the migration status")?;
        let pending = list.iter().filter(|m| m.applied_at_ms.is_none()).count();
        let mut text = String::new();
        for m in &list {
            let state = m
                .applied_at_ms
                .map_or_else(|| "pending".to_owned(), |t| format!("applied {}", rfc3339(t)));
            text.push_str(&format!("{:>4}  {:<28} {state}\n", m.version, m.name));
        }
        text.push_str(&match pending {
            0 => "up to date".to_owned(),
            n => format!("{n} pending: run `carcosa-edge migrate`"),
        });
        let migrations: Vec<Value> = list
            .iter()
            .map(|m| {
                json!({
                    "version": m.version, "name": m.name, "applied": m.applied_at_ms.is_some(),
                    "appliedAt": iso(m.applied_at_ms),
                })
            })
            .collect();
        return Ok(Output {
            json: json!({ "migrations": migrations, "pending": pending }),
            text,
        });
    }
    let report = migrate::migrate(&mut client)
        .await
        .context("migrating failed; the database was left unchanged")?;
    let mut text = String::new();
    if report.adopted {
        text.push_str("adopted an existing Carcosa database\n");
    }
    for m in &report.applied {
        text.push_str(&format!("applied {:04} {}\n", m.version, m.name));
    }
    if report.is_noop() {
        text.push_str(&format!("up to date ({} migrations applied)", report.already_applied));
    }
    let applied: Vec<Value> = report
        .applied
        .iter()
        .map(|m| json!({ "version": m.version, "name": m.name }))
        .collect();
    Ok(Output {
        json: json!({
            "applied": applied, "alreadyApplied": report.already_applied,
            "adopted": report.adopted, "upToDate": report.is_noop(),
        }),
        text,
    })
}

async fn org_create(db: &Db, name: &str, slug: &str, owner_email: &str) -> anyhow::Result<Output> {
    let now = now_ms()?;
    let client = db.connect().await?;
    let ((owner, owner_created), org) = atomically(&client, async {
        let (owner, created) = provision::ensure_user(&client, owner_email).await?;
        let org = provision::create_org(&client, name, slug, &owner.id, now).await?;
        Ok(((owner, created), org))
    })
    .await?;
    Ok(Output {
        text: format!(
            "created organization {} ({})\nowner: {} ({}{})",
            org.slug,
            org.id,
            owner.email,
            owner.id,
            if owner_created { ", new user" } else { "" }
        ),
        json: json!({
            "organization": org_json(&org),
            "owner": { "id": owner.id, "email": owner.email, "created": owner_created },
        }),
    })
}

async fn team_create(db: &Db, org_id: &str, name: &str, slug: &str) -> anyhow::Result<Output> {
    let now = now_ms()?;
    let client = db.connect().await?;
    let team = provision::create_team(&client, org_id, name, slug, now).await?;
    Ok(Output {
        text: format!("created team {}/{} ({})", team.org_slug, team.slug, team.id),
        json: json!({ "team": team_json(&team) }),
    })
}

async fn bucket_create(db: &Db, args: &BucketCreateArgs) -> anyhow::Result<Output> {
    let vault = vault_key()?;
    let now = now_ms()?;
    let new = NewBucketArgs {
        team_id: &args.team,
        name: &args.name,
        provider: args.provider.into(),
        bucket_name: &args.bucket_name,
        region: args.region.as_deref(),
        endpoint: normalise_endpoint(args.endpoint.as_deref()),
    };
    let sealed = seal(&vault, &new, &args.credentials)?;
    let client = db.connect().await?;
    let bucket = provision::create_bucket(&client, &new.with(&sealed), now).await?;
    Ok(Output {
        text: format!(
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
        ),
        json: json!({ "bucket": bucket_json(&bucket) }),
    })
}

async fn bucket_share(db: &Db, bucket_id: &str, team_id: &str, level: ShareLevel) -> anyhow::Result<Output> {
    let now = now_ms()?;
    let client = db.connect().await?;
    let (share, created) = provision::share_bucket(&client, bucket_id, team_id, level, now).await?;
    Ok(Output {
        text: format!(
            "{} bucket {} with team {}: {}",
            if created { "shared" } else { "updated the share of" },
            share.bucket_id,
            share.team_id,
            share.access_level
        ),
        json: json!({
            "share": {
                "id": share.id, "bucketId": share.bucket_id, "teamId": share.team_id,
                "accessLevel": share.access_level,
            },
            "created": created,
        }),
    })
}

async fn bucket_unshare(db: &Db, bucket_id: &str, team_id: &str) -> anyhow::Result<Output> {
    let client = db.connect().await?;
    let removed = provision::unshare_bucket(&client, bucket_id, team_id).await?;
    Ok(Output {
        text: if removed {
            format!("bucket {bucket_id} is no longer shared with team {team_id}")
        } else {
            format!("bucket {bucket_id} was not shared with team {team_id}; nothing changed")
        },
        json: json!({ "bucketId": bucket_id, "teamId": team_id, "removed": removed }),
    })
}

struct ProjectArgs<'a> {
    team: &'a str,
    bucket: &'a str,
    name: &'a str,
    slug: &'a str,
    multi_tenant: bool,
}

async fn project_create(db: &Db, args: &ProjectArgs<'_>, owner_email: Option<&str>) -> anyhow::Result<Output> {
    let now = now_ms()?;
    let client = db.connect().await?;
    let project = atomically(&client, async {
        let team = provision::get_team(&client, args.team)
            .await?
            .ok_or_else(|| anyhow!("no team with id '{}'", args.team))?;
        let owner_id = match owner_email {
            Some(email) => provision::ensure_user(&client, email).await?.0.id,
            None => team.org_owner_id,
        };
        let new = NewProject {
            name: args.name,
            slug: args.slug,
            owner_id: &owner_id,
            bucket_id: args.bucket,
            team_id: args.team,
            multi_tenant: args.multi_tenant,
        };
        Ok(provision::create_project(&client, &new, now).await?)
    })
    .await?;
    Ok(Output {
        text: format!(
            "created {}project {} ({}) on bucket {}\nno API key yet: `carcosa-edge key create --project {}`",
            if project.multi_tenant { "multi-tenant " } else { "" },
            project.slug,
            project.id,
            project.bucket_id,
            project.id
        ),
        json: json!({ "project": project_json(&project) }),
    })
}

async fn tenant_create(db: &Db, project_id: &str, slug: &str, metadata: Option<&str>) -> anyhow::Result<Output> {
    let metadata: Option<Value> = metadata
        .map(serde_json::from_str)
        .transpose()
        .context("--metadata is not valid JSON")?;
    let now = now_ms()?;
    let client = db.connect().await?;
    let tenant = provision::create_tenant(&client, project_id, slug, metadata.as_ref(), now).await?;
    Ok(Output {
        text: format!(
            "created tenant {} ({}) of project {}",
            tenant.slug, tenant.id, tenant.project_id
        ),
        json: json!({
            "tenant": { "id": tenant.id, "projectId": tenant.project_id, "slug": tenant.slug, "metadata": tenant.metadata },
        }),
    })
}

async fn key_create(
    db: &Db,
    project_id: &str,
    label: Option<&str>,
    grants: &Grants,
    expires_in_days: Option<u32>,
) -> anyhow::Result<Output> {
    let now = now_ms()?;
    let expires_at_ms = expires_in_days.map(|days| now.saturating_add(i64::from(days) * DAY_MS));
    let client = db.connect().await?;
    let key = ApiKey::generate(random()?);
    let new = NewApiKey {
        project_id,
        label,
        grants,
        expires_at_ms,
        key_hash: &key.hash(),
    };
    let record = provision::create_api_key(&client, &new, now).await?;
    Ok(Output {
        text: format!(
            "created API key {} for project {}\npermissions: {}\nexpires: {}\n\n    {}\n\n\
             This is the only time the key is shown: store it now.",
            record.id,
            record.project_id,
            permissions_text(&record.permissions),
            iso_or(record.expires_at_ms, "never"),
            key.expose_secret()
        ),
        json: json!({ "apiKey": key.expose_secret(), "key": key_json(&record, now) }),
    })
}

async fn key_list(db: &Db, project_id: &str) -> anyhow::Result<Output> {
    let now = now_ms()?;
    let client = db.connect().await?;
    let project = provision::get_project(&client, project_id)
        .await?
        .ok_or_else(|| anyhow!("no project with id '{project_id}'"))?;
    let keys = provision::list_api_keys(&client, project_id).await?;
    let mut text = format!("project {} ({}): {} API key(s)\n", project.slug, project.id, keys.len());
    for k in &keys {
        text.push_str(&format!(
            "\n{}  {}{}\n  permissions: {}\n  created {}, last used {}, expires {}{}\n",
            k.id,
            key_status(k, now),
            k.label
                .as_deref()
                .map(|l| format!("  \"{}\"", l.escape_debug()))
                .unwrap_or_default(),
            permissions_text(&k.permissions),
            rfc3339(k.created_at_ms),
            iso_or(k.last_used_at_ms, "never"),
            iso_or(k.expires_at_ms, "never"),
            k.revoked_at_ms
                .map(|at| format!(", revoked {}", rfc3339(at)))
                .unwrap_or_default(),
        ));
    }
    let list: Vec<Value> = keys.iter().map(|k| key_json(k, now)).collect();
    Ok(Output {
        json: json!({ "projectId": project.id, "apiKeys": list }),
        text,
    })
}

async fn key_revoke(db: &Db, key_id: &str) -> anyhow::Result<Output> {
    let now = now_ms()?;
    let client = db.connect().await?;
    let revocation = provision::revoke_api_key(&client, key_id, now)
        .await?
        .ok_or_else(|| anyhow!("no API key with id '{key_id}'"))?;
    let key = &revocation.key;
    Ok(Output {
        text: if revocation.newly_revoked {
            format!("revoked API key {} of project {}", key.id, key.project_id)
        } else {
            format!(
                "API key {} was already revoked at {}",
                key.id,
                iso_or(key.revoked_at_ms, "?")
            )
        },
        json: json!({ "key": key_json(key, now), "alreadyRevoked": !revocation.newly_revoked }),
    })
}

fn keygen() -> anyhow::Result<Output> {
    let bytes = Zeroizing::new(random::<32>()?);
    let key = format!("base64:{}", STANDARD.encode(*bytes));
    Ok(Output {
        text: format!(
            "{key}\n\nSet it as {ENCRYPTION_KEY_VAR} for this tool and as a secret of the Worker \
             (wrangler secret put {ENCRYPTION_KEY_VAR}). Buckets stored under one key cannot be read with another."
        ),
        json: json!({ "credentialsEncryptionKey": key }),
    })
}

/// Fixed names of the demo setup.
const DEMO_ORG: &str = "demo";
const DEMO_TEAM: &str = "default";
const DEMO_PROJECT: &str = "demo";

async fn demo(db: &Db, args: &DemoArgs) -> anyhow::Result<Output> {
    let vault = vault_key()?;
    let now = now_ms()?;
    let new_bucket = NewBucketArgs {
        team_id: "",
        name: &args.bucket_name,
        provider: args.provider.into(),
        bucket_name: &args.bucket_name,
        region: args.region.as_deref(),
        endpoint: normalise_endpoint(Some(&args.endpoint)),
    };
    let sealed = seal(&vault, &new_bucket, &args.credentials)?;
    let mut client = db.connect().await?;
    let report = migrate::migrate(&mut client)
        .await
        .context("migrating failed; the database was left unchanged")?;
    let key = ApiKey::generate(random()?);
    let key_hash = key.hash();
    let client = &client;
    let (org, team, (bucket, bucket_created), project, record, created) = atomically(client, async {
        let (owner, _) = provision::ensure_user(client, &args.owner_email).await?;
        let mut created = [false; 3];
        let org = match provision::get_org_by_slug(client, DEMO_ORG).await? {
            Some(org) => org,
            None => {
                created[0] = true;
                provision::create_org(client, "Demo", DEMO_ORG, &owner.id, now).await?
            }
        };
        let team = match provision::get_team_by_slug(client, &org.id, DEMO_TEAM).await? {
            Some(team) => team,
            None => {
                created[1] = true;
                provision::create_team(client, &org.id, "Default", DEMO_TEAM, now).await?
            }
        };
        let bucket_args = NewBucketArgs {
            team_id: &team.id,
            ..new_bucket
        };
        let bucket = provision::upsert_bucket(client, &bucket_args.with(&sealed), now).await?;
        let project = match provision::get_project_by_slug(client, DEMO_PROJECT).await? {
            Some(p) if p.team_id.as_deref() != Some(team.id.as_str()) => bail!(
                "a project with slug '{DEMO_PROJECT}' already exists outside team {}/{}; the demo cannot use it",
                org.slug,
                team.slug
            ),
            Some(p) if p.bucket_id != bucket.0.id => {
                provision::set_project_bucket(client, &p.id, &bucket.0.id, now).await?
            }
            Some(p) => p,
            None => {
                created[2] = true;
                let new = NewProject {
                    name: "Demo",
                    slug: DEMO_PROJECT,
                    owner_id: &owner.id,
                    bucket_id: &bucket.0.id,
                    team_id: &team.id,
                    multi_tenant: false,
                };
                provision::create_project(client, &new, now).await?
            }
        };
        let grants = Grants::group(PermissionGroup::Standard);
        let new_key = NewApiKey {
            project_id: &project.id,
            label: Some("demo"),
            grants: &grants,
            expires_at_ms: None,
            key_hash: &key_hash,
        };
        let record = provision::create_api_key(client, &new_key, now).await?;
        Ok((org, team, bucket, project, record, created))
    })
    .await?;

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
        org.slug,
        org.id,
        new(created[0]),
        team.slug,
        team.id,
        new(created[1]),
        bucket.bucket_name,
        bucket.endpoint.as_deref().unwrap_or(""),
        bucket.id,
        new(bucket_created),
        project.slug,
        project.id,
        new(created[2]),
        record.id,
        key.expose_secret(),
    );
    let applied: Vec<Value> = report
        .applied
        .iter()
        .map(|m| json!({ "version": m.version, "name": m.name }))
        .collect();
    let json = json!({
        "migrations": { "applied": applied, "adopted": report.adopted },
        "organization": { "id": org.id, "slug": org.slug, "created": created[0] },
        "team": { "id": team.id, "slug": team.slug, "created": created[1] },
        "bucket": {
            "id": bucket.id, "name": bucket.name, "provider": bucket.provider, "bucketName": bucket.bucket_name,
            "endpoint": bucket.endpoint, "region": bucket.region, "created": bucket_created,
        },
        "project": { "id": project.id, "slug": project.slug, "created": created[2] },
        "apiKey": key.expose_secret(),
        "key": key_json(&record, now),
    });
    Ok(Output { json, text })
}
