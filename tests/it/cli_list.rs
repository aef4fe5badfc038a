//! The list commands: every organisation, team, bucket, share, project and tenant, filtered as
//! asked, as JSON built from the same rows the create commands print; never a credential.

use serde_json::Value;

use crate::cli::{carcosa, org_team_bucket, s};
use crate::pg;

/// The `id`s of the objects in `list`, in order.
fn ids(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|v| s(&v["id"]))
        .collect()
}

#[tokio::test]
async fn lists_show_what_was_provisioned_filtered_and_without_secrets() {
    let db = pg::fresh_db().await;
    let run = || carcosa(&db);

    // Empty database: empty lists, not errors.
    assert_eq!(run().ok(&["org", "list"])["organizations"], serde_json::json!([]));

    let (acme, acme_team, acme_bucket) = org_team_bucket(&db, "acme");
    let (globex, globex_team, globex_bucket) = org_team_bucket(&db, "globex");
    let share = run().ok(&[
        "bucket",
        "share",
        "--bucket",
        &acme_bucket,
        "--team",
        &globex_team,
        "--level",
        "READ_ONLY",
    ]);
    let project = |team: &str, bucket: &str, slug: &str, multi: bool| {
        let mut args = vec![
            "project", "create", "--team", team, "--bucket", bucket, "--name", "Site", "--slug", slug,
        ];
        if multi {
            args.push("--multi-tenant");
        }
        run().ok(&args)["project"].clone()
    };
    let site = project(&acme_team, &acme_bucket, "site", true);
    let other = project(&globex_team, &globex_bucket, "other", false);
    let tenant = run().ok(&["tenant", "create", "--project", s(&site["id"]), "--slug", "t1"]);

    let orgs = run().ok(&["org", "list"]);
    assert_eq!(ids(&orgs["organizations"]), [acme.as_str(), globex.as_str()]);
    assert_eq!(orgs["organizations"][1]["slug"], "globex");

    let teams = run().ok(&["team", "list"]);
    assert_eq!(ids(&teams["teams"]), [acme_team.as_str(), globex_team.as_str()]);
    let teams = run().ok(&["team", "list", "--org", &globex]);
    assert_eq!(ids(&teams["teams"]), [globex_team.as_str()]);
    assert_eq!(teams["teams"][0]["organizationSlug"], "globex");

    let buckets = run().ok(&["bucket", "list"]);
    assert_eq!(ids(&buckets["buckets"]), [acme_bucket.as_str(), globex_bucket.as_str()]);
    let buckets = run().ok(&["bucket", "list", "--team", &acme_team]);
    assert_eq!(ids(&buckets["buckets"]), [acme_bucket.as_str()]);
    let b = &buckets["buckets"][0];
    assert_eq!(
        (&b["provider"], &b["bucketName"], &b["status"]),
        (&"s3".into(), &"uploads".into(), &"pending".into())
    );
    let keys: Vec<&String> = b.as_object().unwrap().keys().collect();
    assert!(
        !keys.iter().any(|k| k.contains("ncrypted") || k.contains("ecret")),
        "{keys:?}"
    );

    let shares = run().ok(&["bucket", "shares", "--bucket", &acme_bucket]);
    assert_eq!(ids(&shares["shares"]), [s(&share["share"]["id"])]);
    assert_eq!(shares["shares"][0]["accessLevel"], "READ_ONLY");
    assert_eq!(
        run().ok(&["bucket", "shares", "--team", &acme_team])["shares"],
        serde_json::json!([])
    );
    assert_eq!(ids(&run().ok(&["bucket", "shares"])["shares"]).len(), 1);

    let projects = run().ok(&["project", "list"]);
    assert_eq!(ids(&projects["projects"]), [s(&site["id"]), s(&other["id"])]);
    let projects = run().ok(&["project", "list", "--team", &acme_team]);
    assert_eq!(projects["projects"], serde_json::json!([site]));

    let tenants = run().ok(&["tenant", "list", "--project", s(&site["id"])]);
    assert_eq!(tenants["tenants"], serde_json::json!([tenant["tenant"]]));

    // The text output names the rows too, and no list prints a credential.
    for args in [
        &["org", "list"][..],
        &["team", "list"],
        &["bucket", "list"],
        &["bucket", "shares"],
        &["project", "list"],
        &["tenant", "list", "--project", s(&site["id"])],
    ] {
        let out = run().output(args);
        assert_eq!(out.code, Some(0), "{args:?}: {}", out.stderr);
        assert!(
            !out.stdout.contains("v1:") && !out.stdout.contains(crate::cli::SECRET_KEY),
            "{args:?}"
        );
    }
    let text = run().output(&["bucket", "list"]).stdout;
    assert!(text.starts_with("2 bucket(s)") && text.contains(&acme_bucket), "{text}");

    // Filters are checked like every other id.
    let err = run().fails(&["team", "list", "--org", "x'; DROP"]);
    assert!(err.contains("is not a valid organization id"), "{err}");
}
