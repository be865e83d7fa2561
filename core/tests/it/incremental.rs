//! `ParseCache` (documents parsed once, kept by their text) against `parse` of the whole
//! text: equal on every corpus input and generated cluster, and after every edit of a run
//! of edits made through one cache (so cached documents are moved, re-used and dropped).

use netpol_core::{generate::generate, parse, FileId, ParseCache};

/// splitmix64, so the edits are the same on every run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) % n.max(1) as u64) as usize
    }
}

/// One edit an author makes: type or delete a character, change a label value, delete a
/// line, split a document or join two.
fn edit(text: &str, rng: &mut Rng) -> String {
    let mut at = rng.below(text.len() + 1);
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let (head, tail) = text.split_at(at);
    match rng.below(6) {
        0 => format!("{head}x{tail}"),
        1 => {
            let mut rest = tail.chars();
            rest.next();
            format!("{head}{}", rest.as_str())
        }
        2 => text.replacen(": web", ": db", 1),
        3 => match tail.find('\n') {
            Some(end) => format!("{head}{}", &tail[end..]),
            None => head.to_string(),
        },
        4 => match head.rfind('\n') {
            Some(line) => format!("{}\n---{}", &head[..line], &text[line..]),
            None => format!("---\n{text}"),
        },
        _ => text.replacen("\n---\n", "\n", 1),
    }
}

fn check_run(name: &str, text: &str, seed: u64, edits: usize) {
    let mut cache = ParseCache::new();
    let mut rng = Rng(seed);
    let mut text = text.to_string();
    for step in 0..=edits {
        let file = FileId(1);
        assert_eq!(
            cache.parse(file, &text),
            parse(file, &text),
            "{name}, after {step} edits:\n{text}"
        );
        text = edit(&text, &mut rng);
    }
}

#[test]
fn cached_parse_equals_parse_on_every_input_and_its_edits() {
    for (i, input) in crate::corpus::every_input().iter().enumerate() {
        for (label, text) in &input.sources {
            check_run(&format!("{} ({label})", input.name), text, i as u64, 25);
        }
    }
}

#[test]
fn cached_parse_equals_parse_on_generated_clusters() {
    for seed in 1..4 {
        let text = generate(150, 60, seed);
        check_run(&format!("generate(150, 60, {seed})"), &text, seed, 40);
    }
}

#[test]
fn a_cache_serves_one_file() {
    let mut cache = ParseCache::new();
    let text = "kind: Namespace\nmetadata: {name: a}\n---\nkind: Namespace\nmetadata: {name: b}\n";
    assert_eq!(cache.parse(FileId(0), text), parse(FileId(0), text));
    assert_eq!(cache.parse(FileId(3), text), parse(FileId(3), text));
}
