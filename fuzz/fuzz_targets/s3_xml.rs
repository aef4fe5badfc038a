//! The S3 XML reader on arbitrary text: no panic, and what it extracts came from the input.
#![no_main]

use carcosa_edge::s3_xml;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(xml) = std::str::from_utf8(data) else {
        return;
    };
    for name in ["Part", "ETag", "Code", "NextPartNumberMarker"] {
        let all = s3_xml::elements(xml, name);
        assert_eq!(s3_xml::element(xml, name), all.first().cloned());
    }
    let _ = s3_xml::error_code(xml);
    if let Ok(page) = s3_xml::parts_page(xml) {
        // Every part came from a <Part> element of the input.
        assert!(page.parts.len() <= s3_xml::elements(xml, "Part").len());
        assert!(page.parts.iter().all(|p| (1..=10_000).contains(&p.number)));
    }
});
