//! Byte offsets to [`Span`]s with line and column, in O(log n) per span.
//!
//! [`Span::new`] counts lines from the start of the text, which is fine for one diagnostic
//! but quadratic for the hundred thousand objects of a large cluster; this index gives the
//! same spans (same clamping, same line and column rules) from a table of line starts.

use crate::diagnostic::{FileId, Span};

/// Line starts of one text.
pub struct Lines<'t> {
    file: FileId,
    text: &'t str,
    /// Byte offset of the start of every line; `starts[0] == 0`.
    starts: Vec<usize>,
}

impl<'t> Lines<'t> {
    /// Indexes `text`.
    pub fn new(file: FileId, text: &'t str) -> Self {
        let mut starts = vec![0];
        starts.extend(
            text.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i + 1),
        );
        Lines { file, text, starts }
    }

    /// The same span as `Span::new(file, text, start, end)`.
    pub fn span(&self, start: usize, end: usize) -> Span {
        let text = self.text;
        let start = floor(text, start.min(text.len()));
        let end = floor(text, end.clamp(start, text.len()));
        // index of the last line starting at or before `start`
        let line = self.starts.partition_point(|s| *s <= start).max(1) - 1;
        let line_start = self.starts.get(line).copied().unwrap_or(0);
        let column = text[line_start..start].chars().count() + 1;
        Span {
            file: self.file,
            start: start as u32,
            end: end as u32,
            line: line as u32 + 1,
            column: column as u32,
        }
    }
}

fn floor(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_span_new() {
        let text = "a: 1\nbé: 2\r\n\nxyz\n";
        let lines = Lines::new(FileId(2), text);
        for start in 0..text.len() + 3 {
            for end in [0, start, start + 1, text.len() + 5] {
                assert_eq!(
                    lines.span(start, end),
                    Span::new(FileId(2), text, start, end),
                    "{start}..{end}"
                );
            }
        }
    }
}
