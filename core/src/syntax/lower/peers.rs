//! `from`/`to` entries: selector peers and ipBlocks with their CIDRs.

use std::net::IpAddr;

use super::selectors::selector;
use super::Cx;
use crate::cidr::{Cidr, CidrError};
use crate::model::{IpBlock, NetworkPolicyPeer};
use crate::syntax::yaml::Node;

const PEER_FIELDS: &[&str] = &["podSelector", "namespaceSelector", "ipBlock"];
const IPBLOCK_FIELDS: &[&str] = &["cidr", "except"];

pub(super) fn peer(cx: &mut Cx, node: &Node, key: &str) -> Option<NetworkPolicyPeer> {
    let drop = "the peer";
    let f = cx.fields(node, &format!("{key} entry"), Some(PEER_FIELDS), drop)?;
    // warn about a rule-level key indented into the peer, a common slip
    if let Some(k) = f.key("ports") {
        cx.warning(
            "misplaced-field",
            k,
            format!("`ports` is inside a `{key}` entry, where it is ignored"),
            "`ports` belongs to the rule: indent it like `from`/`to`",
        );
    }
    let mut ok = true;
    let pod_selector = match f.get("podSelector") {
        Some(n) => {
            let s = selector(cx, n, "podSelector", drop);
            ok &= s.is_some();
            s
        }
        None => None,
    };
    let namespace_selector = match f.get("namespaceSelector") {
        Some(n) => {
            let s = selector(cx, n, "namespaceSelector", drop);
            ok &= s.is_some();
            s
        }
        None => None,
    };
    let ip_block = match f.get("ipBlock") {
        Some(n) => {
            let b = ip_block(cx, n);
            ok &= b.is_some();
            b
        }
        None => None,
    };
    if !ok {
        return None;
    }
    let has_selector = f.get("podSelector").is_some() || f.get("namespaceSelector").is_some();
    if f.get("ipBlock").is_some() && has_selector {
        cx.error(
            "invalid-peer",
            node,
            "a peer with `ipBlock` cannot also have `podSelector` or `namespaceSelector`; the peer was dropped".into(),
            format!("split it into two `{key}` entries (`- ipBlock: ...` and `- podSelector: ...`)"),
        );
        return None;
    }
    if f.get("ipBlock").is_none() && !has_selector {
        cx.error(
            "invalid-peer",
            node,
            "this peer has none of `podSelector`, `namespaceSelector`, `ipBlock`; the peer was dropped".into(),
            format!("to allow every peer, leave out `{key}`; otherwise give a selector or ipBlock"),
        );
        return None;
    }
    Some(NetworkPolicyPeer {
        pod_selector,
        namespace_selector,
        ip_block,
        span: cx.span(node),
    })
}

fn cidr_help(e: &CidrError, text: &str) -> String {
    match e {
        CidrError::MissingPrefix => {
            format!("add a prefix length: `{text}/32` for one IPv4 address, `/128` for IPv6")
        }
        CidrError::BadAddress => "write an address block such as 10.0.0.0/8 or fd00::/8".into(),
        CidrError::BadPrefix => "the prefix is 0-32 for IPv4 and 0-128 for IPv6".into(),
    }
}

fn parse_cidr(cx: &mut Cx, node: &Node, field: &str) -> Option<Cidr> {
    let text = cx.string(node, field, "the peer")?;
    match text.parse::<Cidr>() {
        Ok(c) => {
            if let Some((addr, prefix)) = text.trim().split_once('/') {
                if let (Ok(a), Ok(p)) = (addr.parse::<IpAddr>(), prefix.parse::<u8>()) {
                    if Cidr::has_host_bits(a, p) {
                        cx.warning(
                            "cidr-host-bits",
                            node,
                            format!(
                                "{field} `{text}` has host bits set; Kubernetes reads it as `{c}`"
                            ),
                            format!(
                                "write `{c}`, or `{a}/{}` for the single address",
                                if a.is_ipv4() { 32 } else { 128 }
                            ),
                        );
                    }
                }
            }
            Some(c)
        }
        Err(e) => {
            let help = cidr_help(&e, &text);
            cx.error(
                "invalid-cidr",
                node,
                format!("{field} `{text}` is not a valid CIDR ({e}); the peer was dropped"),
                help,
            );
            None
        }
    }
}

fn ip_block(cx: &mut Cx, node: &Node) -> Option<IpBlock> {
    let f = cx.fields(node, "ipBlock", Some(IPBLOCK_FIELDS), "the peer")?;
    let Some(cidr_node) = f.get("cidr") else {
        cx.error(
            "invalid-cidr",
            node,
            "ipBlock has no `cidr`; the peer was dropped".into(),
            "add `cidr: 10.0.0.0/8` (or the block you mean)",
        );
        return None;
    };
    let cidr = parse_cidr(cx, cidr_node, "cidr")?;
    let mut ok = true;
    let mut except = Vec::new();
    if let Some(en) = f.get("except") {
        let items = cx.list(en, "except", "the peer")?;
        for item in items {
            let Some(e) = parse_cidr(cx, item, "except") else {
                ok = false;
                continue;
            };
            if e.is_v6() != cidr.is_v6() {
                cx.error(
                    "except-outside-cidr",
                    item,
                    format!(
                        "except `{e}` is IPv{} but cidr `{cidr}` is IPv{}; the peer was dropped",
                        if e.is_v6() { 6 } else { 4 },
                        if cidr.is_v6() { 6 } else { 4 }
                    ),
                    "use except blocks of the same family as cidr",
                );
                ok = false;
            } else if !cidr.contains_cidr(&e) || e.prefix <= cidr.prefix {
                cx.error(
                    "except-outside-cidr",
                    item,
                    format!(
                        "except `{e}` is not strictly inside cidr `{cidr}`; the peer was dropped"
                    ),
                    "every except block must be a smaller block inside cidr",
                );
                ok = false;
            } else {
                except.push(e);
            }
        }
    }
    ok.then_some(IpBlock { cidr, except })
}
