//! Small helpers for the hand-streamed JSON outputs: matrices and connectivity lists are
//! too large to build as `serde_json::Value`s first, so they are written piece by piece.

/// `s` as a JSON string literal, with quotes and escapes.
pub fn string(s: &str) -> String {
    // Serialising a &str cannot fail; the fallback keeps this total anyway.
    serde_json::to_string(s).unwrap_or_else(|_| String::from("\"\""))
}

/// `["a", "b"]` for a list of ids.
pub fn string_array<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = String::from("[");
    for (i, s) in items.into_iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(&string(s));
    }
    out.push(']');
    out
}
