//! Companion-compatible S3 routes, so that Uppy's `@uppy/aws-s3` works unmodified: 5.x with
//! `endpoint` + `headers` (`/v1/companion`, credential in `Authorization`), 6.x in companion mode
//! (`/v1/companion/t/{upload token}`: it sends no headers, so the token travels in the path) and
//! 6.x `signRequest` (`POST …/s3/presign`).
//!
//! Nothing the client sends back is trusted. An `uploadId` is an [`UploadTicket`] this service
//! made (MAC'd; it carries the S3 upload id, the object key, project, tenant and bucket) and must
//! name the caller's project, tenant and bucket and the `key` given; `signRequest` keys must lie
//! inside the caller's prefix. Signing a part or a page of uploads needs no database round trip
//! when the caller's scope is cached: the ticket holds everything else.

use std::collections::BTreeMap;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::auth::{self, Caller};
use super::query::Query;
use super::uploads::{new_id, validate_content_type, validate_filename};
use super::{json, limits, multipart, signing, uploads, ApiError, Deferred, PendingUpload};
use crate::runtime::Runtime;
use crate::scope::{Authorized, Operation, ScopeError};
use crate::sigv4::post_policy::{PolicyKey, PostPolicy};
use crate::sigv4::{
    complete_multipart_body, AbortMultipartUpload, CompleteMultipartUpload, CreateMultipartUpload, DeleteObject,
    ListParts, PresignError, PutObject, UploadPart, MAX_PARTS, MAX_PUT_BYTES, PART_BYTES, PART_NUMBERS,
};
use crate::upload_id::UploadTicket;
use crate::upload_token::{self, TokenError};

/// How long the parts of a multipart upload may be signed after it was created: a week, S3's
/// longest URL lifetime and the usual lifecycle rule for abandoned uploads.
const MULTIPART_TICKET_MS: i64 = 7 * 24 * 3600 * 1000;
/// Most part URLs one `batch` request may ask for.
const MAX_BATCH_PARTS: usize = 1000;

/// Serves `…/s3/{rest}`; `path_token` is the upload token of the 6.x companion-mode endpoint.
pub(super) async fn route<R: Runtime>(
    rt: &R,
    req: &Request<Bytes>,
    path_token: Option<&str>,
    rest: &[&str],
    deferred: &mut Vec<Deferred>,
) -> Result<Response<Bytes>, ApiError> {
    let method = req.method().clone();
    let caller = || match path_token {
        Some(token) => token_caller(rt, token),
        None => auth::caller(rt, req),
    };
    match (rest, method) {
        (["params"], Method::GET) => params(rt, req, &caller()?, deferred).await,
        (["multipart"], Method::POST) => create(rt, req, &caller()?, deferred).await,
        (["multipart", id], Method::GET) => list(rt, req, &caller()?, id, deferred).await,
        (["multipart", id], Method::DELETE) => abort(rt, req, &caller()?, id, deferred).await,
        (["multipart", id, "batch"], Method::GET) => batch(rt, req, &caller()?, id, deferred).await,
        (["multipart", id, "complete"], Method::POST) => complete(rt, req, &caller()?, id, deferred).await,
        (["multipart", id, number], Method::GET) => sign_part(rt, req, &caller()?, id, number, deferred).await,
        (["presign"], Method::POST) => presign(rt, req, &caller()?, deferred).await,
        (["params" | "multipart" | "presign", ..], _) => Err(ApiError::MethodNotAllowed("GET, POST, DELETE")),
        _ => Err(ApiError::NotFound),
    }
}

/// The caller named by an upload token in the path. API keys are refused here: a URL ends up in
/// logs and browser history, a short-lived token is meant to.
fn token_caller<R: Runtime>(rt: &R, token: &str) -> Result<Caller, ApiError> {
    if !upload_token::looks_like_token(token) {
        return Err(ApiError::InvalidCredentials);
    }
    let secret = rt.config().upload_tokens.as_ref().ok_or(ApiError::InvalidCredentials)?;
    match upload_token::verify(secret, token, rt.now_ms()) {
        Ok(claims) => Ok(Caller::Token(claims)),
        Err(TokenError::Expired) => Err(ApiError::ExpiredToken),
        Err(_) => Err(ApiError::InvalidCredentials),
    }
}

/// The largest object this scope may upload: the project's limit, capped by the deployment's
/// (never above S3's 5 GiB). A form upload's POST policy signs it, so S3 itself enforces it.
fn upload_size_limit<R: Runtime>(rt: &R, scope: &Authorized) -> u64 {
    scope.upload_limit(rt.config().max_upload_bytes.min(MAX_PUT_BYTES))
}

/// The highest part number a multipart upload within `limit` bytes can need. Every part but the
/// last holds at least 5 MiB, so parts numbered from 1 — as clients number them — reach at most
/// `limit / 5 MiB + 1`. A URL for a higher number is refused: that part could only belong to an
/// object over the limit. (A client that skips numbers is refused sooner than it need be; the
/// size itself is checked when the upload completes.)
fn max_part_number(limit: u64) -> u16 {
    let fits = limit / PART_BYTES.start() + 1;
    u16::try_from(fits).unwrap_or(MAX_PARTS).min(MAX_PARTS)
}

/// Refuses part `number` of an upload within `limit` bytes when no such upload has that part.
fn check_part_fits(number: u16, limit: u64) -> Result<(), ApiError> {
    if number > max_part_number(limit) {
        return Err(ApiError::FileTooLarge(limit));
    }
    Ok(())
}

/// The caller's scope for `op`, in the tenant its token is bound to (if any).
async fn scope_for<R: Runtime>(
    rt: &R,
    caller: &Caller,
    op: Operation,
    deferred: &mut Vec<Deferred>,
) -> Result<(Authorized, i64), ApiError> {
    caller.check(op)?;
    let tenant = caller.tenant(None)?;
    match auth::authorize(rt, caller, op, tenant, deferred).await {
        // Uppy's requests cannot name a tenant: here it comes only from a token bound to one.
        Err(ApiError::Scope(ScopeError::TenantRequired)) => Err(ApiError::bad_request(
            "tenant_required",
            "this project is multi-tenant: use an upload token bound to a tenant (POST /v1/tokens with \"tenant\")",
        )),
        answer => answer,
    }
}

/// A new upload's row id, object key and the file name to record, for a client's file name.
fn new_object<R: Runtime>(rt: &R, scope: &Authorized, filename: &str) -> Result<(String, String), ApiError> {
    let safe = validate_filename(filename)?;
    let row_id = new_id(rt)?;
    let key = scope
        .prefix
        .object_key(&row_id, &safe, rt.config().max_object_key_bytes)?;
    Ok((row_id, key))
}

/// Records the upload after the response (its id carries the record, so nothing is lost if this
/// write is).
fn record(ticket: &UploadTicket, filename: &str, metadata: Option<Value>, deferred: &mut Vec<Deferred>) {
    let filename: String = filename.chars().filter(|c| !c.is_control()).collect();
    deferred.push(Deferred::RecordUpload(Box::new(PendingUpload {
        ticket: ticket.clone(),
        filename: filename.trim().to_owned(),
        metadata,
    })));
}

fn ticket_for(
    scope: &Authorized,
    row_id: String,
    key: String,
    content_type: Option<&str>,
    now_ms: i64,
) -> UploadTicket {
    UploadTicket {
        row_id,
        project_id: scope.project_id.clone(),
        tenant_id: scope.tenant_id.clone(),
        key_id: scope.key_id.clone(),
        bucket_id: scope.bucket.id.clone(),
        object_key: key,
        size: None,
        content_type: content_type.map(str::to_owned),
        created_at_ms: now_ms,
        expires_at_ms: now_ms,
        s3_upload_id: None,
    }
}

fn content_type(raw: Option<&str>) -> Result<Option<&str>, ApiError> {
    raw.map(str::trim)
        .filter(|t| !t.is_empty())
        .map(validate_content_type)
        .transpose()
}

/// `metadata[name]=value` query parameters (Uppy's form), or a JSON object, kept with the upload.
fn metadata_from_query(query: &[(String, String)]) -> Option<Value> {
    let map: Map<String, Value> = query
        .iter()
        .filter_map(|(n, v)| {
            let name = n.strip_prefix("metadata[")?.strip_suffix(']')?;
            Some((name.to_owned(), Value::String(v.clone())))
        })
        .collect();
    (!map.is_empty()).then_some(Value::Object(map))
}

fn check_metadata(metadata: Option<&Value>) -> Result<(), ApiError> {
    const MAX_METADATA_BYTES: usize = 8 * 1024;
    if metadata.is_some_and(|m| m.to_string().len() > MAX_METADATA_BYTES) {
        return Err(ApiError::bad_request(
            "invalid_metadata",
            format!("metadata is larger than {MAX_METADATA_BYTES} bytes"),
        ));
    }
    Ok(())
}

/// `GET s3/params?filename=&type=`: a POST policy for one new object (S3 enforces the size range
/// and the content type); on R2, which has no form uploads, a presigned PUT.
async fn params<R: Runtime>(
    rt: &R,
    req: &Request<Bytes>,
    caller: &Caller,
    deferred: &mut Vec<Deferred>,
) -> Result<Response<Bytes>, ApiError> {
    let query = Query::of(req);
    let filename = query.exact("filename").unwrap_or_default();
    let content_type = content_type(query.exact("type"))?;
    let metadata = metadata_from_query(query.pairs());
    check_metadata(metadata.as_ref())?;
    let expiry = signing::expiry(rt, None)?;
    let (scope, now_ms) = scope_for(rt, caller, Operation::Upload, deferred).await?;
    limits::charge_key(rt, &scope).await?;
    let (row_id, key) = new_object(rt, &scope, filename)?;
    let signable = signing::signable(rt, &scope.bucket)?;
    let mut ticket = ticket_for(&scope, row_id, key, content_type, now_ms);
    ticket.expires_at_ms = now_ms + i64::from(expiry.as_secs()) * 1000;
    let key = ticket.object_key.as_str();
    let mut answer = if scope.bucket.provider == crate::provider::Provider::R2 {
        let mut put = PutObject::new(&signable.bucket, &signable.credentials, key);
        if let Some(ct) = content_type {
            put = put.content_type(ct);
        }
        let presigned = signing::sign(rt, &put, now_ms, expiry)?;
        let headers: Map<String, Value> = presigned.headers.into_iter().map(|(n, v)| (n, v.into())).collect();
        // Uppy 5 reads the key from `fields.key`; it sends no fields with a PUT.
        json!({ "method": "PUT", "url": presigned.url, "fields": { "key": key }, "headers": headers })
    } else {
        let mut policy = PostPolicy::new(&signable.bucket, &signable.credentials, PolicyKey::exact(key))
            .content_length_range(0, upload_size_limit(rt, &scope))
            .success_action_status(201);
        if let Some(ct) = content_type {
            policy = policy.content_type(ct);
        }
        let post = signing::sign(rt, &policy, now_ms, expiry)?;
        let fields: Map<String, Value> = post.fields.into_iter().map(|(n, v)| (n, v.into())).collect();
        json!({ "method": "POST", "url": post.url, "fields": fields })
    };
    answer["expires"] = expiry.as_secs().into();
    // Not part of Companion's answer (Uppy ignores it): completing this id records the `File`.
    answer["uploadId"] = ticket.encode(&rt.config().upload_ids).into();
    record(&ticket, filename, metadata, deferred);
    Ok(json::ok(StatusCode::OK, &answer))
}

/// The body of `POST s3/multipart`.
#[derive(Debug, Deserialize)]
struct NewMultipart {
    filename: String,
    #[serde(rename = "type")]
    content_type: Option<String>,
    metadata: Option<Map<String, Value>>,
    /// The whole file's size, when the client tells it: over the limit, nothing is created.
    size: Option<u64>,
}

/// `POST s3/multipart`: starts the S3 multipart upload with the service's own signed request and
/// answers `{key, uploadId, bucket}`; `uploadId` is a ticket carrying S3's id.
async fn create<R: Runtime>(
    rt: &R,
    req: &Request<Bytes>,
    caller: &Caller,
    deferred: &mut Vec<Deferred>,
) -> Result<Response<Bytes>, ApiError> {
    let body: NewMultipart = json::parse(req)?;
    let content_type = content_type(body.content_type.as_deref())?;
    let metadata = body.metadata.map(Value::Object);
    check_metadata(metadata.as_ref())?;
    let (scope, now_ms) = scope_for(rt, caller, Operation::Upload, deferred).await?;
    let limit = upload_size_limit(rt, &scope);
    if body.size.is_some_and(|s| s > limit) {
        return Err(ApiError::FileTooLarge(limit));
    }
    limits::charge_key(rt, &scope).await?;
    let (row_id, key) = new_object(rt, &scope, &body.filename)?;
    let signable = signing::signable(rt, &scope.bucket)?;
    let mut create = CreateMultipartUpload::new(&signable.bucket, &signable.credentials, &key);
    if let Some(ct) = content_type {
        create = create.content_type(ct);
    }
    let s3_upload_id = multipart::create(rt, &create, now_ms).await?;
    let mut ticket = ticket_for(&scope, row_id, key.clone(), content_type, now_ms);
    ticket.expires_at_ms = now_ms + MULTIPART_TICKET_MS;
    ticket.s3_upload_id = Some(s3_upload_id);
    // A declared size is held to at completion, as `/v1/uploads` holds it.
    ticket.size = body.size;
    let upload_id = ticket.encode(&rt.config().upload_ids);
    record(&ticket, &body.filename, metadata, deferred);
    Ok(json::ok(
        StatusCode::OK,
        &json!({ "key": key, "uploadId": upload_id, "bucket": signable.bucket.name() }),
    ))
}

/// A multipart upload this caller may act on: the ticket is authentic, names the caller's
/// project, tenant and bucket, and the `key` the client sent. Anything else is "no such upload".
async fn own_upload<R: Runtime>(
    rt: &R,
    req: &Request<Bytes>,
    caller: &Caller,
    op: Operation,
    upload_id: &str,
    deferred: &mut Vec<Deferred>,
) -> Result<(Authorized, UploadTicket, i64), ApiError> {
    let ticket = UploadTicket::decode(upload_id, &rt.config().upload_ids).map_err(|_| ApiError::UploadNotFound)?;
    let query = Query::of(req);
    let (scope, now_ms) = scope_for(rt, caller, op, deferred).await?;
    let same_place = ticket.project_id == scope.project_id
        && ticket.tenant_id == scope.tenant_id
        && ticket.bucket_id == scope.bucket.id
        && ticket.s3_upload_id.is_some()
        && query.exact("key") == Some(ticket.object_key.as_str());
    if !same_place {
        return Err(ApiError::UploadNotFound);
    }
    Ok((scope, ticket, now_ms))
}

/// S3's upload id of a ticket [`own_upload`] accepted.
fn s3_id(ticket: &UploadTicket) -> &str {
    ticket.s3_upload_id.as_deref().unwrap_or_default()
}

fn part_number(raw: &str) -> Result<u16, ApiError> {
    raw.trim()
        .parse::<u16>()
        .ok()
        .filter(|n| PART_NUMBERS.contains(n))
        .ok_or_else(|| ApiError::bad_request("invalid_part_number", "part numbers are 1 to 10000"))
}

/// Whether the ticket still allows new parts.
fn check_open(ticket: &UploadTicket, now_ms: i64) -> Result<(), ApiError> {
    if now_ms > ticket.expires_at_ms {
        return Err(ApiError::conflict(
            "upload_expired",
            "this multipart upload is too old to add parts to; start a new one",
        ));
    }
    Ok(())
}

/// `GET s3/multipart/{uploadId}/{partNumber}?key=`: `{url, expires}` for one part.
async fn sign_part<R: Runtime>(
    rt: &R,
    req: &Request<Bytes>,
    caller: &Caller,
    upload_id: &str,
    number: &str,
    deferred: &mut Vec<Deferred>,
) -> Result<Response<Bytes>, ApiError> {
    let number = part_number(number)?;
    let expiry = signing::expiry(rt, None)?;
    let (scope, ticket, now_ms) = own_upload(rt, req, caller, Operation::Upload, upload_id, deferred).await?;
    check_open(&ticket, now_ms)?;
    check_part_fits(number, upload_size_limit(rt, &scope))?;
    let signable = signing::signable(rt, &scope.bucket)?;
    let part = UploadPart::new(
        &signable.bucket,
        &signable.credentials,
        &ticket.object_key,
        number,
        s3_id(&ticket),
    );
    let presigned = signing::sign(rt, &part, now_ms, expiry)?;
    Ok(json::ok(
        StatusCode::OK,
        &json!({ "url": presigned.url, "expires": expiry.as_secs() }),
    ))
}

/// `GET s3/multipart/{uploadId}/batch?key=&partNumbers=1,2`: `{presignedUrls: {"1": url, …}}`.
async fn batch<R: Runtime>(
    rt: &R,
    req: &Request<Bytes>,
    caller: &Caller,
    upload_id: &str,
    deferred: &mut Vec<Deferred>,
) -> Result<Response<Bytes>, ApiError> {
    let query = Query::of(req);
    let numbers = query.exact("partNumbers").unwrap_or_default();
    let numbers: Vec<u16> = numbers
        .split(',')
        .filter(|n| !n.trim().is_empty())
        .map(part_number)
        .collect::<Result<_, _>>()?;
    if numbers.is_empty() || numbers.len() > MAX_BATCH_PARTS {
        return Err(ApiError::bad_request(
            "invalid_part_number",
            format!("partNumbers must list 1 to {MAX_BATCH_PARTS} part numbers"),
        ));
    }
    let expiry = signing::expiry(rt, None)?;
    let (scope, ticket, now_ms) = own_upload(rt, req, caller, Operation::Upload, upload_id, deferred).await?;
    check_open(&ticket, now_ms)?;
    let limit = upload_size_limit(rt, &scope);
    for number in &numbers {
        check_part_fits(*number, limit)?;
    }
    let signable = signing::signable(rt, &scope.bucket)?;
    let mut urls = BTreeMap::new();
    for number in numbers {
        let part = UploadPart::new(
            &signable.bucket,
            &signable.credentials,
            &ticket.object_key,
            number,
            s3_id(&ticket),
        );
        urls.insert(number.to_string(), signing::sign(rt, &part, now_ms, expiry)?.url);
    }
    Ok(json::ok(StatusCode::OK, &json!({ "presignedUrls": urls })))
}

/// `GET s3/multipart/{uploadId}?key=`: the parts uploaded so far, as S3 names them.
async fn list<R: Runtime>(
    rt: &R,
    req: &Request<Bytes>,
    caller: &Caller,
    upload_id: &str,
    deferred: &mut Vec<Deferred>,
) -> Result<Response<Bytes>, ApiError> {
    let (scope, ticket, now_ms) = own_upload(rt, req, caller, Operation::Upload, upload_id, deferred).await?;
    let signable = signing::signable(rt, &scope.bucket)?;
    let first = ListParts::new(
        &signable.bucket,
        &signable.credentials,
        &ticket.object_key,
        s3_id(&ticket),
    );
    let parts = multipart::list(rt, first, now_ms).await?;
    let parts: Vec<Value> = parts
        .into_iter()
        .map(|p| json!({ "PartNumber": p.number, "ETag": p.etag, "Size": p.size, "LastModified": p.last_modified }))
        .collect();
    Ok(json::ok(StatusCode::OK, &Value::Array(parts)))
}

/// The body of `POST s3/multipart/{uploadId}/complete`.
#[derive(Debug, Deserialize)]
struct Completion {
    parts: Vec<CompletedPart>,
}

#[derive(Debug, Deserialize)]
struct CompletedPart {
    #[serde(rename = "PartNumber")]
    number: u32,
    #[serde(rename = "ETag")]
    etag: String,
}

/// `POST s3/multipart/{uploadId}/complete?key=`: assembles the parts in S3, checks the object and
/// records its `File` once; answers `{location, key, bucket}`.
async fn complete<R: Runtime>(
    rt: &R,
    req: &Request<Bytes>,
    caller: &Caller,
    upload_id: &str,
    deferred: &mut Vec<Deferred>,
) -> Result<Response<Bytes>, ApiError> {
    let body: Completion = json::parse(req)?;
    let parts = body
        .parts
        .iter()
        .map(|p| {
            Ok((
                u16::try_from(p.number).map_err(|_| part_error(PresignError::InvalidPartNumber(0)))?,
                p.etag.as_str(),
            ))
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let xml = complete_multipart_body(&parts).map_err(part_error)?;
    let (scope, ticket, _) = own_upload(rt, req, caller, Operation::Complete, upload_id, deferred).await?;
    let file = uploads::complete_upload(rt, caller, upload_id, None, Some(xml), deferred).await?;
    let signable = signing::signable(rt, &scope.bucket)?;
    Ok(json::ok(
        StatusCode::OK,
        &json!({
            "location": signable.bucket.object_url(&ticket.object_key),
            "key": file.path,
            "bucket": signable.bucket.name(),
            "fileId": file.id,
        }),
    ))
}

fn part_error(e: PresignError) -> ApiError {
    match e {
        PresignError::InvalidPartNumber(_) => {
            ApiError::bad_request("invalid_part_number", "part numbers are 1 to 10000")
        }
        other => ApiError::bad_request("invalid_parts", other.to_string()),
    }
}

/// `DELETE s3/multipart/{uploadId}?key=`: aborts in S3 and marks the upload `aborted`.
async fn abort<R: Runtime>(
    rt: &R,
    req: &Request<Bytes>,
    caller: &Caller,
    upload_id: &str,
    deferred: &mut Vec<Deferred>,
) -> Result<Response<Bytes>, ApiError> {
    let (scope, ticket, now_ms) = own_upload(rt, req, caller, Operation::Upload, upload_id, deferred).await?;
    let signable = signing::signable(rt, &scope.bucket)?;
    let (bucket, creds, key) = (&signable.bucket, &signable.credentials, ticket.object_key.as_str());
    let action = AbortMultipartUpload::new(bucket, creds, key, s3_id(&ticket));
    multipart::abort(rt, &action, &ListParts::new(bucket, creds, key, s3_id(&ticket)), now_ms).await?;
    let db = rt.db().await?;
    let mut was = crate::store::abort_upload(db, &ticket.row_id).await?;
    if was.is_none() {
        // Aborted before its deferred row landed: record it, then mark it.
        let name = ticket.object_key.rsplit('/').next().unwrap_or_default();
        crate::store::insert_uploads(db, &[super::upload_row(&ticket, name, None)]).await?;
        was = crate::store::abort_upload(db, &ticket.row_id).await?;
    }
    match was.as_deref() {
        Some("initiated" | "aborted") => Ok(json::ok(StatusCode::OK, &json!({}))),
        Some(status) => Err(ApiError::conflict(
            "upload_not_pending",
            format!("the upload is {status}, not pending"),
        )),
        None => Err(ApiError::UploadNotFound),
    }
}

/// The body of `POST s3/presign` (Uppy 6 `signRequest`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SignRequest {
    method: String,
    key: String,
    upload_id: Option<String>,
    part_number: Option<u32>,
    expires_in: Option<u32>,
}

/// `POST s3/presign {method, key, uploadId?, partNumber?, expiresIn?}` → `{url}`: one S3 request
/// for a client that talks to S3 itself and picks its keys, which must lie inside the caller's
/// prefix. Only `host` is signed: the browser sends its own `Content-Type`.
async fn presign<R: Runtime>(
    rt: &R,
    req: &Request<Bytes>,
    caller: &Caller,
    deferred: &mut Vec<Deferred>,
) -> Result<Response<Bytes>, ApiError> {
    let body: SignRequest = json::parse(req)?;
    let expiry = signing::expiry(rt, body.expires_in)?;
    let method = body.method.to_ascii_uppercase();
    let upload_id = body.upload_id.as_deref().filter(|id| !id.is_empty());
    let op =
        match (method.as_str(), upload_id) {
            ("DELETE", None) => Operation::Delete,
            ("POST", Some(_)) => Operation::Complete,
            ("PUT" | "POST", _) | ("DELETE" | "GET", Some(_)) => Operation::Upload,
            _ => return Err(ApiError::bad_request(
                "unsupported_request",
                "signRequest signs PUT, POST and DELETE on an object, and GET, PUT, POST and DELETE with an uploadId",
            )),
        };
    let (scope, now_ms) = scope_for(rt, caller, op, deferred).await?;
    let key = scope
        .prefix
        .check_key(&body.key)
        .map_err(crate::scope::ScopeError::Key)?;
    // A new object (a PUT, or a multipart upload started) counts as one upload; the parts of an
    // upload, and finishing or abandoning it, count nothing.
    if upload_id.is_none() && matches!(method.as_str(), "PUT" | "POST") {
        limits::charge_key(rt, &scope).await?;
    }
    let signable = signing::signable(rt, &scope.bucket)?;
    let (bucket, creds) = (&signable.bucket, &signable.credentials);
    let presigned = match (method.as_str(), upload_id, body.part_number) {
        ("PUT", None, _) => signing::sign(rt, &PutObject::new(bucket, creds, key), now_ms, expiry)?,
        ("PUT", Some(id), Some(n)) => {
            let n = u16::try_from(n).map_err(|_| part_error(PresignError::InvalidPartNumber(0)))?;
            let n = part_number(&n.to_string())?;
            check_part_fits(n, upload_size_limit(rt, &scope))?;
            signing::sign(rt, &UploadPart::new(bucket, creds, key, n, id), now_ms, expiry)?
        }
        ("PUT", Some(_), None) => {
            return Err(ApiError::bad_request(
                "invalid_part_number",
                "an UploadPart needs a partNumber",
            ))
        }
        ("POST", None, _) => signing::sign(rt, &CreateMultipartUpload::new(bucket, creds, key), now_ms, expiry)?,
        ("POST", Some(id), _) => signing::sign(
            rt,
            &CompleteMultipartUpload::new(bucket, creds, key, id),
            now_ms,
            expiry,
        )?,
        ("GET", Some(id), _) => signing::sign(rt, &ListParts::new(bucket, creds, key, id), now_ms, expiry)?,
        ("DELETE", Some(id), _) => {
            signing::sign(rt, &AbortMultipartUpload::new(bucket, creds, key, id), now_ms, expiry)?
        }
        _ => signing::sign(rt, &DeleteObject::new(bucket, creds, key), now_ms, expiry)?,
    };
    Ok(json::ok(
        StatusCode::OK,
        &json!({ "url": presigned.url, "method": presigned.method.as_str(), "expires": expiry.as_secs() }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_numbers_are_bounded_by_the_limit() {
        const MIB: u64 = 1024 * 1024;
        // Under 5 MiB the whole file is the last (and only) part.
        assert_eq!(max_part_number(1), 1);
        assert_eq!(max_part_number(5 * MIB - 1), 1);
        // From 5 MiB on, each further 5 MiB allows one more part.
        assert_eq!(max_part_number(5 * MIB), 2);
        assert_eq!(max_part_number(100 * MIB), 21);
        assert_eq!(max_part_number(MAX_PUT_BYTES), 1025);
        assert_eq!(max_part_number(u64::MAX), MAX_PARTS);
        assert!(check_part_fits(2, 5 * MIB - 1).is_err_and(|e| e.code() == "file_too_large"));
        assert!(check_part_fits(1, 5 * MIB - 1).is_ok());
    }
}
