//! Label selectors: `matchLabels` and `matchExpressions`.

use super::metadata::check_label;
use super::Cx;
use crate::model::{LabelSelector, LabelSelectorRequirement, Operator};
use crate::syntax::names;
use crate::syntax::yaml::{Node, Value};

const SELECTOR_FIELDS: &[&str] = &["matchLabels", "matchExpressions"];
const REQUIREMENT_FIELDS: &[&str] = &["key", "operator", "values"];

/// A label selector; `None` (after reporting every problem) when any part is invalid, in
/// which case `dropped` (the peer, the policy) was dropped.
pub(super) fn selector(
    cx: &mut Cx,
    node: &Node,
    what: &str,
    dropped: &str,
) -> Option<LabelSelector> {
    let f = cx.fields(node, what, Some(SELECTOR_FIELDS), dropped)?;
    let mut ok = true;
    let mut out = LabelSelector::default();
    if let Some(ml) = f.get("matchLabels") {
        match cx.fields(ml, "matchLabels", None, dropped) {
            Some(labels) => {
                for (k, v) in labels.entries {
                    let key = cx.string(k, "matchLabels", dropped);
                    let value = match &v.value {
                        Value::Null => Some(String::new()),
                        _ => cx.string(v, "matchLabels value", dropped),
                    };
                    let (Some(key), Some(value)) = (key, value) else {
                        ok = false;
                        continue;
                    };
                    if !check_label(cx, k, &key, v, &value) {
                        ok = false;
                    }
                    out.match_labels.insert(key, value);
                }
            }
            None => ok = false,
        }
    }
    if let Some(me) = f.get("matchExpressions") {
        match cx.list(me, "matchExpressions", dropped) {
            Some(items) => {
                for item in items {
                    match requirement(cx, item, dropped) {
                        Some(r) => out.match_expressions.push(r),
                        None => ok = false,
                    }
                }
            }
            None => ok = false,
        }
    }
    if !ok {
        cx.error(
            "selector-dropped",
            node,
            format!("`{what}` is invalid (see above); {dropped} was dropped"),
            "fix the selector; an invalid selector is rejected by Kubernetes",
        );
        return None;
    }
    Some(out)
}

fn requirement(cx: &mut Cx, node: &Node, dropped: &str) -> Option<LabelSelectorRequirement> {
    let f = cx.fields(
        node,
        "matchExpressions entry",
        Some(REQUIREMENT_FIELDS),
        dropped,
    )?;
    let Some(key_node) = f.get("key") else {
        cx.error(
            "invalid-selector",
            node,
            "matchExpressions entry has no `key`".into(),
            "add `key: <label key>`",
        );
        return None;
    };
    let key = cx.text(key_node, "key", "")?;
    let mut ok = true;
    if let Err(e) = names::label_key(&key) {
        cx.error(
            "invalid-label",
            key_node,
            format!("label key `{key}` {e}"),
            "label keys look like `app` or `app.kubernetes.io/name`",
        );
        ok = false;
    }
    let Some(op_node) = f.get("operator") else {
        cx.error(
            "invalid-selector",
            node,
            format!("matchExpressions entry for `{key}` has no `operator`"),
            "add `operator: In` (or NotIn, Exists, DoesNotExist)",
        );
        return None;
    };
    let op_text = cx.string(op_node, "operator", "")?;
    let operator = match op_text.as_str() {
        "In" => Operator::In,
        "NotIn" => Operator::NotIn,
        "Exists" => Operator::Exists,
        "DoesNotExist" => Operator::DoesNotExist,
        other => {
            let ops = ["In", "NotIn", "Exists", "DoesNotExist"];
            let help = match names::did_you_mean(other, &ops) {
                Some(n) => format!("did you mean `{n}`? (operators are case-sensitive)"),
                None => "use In, NotIn, Exists or DoesNotExist".into(),
            };
            cx.error(
                "invalid-operator",
                op_node,
                format!("unknown selector operator `{other}`"),
                help,
            );
            return None;
        }
    };
    let mut values = Vec::new();
    let values_node = f.get("values");
    if let Some(vn) = values_node {
        let items = cx.list(vn, "values", "")?;
        for item in items {
            let v = cx.text(item, "values", "")?;
            if let Err(e) = names::label_value(&v) {
                cx.error(
                    "invalid-label",
                    item,
                    format!("label value `{v}` {e}"),
                    "label values are at most 63 letters, digits, `-`, `_` or `.`",
                );
                ok = false;
            }
            values.push(v);
        }
    }
    match operator {
        Operator::In | Operator::NotIn if values.is_empty() => {
            cx.error(
                "invalid-selector",
                values_node.unwrap_or(op_node),
                format!("operator `{op_text}` on `{key}` needs at least one value"),
                format!(
                    "add `values: [...]`, or use `{}`",
                    if operator == Operator::In {
                        "Exists"
                    } else {
                        "DoesNotExist"
                    }
                ),
            );
            ok = false;
        }
        Operator::Exists | Operator::DoesNotExist if !values.is_empty() => {
            cx.error(
                "invalid-selector",
                values_node.unwrap_or(op_node),
                format!("operator `{op_text}` on `{key}` must not have values"),
                format!(
                    "delete `values`, or use `{}`",
                    if operator == Operator::Exists {
                        "In"
                    } else {
                        "NotIn"
                    }
                ),
            );
            ok = false;
        }
        _ => {}
    }
    ok.then_some(LabelSelectorRequirement {
        key,
        operator,
        values,
    })
}
