//! A window of lines onto a big text. A `<textarea>` lays out every line it holds (seconds
//! for a few MB in Chromium, in one frame), so above [`BIG`] bytes the editor holds only the
//! lines around the view and a spacer stands for the rest; this module is the arithmetic of
//! that window, kept apart from the DOM so it can be tested natively.
//!
//! A window is whole lines `[first, first + lines)`: `text[start..end]`, where `end` stops
//! before the newline that ends its last line (the newline belongs to the text below), so
//! an edit inside the window is spliced back by byte offsets alone.

use crate::text::line_count;

/// Texts longer than this (bytes) are shown a window at a time.
pub const BIG: usize = 512 * 1024;
/// A windowed text shorter than this is shown whole again (a gap, so one keystroke around
/// [`BIG`] does not switch back and forth).
pub const SMALL: usize = 384 * 1024;
/// Lines held above and below the visible ones: scrolling within them moves nothing.
pub const MARGIN: usize = 150;

/// Which lines of the text the editor holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Window {
    /// Byte offset of the first held line.
    pub start: usize,
    /// Byte offset just past the last held line (before its newline, if any).
    pub end: usize,
    /// 0-based index of the first held line.
    pub first: usize,
    /// Number of held lines (at least one).
    pub lines: usize,
    /// Lines in the whole text.
    pub total: usize,
    /// Length of the whole text the window was made for, in bytes.
    pub len: usize,
}

impl Window {
    /// The window of about `count` lines from line `first` (clamped to the text), with
    /// `near` (a window onto the same text) as a starting point for the search, so moving a
    /// window a little costs a little.
    pub fn new(text: &str, first: usize, count: usize, near: Option<&Window>) -> Window {
        let total = match near {
            Some(w) if w.len == text.len() => w.total,
            _ => line_count(text),
        };
        let count = count.max(1).min(total);
        let first = first.min(total - count);
        let start = match near.filter(|w| w.len == text.len()) {
            Some(w) => line_start_from(text, first, w.first, w.start),
            None => line_start_from(text, first, 0, 0),
        };
        let end = nth_newline(text, start, count).unwrap_or(text.len());
        Window {
            start,
            end,
            first,
            lines: count,
            total,
            len: text.len(),
        }
    }

    /// The held lines.
    pub fn slice<'t>(&self, text: &'t str) -> &'t str {
        text.get(self.start..self.end).unwrap_or("")
    }

    /// Lines below the window.
    pub fn below(&self) -> usize {
        self.total.saturating_sub(self.first + self.lines)
    }

    /// Whether this window is onto `text` (same length; edits go through [`Window::splice`]).
    pub fn fits(&self, text: &str) -> bool {
        self.len == text.len() && self.end <= text.len()
    }

    /// Whether the visible lines `[top, top + rows)` lie inside the window with some margin
    /// to spare on each side that has more text beyond it.
    pub fn covers(&self, top: usize, rows: usize) -> bool {
        let spare = MARGIN / 3;
        let above_ok = self.first == 0 || top >= self.first + spare;
        let below_ok = self.below() == 0 || top + rows + spare <= self.first + self.lines;
        above_ok && below_ok
    }

    /// The whole text after the held lines were edited into `shown`, and the window onto
    /// it (same first line; its line count follows the edit).
    pub fn splice(&self, text: &str, shown: &str) -> (String, Window) {
        let (start, end) = (self.start.min(text.len()), self.end.min(text.len()));
        let mut whole = String::with_capacity(text.len() - (end - start) + shown.len());
        whole.push_str(&text[..start]);
        whole.push_str(shown);
        whole.push_str(&text[end..]);
        let lines = line_count(shown);
        let window = Window {
            start,
            end: start + shown.len(),
            first: self.first,
            lines,
            total: self.total + lines - self.lines,
            len: whole.len(),
        };
        (whole, window)
    }

    /// The byte offset in the whole text of byte `offset` of the held lines.
    pub fn to_whole(&self, offset: usize) -> usize {
        self.start + offset.min(self.end - self.start)
    }

    /// Byte `offset` of the whole text as an offset into the held lines, if it is there.
    pub fn to_held(&self, offset: usize) -> Option<usize> {
        (self.start..=self.end)
            .contains(&offset)
            .then(|| offset - self.start)
    }
}

/// Whether a text of `len` bytes is held a window at a time; `was`: it is now (between
/// [`SMALL`] and [`BIG`] a text stays as it is).
pub fn windowed(len: usize, was: bool) -> bool {
    len > BIG || (was && len >= SMALL)
}

/// Whether `new` keeps at least half of `old` unchanged around one edited stretch (their
/// common start and end): an edit of the lines held, rather than a new text.
pub fn mostly_kept(old: &str, new: &str) -> bool {
    let (a, b) = (old.as_bytes(), new.as_bytes());
    let start = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let end = a[start..]
        .iter()
        .rev()
        .zip(b[start.min(b.len())..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    2 * (start + end) >= a.len()
}

/// Byte offset where 0-based line `line` starts, searching from a known line start
/// (`from_line` at byte `from_byte`), forwards or backwards.
fn line_start_from(text: &str, line: usize, from_line: usize, from_byte: usize) -> usize {
    if line == from_line {
        from_byte
    } else if line > from_line {
        match nth_newline(text, from_byte, line - from_line) {
            Some(at) => at + 1,
            None => text.len(),
        }
    } else {
        let mut at = from_byte;
        for _ in 0..(from_line - line) {
            // `at` starts a line; the newline just before it ends the line above, whose
            // start follows the newline before that.
            at = match text[..at.saturating_sub(1)].rfind('\n') {
                Some(i) => i + 1,
                None => 0,
            };
        }
        at
    }
}

/// Offset of the `n`-th newline at or after `from` (`n` = 1: the first); `None` when
/// there are fewer.
fn nth_newline(text: &str, from: usize, n: usize) -> Option<usize> {
    let mut at = from;
    let mut found = None;
    for _ in 0..n {
        let i = at + text.get(at..)?.find('\n')?;
        found = Some(i);
        at = i + 1;
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(n: usize) -> String {
        (0..n)
            .map(|i| format!("line {i}"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn window_holds_whole_lines() {
        let t = text(1000);
        let w = Window::new(&t, 10, 5, None);
        assert_eq!(w.slice(&t), "line 10\nline 11\nline 12\nline 13\nline 14");
        assert_eq!((w.first, w.lines, w.total, w.below()), (10, 5, 1000, 985));
        let top = Window::new(&t, 0, 3, None);
        assert_eq!(top.slice(&t), "line 0\nline 1\nline 2");
        let end = Window::new(&t, 5000, 3, None);
        assert_eq!(end.slice(&t), "line 997\nline 998\nline 999");
        assert_eq!(end.below(), 0);
    }

    /// A window found from a nearby one (either direction) is the one found from the top.
    #[test]
    fn moving_a_window_equals_making_it() {
        let t = text(700) + "\n\nlast\n";
        let base = Window::new(&t, 300, 50, None);
        for first in [0, 1, 2, 150, 299, 300, 301, 450, 650, 690, 699, 700, 702] {
            assert_eq!(
                Window::new(&t, first, 50, Some(&base)),
                Window::new(&t, first, 50, None),
                "{first}"
            );
        }
    }

    #[test]
    fn splicing_an_edit_back() {
        let t = text(100);
        let w = Window::new(&t, 40, 10, None);
        let shown = w.slice(&t).replace("line 45", "line 45\nnew");
        let (whole, w2) = w.splice(&t, &shown);
        assert_eq!(whole, t.replace("line 45", "line 45\nnew"));
        assert_eq!(
            (w2.lines, w2.total, w2.first, w2.below()),
            (11, 101, 40, 50)
        );
        assert_eq!(w2.slice(&whole), shown);
        assert!(w2.fits(&whole));
        assert_eq!(Window::new(&whole, 40, 11, None), w2);
    }

    #[test]
    fn offsets_between_window_and_whole() {
        let t = text(100);
        let w = Window::new(&t, 40, 10, None);
        assert_eq!(w.to_whole(0), w.start);
        assert_eq!(w.to_held(w.start + 3), Some(3));
        assert_eq!(w.to_held(w.end + 1), None);
        assert_eq!(w.to_held(w.start.saturating_sub(1)), None);
    }

    #[test]
    fn an_edit_keeps_most_of_the_lines() {
        let held = text(300);
        assert!(mostly_kept(&held, &held.replacen("line 7", "line 77", 1)));
        assert!(mostly_kept(&held, &held[..held.len() - 10]));
        assert!(!mostly_kept(&held, "pod shop/one app=one\n"));
        assert!(!mostly_kept(&held, &held[..held.len() / 3]));
        assert!(mostly_kept("", ""));
    }

    #[test]
    fn covers_with_margin() {
        let t = text(10_000);
        let w = Window::new(&t, 1000, 400, None);
        assert!(w.covers(1000 + MARGIN, 50));
        assert!(!w.covers(1001, 50));
        assert!(!w.covers(1000 + 400 - 40, 50));
        let top = Window::new(&t, 0, 400, None);
        assert!(top.covers(0, 50));
        assert!(windowed(BIG + 1, false) && !windowed(BIG, false));
        assert!(windowed(SMALL, true) && !windowed(SMALL - 1, true));
    }
}
