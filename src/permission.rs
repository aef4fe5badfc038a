//! API key permissions, with the Carcosa API's strings and semantics.
//!
//! A key's `"ApiKey"."permissions"` column holds grant strings. A grant is a
//! [`Permission`] (`files:read`, …), the wildcard `*`, a resource wildcard
//! such as `uploads:*`, or one of the legacy values `read`, `write`,
//! `delete` and `admin`, which older keys (and the column default) still use.
//! Any other string grants nothing.
//!
//! ```
//! use carcosa_edge::permission::{Permission, PermissionSet};
//!
//! let set = PermissionSet::from_json(&serde_json::json!(["uploads:*"]));
//! assert!(set.allows(Permission::UploadsInit));
//! assert!(!set.allows(Permission::FilesRead));
//! ```

use std::str::FromStr;

use serde_json::Value;

/// Why a permission or group name was not recognised.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PermissionError {
    /// Not one of the 17 permission strings.
    #[error("unknown permission `{0}`")]
    UnknownPermission(String),
    /// Not one of `READ_ONLY`, `STANDARD`, `FULL`, `ADMIN`.
    #[error("unknown permission group `{0}`: expected READ_ONLY, STANDARD, FULL or ADMIN")]
    UnknownGroup(String),
    /// A grant [`is_valid_grant`] refuses, for a new key.
    #[error(
        "invalid permission '{}': expected a permission such as files:read or uploads:create, \
         <resource>:<read|write|delete|create|manage|*>, or *",
        .0.escape_debug()
    )]
    InvalidGrant(String),
    /// A new key with no grants.
    #[error("an API key needs at least one permission")]
    NoGrants,
    /// A new key with more than [`MAX_GRANTS`] grants.
    #[error("an API key may hold at most {MAX_GRANTS} permissions")]
    TooManyGrants,
    /// `*` with other grants.
    #[error("'*' grants every permission and must be given alone")]
    WildcardNotAlone,
}

/// One permission an API key can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// `files:read`
    FilesRead,
    /// `projects:read`
    ProjectsRead,
    /// `transforms:read`
    TransformsRead,
    /// `usage:read`
    UsageRead,
    /// `audit_logs:read`
    AuditLogsRead,
    /// `files:write`
    FilesWrite,
    /// `projects:write`
    ProjectsWrite,
    /// `files:delete`
    FilesDelete,
    /// `transforms:delete`
    TransformsDelete,
    /// `uploads:create`
    UploadsCreate,
    /// `uploads:init`
    UploadsInit,
    /// `uploads:complete`
    UploadsComplete,
    /// `transforms:create`
    TransformsCreate,
    /// `transforms:request`
    TransformsRequest,
    /// `api_keys:manage`
    ApiKeysManage,
    /// `rate_limits:manage`
    RateLimitsManage,
    /// `*`: every permission.
    All,
}

use Permission as P;

impl Permission {
    /// Every permission, in the upstream declaration order.
    pub const ALL: [Self; 17] = [
        P::FilesRead,
        P::ProjectsRead,
        P::TransformsRead,
        P::UsageRead,
        P::AuditLogsRead,
        P::FilesWrite,
        P::ProjectsWrite,
        P::FilesDelete,
        P::TransformsDelete,
        P::UploadsCreate,
        P::UploadsInit,
        P::UploadsComplete,
        P::TransformsCreate,
        P::TransformsRequest,
        P::ApiKeysManage,
        P::RateLimitsManage,
        P::All,
    ];

    /// The string stored in the permissions column.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            P::FilesRead => "files:read",
            P::ProjectsRead => "projects:read",
            P::TransformsRead => "transforms:read",
            P::UsageRead => "usage:read",
            P::AuditLogsRead => "audit_logs:read",
            P::FilesWrite => "files:write",
            P::ProjectsWrite => "projects:write",
            P::FilesDelete => "files:delete",
            P::TransformsDelete => "transforms:delete",
            P::UploadsCreate => "uploads:create",
            P::UploadsInit => "uploads:init",
            P::UploadsComplete => "uploads:complete",
            P::TransformsCreate => "transforms:create",
            P::TransformsRequest => "transforms:request",
            P::ApiKeysManage => "api_keys:manage",
            P::RateLimitsManage => "rate_limits:manage",
            P::All => "*",
        }
    }

    /// The part before `:`, matched by `<resource>:*` grants; `None` for `*`.
    #[must_use]
    pub fn resource(self) -> Option<&'static str> {
        self.as_str().split_once(':').map(|(resource, _)| resource)
    }
}

impl FromStr for Permission {
    type Err = PermissionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| PermissionError::UnknownPermission(s.to_owned()))
    }
}

/// What a legacy grant stands for; empty for anything else.
fn legacy(grant: &str) -> &'static [Permission] {
    match grant {
        // Not audit_logs:read: legacy keys predate audit logs.
        "read" => &[P::FilesRead, P::ProjectsRead, P::TransformsRead, P::UsageRead],
        "write" => &[
            P::FilesWrite,
            P::UploadsCreate,
            P::UploadsInit,
            P::UploadsComplete,
            P::TransformsCreate,
            P::TransformsRequest,
        ],
        "delete" => &[P::FilesDelete, P::TransformsDelete],
        "admin" => &[P::All],
        _ => &[],
    }
}

/// The grant strings of one API key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermissionSet {
    grants: Vec<String>,
    /// The stored value was not an array (nor a string holding one).
    malformed: bool,
}

impl PermissionSet {
    /// Reads the `"ApiKey"."permissions"` JSONB value: an array keeps its
    /// string elements; a string holding a JSON array is read as that array
    /// (as the Carcosa API does). Anything else grants nothing and is marked
    /// [`PermissionSet::is_malformed`] (the Carcosa API granted its column
    /// default, `["read", "write"]`: a corrupted value must not widen a key).
    #[must_use]
    pub fn from_json(value: &Value) -> Self {
        let parsed;
        let items = match value {
            Value::Array(items) => items,
            Value::String(text) => match serde_json::from_str(text) {
                Ok(Value::Array(items)) => {
                    parsed = items;
                    &parsed
                }
                _ => return Self::malformed(),
            },
            _ => return Self::malformed(),
        };
        let grants = items
            .iter()
            .filter_map(|item| item.as_str().map(str::to_owned))
            .collect();
        Self {
            grants,
            malformed: false,
        }
    }

    fn malformed() -> Self {
        Self {
            grants: Vec::new(),
            malformed: true,
        }
    }

    /// Whether the stored value was not an array, so that the key grants nothing.
    #[must_use]
    pub fn is_malformed(&self) -> bool {
        self.malformed
    }

    /// The grant strings, as stored.
    #[must_use]
    pub fn grants(&self) -> &[String] {
        &self.grants
    }

    /// Whether some grant covers `p`: `p` itself, `*`, `<resource>:*`, or a
    /// legacy value that includes it.
    #[must_use]
    pub fn allows(&self, p: Permission) -> bool {
        self.grants.iter().any(|grant| grant_allows(grant, p))
    }

    /// Whether any of `ps` is allowed; false for an empty slice.
    #[must_use]
    pub fn allows_any(&self, ps: &[Permission]) -> bool {
        ps.iter().any(|&p| self.allows(p))
    }
}

fn grant_allows(grant: &str, p: Permission) -> bool {
    if grant == P::All.as_str() || grant == p.as_str() {
        return true;
    }
    if let (Some(granted), Some(wanted)) = (grant.strip_suffix(":*"), p.resource()) {
        if granted == wanted {
            return true;
        }
    }
    legacy(grant).iter().any(|&l| l == p || l == P::All)
}

/// Whether `s` may be stored as a grant: a [`Permission`], `*`, a legacy
/// value, or `<resource>:<action>` with `resource` in `[a-z_]+` and `action`
/// one of read, write, delete, create, manage, `*`.
#[must_use]
pub fn is_valid_grant(s: &str) -> bool {
    s.parse::<Permission>().is_ok() || !legacy(s).is_empty() || is_resource_action(s)
}

fn is_resource_action(s: &str) -> bool {
    let Some((resource, action)) = s.split_once(':') else {
        return false;
    };
    !resource.is_empty()
        && resource.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
        && matches!(action, "read" | "write" | "delete" | "create" | "manage" | "*")
}

/// Most grants one key may hold (the upstream API's limit).
pub const MAX_GRANTS: usize = 50;

/// The grants of a new API key: 1–[`MAX_GRANTS`] distinct strings, each accepted by
/// [`is_valid_grant`], and `*` only on its own. What a key is created with; [`PermissionSet`] is
/// what a stored key is read as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grants(Vec<String>);

impl Grants {
    /// Checks explicit grants, dropping repeats (the first occurrence keeps its place).
    ///
    /// # Errors
    /// [`PermissionError::InvalidGrant`] naming the first bad grant, or the variant saying what
    /// else is wrong.
    pub fn new<I, S>(grants: I) -> Result<Self, PermissionError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut out: Vec<String> = Vec::new();
        for grant in grants {
            let grant = grant.into();
            if !is_valid_grant(&grant) {
                return Err(PermissionError::InvalidGrant(grant));
            }
            if !out.contains(&grant) {
                out.push(grant);
            }
        }
        if out.is_empty() {
            return Err(PermissionError::NoGrants);
        }
        if out.len() > MAX_GRANTS {
            return Err(PermissionError::TooManyGrants);
        }
        if out.len() > 1 && out.iter().any(|g| g == "*") {
            return Err(PermissionError::WildcardNotAlone);
        }
        Ok(Self(out))
    }

    /// The grants of a permission group.
    #[must_use]
    pub fn group(group: PermissionGroup) -> Self {
        Self(group.grants().iter().map(|&g| g.to_owned()).collect())
    }

    /// The grant strings.
    #[must_use]
    pub fn as_slice(&self) -> &[String] {
        &self.0
    }
}

/// Named bundles of grants offered when a key is created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(target_arch = "wasm32"), derive(clap::ValueEnum))]
pub enum PermissionGroup {
    /// The five `:read` permissions.
    #[cfg_attr(not(target_arch = "wasm32"), value(name = "READ_ONLY"))]
    ReadOnly,
    /// Reads plus everything needed to upload and request transforms.
    #[cfg_attr(not(target_arch = "wasm32"), value(name = "STANDARD"))]
    Standard,
    /// Everything except key and rate-limit management.
    #[cfg_attr(not(target_arch = "wasm32"), value(name = "FULL"))]
    Full,
    /// `*`.
    #[cfg_attr(not(target_arch = "wasm32"), value(name = "ADMIN"))]
    Admin,
}

const READ_ONLY: &[&str] = &[
    P::FilesRead.as_str(),
    P::ProjectsRead.as_str(),
    P::TransformsRead.as_str(),
    P::UsageRead.as_str(),
    P::AuditLogsRead.as_str(),
];

const STANDARD: &[&str] = &[
    P::FilesRead.as_str(),
    P::ProjectsRead.as_str(),
    P::TransformsRead.as_str(),
    P::FilesWrite.as_str(),
    P::UploadsCreate.as_str(),
    P::UploadsInit.as_str(),
    P::UploadsComplete.as_str(),
    P::TransformsCreate.as_str(),
    P::TransformsRequest.as_str(),
];

const FULL: &[&str] = &[
    P::FilesRead.as_str(),
    P::ProjectsRead.as_str(),
    P::TransformsRead.as_str(),
    P::UsageRead.as_str(),
    P::AuditLogsRead.as_str(),
    P::FilesWrite.as_str(),
    P::ProjectsWrite.as_str(),
    P::FilesDelete.as_str(),
    P::TransformsDelete.as_str(),
    P::UploadsCreate.as_str(),
    P::UploadsInit.as_str(),
    P::UploadsComplete.as_str(),
    P::TransformsCreate.as_str(),
    P::TransformsRequest.as_str(),
];

const ADMIN: &[&str] = &[P::All.as_str()];

impl PermissionGroup {
    /// The grant strings a key created with this group receives.
    #[must_use]
    pub const fn grants(self) -> &'static [&'static str] {
        match self {
            Self::ReadOnly => READ_ONLY,
            Self::Standard => STANDARD,
            Self::Full => FULL,
            Self::Admin => ADMIN,
        }
    }
}

impl FromStr for PermissionGroup {
    type Err = PermissionError;

    /// Accepts `READ_ONLY`, `STANDARD`, `FULL` or `ADMIN` in any ASCII case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            ("READ_ONLY", Self::ReadOnly),
            ("STANDARD", Self::Standard),
            ("FULL", Self::Full),
            ("ADMIN", Self::Admin),
        ]
        .into_iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(s))
        .map(|(_, group)| group)
        .ok_or_else(|| PermissionError::UnknownGroup(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[track_caller]
    fn check(grants: &Value, p: Permission, expected: bool) {
        let set = PermissionSet::from_json(grants);
        assert_eq!(set.allows(p), expected, "{grants} allows {}", p.as_str());
    }

    #[test]
    fn allows() {
        let cases: &[(Value, Permission, bool)] = &[
            // Exact.
            (json!(["files:read"]), P::FilesRead, true),
            (json!(["files:read"]), P::FilesWrite, false),
            (json!(["uploads:create"]), P::UploadsInit, false),
            (json!(["files:read", "uploads:init"]), P::UploadsInit, true),
            (json!(["api_keys:manage"]), P::All, false),
            (json!([]), P::FilesRead, false),
            // Wildcard.
            (json!(["*"]), P::RateLimitsManage, true),
            (json!(["*"]), P::All, true),
            // Resource wildcard.
            (json!(["uploads:*"]), P::UploadsCreate, true),
            (json!(["uploads:*"]), P::UploadsInit, true),
            (json!(["uploads:*"]), P::UploadsComplete, true),
            (json!(["uploads:*"]), P::FilesWrite, false),
            (json!(["uploads:*"]), P::All, false),
            (json!(["upload:*"]), P::UploadsCreate, false),
            (json!(["audit_logs:*"]), P::AuditLogsRead, true),
            // Legacy values.
            (json!(["read"]), P::FilesRead, true),
            (json!(["read"]), P::UsageRead, true),
            (json!(["read"]), P::AuditLogsRead, false),
            (json!(["read"]), P::FilesWrite, false),
            (json!(["write"]), P::UploadsCreate, true),
            (json!(["write"]), P::UploadsInit, true),
            (json!(["write"]), P::TransformsRequest, true),
            (json!(["write"]), P::ProjectsWrite, false),
            (json!(["write"]), P::FilesRead, false),
            (json!(["delete"]), P::TransformsDelete, true),
            (json!(["delete"]), P::FilesWrite, false),
            (json!(["admin"]), P::ApiKeysManage, true),
            (json!(["admin"]), P::All, true),
            // A JSON string holding an array.
            (json!("[\"uploads:init\"]"), P::UploadsInit, true),
            (json!("[\"uploads:init\"]"), P::FilesRead, false),
            (json!("[\"*\"]"), P::ProjectsWrite, true),
            // Anything else grants nothing (upstream fell back to ["read", "write"]).
            (json!(null), P::FilesRead, false),
            (json!(null), P::UploadsCreate, false),
            (json!(null), P::FilesDelete, false),
            (json!({"files:delete": true}), P::FilesDelete, false),
            (json!("files:delete"), P::FilesDelete, false),
            (json!("files:delete"), P::FilesWrite, false),
            (json!("\"[\\\"*\\\"]\""), P::ApiKeysManage, false),
            (json!(42), P::UploadsInit, false),
            // Non-strings are dropped; unknown strings grant nothing.
            (json!([1, null, ["*"], {"*": 1}, "files:read"]), P::ApiKeysManage, false),
            (json!([1, null, ["*"], {"*": 1}, "files:read"]), P::FilesRead, true),
            (json!(["transforms:execute"]), P::TransformsRequest, false),
            (
                json!(["FILES:READ", "Read", " read", "files:read "]),
                P::FilesRead,
                false,
            ),
            (json!(["*:*", "files", ":*", "all"]), P::FilesRead, false),
        ];
        for (grants, p, expected) in cases {
            check(grants, *p, *expected);
        }
    }

    #[test]
    fn from_json_keeps_strings_only() {
        let set = PermissionSet::from_json(&json!(["a", 1, "b", null]));
        assert_eq!(set.grants(), ["a", "b"]);
        assert!(!set.is_malformed());
        assert_eq!(
            PermissionSet::from_json(&json!("[\"files:read\"]")).grants(),
            ["files:read"]
        );
        for value in [
            json!(true),
            json!("not json"),
            json!({"a": 1}),
            json!(null),
            json!("\"*\""),
        ] {
            let set = PermissionSet::from_json(&value);
            assert!(set.grants().is_empty(), "{value}");
            assert!(set.is_malformed(), "{value}");
            assert!(!set.allows(P::FilesRead));
        }
    }

    #[test]
    fn allows_any() {
        let presign = [P::UploadsCreate, P::UploadsInit];
        let set = |v: Value| PermissionSet::from_json(&v);
        assert!(set(json!(["uploads:init"])).allows_any(&presign));
        assert!(set(json!(["uploads:create"])).allows_any(&presign));
        assert!(!set(json!(["uploads:complete"])).allows_any(&presign));
        assert!(!set(json!(["*"])).allows_any(&[]));
    }

    #[test]
    fn permission_strings_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for p in Permission::ALL {
            assert!(seen.insert(p.as_str()), "duplicate {}", p.as_str());
            assert_eq!(p.as_str().parse::<Permission>().unwrap(), p);
            assert!(is_valid_grant(p.as_str()));
        }
        assert_eq!(
            "files:execute".parse::<Permission>().unwrap_err(),
            PermissionError::UnknownPermission("files:execute".to_owned())
        );
        assert_eq!(P::ApiKeysManage.resource(), Some("api_keys"));
        assert_eq!(P::All.resource(), None);
    }

    #[test]
    fn valid_grants() {
        let cases = [
            ("*", true),
            ("read", true),
            ("admin", true),
            ("uploads:init", true),
            ("transforms:request", true),
            ("uploads:*", true),
            ("widgets:manage", true),
            ("some_thing:create", true),
            ("transforms:execute", false),
            ("Files:read", false),
            ("files2:read", false),
            ("files-x:read", false),
            (":read", false),
            ("files:", false),
            ("files:read:write", false),
            ("files:read\n", false),
            ("files", false),
            ("", false),
            ("READ", false),
        ];
        for (s, expected) in cases {
            assert_eq!(is_valid_grant(s), expected, "{s:?}");
        }
    }

    #[test]
    fn grants_are_checked() {
        let g = Grants::new(["files:read", "uploads:*", "files:read"]).unwrap();
        assert_eq!(g.as_slice(), ["files:read", "uploads:*"]);
        assert_eq!(Grants::new(["*"]).unwrap().as_slice(), ["*"]);

        let msg = |r: Result<Grants, PermissionError>| r.unwrap_err().to_string();
        assert!(msg(Grants::new(["files:read", "nope"])).starts_with("invalid permission 'nope'"));
        assert!(msg(Grants::new(["FILES:READ"])).starts_with("invalid permission"));
        assert!(msg(Grants::new(["transforms:execute"])).starts_with("invalid permission"));
        assert_eq!(
            msg(Grants::new(Vec::<String>::new())),
            "an API key needs at least one permission"
        );
        assert_eq!(
            msg(Grants::new(["*", "files:read"])),
            "'*' grants every permission and must be given alone"
        );
        let many: Vec<String> = (0..51).map(|i| format!("r{}:read", "x".repeat(i))).collect();
        assert!(msg(Grants::new(many)).contains("at most 50"));
    }

    #[test]
    fn groups_become_grants() {
        assert_eq!(Grants::group(PermissionGroup::Admin).as_slice(), ["*"]);
        let standard = Grants::group(PermissionGroup::Standard);
        assert_eq!(standard.as_slice().len(), 9);
        assert!(Grants::new(standard.as_slice().to_vec()).is_ok());
    }

    #[test]
    fn groups() {
        let group = |s: &str| s.parse::<PermissionGroup>().unwrap();
        assert_eq!(group("READ_ONLY"), PermissionGroup::ReadOnly);
        assert_eq!(group("standard"), PermissionGroup::Standard);
        assert_eq!(group("Full"), PermissionGroup::Full);
        assert_eq!(group("admin"), PermissionGroup::Admin);
        assert!("READONLY".parse::<PermissionGroup>().is_err());
        assert!(" ADMIN".parse::<PermissionGroup>().is_err());

        assert_eq!(PermissionGroup::ReadOnly.grants().len(), 5);
        assert!(PermissionGroup::ReadOnly.grants().iter().all(|g| g.ends_with(":read")));
        assert_eq!(PermissionGroup::Standard.grants().len(), 9);
        assert_eq!(PermissionGroup::Admin.grants(), ["*"]);

        let full = PermissionGroup::Full.grants();
        let excluded = [P::ApiKeysManage, P::RateLimitsManage, P::All];
        let expected: Vec<&str> = Permission::ALL
            .into_iter()
            .filter(|p| !excluded.contains(p))
            .map(Permission::as_str)
            .collect();
        assert_eq!(full, expected.as_slice());

        for g in [
            PermissionGroup::ReadOnly,
            PermissionGroup::Standard,
            PermissionGroup::Full,
            PermissionGroup::Admin,
        ] {
            assert!(g.grants().iter().all(|s| is_valid_grant(s)));
        }
        let standard = PermissionSet::from_json(&json!(PermissionGroup::Standard.grants()));
        assert!(standard.allows_any(&[P::UploadsCreate, P::UploadsInit]));
        assert!(!standard.allows(P::FilesDelete));
    }

    proptest! {
        #[test]
        fn never_panics(text in ".*", grant in "[a-z_:*]{0,20}") {
            let set = PermissionSet::from_json(&Value::String(text));
            let _ = set.allows_any(&Permission::ALL);
            let _ = is_valid_grant(&grant);
            check(&json!([grant]), P::All, grant == "*" || grant == "admin");
        }
    }
}
