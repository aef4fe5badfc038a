//! `org`: organizations.

use anyhow::Context as _;
use clap::Subcommand;
use serde::Serialize;
use serde_json::json;

use super::db::{now_ms, Db};
use super::output::Output;
use super::DEFAULT_OWNER_EMAIL;
use crate::store::provision::{self, User};

#[derive(Subcommand)]
pub(super) enum OrgCommand {
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
    /// List every organization
    List,
}

impl OrgCommand {
    pub(super) async fn run(self, db: &Db) -> anyhow::Result<Output> {
        match self {
            Self::Create {
                name,
                slug,
                owner_email,
            } => create(db, &name, &slug, &owner_email).await,
            Self::List => list(db).await,
        }
    }
}

/// A user, and whether this command created it.
#[derive(Serialize)]
pub(super) struct Owner {
    #[serde(flatten)]
    pub(super) user: User,
    pub(super) created: bool,
}

async fn create(db: &Db, name: &str, slug: &str, owner_email: &str) -> anyhow::Result<Output> {
    let now = now_ms()?;
    let mut client = db.connect().await?;
    let tx = client.transaction().await.context("could not start a transaction")?;
    let (user, created) = provision::ensure_user(&tx, owner_email).await?;
    let org = provision::create_org(&tx, name, slug, &user.id, now).await?;
    tx.commit().await.context("could not commit the transaction")?;
    let owner = Owner { user, created };
    let text = format!(
        "created organization {} ({})\nowner: {} ({}{})",
        org.slug,
        org.id,
        owner.user.email,
        owner.user.id,
        if owner.created { ", new user" } else { "" }
    );
    Output::new(text, &json!({ "organization": org, "owner": owner }))
}

async fn list(db: &Db) -> anyhow::Result<Output> {
    let client = db.connect().await?;
    let orgs = provision::list_orgs(&client).await?;
    let mut text = format!("{} organization(s)\n", orgs.len());
    for o in &orgs {
        text.push_str(&format!(
            "{}  {}  \"{}\"  owner {}\n",
            o.id,
            o.slug,
            o.name.escape_debug(),
            o.owner_id
        ));
    }
    Output::new(text, &json!({ "organizations": orgs }))
}
