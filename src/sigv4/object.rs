//! Actions on one object (`GetObject`, `HeadObject`, `DeleteObject`, `PutObject`) and on the
//! bucket (`CreateBucket`), and the macros the multipart actions are built with too.

use http::Method;

use super::canonical::{Extras, Request};
use super::{Bucket, Credentials, Expiry, KeyAt, Presign, PresignError, Presigned};

/// Defines a presigned action on one object: `new` (the object key, then each `$field`),
/// `query` and `presign`. The parameters the action adds itself come from its [`Subresource`].
macro_rules! object_action {
    ($(#[$doc:meta])* $name:ident, $method:ident $(, $field:ident: $ty:ty)*) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name<'a> {
            bucket: &'a $crate::sigv4::Bucket,
            credentials: &'a $crate::sigv4::Credentials,
            object_key: &'a str,
            $($field: $ty,)*
            extras: $crate::sigv4::canonical::Extras,
        }

        impl<'a> $name<'a> {
            /// The action on `object_key` in `bucket`, signed for `credentials`.
            #[must_use]
            pub fn new(
                bucket: &'a $crate::sigv4::Bucket,
                credentials: &'a $crate::sigv4::Credentials,
                object_key: &'a str,
                $($field: $ty,)*
            ) -> Self {
                Self {
                    bucket,
                    credentials,
                    object_key,
                    $($field,)*
                    extras: $crate::sigv4::canonical::Extras::default(),
                }
            }

            /// Adds a signed query parameter (e.g. `response-content-disposition`);
            /// an empty value gives a valueless `name=`.
            #[must_use]
            pub fn query(mut self, name: &str, value: &str) -> Self {
                self.extras.query.push((name.to_owned(), value.to_owned()));
                self
            }
        }

        impl $crate::sigv4::Presign for $name<'_> {
            type Signed = $crate::sigv4::Presigned;
            type Error = $crate::sigv4::PresignError;

            fn bucket(&self) -> &$crate::sigv4::Bucket {
                self.bucket
            }

            fn credentials(&self) -> &$crate::sigv4::Credentials {
                self.credentials
            }

            /// # Errors
            ///
            /// [`PresignError::InvalidObjectKey`], [`PresignError::InvalidQueryParam`],
            /// [`PresignError::InvalidHeader`], or (for an [`UploadPart`]) [`PresignError::InvalidPartNumber`].
            fn sign_with(
                &self,
                key: $crate::sigv4::KeyAt<'_>,
                expires: $crate::sigv4::Expiry,
            ) -> Result<$crate::sigv4::Presigned, $crate::sigv4::PresignError> {
                $crate::sigv4::canonical::validate_object_key(self.object_key)?;
                let subresource = $crate::sigv4::object::Subresource::subresource(self)?;
                let request = $crate::sigv4::canonical::Request {
                    method: http::Method::$method,
                    bucket: self.bucket,
                    credentials: self.credentials,
                    object_key: self.object_key,
                    subresource: &subresource,
                    extras: &self.extras,
                };
                request.presign(key.key, key.at, expires)
            }
        }
    };
}

/// The query parameters that select what an action does to its object (`uploads`,
/// `uploadId`, ...). They are signed like any other, and [`Extras`] may not repeat them.
pub(super) trait Subresource {
    fn subresource(&self) -> Result<Vec<(&'static str, String)>, PresignError> {
        Ok(Vec::new())
    }
}

/// Adds `header`, and the named shorthands for it, to an action whose request carries
/// headers the client must then send exactly.
macro_rules! signed_header_builders {
    ($name:ident: $($shorthand:ident),*) => {
        impl $name<'_> {
            $(signed_header_builders!(@$shorthand);)*

            /// Signs any other header (`content-md5`, `x-amz-meta-*`, ...) that the request
            /// must then send with this value. Setting a name again replaces its value.
            #[must_use]
            pub fn header(mut self, name: &str, value: &str) -> Self {
                self.extras.headers.insert(name.to_ascii_lowercase(), value.to_owned());
                self
            }
        }
    };
    (@content_type) => {
        /// Signs `content-type`: the request must send exactly this value.
        #[must_use]
        pub fn content_type(self, content_type: &str) -> Self {
            self.header("content-type", content_type)
        }
    };
    (@if_none_match) => {
        /// Signs `if-none-match` (`*`: only if no object has this key, so the URL cannot replace
        /// one; S3 and R2 answer 412 otherwise). The request must send it.
        #[must_use]
        pub fn if_none_match(self, value: &str) -> Self {
            self.header("if-none-match", value)
        }
    };
    (@content_length) => {
        /// Signs `content-length`: the body must be exactly this many bytes.
        #[must_use]
        pub fn content_length(self, length: u64) -> Self {
            self.header("content-length", &length.to_string())
        }
    };
}

object_action!(
    /// Presigned `GetObject`: download an object.
    GetObject, GET
);
object_action!(
    /// Presigned `HeadObject`: read an object's metadata.
    HeadObject, HEAD
);
object_action!(
    /// Presigned `DeleteObject`: remove an object (S3 answers 204 whether or not it existed).
    DeleteObject, DELETE
);
object_action!(
    /// Presigned `PutObject`: upload a whole object (one part of a multipart upload is
    /// an [`UploadPart`]).
    PutObject, PUT
);
signed_header_builders!(PutObject: content_type, content_length, if_none_match);

impl Subresource for GetObject<'_> {}
impl Subresource for HeadObject<'_> {}
impl Subresource for DeleteObject<'_> {}
impl Subresource for PutObject<'_> {}

/// Defines a presigned action on a whole bucket (the bucket URL, no object key), optionally on
/// one of its subresources (`?cors`).
macro_rules! bucket_action {
    ($(#[$doc:meta])* $name:ident, $method:ident $(, $subresource:literal)?) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name<'a> {
            bucket: &'a Bucket,
            credentials: &'a Credentials,
        }

        impl<'a> $name<'a> {
            /// The action on `bucket`, signed for `credentials`.
            #[must_use]
            pub const fn new(bucket: &'a Bucket, credentials: &'a Credentials) -> Self {
                Self { bucket, credentials }
            }
        }

        impl Presign for $name<'_> {
            type Signed = Presigned;
            type Error = PresignError;

            fn bucket(&self) -> &Bucket {
                self.bucket
            }

            fn credentials(&self) -> &Credentials {
                self.credentials
            }

            fn sign_with(&self, key: KeyAt<'_>, expires: Expiry) -> Result<Presigned, PresignError> {
                let subresource: &[(&str, String)] = &[$(($subresource, String::new()))?];
                let request = Request {
                    method: Method::$method,
                    bucket: self.bucket,
                    credentials: self.credentials,
                    object_key: "",
                    subresource,
                    extras: &Extras::default(),
                };
                request.presign(key.key, key.at, expires)
            }
        }
    };
}
pub(super) use bucket_action;

bucket_action!(
    /// Presigned `CreateBucket`: `PUT` on the bucket URL.
    CreateBucket, PUT
);
bucket_action!(
    /// Presigned `HeadBucket`: `HEAD` on the bucket URL; 200 when the bucket exists and the
    /// credentials may use it.
    HeadBucket, HEAD
);
