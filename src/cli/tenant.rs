//! `tenant`: tenants of multi-tenant projects.

use anyhow::Context as _;
use clap::Subcommand;
use serde_json::{json, Value};

use super::db::{now_ms, Db};
use super::output::Output;
use crate::store::provision;

#[derive(Subcommand)]
pub(super) enum TenantCommand {
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
    /// List the tenants of a project
    List {
        /// Project id
        #[arg(long, value_name = "PROJECT_ID")]
        project: String,
    },
}

impl TenantCommand {
    pub(super) async fn run(self, db: &Db) -> anyhow::Result<Output> {
        match self {
            Self::Create {
                project,
                slug,
                metadata,
            } => create(db, &project, &slug, metadata.as_deref()).await,
            Self::List { project } => list(db, &project).await,
        }
    }
}

async fn create(db: &Db, project_id: &str, slug: &str, metadata: Option<&str>) -> anyhow::Result<Output> {
    let metadata: Option<Value> = metadata
        .map(serde_json::from_str)
        .transpose()
        .context("--metadata is not valid JSON")?;
    let now = now_ms()?;
    let client = db.connect().await?;
    let tenant = provision::create_tenant(&client, project_id, slug, metadata.as_ref(), now).await?;
    let text = format!(
        "created tenant {} ({}) of project {}",
        tenant.slug, tenant.id, tenant.project_id
    );
    Output::new(text, &json!({ "tenant": tenant }))
}

async fn list(db: &Db, project_id: &str) -> anyhow::Result<Output> {
    let client = db.connect().await?;
    let tenants = provision::list_tenants(&client, project_id).await?;
    let mut text = format!("{} tenant(s) of project {project_id}\n", tenants.len());
    for t in &tenants {
        text.push_str(&format!("{}  {}\n", t.id, t.slug));
    }
    Output::new(text, &json!({ "projectId": project_id, "tenants": tenants }))
}
