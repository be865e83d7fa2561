//! Kubernetes name syntax (label keys and values, port names) and "did you mean" hints.
//!
//! The rules are the API server's (`k8s.io/apimachinery/pkg/util/validation`), so a policy
//! we accept is one `kubectl apply` accepts too. Each check returns the reason as text,
//! ready to go into a diagnostic message.

/// Checks a label key: an optional DNS-subdomain prefix and `/`, then a name of at most
/// 63 characters (alphanumerics, `-`, `_`, `.`, starting and ending alphanumeric).
pub fn label_key(key: &str) -> Result<(), String> {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    if let Some(prefix) = prefix {
        if prefix.is_empty() {
            return Err("the prefix before `/` is empty".into());
        }
        dns_subdomain(prefix).map_err(|e| format!("the prefix `{prefix}` {e}"))?;
    }
    if name.is_empty() {
        return Err("the name part is empty".into());
    }
    qualified_name_part(name)
}

/// Checks a label value: empty, or at most 63 characters of alphanumerics, `-`, `_`, `.`,
/// starting and ending alphanumeric.
pub fn label_value(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Ok(());
    }
    qualified_name_part(value)
}

fn qualified_name_part(s: &str) -> Result<(), String> {
    if s.len() > 63 {
        return Err(format!("is {} characters long (at most 63)", s.len()));
    }
    let ok_inner = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if let Some(c) = s.chars().find(|c| !ok_inner(*c)) {
        return Err(format!(
            "contains `{c}` (only letters, digits, `-`, `_` and `.` are allowed)"
        ));
    }
    let first = s.chars().next().unwrap_or('a');
    let last = s.chars().last().unwrap_or('a');
    if !first.is_ascii_alphanumeric() || !last.is_ascii_alphanumeric() {
        return Err("must start and end with a letter or digit".into());
    }
    Ok(())
}

fn dns_subdomain(s: &str) -> Result<(), String> {
    if s.len() > 253 {
        return Err(format!("is {} characters long (at most 253)", s.len()));
    }
    for part in s.split('.') {
        let ok = !part.is_empty()
            && part.len() <= 63
            && part
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !part.starts_with('-')
            && !part.ends_with('-');
        if !ok {
            return Err("is not a lower-case DNS subdomain such as `example.com`".into());
        }
    }
    Ok(())
}

/// Checks a DNS-1123 label (namespace names): at most 63 lower-case alphanumerics or `-`,
/// starting and ending alphanumeric.
pub fn dns_label(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("is empty".into());
    }
    if s.len() > 63 {
        return Err(format!("is {} characters long (at most 63)", s.len()));
    }
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Err(format!(
            "contains `{c}` (only lower-case letters, digits and `-` are allowed)"
        ));
    }
    if s.starts_with('-') || s.ends_with('-') {
        return Err("must start and end with a letter or digit".into());
    }
    Ok(())
}

/// Checks a DNS-1123 subdomain (the names of pods and workloads): at most 253 lower-case
/// alphanumerics, `-` or `.`, starting and ending alphanumeric. `Bad_Name` is refused by the
/// API server, so it is refused here too, with the character that breaks the rule.
pub fn dns_subdomain_name(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("is empty".into());
    }
    if s.len() > 253 {
        return Err(format!("is {} characters long (at most 253)", s.len()));
    }
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '.')))
    {
        // A control character is named by its escape, anything else shown as it is.
        let shown = if c.is_control() {
            c.escape_debug().to_string()
        } else {
            c.to_string()
        };
        return Err(format!(
            "contains `{shown}` (only lower-case letters, digits, `-` and `.` are allowed)"
        ));
    }
    let ends_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    if !ends_ok(s.chars().next()) || !ends_ok(s.chars().last()) {
        return Err("must start and end with a letter or digit".into());
    }
    if s.split('.').any(str::is_empty) {
        return Err("has an empty part between dots".into());
    }
    Ok(())
}

/// Checks a port name (`IANA_SVC_NAME`): at most 15 characters, lower-case letters, digits
/// and `-`, at least one letter, no `-` at either end and no `--`.
pub fn port_name(s: &str) -> Result<(), String> {
    if s.len() > 15 {
        return Err(format!("is {} characters long (at most 15)", s.len()));
    }
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Err(format!(
            "contains `{c}` (only lower-case letters, digits and `-` are allowed)"
        ));
    }
    if !s.bytes().any(|b| b.is_ascii_lowercase()) {
        return Err("must contain at least one letter".into());
    }
    if s.starts_with('-') || s.ends_with('-') || s.contains("--") {
        return Err("must not start or end with `-` or contain `--`".into());
    }
    Ok(())
}

/// The candidate closest to `word`: equal ignoring case, or within a small edit distance.
pub fn did_you_mean<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    if word.len() > 64 {
        return None;
    }
    let lower = word.to_ascii_lowercase();
    if let Some(c) = candidates.iter().find(|c| c.to_ascii_lowercase() == lower) {
        return Some(c);
    }
    let limit = (word.chars().count() / 3).clamp(1, 3);
    candidates
        .iter()
        .map(|c| (distance(&lower, &c.to_ascii_lowercase()), *c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Optimal string alignment distance (Levenshtein plus adjacent transpositions).
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let w = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * w];
    for i in 0..=a.len() {
        d[i * w] = i;
    }
    for (j, cell) in d.iter_mut().enumerate().take(w) {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[(i - 1) * w + j] + 1)
                .min(d[i * w + j - 1] + 1)
                .min(d[(i - 1) * w + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[(i - 2) * w + j - 2] + 1);
            }
            d[i * w + j] = v;
        }
    }
    d[a.len() * w + b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_syntax() {
        for ok in ["app", "app.kubernetes.io/name", "a", "A_b-c.d", "x/y"] {
            assert!(label_key(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "/a",
            "-a",
            "a-",
            "Ex.com/a",
            "a b",
            &"x".repeat(64),
            "a/",
        ] {
            assert!(label_key(bad).is_err(), "{bad}");
        }
        assert!(label_value("").is_ok());
        assert!(label_value("v1.2").is_ok());
        assert!(label_value("a/b").is_err());
    }

    #[test]
    fn subdomain_names() {
        for ok in ["api", "api-0", "web.v2", "a", &"x".repeat(253)] {
            assert!(dns_subdomain_name(ok).is_ok(), "{ok}");
        }
        for (bad, why) in [
            ("Bad_Name", "contains `B`"),
            ("bad_name", "contains `_`"),
            ("-a", "start and end"),
            ("a.", "start and end"),
            ("a..b", "empty part"),
            ("", "is empty"),
            ("a\u{1}b", "contains `\\u{1}`"),
        ] {
            let err = dns_subdomain_name(bad).expect_err(bad);
            assert!(err.contains(why), "{bad}: {err}");
        }
        assert!(dns_subdomain_name(&"x".repeat(254)).is_err());
    }

    #[test]
    fn port_names() {
        for ok in ["http", "dns-tcp", "h2c", "a"] {
            assert!(port_name(ok).is_ok(), "{ok}");
        }
        for bad in ["80", "HTTP", "-a", "a-", "a--b", "sixteen-chars-xx", ""] {
            assert!(port_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn suggestions() {
        let c = ["podSelector", "namespaceSelector", "ipBlock"];
        assert_eq!(did_you_mean("podSelecter", &c), Some("podSelector"));
        assert_eq!(
            did_you_mean("namespaceselector", &c),
            Some("namespaceSelector")
        );
        assert_eq!(did_you_mean("ports", &c), None);
    }
}
