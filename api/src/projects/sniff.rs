//! An upload's first bytes must agree with the content type it declares (magic bytes),
//! so a page of HTML or a script cannot be stored as `image/png` and served back as one.

/// How many leading bytes the check reads (enough for every signature `infer` knows).
pub const HEAD_BYTES: usize = 8192;

/// Whether `head` (the first bytes of a file, or all of a shorter file) may be stored
/// under `declared`. Images, PDF and archives must carry their signature; text must be
/// UTF-8 without NUL bytes and without a binary signature (nor, for a text type other
/// than `text/plain`, another text type's); a type the check does not
/// know (one an operator added to `FILES_ALLOWED_TYPES`) must at least not be
/// recognisably something else's.
pub fn agrees(declared: &str, head: &[u8]) -> bool {
    let found = infer::get(head).map(|kind| kind.mime_type());
    match declared {
        "application/zip" => head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06"),
        "image/png" | "image/jpeg" | "image/gif" | "image/webp" | "application/pdf" => {
            found == Some(declared)
        }
        // Any text is plain text (HTML included: it is served back as `text/plain`
        // with `nosniff`), but a binary signature is not.
        "text/plain" => found.is_none_or(|found| found.starts_with("text/")) && is_text(head),
        text if text.starts_with("text/") => {
            found.is_none_or(|found| found == text) && is_text(head)
        }
        other => found.is_none_or(|found| found == other),
    }
}

fn is_text(head: &[u8]) -> bool {
    if head.contains(&0) {
        return false;
    }
    match std::str::from_utf8(head) {
        Ok(_) => true,
        // A character cut by the end of the head is still text.
        Err(error) => error.error_len().is_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::agrees;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

    #[test]
    fn images_must_carry_their_signature() {
        assert!(agrees("image/png", PNG));
        assert!(!agrees("image/png", b"<html><script>alert(1)</script>"));
        assert!(!agrees("image/jpeg", PNG), "a PNG is not a JPEG");
        assert!(agrees("application/pdf", b"%PDF-1.7\n"));
        assert!(!agrees("application/pdf", b"hello"));
        assert!(agrees("application/zip", b"PK\x03\x04rest"));
    }

    #[test]
    fn text_is_utf8_without_a_binary_signature() {
        assert!(agrees("text/plain", "héllo\n".as_bytes()));
        assert!(
            agrees("text/plain", &"é".as_bytes()[..1]),
            "a cut character"
        );
        assert!(!agrees("text/plain", b"a\0b"));
        assert!(!agrees("text/plain", PNG));
        assert!(agrees("text/plain", b"<!doctype html><p>report</p>"));
        assert!(!agrees("text/plain", b"\xff\xfe\xfd ok"));
    }

    #[test]
    fn unknown_types_refuse_only_what_is_recognisably_else() {
        assert!(agrees("application/x-custom", b"whatever"));
        assert!(!agrees("application/x-custom", PNG));
    }
}
