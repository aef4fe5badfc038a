//! Headers as one string of `name:value` lines, the form in which the Worker moves a request's
//! head and a response across the wasm boundary (`src/edge.rs`).
//!
//! Why by hand: `web_sys::Headers` is read entry by entry (an iterator step, a JS array and two
//! strings for each header) and written one `append` per header, and every one of those is a call
//! between wasm and JavaScript. On `GET /v1/health` they were about a tenth of the isolate's time
//! (V8's profiler; BENCHMARKS.md, "Per-request glue"). As lines, a head crosses in one call and a
//! response in one. The format is unambiguous because the platform's headers cannot hold it
//! otherwise: a header name is a token (no `:`), and a value never contains a line break.

/// The lines for `headers`, in order; values that are not visible ASCII (which the platform's
/// `Headers` would reject or re-encode) are left out, as before they were.
pub fn write(headers: &http::HeaderMap) -> String {
    let mut lines = String::with_capacity(headers.len() * 48);
    for (name, value) in headers {
        if let Ok(value) = value.to_str() {
            lines.push_str(name.as_str());
            lines.push(':');
            lines.push_str(value);
            lines.push('\n');
        }
    }
    lines
}

/// The `(name, value)` pairs of `lines`. A line without a `:` is not a header and is skipped.
pub fn read(lines: &str) -> impl Iterator<Item = (&str, &str)> {
    lines.split('\n').filter_map(|line| line.split_once(':'))
}

/// A request head as the Worker's JavaScript side writes it: `METHOD URL` on the first line, then
/// the header lines. `None` when the first line is not that.
pub fn read_head(text: &str) -> Option<(&str, &str, &str)> {
    let (first, headers) = text.split_once('\n').unwrap_or((text, ""));
    let (method, url) = first.split_once(' ')?;
    Some((method, url, headers))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{HeaderMap, HeaderValue};

    #[test]
    fn written_lines_read_back_in_order_with_repeats_and_colons_in_values() {
        let mut headers = HeaderMap::new();
        headers.append("content-type", HeaderValue::from_static("application/json"));
        headers.append("vary", HeaderValue::from_static("Origin"));
        headers.append("vary", HeaderValue::from_static("Access-Control-Request-Headers"));
        headers.append(
            "location",
            HeaderValue::from_static("https://s3.example.com:9000/b/k?x=1"),
        );
        let lines = write(&headers);
        let back: Vec<_> = read(&lines).collect();
        assert_eq!(
            back,
            [
                ("content-type", "application/json"),
                ("vary", "Origin"),
                ("vary", "Access-Control-Request-Headers"),
                ("location", "https://s3.example.com:9000/b/k?x=1"),
            ]
        );
    }

    #[test]
    fn values_that_are_not_visible_ascii_are_left_out() {
        let mut headers = HeaderMap::new();
        headers.append("x-ok", HeaderValue::from_static("yes"));
        headers.append(
            "x-latin",
            HeaderValue::from_bytes(b"caf\xe9").unwrap_or(HeaderValue::from_static("")),
        );
        assert_eq!(write(&headers), "x-ok:yes\n");
    }

    #[test]
    fn empty_values_survive() {
        assert_eq!(read("x-empty:\n").collect::<Vec<_>>(), [("x-empty", "")]);
    }

    #[test]
    fn a_head_is_method_url_then_headers() {
        let text = "POST https://edge.example.com/v1/uploads?x=1\nauthorization:Bearer k\nhost:edge.example.com\n";
        let (method, url, headers) = read_head(text).unwrap_or(("", "", ""));
        assert_eq!((method, url), ("POST", "https://edge.example.com/v1/uploads?x=1"));
        assert_eq!(
            read(headers).collect::<Vec<_>>(),
            [("authorization", "Bearer k"), ("host", "edge.example.com")]
        );
        assert_eq!(read_head("GET http://h/\n"), Some(("GET", "http://h/", "")));
        assert_eq!(read_head("no-space-here"), None);
    }
}
