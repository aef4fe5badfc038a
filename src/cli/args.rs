//! The top-level arguments and the list of nouns, each handled by its own module.

use clap::{Parser, Subcommand};

use super::db::Db;
use super::output::Output;
use super::{bucket, demo, doctor, key, keygen, migrate, org, project, team, tenant};

/// Operator tool for carcosa-edge: database migrations and provisioning of organizations, teams,
/// buckets, projects, tenants and API keys.
#[derive(Parser)]
#[command(name = "carcosa-edge", version)]
pub(super) struct Cli {
    /// PostgreSQL connection URL, e.g. postgres://user@db.example.com:5432/carcosa?sslmode=verify-full&sslrootcert=ca.pem.
    /// Better in DATABASE_URL than as a flag; a password can also come from PGPASSWORD
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
    pub(super) json: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Apply pending schema migrations (also adopts an existing Carcosa database)
    Migrate(migrate::MigrateArgs),
    /// Organizations
    #[command(subcommand)]
    Org(org::OrgCommand),
    /// Teams
    #[command(subcommand)]
    Team(team::TeamCommand),
    /// Storage buckets and their sharing between teams
    #[command(subcommand)]
    Bucket(bucket::BucketCommand),
    /// Projects
    #[command(subcommand)]
    Project(project::ProjectCommand),
    /// Tenants of multi-tenant projects
    #[command(subcommand)]
    Tenant(tenant::TenantCommand),
    /// Project API keys
    #[command(subcommand)]
    Key(key::KeyCommand),
    /// Print a new random CREDENTIALS_ENCRYPTION_KEY
    Keygen,
    /// Set up a local development project in one step (idempotent; prints a new API key every run)
    ///
    /// Migrates, then gets or creates organization `demo`, its team `default`, the bucket (its
    /// endpoint, region and credentials are updated if it exists) and the single-tenant project
    /// `demo`, and creates an API key with the STANDARD permissions.
    Demo(demo::DemoArgs),
    /// Check a deployment: connection, migrations, schema, every bucket's credentials and a signed
    /// HEAD of each bucket. Exits with status 1 when something is wrong, saying what
    Doctor(doctor::DoctorArgs),
}

impl Cli {
    pub(super) async fn run(self) -> anyhow::Result<Output> {
        let db = Db::new(self.database_url);
        match self.command {
            Command::Migrate(args) => args.run(&db).await,
            Command::Org(c) => c.run(&db).await,
            Command::Team(c) => c.run(&db).await,
            Command::Bucket(c) => c.run(&db).await,
            Command::Project(c) => c.run(&db).await,
            Command::Tenant(c) => c.run(&db).await,
            Command::Key(c) => c.run(&db).await,
            Command::Keygen => keygen::run(),
            Command::Demo(args) => args.run(&db).await,
            Command::Doctor(args) => args.run(&db).await,
        }
    }
}
