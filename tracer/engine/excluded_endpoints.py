"""Every endpoint kube-proxy left out of a Service's choice, and why (issue 13 item 8; docs/contract.md
`excluded_endpoints`).

`excluded(model, svc, sp, eps, chosen, local_node=, zone=, policy_field=)` → [{ref, endpoint, service, port,
reason, detail}], one per endpoint of the Service port that is not among `chosen`:
- `terminating`        the pod is being deleted (A17: used only as a serving-terminating fallback)
- `not-ready`          its Ready condition is false; the detail says why when the snapshot knows (J2, I3)
- `other-node`         a Local traffic policy keeps the traffic on the receiving node (A15/A16)
- `other-zone`         topology-aware routing keeps it in the client's zone (A18)
- `named-port-missing` a pod the selector matches has no container port of the targetPort's name, so the
                       EndpointSlice controller leaves it out for this port (A6)
The walk only reports these; the choice itself stays kubeproxy.categorize's.
"""
from __future__ import annotations

from .cluster import ClusterModel
from .kubeproxy import ProxyEndpoint, condition_text
from .model import Service, ServicePort
from .pod_readiness import why_not_ready
from .result import Ref


def _entry(ref: Ref, svc: Service, port, reason: str, detail: str) -> dict:
    return {"ref": ref.to_dict(), "endpoint": ref.id, "service": svc.key, "port": port, "reason": reason,
            "detail": detail}


def excluded(model: ClusterModel, svc: Service, sp: ServicePort, eps: list[ProxyEndpoint],
             chosen: list[ProxyEndpoint], *, local_node: str | None, zone: str | None,
             policy_field: str) -> list[dict]:
    picked = {(ep.ip, ep.port) for ep in chosen}
    out = []
    for ep in eps:
        if (ep.ip, ep.port) in picked:
            continue
        ref = Ref.key("pod", ep.pod.key) if ep.pod is not None else Ref("ip", "", ep.ip)
        if ep.terminating:
            reason, detail = "terminating", f"{ep.label} is terminating ({condition_text(ep)})"
        elif not ep.ready:
            why = why_not_ready(model, ep.pod) if ep.pod is not None else []
            reason = "not-ready"
            detail = f"{ep.label} is not ready ({condition_text(ep)})" + (": " + "; ".join(why) if why else "")
        elif local_node is not None and ep.node_name != local_node:
            reason = "other-node"
            detail = (f"{ep.label} runs on node {ep.node_name or '?'}; {policy_field}: Local uses only endpoints "
                      f"on node {local_node}")
        else:
            reason = "other-zone"
            detail = f"{ep.label} is hinted for another zone than {zone or '?'} (topology-aware routing)"
        out.append(_entry(ref, svc, ep.port, reason, detail))
    target = sp.target_port
    if isinstance(target, str) and target and svc.selector:
        listed = {ep.ip for ep in eps}
        proto = sp.protocol or "TCP"
        for pod in model.pods_by_namespace.get(svc.namespace, ()):
            if (pod.ip and pod.ip not in listed and not pod.deleting
                    and all(pod.labels.get(k) == v for k, v in svc.selector.items())
                    and not any(cp.name == target and (cp.protocol or "TCP") == proto for cp in pod.container_ports())):
                out.append(_entry(Ref.key("pod", pod.key), svc, None, "named-port-missing",
                                  f"pod {pod.key} matches the selector of Service {svc.key} but no container "
                                  f"declares a port named {target!r} ({proto}): it is no endpoint of port "
                                  f"{sp.port}"))
    return out
