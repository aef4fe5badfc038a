//! Upload tokens: `POST /v1/tokens` mints a short-lived token from an API key, for clients (a
//! browser upload widget) that must not hold the key itself.

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use serde::Deserialize;
use serde_json::json;

use super::auth::{self, Caller};
use super::json::{self, Text};
use super::{limits, signing, uploads, ApiError, Deferred};
use crate::runtime::{Level, Runtime};
use crate::scope::{self, Operation, ScopeRow};
use crate::sigv4::Expiry;
use crate::store::activity::AuditEntry;
use crate::upload_token::{self, UploadClaims, MAX_TTL_SECS};

/// Lifetime of a token when the caller does not ask for one: ten minutes.
pub const DEFAULT_TTL_SECS: u32 = 600;

/// The body of `POST /v1/tokens`; every field is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MintToken {
    /// Permissions the token carries, each held by the key. Default: the key's `uploads:create`
    /// and `uploads:complete`; `files:read` only when asked for.
    pub permissions: Option<Vec<Text>>,
    /// Binds the token to one tenant; required for multi-tenant projects.
    #[serde(alias = "tenantId")]
    pub tenant: Option<Text>,
    /// Lifetime in seconds, 1 to 3600.
    pub expires_in: Option<u32>,
}

/// `POST /v1/tokens`: mints a token for the calling API key's project.
pub async fn mint<R: Runtime>(
    rt: &R,
    req: &Request<Bytes>,
    deferred: &mut Vec<Deferred>,
) -> Result<Response<Bytes>, ApiError> {
    let caller = auth::caller(rt, req)?;
    if matches!(caller, Caller::Token(_)) {
        return Err(ApiError::ApiKeyRequired);
    }
    let body: MintToken = if req.body().is_empty() {
        MintToken::default()
    } else {
        json::parse(req)?
    };
    let ttl = body.expires_in.unwrap_or(DEFAULT_TTL_SECS);
    if !(1..=MAX_TTL_SECS).contains(&ttl) {
        return Err(ApiError::bad_request(
            "invalid_expiry",
            format!("expiresIn must be between 1 and {MAX_TTL_SECS} seconds"),
        ));
    }
    let secret = rt
        .config()
        .upload_tokens
        .as_ref()
        .ok_or_else(|| ApiError::Internal("UPLOAD_TOKEN_SECRET is not configured".into()))?;
    let tenant = caller.tenant(body.tenant.as_deref())?;

    let row = auth::resolve(rt, &caller, tenant).await?;
    let now_ms = rt.now_ms();
    // The same checks as a download: the key is live and its project may reach its bucket. Each
    // use of the token is then checked again, with the permissions it carries.
    let scopes = auth::token_scopes(&row.permissions, body.permissions.as_deref())?;
    let mut probe = ScopeRow::clone(&row);
    probe.permissions = crate::permission::PermissionSet::from_json(&json!(["*"]));
    let authorized = scope::authorize(&probe, Operation::Download, tenant, now_ms)?;
    // Checked last, as `scope::authorize` orders its checks. Unbound, a token of a
    // multi-tenant project could act for every tenant.
    if row.multi_tenant && tenant.is_none() {
        return Err(scope::ScopeError::TenantRequired.into());
    }
    limits::charge_key(rt, &authorized).await?;
    auth::touch(rt, &authorized.key_id, now_ms, deferred);
    // A token never outlives its key (which is checked on every use anyway).
    let ttl = signing::capped(
        Expiry::from_secs(ttl).map_err(|e| ApiError::Internal(e.to_string()))?,
        now_ms,
        None,
        authorized.key_expires_at_ms,
    )?
    .as_secs();

    let jti = uploads::new_id(rt)?;
    rt.log(
        Level::Info,
        &format!(
            "upload token {jti} minted for key {} ({}; {ttl} s)",
            authorized.key_id,
            scopes.join(" ")
        ),
    );
    let claims = UploadClaims {
        pid: authorized.project_id,
        kid: authorized.key_id,
        scopes: scopes.clone(),
        tnt: tenant.map(str::to_owned),
        jti: jti.clone(),
    };
    // Who minted what, for how long; never the token itself.
    deferred.push(Deferred::Audit(Box::new(AuditEntry {
        project_id: claims.pid.clone(),
        action: "upload_token.created",
        resource: claims.kid.clone(),
        details: json!({ "apiKeyId": claims.kid, "permissions": scopes, "tenant": tenant, "expiresIn": ttl }),
        at_ms: now_ms,
    })));
    let token = upload_token::mint(secret, claims, now_ms, ttl).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(json::ok(
        StatusCode::CREATED,
        &json!({
            "token": token,
            "tokenId": jti,
            "tokenType": "Bearer",
            "permissions": scopes,
            "tenant": tenant,
            "expiresIn": ttl,
            "expiresAt": crate::timestamp::rfc3339(now_ms + i64::from(ttl) * 1000),
        }),
    ))
}
