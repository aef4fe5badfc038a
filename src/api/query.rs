//! A request's query string, decoded once: what the listing, deletion and Companion routes read
//! their parameters from.

use bytes::Bytes;
use http::Request;

use super::ApiError;

/// The query string's parameters, decoded, in order.
pub(super) struct Query(Vec<(String, String)>);

impl Query {
    pub(super) fn of(req: &Request<Bytes>) -> Self {
        let raw = req.uri().query().unwrap_or_default();
        Self(form_urlencoded::parse(raw.as_bytes()).into_owned().collect())
    }

    /// Every parameter, in order.
    pub(super) fn pairs(&self) -> &[(String, String)] {
        &self.0
    }

    /// The first value named `name`, exactly as sent (empty or not): for values compared as they
    /// are, such as an object key.
    pub(super) fn exact(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The first non-empty value of any of `names`, trimmed.
    pub(super) fn get(&self, names: &[&str]) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, v)| names.contains(&n.as_str()) && !v.trim().is_empty())
            .map(|(_, v)| v.trim())
    }

    /// A whole number from `min` to `max` named `name`, or `default`.
    pub(super) fn number(&self, name: &'static str, default: i64, min: i64, max: i64) -> Result<i64, ApiError> {
        let Some(raw) = self.get(&[name]) else {
            return Ok(default);
        };
        raw.parse::<i64>()
            .ok()
            .filter(|n| (min..=max).contains(n))
            .ok_or_else(|| {
                ApiError::bad_request(
                    "invalid_field",
                    format!("{name} must be a whole number from {min} to {max}"),
                )
            })
    }

    /// The tenant a listing or deletion names (`tenant`, or the SDK's `tenantId`).
    pub(super) fn tenant(&self) -> Option<&str> {
        self.get(&["tenant", "tenantId"])
    }
}

/// The query of a request for `/v1/files?{q}`, for tests.
#[cfg(test)]
pub(super) fn parse_for_test(q: &str) -> Query {
    Query::of(
        &Request::builder()
            .uri(format!("/v1/files?{q}"))
            .body(Bytes::new())
            .unwrap(),
    )
}

#[cfg(test)]
mod tests {
    use super::parse_for_test as query;

    #[test]
    fn limits_are_bounded() {
        assert_eq!(query("").number("limit", 50, 1, 100).unwrap(), 50);
        assert_eq!(query("limit=100").number("limit", 50, 1, 100).unwrap(), 100);
        for bad in ["0", "101", "-1", "ten", "1.5"] {
            assert_eq!(
                query(&format!("limit={bad}"))
                    .number("limit", 50, 1, 100)
                    .unwrap_err()
                    .code(),
                "invalid_field"
            );
        }
    }

    #[test]
    fn query_values_are_decoded() {
        let q = query("tenantId=a%20b&prefix=x%2Fy&tenant=");
        assert_eq!(q.tenant(), Some("a b"));
        assert_eq!(q.get(&["prefix"]), Some("x/y"));
    }

    #[test]
    fn exact_values_are_neither_trimmed_nor_skipped() {
        let q = query("key=&key=b&k2=%20a%20");
        assert_eq!(q.exact("key"), Some(""));
        assert_eq!(q.get(&["key"]), Some("b"));
        assert_eq!(q.exact("k2"), Some(" a "));
        assert_eq!(q.exact("none"), None);
    }
}
