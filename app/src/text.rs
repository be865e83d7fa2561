//! Text positions: the core speaks byte offsets, a `<textarea>` speaks UTF-16 code units.

/// Converts a byte offset in `text` into a UTF-16 offset (clamped, never panics).
pub fn utf16_offset(text: &str, byte: usize) -> u32 {
    let mut byte = byte.min(text.len());
    while byte > 0 && !text.is_char_boundary(byte) {
        byte -= 1;
    }
    text[..byte].encode_utf16().count() as u32
}

/// Converts a UTF-16 offset (a `<textarea>`'s selection) into a byte offset of `text`
/// (clamped to its end).
pub fn byte_offset(text: &str, utf16: u32) -> usize {
    // ASCII up to there (YAML almost always is): units are bytes.
    let n = (utf16 as usize).min(text.len());
    if text.as_bytes()[..n].is_ascii() {
        return n;
    }
    let mut units = 0u32;
    for (byte, c) in text.char_indices() {
        if units >= utf16 {
            return byte;
        }
        units += c.len_utf16() as u32;
    }
    text.len()
}

/// Number of lines (a trailing newline starts a new, empty line, as editors show it).
pub fn line_count(text: &str) -> usize {
    // `matches` on a char searches with memchr, much faster than a byte loop in the
    // size-optimised wasm.
    text.matches('\n').count() + 1
}

/// 1-based line of a byte offset.
pub fn line_of(text: &str, byte: usize) -> usize {
    let byte = byte.min(text.len());
    text.as_bytes()[..byte]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets() {
        let t = "é✓\n𝄞x";
        assert_eq!(utf16_offset(t, 0), 0);
        assert_eq!(utf16_offset(t, 2), 1); // after é (2 bytes, 1 unit)
        assert_eq!(utf16_offset(t, 3), 1); // mid-character clamps down
        assert_eq!(utf16_offset(t, 6), 3);
        assert_eq!(utf16_offset(t, 10), 5); // 𝄞 is two units
        assert_eq!(utf16_offset(t, 11), 6);
        assert_eq!(utf16_offset(t, 999), 6);
        assert_eq!(line_count(t), 2);
        for byte in [0, 2, 6, 10, 11] {
            assert_eq!(byte_offset(t, utf16_offset(t, byte)), byte);
        }
        assert_eq!(byte_offset(t, 999), t.len());
        assert_eq!(line_count("a\n"), 2);
        assert_eq!(line_count(""), 1);
        assert_eq!(line_of(t, 7), 2);
        assert_eq!(line_of(t, 0), 1);
    }
}
