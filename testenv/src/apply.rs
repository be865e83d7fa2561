//! `kubectl apply` for tests: every object of a YAML or JSON text, server-side applied
//! through discovery, plus what the controllers the test control plane lacks would do.

use anyhow::{bail, Context, Result};
use kube::api::{DynamicObject, Patch, PatchParams};
use kube::core::GroupVersionKind;
use kube::discovery::{self, Scope};
use kube::{Api, Client};
use serde_json::{json, Value};

/// The field manager of every write.
const MANAGER: &str = "netpol-testenv";

/// Applies every object in `text` (YAML or JSON, several documents, `List`s expanded) with
/// server-side apply, in order. An object's `status`, when given, is written through the
/// status subresource afterwards (how a kubelet reports a pod's IPs). A `Namespace` also
/// gets its `default` ServiceAccount, which kube-controller-manager would create (the
/// ServiceAccount admission plugin refuses pods without it). Returns the number of objects.
pub async fn apply(client: &Client, text: &str) -> Result<usize> {
    let objects = documents(text)?;
    for object in &objects {
        apply_object(client, object).await?;
    }
    Ok(objects.len())
}

/// The objects of a multi-document text, `List` items in place of their list.
fn documents(text: &str) -> Result<Vec<Value>> {
    let mut objects = Vec::new();
    for document in serde_yaml::Deserializer::from_str(text) {
        let yaml: serde_yaml::Value =
            serde::Deserialize::deserialize(document).context("parsing manifests")?;
        let value = serde_json::to_value(yaml).context("manifest as JSON")?;
        push_object(value, &mut objects);
    }
    Ok(objects)
}

fn push_object(value: Value, objects: &mut Vec<Value>) {
    match value {
        Value::Null => {}
        Value::Object(ref map) if map.get("kind").and_then(Value::as_str) == Some("List") => {
            for item in map
                .get("items")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                push_object(item.clone(), objects);
            }
        }
        object => objects.push(object),
    }
}

async fn apply_object(client: &Client, object: &Value) -> Result<()> {
    let (api, name, has_status) = api_for(client, object).await?;
    let mut body = object.clone();
    let status = body.as_object_mut().and_then(|o| o.remove("status"));
    api.patch(
        &name,
        &PatchParams::apply(MANAGER).force(),
        &Patch::Apply(&body),
    )
    .await
    .with_context(|| format!("applying {}", describe(object)))?;
    if let (Some(status), true) = (status, has_status) {
        api.patch_status(
            &name,
            &PatchParams::default(),
            &Patch::Merge(json!({ "status": status })),
        )
        .await
        .with_context(|| format!("writing the status of {}", describe(object)))?;
    }
    if object["kind"] == "Namespace" {
        let account = json!({
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": "default", "namespace": name},
        });
        Box::pin(apply_object(client, &account)).await?;
    }
    Ok(())
}

/// The API of the object's kind (found by discovery), its name, and whether the kind has
/// a status subresource.
async fn api_for(client: &Client, object: &Value) -> Result<(Api<DynamicObject>, String, bool)> {
    let field = |path: &[&str]| {
        path.iter()
            .try_fold(object, |v, k| v.get(*k))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let (Some(api_version), Some(kind), Some(name)) = (
        field(&["apiVersion"]),
        field(&["kind"]),
        field(&["metadata", "name"]),
    ) else {
        bail!("an object without apiVersion, kind or metadata.name: {object}");
    };
    let (group, version) = api_version.split_once('/').unwrap_or(("", &api_version));
    let gvk = GroupVersionKind::gvk(group, version, &kind);
    let (resource, capabilities) = discovery::pinned_kind(client, &gvk)
        .await
        .with_context(|| format!("the API server does not serve {api_version} {kind}"))?;
    let api = match capabilities.scope {
        Scope::Cluster => Api::all_with(client.clone(), &resource),
        Scope::Namespaced => {
            let namespace = field(&["metadata", "namespace"]).unwrap_or("default".into());
            Api::namespaced_with(client.clone(), &namespace, &resource)
        }
    };
    let has_status = capabilities
        .subresources
        .iter()
        .any(|(sub, _)| sub.plural == "status");
    Ok((api, name, has_status))
}

fn describe(object: &Value) -> String {
    let text = |v: &Value| v.as_str().unwrap_or("?").to_string();
    let (kind, name) = (text(&object["kind"]), text(&object["metadata"]["name"]));
    match object["metadata"]["namespace"].as_str() {
        Some(ns) => format!("{kind} {ns}/{name}"),
        None => format!("{kind} {name}"),
    }
}
