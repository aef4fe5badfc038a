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
        /// Largest upload, in bytes or with a binary unit (512KiB, 5MiB, 1GiB), at most 5GiB
        /// [default: the deployment's MAX_UPLOAD_BYTES]
        #[arg(long, value_name = "SIZE", value_parser = parse_size)]
        max_upload_bytes: Option<u64>,
    },
    /// Set or clear a project's largest upload (never above the deployment's MAX_UPLOAD_BYTES;
    /// Workers apply it within their scope cache's TTL)
    Limit {
        /// Project id
        #[arg(long, value_name = "PROJECT_ID")]
        project: String,
        /// Largest upload, in bytes or with a binary unit (512KiB, 5MiB, 1GiB), at most 5GiB
        #[arg(long, value_name = "SIZE", value_parser = parse_size, required_unless_present = "default")]
        max_upload_bytes: Option<u64>,
        /// Clear the project's limit: the deployment's MAX_UPLOAD_BYTES applies
        #[arg(long, conflicts_with = "max_upload_bytes")]
        default: bool,
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
                max_upload_bytes,
            } => {
                let new = ProjectArgs {
                    team: &team,
                    bucket: &bucket,
                    name: &name,
                    slug: &slug,
                    multi_tenant,
                    max_upload_bytes,
                };
                create(db, &new, owner_email.as_deref()).await
            }
            Self::Limit {
                project,
                max_upload_bytes,
                default: _,
            } => limit(db, &project, max_upload_bytes).await,
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
    max_upload_bytes: Option<u64>,
}

/// Parses a size: plain bytes, or a whole number of `B`, `KiB`, `MiB` or `GiB` (binary units
/// only, so that what is typed is exactly what is stored). Hand-written: four suffixes do not
/// need a crate.
fn parse_size(raw: &str) -> Result<u64, String> {
    let s = raw.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    let factor: u64 = match unit.trim() {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        _ => {
            return Err(format!(
                "'{raw}' is not a size: use bytes or a whole number of KiB, MiB or GiB"
            ))
        }
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(factor))
        .ok_or_else(|| format!("'{raw}' is not a size: use bytes or a whole number of KiB, MiB or GiB"))
}

/// How a project's limit reads in text output.
fn limit_text(bytes: Option<i64>) -> String {
    bytes.map_or_else(
        || "the deployment's upload limit".to_owned(),
        |b| format!("uploads up to {b} bytes"),
    )
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
        max_upload_bytes: args.max_upload_bytes,
    };
    let project = provision::create_project(&tx, &new, now).await?;
    tx.commit().await.context("could not commit the transaction")?;
    let text = format!(
        "created {}project {} ({}) on bucket {}, {}\nno API key yet: `carcosa-edge key create --project {}`",
        if project.multi_tenant { "multi-tenant " } else { "" },
        project.slug,
        project.id,
        project.bucket_id,
        limit_text(project.max_upload_bytes),
        project.id
    );
    Output::new(text, &json!({ "project": project }))
}

async fn limit(db: &Db, project_id: &str, max_upload_bytes: Option<u64>) -> anyhow::Result<Output> {
    let client = db.connect().await?;
    let project = provision::set_project_upload_limit(&client, project_id, max_upload_bytes, now_ms()?).await?;
    let text = format!(
        "project {} ({}): {}",
        project.slug,
        project.id,
        limit_text(project.max_upload_bytes)
    );
    Output::new(text, &json!({ "project": project }))
}

async fn list(db: &Db, team_id: Option<&str>) -> anyhow::Result<Output> {
    let client = db.connect().await?;
    let projects = provision::list_projects(&client, team_id).await?;
    let mut text = format!("{} project(s)\n", projects.len());
    for p in &projects {
        text.push_str(&format!(
            "{}  {}{}  \"{}\"  team {}  bucket {}  max upload {}\n",
            p.id,
            p.slug,
            if p.multi_tenant { " (multi-tenant)" } else { "" },
            p.name.escape_debug(),
            p.team_id.as_deref().unwrap_or("-"),
            p.bucket_id,
            p.max_upload_bytes
                .map_or_else(|| "default".to_owned(), |b| format!("{b} bytes"))
        ));
    }
    Output::new(text, &json!({ "projects": projects }))
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1024"), Ok(1024));
        assert_eq!(parse_size("7B"), Ok(7));
        assert_eq!(parse_size("512KiB"), Ok(512 * 1024));
        assert_eq!(parse_size(" 5MiB "), Ok(5 * 1024 * 1024));
        assert_eq!(parse_size("5 GiB"), Ok(5 << 30));
        for bad in ["", "MiB", "5MB", "1.5MiB", "-1", "5 mib", "99999999999999999999GiB"] {
            assert!(parse_size(bad).is_err(), "{bad:?}");
        }
    }
}
