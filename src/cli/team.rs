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
}

impl TeamCommand {
    pub(super) async fn run(self, db: &Db) -> anyhow::Result<Output> {
        match self {
            Self::Create { org, name, slug } => create(db, &org, &name, &slug).await,
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
