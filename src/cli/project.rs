//! `project`: projects on a bucket.

use anyhow::{anyhow, Context as _};
use clap::Subcommand;
use serde_json::json;

use super::db::{now_ms, Db};
use super::output::Output;
use crate::store::provision::{self, NewProject};

#[derive(Subcommand)]
pub(super) enum ProjectCommand {
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
    /// List the projects of a team, or every project
    List {
        /// Only this team's projects
        #[arg(long, value_name = "TEAM_ID")]
        team: Option<String>,
    },
}

impl ProjectCommand {
    pub(super) async fn run(self, db: &Db) -> anyhow::Result<Output> {
        match self {
            Self::Create {
                team,
                bucket,
                name,
                slug,
                multi_tenant,
                owner_email,
            } => {
                let new = ProjectArgs {
                    team: &team,
                    bucket: &bucket,
                    name: &name,
                    slug: &slug,
                    multi_tenant,
                };
                create(db, &new, owner_email.as_deref()).await
            }
            Self::List { team } => list(db, team.as_deref()).await,
        }
    }
}

struct ProjectArgs<'a> {
    team: &'a str,
    bucket: &'a str,
    name: &'a str,
    slug: &'a str,
    multi_tenant: bool,
}

async fn create(db: &Db, args: &ProjectArgs<'_>, owner_email: Option<&str>) -> anyhow::Result<Output> {
    let now = now_ms()?;
    let mut client = db.connect().await?;
    let tx = client.transaction().await.context("could not start a transaction")?;
    let team = provision::get_team(&tx, args.team)
        .await?
        .ok_or_else(|| anyhow!("no team with id '{}'", args.team))?;
    let owner_id = match owner_email {
        Some(email) => provision::ensure_user(&tx, email).await?.0.id,
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
    let project = provision::create_project(&tx, &new, now).await?;
    tx.commit().await.context("could not commit the transaction")?;
    let text = format!(
        "created {}project {} ({}) on bucket {}\nno API key yet: `carcosa-edge key create --project {}`",
        if project.multi_tenant { "multi-tenant " } else { "" },
        project.slug,
        project.id,
        project.bucket_id,
        project.id
    );
    Output::new(text, &json!({ "project": project }))
}

async fn list(db: &Db, team_id: Option<&str>) -> anyhow::Result<Output> {
    let client = db.connect().await?;
    let projects = provision::list_projects(&client, team_id).await?;
    let mut text = format!("{} project(s)\n", projects.len());
    for p in &projects {
        text.push_str(&format!(
            "{}  {}{}  \"{}\"  team {}  bucket {}\n",
            p.id,
            p.slug,
            if p.multi_tenant { " (multi-tenant)" } else { "" },
            p.name.escape_debug(),
            p.team_id.as_deref().unwrap_or("-"),
            p.bucket_id
        ));
    }
    Output::new(text, &json!({ "projects": projects }))
}
