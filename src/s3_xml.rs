//! Reading S3's XML answers: the few flat elements the service needs (a new multipart upload's
//! `UploadId`, a `ListParts` page, an error's `Code`), without IO.
//!
//! Written by hand rather than with an XML crate: S3's answers here are flat documents of plain
//! text elements, and the Worker bundle should not carry a general XML parser for four fields.
//! Only the five predefined entities and numeric character references are decoded; S3 uses
//! nothing else in these answers.

/// The text of each `<name>…</name>` element in `xml`, in order, entities decoded. Elements with
/// attributes or nested elements of the same name are not expected in these documents.
#[must_use]
pub fn elements(xml: &str, name: &str) -> Vec<String> {
    let (open, close) = (format!("<{name}>"), format!("</{name}>"));
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find(&open) {
        let after = &rest[start + open.len()..];
        let Some(end) = after.find(&close) else { break };
        out.push(unescape(&after[..end]));
        rest = &after[end + close.len()..];
    }
    out
}

/// The first `<name>` element's text, if any.
#[must_use]
pub fn element(xml: &str, name: &str) -> Option<String> {
    elements(xml, name).into_iter().next()
}

/// One part of a multipart upload as `ListParts` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// 1 to 10000.
    pub number: u16,
    /// The part's `ETag`, quotes included, as `CompleteMultipartUpload` wants it back (some
    /// S3-compatible servers leave it out).
    pub etag: Option<String>,
    /// Bytes.
    pub size: u64,
    /// When the part was uploaded (ISO 8601, as S3 wrote it).
    pub last_modified: Option<String>,
}

/// One page of a `ListParts` answer: its parts, and the marker of the next page if it is truncated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartsPage {
    /// The parts on this page.
    pub parts: Vec<Part>,
    /// `NextPartNumberMarker` when `IsTruncated` is true.
    pub next_marker: Option<String>,
}

/// Parses a `ListPartsResult`.
///
/// # Errors
/// A short description when a part lacks its number or size, or its number is outside 1..=10000
/// (the `Part` type promises that range to the callers that sign and complete with it).
pub fn parts_page(xml: &str) -> Result<PartsPage, &'static str> {
    let parts = elements(xml, "Part")
        .iter()
        .map(|part| {
            Ok(Part {
                number: element(part, "PartNumber")
                    .and_then(|n| n.trim().parse().ok())
                    .filter(|n| crate::sigv4::PART_NUMBERS.contains(n))
                    .ok_or("a part without a number from 1 to 10000")?,
                etag: element(part, "ETag"),
                size: element(part, "Size")
                    .and_then(|n| n.trim().parse().ok())
                    .ok_or("a part without a size")?,
                last_modified: element(part, "LastModified"),
            })
        })
        .collect::<Result<Vec<_>, &'static str>>()?;
    let truncated = element(xml, "IsTruncated").is_some_and(|t| t.trim() == "true");
    let next_marker = if truncated {
        Some(element(xml, "NextPartNumberMarker").ok_or("a truncated page without a next marker")?)
    } else {
        None
    };
    Ok(PartsPage { parts, next_marker })
}

/// The `Code` of an `<Error>` document, if `xml` is one.
#[must_use]
pub fn error_code(xml: &str) -> Option<String> {
    xml.contains("<Error>").then(|| element(xml, "Code")).flatten()
}

fn unescape(text: &str) -> String {
    if !text.contains('&') {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp..];
        let Some(semi) = after.find(';') else {
            rest = after;
            break;
        };
        let entity = &after[1..semi];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .map(|hex| u32::from_str_radix(hex, 16))
                .or_else(|| entity.strip_prefix('#').map(str::parse))
                .and_then(Result::ok)
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &after[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &after[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_parts_pages() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<ListPartsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>b</Bucket><Key>k</Key>
<UploadId>abc</UploadId><IsTruncated>true</IsTruncated><NextPartNumberMarker>2</NextPartNumberMarker>
<Part><PartNumber>1</PartNumber><LastModified>2026-12-02T10:00:00.000Z</LastModified>
<ETag>&quot;0123abcd&quot;</ETag><Size>5242880</Size></Part>
<Part><PartNumber>2</PartNumber><ETag>"ef"</ETag><Size>7</Size></Part></ListPartsResult>"#;
        let page = parts_page(xml).unwrap();
        assert_eq!(page.next_marker.as_deref(), Some("2"));
        assert_eq!(
            page.parts,
            [
                Part {
                    number: 1,
                    etag: Some("\"0123abcd\"".into()),
                    size: 5_242_880,
                    last_modified: Some("2026-12-02T10:00:00.000Z".into())
                },
                Part {
                    number: 2,
                    etag: Some("\"ef\"".into()),
                    size: 7,
                    last_modified: None
                },
            ]
        );
        let last = parts_page("<ListPartsResult><IsTruncated>false</IsTruncated></ListPartsResult>").unwrap();
        assert_eq!(
            last,
            PartsPage {
                parts: vec![],
                next_marker: None
            }
        );
        assert!(parts_page("<Part><PartNumber>x</PartNumber></Part>").is_err());
        assert!(parts_page("<IsTruncated>true</IsTruncated>").is_err());
    }

    /// Found by fuzzing (fuzz/fuzz_targets/s3_xml.rs): part number 0 parsed as a u16 and was
    /// passed on, although S3 numbers parts 1 to 10000.
    #[test]
    fn part_numbers_outside_s3s_range_are_refused() {
        for number in ["0", "10001", "65535"] {
            let xml = format!("<Part><PartNumber>{number}</PartNumber><Size>7</Size></Part>");
            assert!(parts_page(&xml).is_err(), "{number}");
        }
        for number in ["1", "10000"] {
            let xml = format!("<Part><PartNumber>{number}</PartNumber><Size>7</Size></Part>");
            assert_eq!(
                parts_page(&xml).map(|p| p.parts[0].number.to_string()),
                Ok(number.to_owned())
            );
        }
    }

    #[test]
    fn errors_and_entities() {
        let xml = "<Error><Code>InvalidPart</Code><Message>a &lt;b&gt; &amp; &#34;c&#x22; &bogus; &</Message></Error>";
        assert_eq!(error_code(xml).as_deref(), Some("InvalidPart"));
        assert_eq!(element(xml, "Message").as_deref(), Some("a <b> & \"c\" &bogus; &"));
        assert_eq!(error_code("<CompleteMultipartUploadResult><Code>x</Code>"), None);
        assert_eq!(
            element("<UploadId>2~a/b+c</UploadId>", "UploadId").as_deref(),
            Some("2~a/b+c")
        );
        assert_eq!(element("<UploadId>unclosed", "UploadId"), None);
    }
}
