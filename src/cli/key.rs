//! `key`: project API keys. A new key is printed once; only its hash is stored.

use anyhow::anyhow;
use clap::Subcommand;
use serde::Serialize;
use serde_json::{json, Value};

use super::db::{now_ms, random, Db};
use super::output::{iso_or, time, Output};
use crate::apikey::ApiKey;
use crate::permission::{Grants, PermissionGroup};
use crate::store::provision::{self, ApiKeyRecord, NewApiKey};
use crate::timestamp::rfc3339;

const DAY_MS: i64 = 86_400_000;

#[derive(Subcommand)]
pub(super) enum KeyCommand {
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
        group: Option<PermissionGroup>,
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

impl KeyCommand {
    pub(super) async fn run(self, db: &Db) -> anyhow::Result<Output> {
        match self {
            Self::Create {
                project,
                label,
                permissions,
                group,
                expires_in_days,
            } => {
                let grants = if permissions.is_empty() {
                    Grants::group(group.unwrap_or(PermissionGroup::Standard))
                } else {
                    Grants::new(permissions)?
                };
                create(db, &project, label.as_deref(), &grants, expires_in_days).await
            }
            Self::List { project } => list(db, &project).await,
            Self::Revoke { id } => revoke(db, &id).await,
        }
    }
}

/// An API key as printed: its row without the hash, and its status at the time of printing.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct KeyView<'a> {
    id: &'a str,
    project_id: &'a str,
    label: Option<&'a str>,
    permissions: &'a Value,
    status: &'static str,
    #[serde(serialize_with = "time::required")]
    created_at: i64,
    #[serde(serialize_with = "time::optional")]
    last_used_at: Option<i64>,
    #[serde(serialize_with = "time::optional")]
    expires_at: Option<i64>,
    #[serde(serialize_with = "time::optional")]
    revoked_at: Option<i64>,
}

impl<'a> KeyView<'a> {
    pub(super) fn new(k: &'a ApiKeyRecord, now_ms: i64) -> Self {
        Self {
            id: &k.id,
            project_id: &k.project_id,
            label: k.label.as_deref(),
            permissions: &k.permissions,
            status: status(k, now_ms),
            created_at: k.created_at_ms,
            last_used_at: k.last_used_at_ms,
            expires_at: k.expires_at_ms,
            revoked_at: k.revoked_at_ms,
        }
    }
}

async fn create(
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
    let text = format!(
        "created API key {} for project {}\npermissions: {}\nexpires: {}\n\n    {}\n\n\
         This is the only time the key is shown: store it now.",
        record.id,
        record.project_id,
        permissions_text(&record.permissions),
        iso_or(record.expires_at_ms, "never"),
        key.expose_secret()
    );
    Output::new(
        text,
        &json!({ "apiKey": key.expose_secret(), "key": KeyView::new(&record, now) }),
    )
}

async fn list(db: &Db, project_id: &str) -> anyhow::Result<Output> {
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
            status(k, now),
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
    let views: Vec<KeyView<'_>> = keys.iter().map(|k| KeyView::new(k, now)).collect();
    Output::new(text, &json!({ "projectId": project.id, "apiKeys": views }))
}

async fn revoke(db: &Db, key_id: &str) -> anyhow::Result<Output> {
    let now = now_ms()?;
    let client = db.connect().await?;
    let revocation = provision::revoke_api_key(&client, key_id, now)
        .await?
        .ok_or_else(|| anyhow!("no API key with id '{key_id}'"))?;
    let key = &revocation.key;
    let text = if revocation.newly_revoked {
        format!("revoked API key {} of project {}", key.id, key.project_id)
    } else {
        format!(
            "API key {} was already revoked at {}",
            key.id,
            iso_or(key.revoked_at_ms, "?")
        )
    };
    Output::new(
        text,
        &json!({ "key": KeyView::new(key, now), "alreadyRevoked": !revocation.newly_revoked }),
    )
}

fn status(k: &ApiKeyRecord, now_ms: i64) -> &'static str {
    if k.revoked_at_ms.is_some() {
        "revoked"
    } else if k.expires_at_ms.is_some_and(|at| at <= now_ms) {
        "expired"
    } else {
        "active"
    }
}

pub(super) fn permissions_text(permissions: &Value) -> String {
    match permissions.as_array() {
        Some(items) => items
            .iter()
            .map(|p| p.as_str().map_or_else(|| p.to_string(), str::to_owned))
            .collect::<Vec<_>>()
            .join(", "),
        None => permissions.to_string(),
    }
}
