//! How a download is presented: the `response-content-disposition` and `response-content-type`
//! a download URL signs, so that a bucket domain never renders an uploaded page or script.
//!
//! Downloads are attachments named after the object, by default. The edge does not know the
//! stored `Content-Type` without a database or S3 round trip, and the uploader chose it, so the
//! file name decides: names of active types (HTML, SVG, XML, JavaScript) are served as
//! `application/octet-stream`, and `inline` is granted only to names of types a browser shows
//! without running anything (images, PDF, plain text, audio, video), with that type forced.
//! **Invariant:** no IO; same name, same headers.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// How the caller wants the object presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presentation {
    /// Saved as a file (the default).
    Attachment,
    /// Shown in the browser; only for [`inline_type`] names.
    Inline,
}

/// What a download URL signs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadHeaders {
    /// `response-content-disposition`.
    pub disposition: String,
    /// `response-content-type`, when the stored type must be overridden.
    pub content_type: Option<&'static str>,
}

/// The download of an object named `file_name`, presented as asked; `None` when `Inline` is
/// asked for a name whose type is not safe to show inline.
#[must_use]
pub fn download_headers(file_name: &str, presentation: Presentation) -> Option<DownloadHeaders> {
    match presentation {
        Presentation::Attachment => Some(DownloadHeaders {
            disposition: content_disposition("attachment", file_name),
            content_type: is_active(file_name).then_some("application/octet-stream"),
        }),
        Presentation::Inline => inline_type(file_name).map(|ct| DownloadHeaders {
            disposition: content_disposition("inline", file_name),
            content_type: Some(ct),
        }),
    }
}

/// RFC 5987 `attr-char`s stay as they are; everything else is percent-encoded.
const ATTR_CHAR_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

/// `{kind}; filename="…"; filename*=UTF-8''…` (RFC 6266): an ASCII fallback for old clients,
/// and the exact name, percent-encoded, for the rest.
#[must_use]
pub fn content_disposition(kind: &str, file_name: &str) -> String {
    let fallback: String = file_name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let exact = utf8_percent_encode(file_name, ATTR_CHAR_ENCODE);
    format!("{kind}; filename=\"{fallback}\"; filename*=UTF-8''{exact}")
}

/// The lowercase extension of `file_name`, if it has one.
fn extension(file_name: &str) -> Option<String> {
    let (stem, ext) = file_name.rsplit_once('.')?;
    (!stem.is_empty() && !ext.is_empty()).then(|| ext.to_ascii_lowercase())
}

/// Whether a browser could run something in an object of this name, were it served with the
/// type its name suggests (or a type the uploader chose to match).
#[must_use]
pub fn is_active(file_name: &str) -> bool {
    matches!(
        extension(file_name).as_deref(),
        Some(
            "html"
                | "htm"
                | "shtml"
                | "xhtml"
                | "xht"
                | "mht"
                | "mhtml"
                | "svg"
                | "svgz"
                | "xml"
                | "xsl"
                | "xslt"
                | "js"
                | "mjs"
                | "cjs"
                | "swf"
                | "hta"
        )
    )
}

/// The type an object of this name is shown inline as, if it is one a browser shows without
/// running anything.
#[must_use]
pub fn inline_type(file_name: &str) -> Option<&'static str> {
    Some(match extension(file_name)?.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "bmp" => "image/bmp",
        "ico" => "image/x-icon",
        "pdf" => "application/pdf",
        "txt" | "log" | "csv" | "md" => "text/plain; charset=utf-8",
        "mp3" => "audio/mpeg",
        "ogg" | "oga" => "audio/ogg",
        "wav" => "audio/wav",
        "mp4" | "m4v" => "video/mp4",
        "webm" => "video/webm",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispositions_follow_rfc_6266() {
        assert_eq!(
            content_disposition("attachment", "report.pdf"),
            "attachment; filename=\"report.pdf\"; filename*=UTF-8''report.pdf"
        );
        assert_eq!(
            content_disposition("attachment", "naïve \"plan\" €.txt"),
            "attachment; filename=\"na_ve _plan_ _.txt\"; filename*=UTF-8''na%C3%AFve%20%22plan%22%20%E2%82%AC.txt"
        );
        // Nothing in the value can end the parameter or the header.
        let d = content_disposition("attachment", "a\";b\\c;\r\nx: y");
        assert_eq!(d.matches('"').count(), 2, "{d}");
        assert!(!d.contains('\r') && !d.contains('\n'));
    }

    #[test]
    fn active_names_are_never_served_as_themselves() {
        for name in ["x.html", "x.HTM", "a.svg", "feed.xml", "app.js", "m.mjs", "x.xhtml"] {
            let h = download_headers(name, Presentation::Attachment).unwrap();
            assert!(h.disposition.starts_with("attachment;"), "{name}");
            assert_eq!(h.content_type, Some("application/octet-stream"), "{name}");
            assert_eq!(download_headers(name, Presentation::Inline), None, "{name}");
        }
        for name in ["photo.png", "doc.pdf", "notes.txt", "song.mp3", "noext", ".html"] {
            let h = download_headers(name, Presentation::Attachment).unwrap();
            assert_eq!(h.content_type, None, "{name}: the stored type stays");
        }
    }

    #[test]
    fn inline_only_for_passive_types_which_are_forced() {
        let h = download_headers("cat.PNG", Presentation::Inline).unwrap();
        assert_eq!(h.content_type, Some("image/png"));
        assert!(h.disposition.starts_with("inline; filename=\"cat.PNG\""));
        for name in ["archive.zip", "noext", "page.html", "x.svg", "data.json"] {
            assert_eq!(download_headers(name, Presentation::Inline), None, "{name}");
        }
    }
}
