//! Services as policy authors think of them, resolved to what policies see.
//!
//! A client connects to a Service's `port`; the node translates the Service's address to one
//! of the pods behind it and the port to the `targetPort` on that pod *before* any policy is
//! enforced. So a policy protecting the pods must allow the `targetPort` (resolved on each
//! pod when it is a name), never the Service's `port` — the classic mistake lint's
//! `service-port-mismatch` looks for. This module is the one place that decides which pods
//! are behind a Service and which port each receives on; the CLI (`explain --to-service`),
//! lint and the playground's node panel call it.
//!
//! The rules, as Kubernetes' endpoint controller applies them:
//! - the pods behind a Service are the endpoints of its namespace whose labels contain its
//!   `spec.selector` (workload templates included: they stand for the pods they create);
//!   a Service without a selector (or with an empty one) has hand-made endpoints, so no pod
//!   of the model is behind it;
//! - a numeric `targetPort` is that port on every pod; a named one is the pod's container
//!   port of that name and the Service port's protocol (the first one in container order,
//!   as the controller's `FindPort` does), and a pod without it receives nothing on that
//!   Service port.

use crate::model::{Cluster, Model, Pod, PortRef, Protocol, Service, ServicePort};
use crate::pair::named_ports;
use crate::portspec::PortSpec;

/// One pod behind a Service port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Backend {
    /// Pod index.
    pub pod: usize,
    /// The port it receives the Service port's traffic on; `None` when the `targetPort` is a
    /// name the pod does not have (the Service sends it nothing on this port).
    pub port: Option<u16>,
}

/// A Service port resolved to the pods behind it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved<'m> {
    /// The Service.
    pub service: &'m Service,
    /// The port asked about.
    pub port: &'m ServicePort,
    /// Every pod behind the Service, in pod order.
    pub backends: Vec<Backend>,
}

/// Why a Service port could not be resolved.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ServiceError {
    /// The Service has no port matching the spec.
    #[error("service {service} has no {protocol} port {wanted}")]
    NoSuchPort {
        /// `namespace/name`.
        service: String,
        /// The number or name asked for.
        wanted: String,
        /// Its protocol.
        protocol: Protocol,
        /// The ports it has, as `name 80/TCP -> 8080`.
        available: Vec<String>,
    },
}

/// Whether `pod` is behind `service`: same namespace, and its labels contain the selector.
pub fn selects(service: &Service, pod: &Pod) -> bool {
    service.namespace == pod.namespace
        && service
            .selector
            .as_ref()
            .is_some_and(|selector| selector.iter().all(|(k, v)| pod.labels.get(k) == Some(v)))
}

/// Indices of the pods behind `service`, in pod order.
pub fn backends(cluster: &Cluster, service: &Service) -> Vec<usize> {
    (0..cluster.pods.len())
        .filter(|i| selects(service, &cluster.pods[*i]))
        .collect()
}

/// Indices of the Services `pod` is behind, in Service order.
pub fn services_of(cluster: &Cluster, pod: usize) -> Vec<usize> {
    let Some(pod) = cluster.pods.get(pod) else {
        return Vec::new();
    };
    (0..cluster.services.len())
        .filter(|s| selects(&cluster.services[*s], pod))
        .collect()
}

/// The port `pod` receives `port`'s traffic on: the `targetPort` number, or the named
/// container port (first in container order); `None` when the pod lacks the name.
pub fn target_port(pod: &Pod, port: &ServicePort) -> Option<u16> {
    match &port.target_port {
        PortRef::Number(n) => Some(*n),
        PortRef::Name(name) => named_ports(pod, name, port.protocol).first().copied(),
    }
}

/// `name 80/TCP -> 8080` (or `-> http` for a named targetPort): one Service port in words.
pub fn port_text(port: &ServicePort) -> String {
    let name = port
        .name
        .as_deref()
        .map(|n| format!("{n} "))
        .unwrap_or_default();
    format!(
        "{name}{}/{} -> {}",
        port.port, port.protocol, port.target_port
    )
}

/// The Service port `spec` names: by number (`80`) or by the Service port's name (`http`),
/// with its protocol.
pub fn find_port<'s>(
    service: &'s Service,
    spec: &PortSpec,
) -> Result<&'s ServicePort, ServiceError> {
    service
        .ports
        .iter()
        .find(|p| {
            p.protocol == spec.protocol
                && match &spec.port {
                    PortRef::Number(n) => p.port == *n,
                    PortRef::Name(name) => p.name.as_deref() == Some(name.as_str()),
                }
        })
        .ok_or_else(|| ServiceError::NoSuchPort {
            service: service.id.clone(),
            wanted: spec.port.to_string(),
            protocol: spec.protocol,
            available: service.ports.iter().map(port_text).collect(),
        })
}

/// Resolves `port` of `service` to the pods behind it and the port each receives on.
pub fn backends_at<'m>(
    model: &'m Model,
    service: &'m Service,
    port: &'m ServicePort,
) -> Resolved<'m> {
    let backends = backends(&model.cluster, service)
        .into_iter()
        .map(|pod| Backend {
            pod,
            port: target_port(&model.cluster.pods[pod], port),
        })
        .collect();
    Resolved {
        service,
        port,
        backends,
    }
}

/// Resolves the Service port `spec` names (see [`find_port`]) with [`backends_at`].
pub fn resolve<'m>(
    model: &'m Model,
    service: &'m Service,
    spec: &PortSpec,
) -> Result<Resolved<'m>, ServiceError> {
    let port = find_port(service, spec)?;
    Ok(backends_at(model, service, port))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::FileId;

    const TEXT: &str = "
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  ports:
  - {name: http, port: 80, targetPort: http}
  - {name: metrics, port: 9100}
  - {name: dns, port: 53, protocol: UDP, targetPort: 5353}
---
apiVersion: v1
kind: Service
metadata: {name: external, namespace: shop}
spec:
  ports: [{port: 443}]
";
    const CLUSTER: &str = "pod shop/web-1 app=web ports=http:8080\npod shop/web-2 app=web,tier=x\npod other/web app=web ports=http:8080\npod shop/db app=db\n";

    fn model() -> Model {
        crate::load(&[(FileId(0), TEXT), (FileId(1), CLUSTER)])
    }

    #[test]
    fn pods_behind_a_service_are_its_namespace_matching_its_selector() {
        let m = model();
        assert!(m.diagnostics.is_empty(), "{:?}", m.diagnostics);
        let web = &m.cluster.services[m.cluster.service_index("shop/web").unwrap()];
        let ids: Vec<&str> = backends(&m.cluster, web)
            .into_iter()
            .map(|i| m.cluster.pods[i].id.as_str())
            .collect();
        assert_eq!(ids, ["shop/web-1", "shop/web-2"]);
        let external = &m.cluster.services[m.cluster.service_index("shop/external").unwrap()];
        assert!(
            backends(&m.cluster, external).is_empty(),
            "no selector, no pods"
        );
        let web1 = m.cluster.pod_index("shop/web-1").unwrap();
        assert_eq!(services_of(&m.cluster, web1).len(), 1);
    }

    #[test]
    fn target_ports_resolve_per_pod() {
        let m = model();
        let web = &m.cluster.services[m.cluster.service_index("shop/web").unwrap()];
        let http: PortSpec = "80".parse().unwrap();
        let r = resolve(&m, web, &http).unwrap();
        let ports: Vec<Option<u16>> = r.backends.iter().map(|b| b.port).collect();
        assert_eq!(ports, [Some(8080), None], "web-2 has no port named http");
        let by_name: PortSpec = "metrics".parse().unwrap();
        assert_eq!(
            resolve(&m, web, &by_name).unwrap().backends[0].port,
            Some(9100)
        );
        let dns: PortSpec = "53/UDP".parse().unwrap();
        assert_eq!(resolve(&m, web, &dns).unwrap().backends[1].port, Some(5353));
        let tcp53: PortSpec = "53".parse().unwrap();
        let err = resolve(&m, web, &tcp53).unwrap_err();
        assert_eq!(err.to_string(), "service shop/web has no TCP port 53");
        let ServiceError::NoSuchPort { available, .. } = err;
        assert_eq!(
            available,
            [
                "http 80/TCP -> http",
                "metrics 9100/TCP -> 9100",
                "dns 53/UDP -> 5353"
            ]
        );
    }
}
