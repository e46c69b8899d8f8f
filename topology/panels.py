"""Side-panel facts for every object kind the map and the trace hops show.

Why here and not in the browser: a panel says what the engine concludes ("this endpoint is not used:
not ready"), and each conclusion comes from the engine module that owns the rule (kubeproxy for
endpoints, netpol for policies, ingress_routing for Ingress order); the browser only lays it out.
Every function returns None when the snapshot has no such object (the view answers 404).
"""
from __future__ import annotations

from topology.gateway_panels import gateway_panel, route_panel
from topology.storage_panels import claim_panel, pod_panel, statefulset_claims, storage_class_panel, volume_panel
from topology.trafficmap import _app_label
from tracer.engine.cluster import ClusterModel
from tracer.engine.kubeproxy import categorize, condition_text, proxy_skip_reason, service_endpoints
from tracer.engine.netpol import _describe_peer, _describe_ports, effective_policy_types, policies_selecting
from tracer.engine.pod_readiness import why_not_ready

KINDS = ("svc", "node", "ingress", "netpol", "namespace", "workload", "pod", "pvc", "pv", "storageclass", "gateway",
         "route")


def _selector_text(sel: dict | None) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted((sel or {}).items()))


def service_panel(model: ClusterModel, key: str) -> dict | None:
    """A service, its ports and, per port, each endpoint with whether kube-proxy uses it and why."""

    svc = model.services.get(key)
    if svc is None:
        return None
    skip = proxy_skip_reason(svc)
    ports = []
    for sp in svc.ports or ():
        eps = service_endpoints(model, svc, sp)
        chosen = categorize(svc, eps, local_node=None, zone=None, policy_field="internalTrafficPolicy")
        used = {e.addr for e in chosen.endpoints}
        rows = []
        for ep in eps:
            if skip:
                why = "not programmed: " + skip
            elif ep.addr in used:
                why = "used: ready" if ep.ready else "used: serving-terminating fallback (no endpoint is ready)"
            else:
                why = (f"not used: not ready ({condition_text(ep)}); kube-proxy sends to ready endpoints, and to "
                       "serving-terminating ones only when none is ready (A17)") if not ep.ready else \
                    "not used: " + "; ".join(chosen.notes or ["filtered out by topology or traffic policy"])
                if not ep.ready and ep.pod is not None and why_not_ready(model, ep.pod):  # J2 / I3: say why
                    why += "; the pod is not ready because " + "; ".join(why_not_ready(model, ep.pod))
            rows.append({"target": ep.label, "address": ep.addr, "node": ep.node_name, "zone": ep.zone,
                         "condition": condition_text(ep), "used": ep.addr in used and not skip, "why": why})
        ports.append({"name": sp.name, "port": sp.port, "protocol": sp.protocol or "TCP",
                      "target_port": sp.target_port, "node_port": sp.node_port, "endpoints": rows,
                      "notes": list(chosen.notes) + ([chosen.detail] if chosen.detail else [])})
    routes = [f"ingress:{ing.key}" for ing in model.ingresses if ing.namespace == svc.namespace and any(
        (p.backend.service_name == svc.name) for r in ing.rules for p in r.paths)
        or (ing.default_backend and ing.default_backend.service_name == svc.name and ing.namespace == svc.namespace)]
    return {
        "kind": "Service", "ref": f"svc:{svc.key}", "namespace": svc.namespace, "name": svc.name,
        "facts": [["type", svc.type], ["cluster IP", ", ".join(svc.cluster_ips) or "none"],
                  ["selector", _selector_text(svc.selector) if svc.selector is not None else "none (manual endpoints)"],
                  ["external IPs", ", ".join(svc.external_ips)],
                  ["load balancer", ", ".join(i.ip or i.hostname for i in svc.lb_ingress)],
                  ["source ranges", ", ".join(svc.lb_source_ranges)],
                  ["externalTrafficPolicy", svc.external_traffic_policy if svc.type in ("NodePort", "LoadBalancer") else ""],
                  ["internalTrafficPolicy", svc.internal_traffic_policy],
                  ["session affinity", svc.session_affinity], ["external name", svc.external_name]],
        "note": skip or "",
        "ports": ports,
        "routes": routes,
    }


def node_panel(model: ClusterModel, name: str) -> dict | None:
    node = model.nodes.get(name)
    if node is None:
        return None
    pods = model.pods_by_node.get(name, [])
    return {
        "kind": "Node", "ref": f"node:{name}", "name": name,
        "facts": [["ready", "yes" if node.ready else "no"], ["internal IP", node.internal_ip or ""],
                  ["addresses", ", ".join(node.ips)], ["zone", node.zone or ""],
                  ["pod CIDRs", ", ".join(getattr(node, "pod_cidrs", ()) or ())], ["pods", str(len(pods))]],
        "pods": [f"pod:{p.key}" for p in pods[:200]],
        "more": max(0, len(pods) - 200),
    }


def ingress_panel(model: ClusterModel, key: str) -> dict | None:
    ing = next((i for i in model.ingresses if i.key == key), None)
    if ing is None:
        return None
    rules = []
    for r in ing.rules:
        for p in r.paths:
            b = p.backend
            rules.append({"host": r.host or "* (any host)", "path": p.path, "path_type": p.path_type,
                          "backend": f"svc:{ing.namespace}/{b.service_name}" if b.service_name else str(b.resource or ""),
                          "port": b.port_number or b.port_name or ""})
    if ing.default_backend:
        b = ing.default_backend
        rules.append({"host": "(default backend)", "path": "", "path_type": "",
                      "backend": f"svc:{ing.namespace}/{b.service_name}" if b.service_name else str(b.resource or ""),
                      "port": b.port_number or b.port_name or ""})
    return {
        "kind": "Ingress", "ref": f"ingress:{ing.key}", "namespace": ing.namespace, "name": ing.name,
        "facts": [["class", ing.class_name or "(default class)"],
                  ["TLS", "; ".join(f"{', '.join(t.hosts) or '*'} (secret {t.secret_name}"
                                    f"{'' if f'{ing.namespace}/{t.secret_name}' in model.secrets else ', not in the snapshot'})"
                                    for t in ing.tls)],
                  ["published address", ", ".join(ing.status_addresses)]],  # status.loadBalancer (D9)
        "rules": rules,
    }


def policy_panel(model: ClusterModel, key: str) -> dict | None:
    """A NetworkPolicy as a table: per rule, direction, who (peers, resolved to namespaces), ports."""

    ns, _, name = key.partition("/")
    pol = next((p for p in model.policies_by_namespace.get(ns, ()) if p.name == name), None)
    if pol is None:
        return None
    selected = [p for p in model.pods_by_namespace.get(ns, ()) if pol.pod_selector.matches(p.labels)]
    types = effective_policy_types(pol)
    rows = []
    for direction, rules in (("Ingress", pol.ingress), ("Egress", pol.egress)):
        if direction not in types:
            continue
        if not rules:
            rows.append({"direction": direction, "rule": "", "peers": "nothing (this direction is denied)",
                         "ports": "", "allows": False})
        for i, rule in enumerate(rules, 1):
            peers = "; ".join(_describe_peer(p, ns) for p in rule.peers) or "everyone (no from/to)"
            rows.append({"direction": direction, "rule": i, "peers": peers, "ports": _describe_ports(rule),
                         "allows": True})
    return {
        "kind": "NetworkPolicy", "ref": f"netpol:{pol.key}", "namespace": ns, "name": name,
        "facts": [["selects", pol.pod_selector.describe()], ["policy types", ", ".join(types)],
                  ["selected pods", str(len(selected))]],
        "rules": rows,
        "selected": [f"pod:{p.key}" for p in selected[:100]],
    }


def namespace_panel(model: ClusterModel, name: str) -> dict | None:
    if name not in model.namespaces and name not in model.pods_by_namespace:
        return None
    labels = model.namespace_labels(name)
    return {
        "kind": "Namespace", "ref": f"namespace:{name}", "name": name,
        "facts": [["labels", ", ".join(f"{k}={v}" for k, v in sorted(labels.items()))],
                  ["pods", str(len(model.pods_by_namespace.get(name, ())))],
                  ["services", str(len(model.services_by_namespace.get(name, ())))]],
        "policies": [f"netpol:{p.key}" for p in model.policies_by_namespace.get(name, ())],
    }


def workload_panel(model: ClusterModel, key: str) -> dict | None:
    """key is NS/KIND/NAME."""

    parts = key.split("/")
    if len(parts) != 3:
        return None
    if parts[1] == "Pods":  # owner-less pods the map groups by app label
        pods = [p for p in model.pods_by_namespace.get(parts[0], ())
                if not (p.workload_kind or p.owner_kind) and _app_label(p.labels) == parts[2]]
    else:
        pods = model.pods_by_workload.get(tuple(parts)) or [
            p for p in model.pods_by_namespace.get(parts[0], ()) if (p.owner_kind, p.owner_name) == (parts[1], parts[2])]
    if not pods:
        return None
    ns, kind, name = parts
    return {
        "kind": kind, "ref": f"workload:{ns}/{name}", "namespace": ns, "name": name,
        "facts": [["pods", str(len(pods))], ["labels", ", ".join(f"{k}={v}" for k, v in sorted(pods[0].labels.items()))]],
        "pods": [f"pod:{p.key}" for p in pods[:200]],
        "policies": [f"netpol:{p.key}" for p in policies_selecting(model, pods[0])],
        "services": [f"svc:{s.key}" for s in model.services_by_namespace.get(ns, ())
                     if s.selector and all(pods[0].labels.get(k) == v for k, v in s.selector.items())],
        "claims": statefulset_claims(model, ns, kind, name),  # I3: `<template>-<sts>-<ordinal>` per replica
    }


def object_panel(model: ClusterModel, kind: str, key: str) -> dict | None:
    return {"svc": service_panel, "node": node_panel, "ingress": ingress_panel, "netpol": policy_panel,
            "namespace": namespace_panel, "workload": workload_panel, "pod": pod_panel, "pvc": claim_panel,
            "pv": volume_panel, "storageclass": storage_class_panel, "gateway": gateway_panel,
            "route": route_panel}[kind](model, key)
