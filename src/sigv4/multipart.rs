//! The multipart upload's steps: create, upload a part, list, complete (with its XML body) and
//! abort.

use super::object::Subresource;
use super::{valid_part_number, PresignError};

object_action!(
    /// Presigned [`CreateMultipartUpload`][spec]: `POST ?uploads` starts a multipart upload,
    /// answered with XML carrying its `<UploadId>`.
    ///
    /// Content type and metadata (`x-amz-meta-*`) of the final object are set here, not on
    /// the parts; sign `content-type` only if the client sends exactly that value.
    ///
    /// [spec]: https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateMultipartUpload.html
    CreateMultipartUpload, POST
);
signed_header_builders!(CreateMultipartUpload: content_type);

object_action!(
    /// Presigned [`UploadPart`][spec]: `PUT ?partNumber=N&uploadId=ID` uploads part
    /// `part_number` (1..=10000) of upload `upload_id`. S3 answers with the part's `ETag`
    /// header, which [`complete_multipart_body`] needs; every part but the last must be at
    /// least 5 MiB.
    ///
    /// [spec]: https://docs.aws.amazon.com/AmazonS3/latest/API/API_UploadPart.html
    UploadPart, PUT, part_number: u16, upload_id: &'a str
);
signed_header_builders!(UploadPart: content_length);

object_action!(
    /// Presigned [`CompleteMultipartUpload`][spec]: `POST ?uploadId=ID` with the body from
    /// [`complete_multipart_body`] assembles the parts into the object.
    ///
    /// [spec]: https://docs.aws.amazon.com/AmazonS3/latest/API/API_CompleteMultipartUpload.html
    CompleteMultipartUpload, POST, upload_id: &'a str
);
// S3 takes `If-None-Match: *` here as on `PutObject` (its only two conditional writes).
signed_header_builders!(CompleteMultipartUpload: if_none_match);
object_action!(
    /// Presigned [`AbortMultipartUpload`][spec]: `DELETE ?uploadId=ID` discards the upload
    /// and its parts.
    ///
    /// [spec]: https://docs.aws.amazon.com/AmazonS3/latest/API/API_AbortMultipartUpload.html
    AbortMultipartUpload, DELETE, upload_id: &'a str
);
object_action!(
    /// Presigned [`ListParts`][spec]: `GET ?uploadId=ID` lists the parts uploaded so far.
    /// Page with `.query("max-parts", ..)` and `.query("part-number-marker", ..)`.
    ///
    /// [spec]: https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListParts.html
    ListParts, GET, upload_id: &'a str
);

impl Subresource for CreateMultipartUpload<'_> {
    fn subresource(&self) -> Result<Vec<(&'static str, String)>, PresignError> {
        Ok(vec![("uploads", String::new())])
    }
}

impl Subresource for UploadPart<'_> {
    fn subresource(&self) -> Result<Vec<(&'static str, String)>, PresignError> {
        let part_number = valid_part_number(self.part_number)?.to_string();
        Ok(vec![
            ("partNumber", part_number),
            ("uploadId", self.upload_id.to_owned()),
        ])
    }
}

/// Actions on an upload in progress name it by `uploadId` alone.
macro_rules! upload_id_subresource {
    ($($name:ident),*) => {$(
        impl Subresource for $name<'_> {
            fn subresource(&self) -> Result<Vec<(&'static str, String)>, PresignError> {
                Ok(vec![("uploadId", self.upload_id.to_owned())])
            }
        }
    )*};
}
upload_id_subresource!(CompleteMultipartUpload, AbortMultipartUpload, ListParts);

/// The XML body of a [`CompleteMultipartUpload`]: each `(part number, ETag)`, in part-number
/// order whatever the order given, as
/// `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"…"</ETag></Part>…</CompleteMultipartUpload>`.
///
/// ETags go in as given (S3's have their double quotes, which stay): only `&`, `<` and `>`
/// are escaped.
///
/// # Errors
///
/// [`PresignError::InvalidParts`] when `parts` is empty, repeats a part number, or has an
/// ETag with a control character (which XML cannot carry); [`PresignError::InvalidPartNumber`]
/// for a number outside 1..=10000.
pub fn complete_multipart_body(parts: &[(u16, &str)]) -> Result<String, PresignError> {
    if parts.is_empty() {
        return Err(PresignError::InvalidParts("no parts"));
    }
    let mut sorted = parts.to_vec();
    sorted.sort_unstable_by_key(|&(number, _)| number);
    if sorted.windows(2).any(|pair| pair[0].0 == pair[1].0) {
        return Err(PresignError::InvalidParts("a part number is repeated"));
    }
    let mut body = String::from("<CompleteMultipartUpload>");
    for (number, etag) in sorted {
        let number = valid_part_number(number)?;
        if etag.chars().any(char::is_control) {
            return Err(PresignError::InvalidParts("an ETag has a control character"));
        }
        body.push_str("<Part><PartNumber>");
        body.push_str(&number.to_string());
        body.push_str("</PartNumber><ETag>");
        for c in etag.chars() {
            match c {
                '&' => body.push_str("&amp;"),
                '<' => body.push_str("&lt;"),
                '>' => body.push_str("&gt;"),
                c => body.push(c),
            }
        }
        body.push_str("</ETag></Part>");
    }
    body.push_str("</CompleteMultipartUpload>");
    Ok(body)
}
