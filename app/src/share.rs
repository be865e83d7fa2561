//! The whole playground state as a link: `#v1.` + base64url(deflate(JSON)).
//!
//! Versioned so that a later format can still read old links; size-capped on both the
//! encoded and the decoded side so a hostile or truncated link fails fast with a message
//! (inflate runs with a hard output limit: a "zip bomb" stops at the limit, never hangs).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

/// Current link version prefix (after `#`).
pub const PREFIX: &str = "v1.";
/// Largest decoded JSON we accept, in bytes.
pub const MAX_DECODED: usize = 200 * 1024;
/// Largest encoded fragment we even try to decode, in bytes.
pub const MAX_ENCODED: usize = 400 * 1024;
/// The graph's zoom range.
pub const MIN_ZOOM: f64 = 0.2;
/// The graph's zoom range.
pub const MAX_ZOOM: f64 = 5.0;

/// Which main view is shown.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum View {
    /// The connectivity graph.
    #[default]
    Graph,
    /// The endpoint × endpoint table.
    Matrix,
}

/// What the explanation panel shows: a pair (edge or matrix cell) or a node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Selection {
    /// An ordered pair of node ids (edge or matrix cell).
    Pair {
        /// Source node id.
        from: String,
        /// Destination node id.
        to: String,
    },
    /// A node id (an endpoint, a group, an address class or a ghost).
    Node(String),
    /// A ghost edge: what a pod that does not exist yet may do with a drawn node.
    Exposure {
        /// The ghost's id.
        ghost: String,
        /// The node's id.
        node: String,
        /// `true`: the ghost may connect to the node; `false`: the node to the ghost.
        incoming: bool,
    },
    /// A namespace of the overview (its name, or `overview::OUTSIDE`).
    Namespace(String),
    /// Every connection from one namespace to another (overview keys).
    Namespaces {
        /// Source namespace.
        from: String,
        /// Destination namespace.
        to: String,
    },
}

/// Everything a link restores: the texts, and the view the sender was looking at.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SharedState {
    /// Policies editor text.
    pub policies: String,
    /// Cluster editor text.
    pub cluster: String,
    /// The probe, in [`crate::probe::Probe::key`] form.
    pub port: String,
    /// Graph or matrix.
    #[serde(default)]
    pub view: View,
    /// Whether denied pairs are drawn.
    #[serde(default)]
    pub show_denied: bool,
    /// Whether exposure (ghost nodes) is drawn; left out of links when off, so links made
    /// before it existed and links without it encode the same.
    #[serde(default, skip_serializing_if = "is_false")]
    pub show_exposure: bool,
    /// Compare mode's "after" texts; absent in links made without compare mode (and in
    /// every link made before compare mode existed, which is why it is optional: old `v1.`
    /// links keep opening unchanged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<AfterState>,
    /// The selected edge, cell or node (links made before this field open with none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selection: Option<Selection>,
    /// The graph's zoom factor (1 = fitted).
    #[serde(default = "unit_zoom", skip_serializing_if = "is_unit_zoom")]
    pub zoom: f64,
    /// The graph's pan, in layout units.
    #[serde(default, skip_serializing_if = "is_origin")]
    pub pan: (f64, f64),
    /// Ids of the group nodes the user expanded, sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expanded: Vec<String>,
}

fn unit_zoom() -> f64 {
    1.0
}

fn is_unit_zoom(z: &f64) -> bool {
    *z == 1.0
}

fn is_origin(p: &(f64, f64)) -> bool {
    *p == (0.0, 0.0)
}

impl SharedState {
    /// A state of just these texts, with the default view (any port, graph, nothing selected).
    pub fn of_texts(policies: &str, cluster: &str) -> SharedState {
        SharedState {
            policies: policies.to_string(),
            cluster: cluster.to_string(),
            port: "any".to_string(),
            view: View::Graph,
            show_denied: false,
            show_exposure: false,
            after: None,
            selection: None,
            zoom: 1.0,
            pan: (0.0, 0.0),
            expanded: Vec::new(),
        }
    }

    /// Whether the two states hold the same text in every editor. Only text is "work": the
    /// view (port, zoom, selection) can change without anything being at risk.
    pub fn same_texts(&self, other: &SharedState) -> bool {
        self.policies == other.policies
            && self.cluster == other.cluster
            && self.after == other.after
    }

    /// The same state with a view the graph can show: zoom within the zoom buttons' range
    /// and a finite pan (a hand-edited link could say `1e308`).
    pub fn sanitized(mut self) -> SharedState {
        self.zoom = if self.zoom.is_finite() {
            self.zoom.clamp(MIN_ZOOM, MAX_ZOOM)
        } else {
            1.0
        };
        let finite = |v: f64| {
            if v.is_finite() {
                v.clamp(-1e6, 1e6)
            } else {
                0.0
            }
        };
        self.pan = (finite(self.pan.0), finite(self.pan.1));
        self.expanded.sort();
        self.expanded.dedup();
        self
    }

    /// Bytes of text in all editors.
    pub fn text_len(&self) -> usize {
        let after = self
            .after
            .as_ref()
            .map_or(0, |a| a.policies.len() + a.cluster.len());
        self.policies.len() + self.cluster.len() + after
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// The "after" side of compare mode.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AfterState {
    /// After policies editor text.
    pub policies: String,
    /// After cluster editor text.
    pub cluster: String,
}

/// Why a link could not be opened. Messages are shown to the user as they are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ShareError {
    /// The fragment does not start with a known version.
    UnknownVersion(String),
    /// Longer than [`MAX_ENCODED`] or decodes to more than [`MAX_DECODED`].
    TooLarge,
    /// Not base64url, not deflate, or not our JSON.
    Damaged(String),
}

impl std::fmt::Display for ShareError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ShareError::UnknownVersion(v) => {
                write!(f, "this link uses an unknown format version \"{v}\"")
            }
            ShareError::TooLarge => write!(
                f,
                "this link is too large to open (over {} KB of state)",
                MAX_DECODED / 1024
            ),
            ShareError::Damaged(why) => write!(f, "this link is damaged ({why})"),
        }
    }
}

/// Encodes `state` as a fragment (without the leading `#`).
pub fn encode(state: &SharedState) -> String {
    let json = serde_json::to_vec(state).unwrap_or_default();
    let packed = miniz_oxide::deflate::compress_to_vec(&json, 9);
    format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(packed))
}

/// Like [`encode`], but refuses a state that [`decode`] would refuse as too large, so the
/// app never hands out a link that cannot be opened.
pub fn encode_checked(state: &SharedState) -> Result<String, ShareError> {
    let json_len = serde_json::to_vec(state)
        .map(|v| v.len())
        .unwrap_or(usize::MAX);
    if json_len > MAX_DECODED {
        return Err(ShareError::TooLarge);
    }
    let fragment = encode(state);
    if fragment.len() > MAX_ENCODED + PREFIX.len() {
        return Err(ShareError::TooLarge);
    }
    Ok(fragment)
}

/// Decodes a fragment (with or without the leading `#`).
pub fn decode(fragment: &str) -> Result<SharedState, ShareError> {
    let fragment = fragment.strip_prefix('#').unwrap_or(fragment);
    let Some(body) = fragment.strip_prefix(PREFIX) else {
        let version: String = fragment
            .split('.')
            .next()
            .unwrap_or_default()
            .chars()
            .take(12)
            .collect();
        return Err(ShareError::UnknownVersion(version));
    };
    if body.len() > MAX_ENCODED {
        return Err(ShareError::TooLarge);
    }
    let packed = URL_SAFE_NO_PAD
        .decode(body.trim_end_matches('='))
        .map_err(|_| ShareError::Damaged("not valid base64url".into()))?;
    let json =
        miniz_oxide::inflate::decompress_to_vec_with_limit(&packed, MAX_DECODED).map_err(|e| {
            match e.status {
                miniz_oxide::inflate::TINFLStatus::HasMoreOutput => ShareError::TooLarge,
                _ => ShareError::Damaged("the compressed data is cut off or corrupt".into()),
            }
        })?;
    serde_json::from_slice(&json)
        .map(SharedState::sanitized)
        .map_err(|e| ShareError::Damaged(format!("unexpected content: {e}")))
}

/// Whether a fragment looks like one of our links (any version), so other fragments
/// (e.g. `#top`) are ignored instead of reported.
pub fn looks_like_state(fragment: &str) -> bool {
    let f = fragment.strip_prefix('#').unwrap_or(fragment);
    let mut chars = f.chars();
    chars.next() == Some('v') && f.contains('.') && chars.next().is_some_and(|c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> SharedState {
        SharedState {
            port: "TCP:80".into(),
            view: View::Matrix,
            show_denied: true,
            ..SharedState::of_texts("kind: NetworkPolicy\n# é ✓\n", "pod default/a app=a\n")
        }
    }

    #[test]
    fn after_state_round_trips_and_old_links_still_open() {
        let mut s = sample();
        s.after = Some(AfterState {
            policies: "kind: NetworkPolicy\n".into(),
            cluster: "pod default/b app=b\n".into(),
        });
        assert_eq!(decode(&encode(&s)), Ok(s.clone()));
        // A v1 link from before compare mode: JSON without the "after" field.
        let old =
            br#"{"policies":"p","cluster":"c","port":"any","view":"graph","show_denied":false}"#;
        let link = format!(
            "v1.{}",
            URL_SAFE_NO_PAD.encode(miniz_oxide::deflate::compress_to_vec(old, 9))
        );
        let opened = decode(&link).expect("old link opens");
        assert_eq!(opened.after, None);
        assert!(!opened.show_exposure, "old links open without exposure");
        assert_eq!(opened.policies, "p");
        // Without compare mode (or exposure) the field is not written at all.
        let plain = serde_json::to_string(&sample()).unwrap_or_default();
        assert!(!plain.contains("after"));
        assert!(!plain.contains("show_exposure"));
        let mut exposed = sample();
        exposed.show_exposure = true;
        assert_eq!(decode(&encode(&exposed)), Ok(exposed));
    }

    #[test]
    fn round_trip() {
        let s = sample();
        let enc = encode(&s);
        assert!(enc.starts_with("v1."));
        assert!(enc
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)));
        assert_eq!(decode(&enc), Ok(s.clone()));
        assert_eq!(decode(&format!("#{enc}")), Ok(s));
    }

    #[test]
    fn damaged_links_are_errors() {
        let enc = encode(&sample());
        let cut = &enc[..enc.len() / 2];
        assert!(matches!(decode(cut), Err(ShareError::Damaged(_))));
        assert!(matches!(decode("v1.!!!"), Err(ShareError::Damaged(_))));
        assert_eq!(
            decode("v9.abc"),
            Err(ShareError::UnknownVersion("v9".into()))
        );
        // valid deflate of something that is not our JSON
        let junk = miniz_oxide::deflate::compress_to_vec(b"[1,2,3]", 6);
        let link = format!("v1.{}", URL_SAFE_NO_PAD.encode(junk));
        assert!(matches!(decode(&link), Err(ShareError::Damaged(_))));
    }

    #[test]
    fn oversized_links_are_refused() {
        // 1 MB of zeros compresses to a few KB: inflate must stop at the limit.
        let bomb = miniz_oxide::deflate::compress_to_vec(&vec![b'0'; 1 << 20], 9);
        let link = format!("v1.{}", URL_SAFE_NO_PAD.encode(bomb));
        assert!(link.len() < MAX_ENCODED);
        assert_eq!(decode(&link), Err(ShareError::TooLarge));
        let long = format!("v1.{}", "A".repeat(MAX_ENCODED + 1));
        assert_eq!(decode(&long), Err(ShareError::TooLarge));
    }

    #[test]
    fn links_that_could_not_be_opened_are_not_made() {
        let mut big = sample();
        big.policies = "x".repeat(MAX_DECODED);
        assert_eq!(encode_checked(&big), Err(ShareError::TooLarge));
        let small = sample();
        assert_eq!(decode(&encode_checked(&small).unwrap()), Ok(small));
    }

    #[test]
    fn the_view_round_trips_and_is_left_out_when_default() {
        let mut s = sample();
        s.selection = Some(Selection::Pair {
            from: "x/a".into(),
            to: "x/b".into(),
        });
        s.zoom = 1.5;
        s.pan = (-20.0, 12.5);
        s.expanded = vec!["group:x/a".into()];
        assert_eq!(decode(&encode(&s)), Ok(s.clone()));
        s.selection = Some(Selection::Node("x/a".into()));
        assert_eq!(decode(&encode(&s)), Ok(s.clone()));
        // The overview's selections: a namespace, a namespace pair (the outside too).
        s.selection = Some(Selection::Namespace("x".into()));
        assert_eq!(decode(&encode(&s)), Ok(s.clone()));
        s.selection = Some(Selection::Namespaces {
            from: "x".into(),
            to: crate::overview::OUTSIDE.into(),
        });
        assert_eq!(decode(&encode(&s)), Ok(s.clone()));
        // JSON has no infinities; a hand-made link can still say 1e300.
        s.zoom = 1e300;
        s.pan = (-1e300, 3.0);
        let opened = decode(&encode(&s)).expect("opens");
        assert_eq!((opened.zoom, opened.pan), (MAX_ZOOM, (-1e6, 3.0)));
        let plain = serde_json::to_string(&sample()).unwrap_or_default();
        for field in ["selection", "zoom", "pan", "expanded"] {
            assert!(!plain.contains(field), "{field} in {plain}");
        }
    }

    #[test]
    fn same_texts_ignores_the_view() {
        let a = sample();
        let mut b = a.clone();
        b.zoom = 2.0;
        b.port = "any".into();
        b.selection = Some(Selection::Node("x".into()));
        assert!(a.same_texts(&b));
        b.cluster.push('\n');
        assert!(!a.same_texts(&b));
        assert_eq!(a.text_len(), a.policies.len() + a.cluster.len());
    }

    #[test]
    fn recognises_state_fragments() {
        assert!(looks_like_state("#v1.abc"));
        assert!(looks_like_state("v2.x"));
        assert!(!looks_like_state("#top"));
        assert!(!looks_like_state(""));
    }
}
