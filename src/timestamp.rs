//! Timestamps on the wire: RFC 3339 in UTC with milliseconds, as JavaScript's `toISOString()`.

/// Formats Unix milliseconds as `2026-11-25T14:18:00.000Z`. Out-of-range values (beyond year
/// 9999) are clamped rather than failing a response.
#[must_use]
pub fn rfc3339(unix_ms: i64) -> String {
    let nanos = i128::from(unix_ms) * 1_000_000;
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(nanos).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_javascript() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_369_353_600_123), "2013-05-24T00:00:00.123Z");
        assert_eq!(rfc3339(1_764_080_280_000), "2025-11-25T14:18:00.000Z");
    }
}
