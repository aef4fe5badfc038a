//! `team`: teams of an organization.

use clap::Subcommand;
use serde_json::json;

use super::db::{now_ms, Db};
use super::output::Output;
use crate::store::provision;

#[derive(Subcommand)]
pub(super) enum TeamCommand {
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
    /// List the teams of an organization, or of all
    List {
        /// Only this organization's teams
        #[arg(long, value_name = "ORG_ID")]
        org: Option<String>,
    },
}

impl TeamCommand {
    pub(super) async fn run(self, db: &Db) -> anyhow::Result<Output> {
        match self {
            Self::Create { org, name, slug } => create(db, &org, &name, &slug).await,
            Self::List { org } => list(db, org.as_deref()).await,
        }
    }
}

async fn create(db: &Db, org_id: &str, name: &str, slug: &str) -> anyhow::Result<Output> {
    let now = now_ms()?;
    let client = db.connect().await?;
    let team = provision::create_team(&client, org_id, name, slug, now).await?;
    let text = format!("created team {}/{} ({})", team.org_slug, team.slug, team.id);
    Output::new(text, &json!({ "team": team }))
}

async fn list(db: &Db, org_id: Option<&str>) -> anyhow::Result<Output> {
    let client = db.connect().await?;
    let teams = provision::list_teams(&client, org_id).await?;
    let mut text = format!("{} team(s)\n", teams.len());
    for t in &teams {
        text.push_str(&format!(
            "{}  {}/{}  \"{}\"\n",
            t.id,
            t.org_slug,
            t.slug,
            t.name.escape_debug()
        ));
    }
    Output::new(text, &json!({ "teams": teams }))
}
