"""Proven fixes: for a dropped path that one object edit turns into a delivery, that edit as YAML (docs/semantics.md L1–L9).

Why a separate pass: a drop's hop says in words what to change; a user wants the object to `kubectl apply`,
and wants to know it works and what else it opens. So for each dropped path of a trace this module
1. proposes ONE edit from the facts the drop was decided on (the walk is re-run with a recording tracer, so no
   hop text is parsed): a new NetworkPolicy allowing exactly this flow's port/protocol (ingress on the
   destination side, egress on the source side), a Namespace label that an existing rule's namespaceSelector
   waits for, a Service port, a Service selector that matches the pods again, a missing Secret its pods wait for (J2), an Ingress rule for a host or path;
2. applies it to the snapshot's objects (a pure function: a new `ClusterObjects`, the old model untouched;
   derived EndpointSlices of a changed Service are derived again) and re-traces the same flow; the fix is kept
   only when the same source now has a delivered path (L1: verified);
3. compares, on bounded samples of pod classes, which other (source → destination) verdicts change (`opens`;
   `bounded: true` when the sample was cut).
Selectors use stable labels only (L2): the workload's selector labels, else the pod's labels, never the
per-revision or per-replica labels the controllers add. Costly (a model rebuild per candidate), so it runs only
when asked: the single trace (CLI, API) and check_intents, never inside a matrix.
"""
from __future__ import annotations

import dataclasses
import ipaddress
import re
import weakref

import yaml

from . import kubeproxy as kp
from .assumptions import Assumptions
from .cluster import ClusterModel
from .dns import DNS_SERVICE
from .endpointslices import derive_endpoint_slices
from .flow import Flow, make_flow
from .model import (
    ClusterObjects,
    IngressPath,
    IngressRule,
    IPBlock,
    LabelSelector,
    Namespace,
    NetworkPolicy,
    Pod,
    PolicyPeer,
    PolicyPort,
    PolicyRule,
    Secret,
    Service,
    ServicePort,
)
from .netpol import Peer, policy_engine
from .result import DELIVERED, DROPPED, TraceResult
from .secret_use import missing_secrets, unmet
from .stable_labels import UNSTABLE_LABELS, stable_labels
from .storage import claim_problems
from .trace import _Tracer
from .trace_state import share_extra_indexes

__all__ = ["trace_with_fixes", "attach_fixes", "stable_labels", "UNSTABLE_LABELS", "OPENS_LIMIT"]  # re-exported

OPENS_LIMIT = 4000  # class pairs compared for `opens` (bounded beyond)
MAX_VERIFICATIONS = 4  # candidate edits verified per trace (each rebuilds the model and re-traces)
OPENS_SHOWN = 25


# -- the walk, recording the facts each policy drop was decided on -------------------------------------------


class _Recording(_Tracer):
    """The trace walk; remembers (direction, subject pod, peer, port) for each NetworkPolicy drop."""

    def __init__(self, *a):
        super().__init__(*a)
        self.facts: dict[int, dict] = {}

    def to_pod(self, src, hops, prob, pod, ip, port, seen, *args, **kwargs):
        out = super().to_pod(src, hops, prob, pod, ip, port, seen, *args, **kwargs)
        if isinstance(port, str):
            found = [cp.container_port for cp in pod.container_ports()
                     if cp.name == port and (cp.protocol or "TCP") == self.proto]
            port = found[0] if found else None
        for p in out:
            if p.reason == "policy-ingress-denied":
                self.facts[id(p)] = {"direction": "ingress", "subject": pod, "peer": seen, "port": port}
            elif p.reason == "policy-egress-denied" and src.pod is not None:
                self.facts[id(p)] = {"direction": "egress", "subject": src.pod,
                                     "peer": Peer(pod, ip, pod.node_name or None), "port": port}
        return out


    def to_external(self, src, hops, prob, host, port, *args, **kwargs):
        out = super().to_external(src, hops, prob, host, port, *args, **kwargs)
        for p in out:
            if p.reason == "policy-egress-denied" and src.pod is not None and isinstance(port, int):
                try:
                    ip = str(ipaddress.ip_address(host))
                except ValueError:
                    ip = ""  # a name: NetworkPolicy cannot name hosts (E7), only address blocks
                self.facts[id(p)] = {"direction": "egress", "subject": src.pod, "peer": Peer(None, ip, None),
                                     "port": port, "any_address": not ip}
        return out

    def dns_query(self, src, hops, prob):
        hops_out, dropped = super().dns_query(src, hops, prob)
        for p in dropped or []:
            if p.reason in ("policy-egress-denied", "policy-ingress-denied") and src.pod is not None:
                fact = _dns_fact(self.m, src, p.reason)
                if fact:
                    self.facts[id(p)] = fact
        return hops_out, dropped


def _dns_fact(model, src, reason) -> dict | None:
    """The cluster DNS query a policy denied (B, E5): the source pod and a CoreDNS endpoint, UDP/TCP 53 at the pod."""
    svc = model.services.get(DNS_SERVICE)
    sp = svc and (kp.find_service_port(svc, 53, "UDP") or kp.find_service_port(svc, 53, "TCP"))
    if not sp:
        return None
    ep = next((e for e in kp.service_endpoints(model, svc, sp) if e.pod is not None), None)
    if ep is None:
        return None
    core = Peer(ep.pod, ep.ip, ep.pod.node_name or None)
    if reason == "policy-egress-denied":
        return {"direction": "egress", "subject": src.pod, "peer": core, "port": ep.port, "protocol": sp.protocol}
    return {"direction": "ingress", "subject": ep.pod, "peer": src.peer, "port": ep.port, "protocol": sp.protocol}


def trace_with_fixes(model: ClusterModel, flow: Flow, assumptions: Assumptions | None = None) -> TraceResult:
    """trace() plus a verified `fix` on every dropped path that one object edit delivers."""
    assumptions = assumptions or Assumptions()
    walk = _Recording(model, flow, assumptions)
    result = walk.run()
    attach_fixes(model, flow, assumptions, result, walk.facts)
    return result


def attach_fixes(model, flow, assumptions, result: TraceResult, facts: dict[int, dict]) -> None:
    tried: dict[str, dict | None] = {}  # one candidate edit often serves several paths (replicas of a service)
    for path in result.paths:
        if path.verdict != DROPPED:
            continue
        try:
            _fix_path(model, flow, assumptions, path, facts.get(id(path)), tried)
        except Exception:  # noqa: BLE001 — a fix is an extra: a case it cannot handle must never fail the trace
            path.fix = None


def _fix_path(model, flow, assumptions, path, fact, tried) -> None:
    """The first candidate edit that delivers this path (each distinct edit verified once per trace)."""
    for cand in _candidates(model, flow, path, fact):
        key = cand["yaml"]
        if key not in tried:
            if len(tried) >= MAX_VERIFICATIONS:
                continue  # bounded: a path whose candidates were not verified gets no fix
            tried[key] = _verify(model, flow, assumptions, path, cand)
        if tried[key] is not None:
            path.fix = tried[key]
            return


# -- candidates ---------------------------------------------------------------------------------------------


def _candidates(model, flow, path, fact) -> list[dict]:
    out: list[dict] = []
    proto = (flow.protocol or "TCP").upper()
    if fact is not None and isinstance(fact["port"], int):
        fproto = fact.get("protocol", proto)  # the DNS query is UDP whatever the flow's protocol
        for cand in (_namespace_label(model, fact, fproto), _policy(model, fact, fproto)):
            if cand:
                dst = fact["subject"] if fact["direction"] == "ingress" else fact["peer"].pod
                out.append({**cand, "port": fact["port"], "protocol": fproto, "dst_pod": dst})
    svc = _service_of(model, path)
    if svc is not None and path.reason == "no-service-port" and isinstance(flow.port, int):
        c = _service_port(model, svc, flow.port, proto)
        if c:
            out.append(c)
    if svc is not None and path.reason == "no-endpoints" and svc.selector:
        out.extend(_service_selector(model, svc))
    if path.reason == "ingress-no-match" and flow.dst.kind == "url":
        out.extend(_ingress_rule(model, flow, path))
    if svc is not None and path.reason == "pod-not-ready":
        c = _missing_secret(model, svc)
        if c:
            out.append(c)
    return out


def _ingress_rule(model, flow, path) -> list[dict]:
    """L9 (Ingress rule, `ingress-no-match`): the Ingress that has the host but no path for the request gets a
    Prefix path to the one Service that host already serves; an Ingress without the host, whose rules serve one
    other host, gets a rule serving this host as it serves that one. `spec.rules` has no merge key (a patch
    replaces the list), so the YAML carries every rule of the Ingress, the new one last."""
    _scheme, host, _port, req_path = flow.dst.parts
    host = host.lower()
    named = [h.ref for h in path.hops if h.ref.kind == "ingress"]
    candidates = ([i for i in model.ingresses if (i.namespace, i.name) == (named[-1].namespace, named[-1].name)]
                  if named else list(model.ingresses))
    out = []
    for ing in candidates[:5]:
        host_rules = [r for r in ing.rules if r.host == host]
        if host_rules:
            backends = {(p.backend.service_name, p.backend.port_number, p.backend.port_name)
                        for r in host_rules for p in r.paths if not p.backend.resource}
            if len(backends) != 1 or not req_path.startswith("/"):
                continue
            template = next(p for r in host_rules for p in r.paths if not p.backend.resource)
            first = req_path.split("?")[0] or "/"
            added = IngressPath(path=first, path_type="Prefix", backend=template.backend)
            rules = tuple(dataclasses.replace(r, paths=(*r.paths, added)) if r is host_rules[0] else r
                          for r in ing.rules)
            what = f"add path {first} (Prefix) for host {host} to Service {template.backend.service_name}"
        else:
            served = [r for r in ing.rules if r.paths and r.host]
            if len(served) != 1 or len(ing.rules) != 1:
                continue
            rules = (*ing.rules, IngressRule(host=host, paths=served[0].paths))
            what = f"add a rule for host {host} with the paths of host {served[0].host}"
        patch = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                 "metadata": {"name": ing.name, "namespace": ing.namespace},
                 "spec": {"rules": [_rule_yaml(r) for r in rules]}}
        new = dataclasses.replace(ing, rules=rules)
        out.append({"kind": "ingress-rule",
                    "summary": f"Ingress {ing.key}: {what} (spec.rules is replaced as a whole: every rule is "
                               f"in the YAML)",
                    "manifest": patch, "yaml": _dump(patch), "target_service": "",
                    "apply": lambda o, new=new: dataclasses.replace(o, ingresses=[
                        new if (i.namespace, i.name) == (new.namespace, new.name) else i for i in o.ingresses])})
    return out


def _rule_yaml(rule: IngressRule) -> dict:
    out: dict = {"host": rule.host} if rule.host else {}
    if rule.paths:
        out["http"] = {"paths": [{"path": p.path, "pathType": p.path_type, "backend": _backend_yaml(p.backend)}
                                 for p in rule.paths]}
    return out


def _backend_yaml(b) -> dict:
    if b.resource:
        return {"resource": dict(b.resource)}
    port = {"number": b.port_number} if b.port_number is not None else {"name": b.port_name}
    return {"service": {"name": b.service_name, "port": port}}


def _missing_secret(model, svc: Service) -> dict | None:
    """L8 (missing Secret, J2): the Service's pods wait for one Secret (or keys of it) and nothing else: create it
    (a complete manifest) or add the keys (a patch: `stringData` merges). Values are never known: the YAML carries
    a placeholder to replace before applying."""
    pods = [p for p in model.pods_by_namespace.get(svc.namespace, [])
            if svc.selector and LabelSelector(match_labels=svc.selector).matches(p.labels) and not p.ready]
    names: set[str] = set()
    keys: set[str] = set()
    for pod in pods:
        if claim_problems(model, pod):
            return None
        for ref in pod.secret_refs:
            sec = model.secrets.get(f"{pod.namespace}/{ref.secret_name}")
            if unmet(ref, sec):
                names.add(ref.secret_name)
                keys.update(k for k in ([ref.key] if ref.key else ref.items) if not sec or k not in sec.keys)
    if len(names) != 1 or not pods:
        return None
    name = names.pop()
    existing = model.secrets.get(f"{svc.namespace}/{name}")
    data = {k: "REPLACE-WITH-THE-VALUE" for k in sorted(keys)}
    manifest: dict = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": svc.namespace}}
    if existing is None:
        manifest["type"] = "Opaque"
    if data:
        manifest["stringData"] = data
    what = (f"Add key{'s' if len(keys) != 1 else ''} {', '.join(sorted(keys))} to Secret {svc.namespace}/{name}"
            if existing else f"Create Secret {svc.namespace}/{name}" + (f" with key{'s' if len(keys) != 1 else ''} "
                                                                         f"{', '.join(sorted(keys))}" if keys else ""))
    new_secret = Secret(namespace=svc.namespace, name=name, type=existing.type if existing else "Opaque",
                        keys=tuple(sorted({*(existing.keys if existing else ()), *keys})))
    return {"kind": "secret", "target_service": svc.key,
            "summary": f"{what} (replace the placeholder values): the pods of Service {svc.key} then start (J2)",
            "manifest": manifest, "yaml": _dump(manifest),
            "apply": lambda o: _add_secret(o, new_secret, [p.key for p in pods])}


def _add_secret(o: ClusterObjects, secret: Secret, waiting: list[str]) -> ClusterObjects:
    """The Secret exists; the pods that waited only for it start (Running, Ready), their derived endpoints follow."""
    secrets = [*(x for x in o.secrets if (x.namespace, x.name) != (secret.namespace, secret.name)), secret]
    lookup = {(x.namespace, x.name): x for x in secrets}
    waiting_set = set(waiting)
    pods, started = [], set()
    for p in o.pods:
        if p.key in waiting_set and not missing_secrets(p, lambda n, ns=p.namespace: lookup.get((ns, n))):
            p = dataclasses.replace(p, ready=True, phase="Running", status_reason="")
            started.add(p.key)
        pods.append(p)
    slices = []
    for sl in o.endpoint_slices:
        if sl.derived and sl.namespace == secret.namespace:
            continue  # derived again below, from the started pods
        if any(f"{e.target_namespace}/{e.target_name}" in started for e in sl.endpoints):
            sl = dataclasses.replace(sl, endpoints=tuple(
                dataclasses.replace(e, ready=True, serving=True)
                if f"{e.target_namespace}/{e.target_name}" in started else e for e in sl.endpoints))
        slices.append(sl)
    o2 = dataclasses.replace(o, secrets=secrets, pods=pods, endpoint_slices=slices)
    o2.endpoint_slices.extend(derive_endpoint_slices(o2))
    return o2


def _service_of(model, path):
    for hop in reversed(path.hops):
        if hop.ref.kind == "service":
            return model.services.get(f"{hop.ref.namespace}/{hop.ref.name}")
    return None


def _dns_name(text: str) -> str:
    name = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")
    return name[:63].rstrip("-") or "fix"


def _peer_item(model, peer: Peer, policy_ns: str, any_address: bool = False) -> dict | None:
    """The from/to item selecting exactly `peer` by stable labels (pods) or by its address (/32)."""
    if peer.pod is not None and not peer.pod.host_network:
        labels = stable_labels(model, peer.pod)
        if not labels:
            return None
        item: dict = {"podSelector": {"matchLabels": dict(sorted(labels.items()))}}
        if peer.pod.namespace != policy_ns:
            item = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": peer.pod.namespace}},
                    **item}
        return item
    if peer.ip:
        return {"ipBlock": {"cidr": f"{peer.ip}/{128 if ':' in peer.ip else 32}"}}
    if any_address:
        return {"ipBlock": {"cidr": "0.0.0.0/0"}}
    return None


def _policy(model, fact, proto) -> dict | None:
    """L4 (NetworkPolicy): a new policy, additive as policies are (E4), allowing only this flow."""
    direction, subject, peer, port = fact["direction"], fact["subject"], fact["peer"], fact["port"]
    labels = stable_labels(model, subject)
    item = _peer_item(model, peer, subject.namespace, fact.get("any_address", False))
    if not labels or item is None:
        return None
    field_ = "from" if direction == "ingress" else "to"
    peer_name = (peer.pod.workload_name or peer.pod.name) if peer.pod is not None else (peer.ip or "peer")
    own = subject.workload_name or subject.name
    name = _dns_name(f"allow-{peer_name}-to-{own}-{proto}-{port}" if direction == "ingress"
                     else f"allow-{own}-to-{peer_name}-{proto}-{port}")
    manifest = {
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": subject.namespace},
        "spec": {"podSelector": {"matchLabels": dict(sorted(labels.items()))},
                 "policyTypes": ["Ingress" if direction == "ingress" else "Egress"],
                 direction: [{field_: [item], "ports": [{"protocol": proto, "port": port}]}]},
    }
    who = f"pods {_sel(labels)} in {subject.namespace}"
    other = (f"pods {_sel(stable_labels(model, peer.pod))} in {peer.pod.namespace}" if peer.pod is not None
             else peer.ip or "any address (0.0.0.0/0: a NetworkPolicy cannot name a host, only address blocks)")
    summary = (f"Add NetworkPolicy {subject.namespace}/{name}: {who} accept {proto} {port} from {other}"
               if direction == "ingress" else
               f"Add NetworkPolicy {subject.namespace}/{name}: {who} may send {proto} {port} to {other}")
    return {"kind": "network-policy", "summary": summary, "manifest": manifest, "yaml": _dump(manifest),
            "apply": lambda o: _add_policy(o, manifest, labels, item, direction, proto, port)}


def _add_policy(o: ClusterObjects, manifest, labels, item, direction, proto, port) -> ClusterObjects:
    ns_sel = item.get("namespaceSelector")
    pod_sel = item.get("podSelector")
    peer = PolicyPeer(
        pod_selector=LabelSelector(match_labels=dict(pod_sel["matchLabels"])) if pod_sel else None,
        namespace_selector=LabelSelector(match_labels=dict(ns_sel["matchLabels"])) if ns_sel else None,
        ip_block=_ipblock(item))
    r = PolicyRule(peers=(peer,), ports=(PolicyPort(protocol=proto, port=port),))
    pol = NetworkPolicy(namespace=manifest["metadata"]["namespace"], name=manifest["metadata"]["name"],
                        pod_selector=LabelSelector(match_labels=dict(labels)),
                        policy_types=("Ingress",) if direction == "ingress" else ("Egress",),
                        ingress=(r,) if direction == "ingress" else (), egress=(r,) if direction == "egress" else ())
    return dataclasses.replace(o, network_policies=[*o.network_policies, pol])


def _ipblock(item):
    return IPBlock(cidr=item["ipBlock"]["cidr"]) if "ipBlock" in item else None


def _namespace_label(model, fact, proto) -> dict | None:
    """L3 (namespace label): an existing rule of an isolating policy would allow this flow but for the peer
    namespace's labels (matchLabels only); label that namespace."""
    peer = fact["peer"]
    if peer.pod is None:
        return None
    subject, direction = fact["subject"], fact["direction"]
    have = model.namespace_labels(peer.pod.namespace)
    for pol in model.policies_by_namespace.get(subject.namespace, []):
        if not pol.pod_selector.matches(subject.labels):
            continue
        for rule in (pol.ingress if direction == "ingress" else pol.egress):
            if rule.ports and not any(_port_ok(pp, fact["port"], proto) for pp in rule.ports):
                continue
            for pp in rule.peers:
                ns_sel = pp.namespace_selector
                if ns_sel is None or ns_sel.match_expressions or ns_sel.matches(have):
                    continue
                if pp.pod_selector is not None and not pp.pod_selector.matches(peer.pod.labels):
                    continue
                if "kubernetes.io/metadata.name" in ns_sel.match_labels:
                    continue  # the API server owns that label
                labels = {**{k: v for k, v in have.items() if k != "kubernetes.io/metadata.name"},
                          **ns_sel.match_labels}
                ns_name = peer.pod.namespace
                manifest = {"apiVersion": "v1", "kind": "Namespace",
                            "metadata": {"name": ns_name, "labels": dict(sorted(labels.items()))}}
                missing = ", ".join(f"{k}={v}" for k, v in sorted(ns_sel.match_labels.items())
                                    if have.get(k) != v)
                return {"kind": "namespace-label",
                        "summary": f"Label namespace {ns_name} with {missing}: NetworkPolicy {pol.key} "
                                   f"already allows {direction} {'from' if direction == 'ingress' else 'to'} "
                                   f"namespaces with that label",
                        "manifest": manifest, "yaml": _dump(manifest),
                        "apply": lambda o, n=ns_name, lab=labels: _label_namespace(o, n, lab)}
    return None


def _port_ok(pp, port, proto) -> bool:
    if (pp.protocol or "TCP").upper() != proto:
        return False
    if pp.port is None:
        return True
    if isinstance(pp.port, int):
        return pp.port <= port <= (pp.end_port or pp.port)
    return False  # a named port: the labels fix would need the name to resolve; leave it to the policy fix


def _label_namespace(o: ClusterObjects, name: str, labels: dict) -> ClusterObjects:
    rest = [n for n in o.namespaces if n.name != name]
    return dataclasses.replace(o, namespaces=[*rest, Namespace(name=name, labels=dict(labels))])


def _service_port(model, svc: Service, port: int, proto: str) -> dict | None:
    """L5 (Service port): add `port` to the Service, targeting the port its pods declare (the same number,
    else their only declared port of that protocol)."""
    pods = [p for p in model.pods_by_namespace.get(svc.namespace, [])
            if svc.selector and LabelSelector(match_labels=svc.selector).matches(p.labels)]
    declared = sorted({cp.container_port for p in pods for cp in p.container_ports()
                       if (cp.protocol or "TCP") == proto})
    if not pods or not declared:
        return None
    target = port if port in declared else (declared[0] if len(declared) == 1 else None)
    if target is None:
        return None
    name = f"{proto.lower()}-{port}"
    item = {"name": name, "port": port, "protocol": proto, "targetPort": target}
    patch = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": svc.name, "namespace": svc.namespace},
             "spec": {"ports": [item]}}
    if svc.ports and any(not sp.name for sp in svc.ports):
        return None  # a second port needs every port named; renaming the others is more than one edit
    sp = ServicePort(port=port, protocol=proto, name=name, target_port=target)
    return {"kind": "service-port",
            "summary": f"Add port {port}/{proto} (targetPort {target}) to Service {svc.key} (strategic-merge "
                       f"patch: ports merge by port)",
            "manifest": patch, "yaml": _dump(patch),
            "apply": _with_service(dataclasses.replace(svc, ports=(*svc.ports, sp)))}


def _service_selector(model, svc: Service) -> list[dict]:
    """L6 (Service selector): keep the selector keys some pods of the namespace match, null the others, when
    that selects exactly one workload's pods."""
    pods = model.pods_by_namespace.get(svc.namespace, [])
    out = []
    groups: dict[tuple, list[Pod]] = {}
    for p in pods:
        if p.workload_kind:
            groups.setdefault((p.workload_kind, p.workload_name), []).append(p)
    for (_kind, wname), members in sorted(groups.items()):
        labels = stable_labels(model, members[0])
        kept = {k: v for k, v in svc.selector.items() if all(m.labels.get(k) == v for m in members)}
        if not kept or kept == svc.selector:
            continue
        # only when the surviving keys name this workload alone and overlap the service's intent
        if any(LabelSelector(match_labels=kept).matches(p.labels) for p in pods if p not in members):
            continue
        new = dict(sorted(kept.items()))
        spec_sel = {**new, **{k: None for k in svc.selector if k not in kept}}
        patch = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": svc.name, "namespace": svc.namespace},
                 "spec": {"selector": spec_sel}}
        dropped = ", ".join(f"{k}={v}" for k, v in sorted(svc.selector.items()) if k not in kept)
        out.append({"kind": "service-selector",
                    "summary": f"Select the pods of {wname} from Service {svc.key}: drop {dropped} from "
                               f"spec.selector (null deletes a key in a strategic-merge patch)",
                    "manifest": patch, "yaml": _dump(patch), "stable": labels,
                    "apply": _with_service(dataclasses.replace(svc, selector=new))})
    return out[:3]


def _with_service(svc: Service):
    return lambda o: _replace_service(o, svc)


def _replace_service(o: ClusterObjects, svc: Service) -> ClusterObjects:
    services = [svc if (s.namespace, s.name) == (svc.namespace, svc.name) else s for s in o.services]
    slices = [sl for sl in o.endpoint_slices
              if not (sl.derived and (sl.namespace, sl.service_name) == (svc.namespace, svc.name))]
    o2 = dataclasses.replace(o, services=services, endpoint_slices=slices)
    o2.endpoint_slices.extend(derive_endpoint_slices(o2))
    return o2


# -- verification and what else it opens ------------------------------------------------------------------


def _verify(model, flow, assumptions, path, cand) -> dict | None:
    new_model = ClusterModel.build(cand["apply"](model.objects), model.snapshot_id)
    if cand["kind"] in ("network-policy", "namespace-label", "ingress-rule", "service-selector", "service-port"):
        share_extra_indexes(model, new_model)  # no pod, node or service address changed
    again = _Tracer(new_model, flow, assumptions).run()
    if not any(p.verdict == DELIVERED and p.source == path.source for p in again.paths):
        return None
    fix = {"summary": cand["summary"], "yaml": cand["yaml"], "kind": cand["kind"], "verified": True,
           "command": apply_command(model, cand["manifest"])}
    fix.update(_opens(model, new_model, flow, cand, _own_pair(model, path, cand)))
    return fix


def apply_command(model, manifest: dict) -> str:
    """How to apply `yaml` safely: `kubectl apply` creates an object that does not exist yet; an edit of an
    existing one is a strategic-merge patch (`kubectl patch`), because `kubectl apply` of a partial manifest
    would delete the fields an earlier `kubectl apply` recorded in last-applied-configuration."""
    kind, meta = manifest["kind"], manifest["metadata"]
    ns, name = meta.get("namespace", ""), meta["name"]
    exists = {
        "Namespace": lambda: any(n.name == name for n in model.objects.namespaces),
        "Service": lambda: f"{ns}/{name}" in model.services,
        "Secret": lambda: f"{ns}/{name}" in model.secrets,
        "Ingress": lambda: True,  # an ingress-rule fix always edits an Ingress the trace went through
    }.get(kind, lambda: False)()
    if not exists:
        return "kubectl apply -f -"
    where = f" -n {ns}" if ns else ""
    return f"kubectl patch {kind.lower()}/{name}{where} --type strategic --patch-file /dev/stdin"


_CLASSES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _classes(model) -> list[Pod]:
    """One running pod per (namespace, stable labels): the sample the `opens` comparison walks (kept per model)."""
    hit = _CLASSES.get(model)
    if hit is None:
        hit = _CLASSES[model] = _class_reps(model)
    return hit


def _class_reps(model) -> list[Pod]:
    seen: dict[tuple, Pod] = {}
    for pod in model.pods.values():
        if not pod.ip or pod.host_network or pod.phase in ("Succeeded", "Failed", "Pending"):
            continue
        seen.setdefault((pod.namespace, tuple(sorted(stable_labels(model, pod).items()))), pod)
    return list(seen.values())


def _own_pair(model, path, cand) -> tuple[str, str]:
    """The (source class, destination) of the traced flow itself: not listed among what else opens."""
    src = model.pods.get(f"{path.source.namespace}/{path.source.name}") if path.source.kind == "pod" else None
    s = _cls(model, src) if src is not None else ""
    dst = cand.get("dst_pod")
    if dst is not None:
        return s, _cls(model, dst)
    return s, f"svc:{_target_service(cand)}"


def _target_service(cand) -> str:
    meta = cand["manifest"]["metadata"]
    return cand.get("target_service") or f"{meta.get('namespace', '')}/{meta['name']}"


def _opens(old, new, flow, cand, own: tuple[str, str]) -> dict:
    """The (source class → destination) verdicts that change with the edit: policy edits compare both policy
    engines on the flow's port/protocol over pod classes; Service edits re-trace each source class to the
    Service."""
    proto = (flow.protocol or "TCP").upper()
    reps = _classes(old)
    changes, bounded, n = [], False, 0
    if cand["kind"] in ("network-policy", "namespace-label"):
        port = cand["port"]  # the port at the pod, after DNAT (policy reads it there, E10)
        proto = cand.get("protocol", proto)
        pe_old, pe_new = policy_engine(old), policy_engine(new)
        for s, d in _affected(cand, reps):
            if s is d:
                continue
            n += 1
            if n > OPENS_LIMIT:
                bounded = True
                break
            sp, dp = Peer(s, s.ip, s.node_name or None), Peer(d, d.ip, d.node_name or None)
            before = pe_old.egress(sp, dp, port, proto).allowed and pe_old.ingress(sp, dp, port, proto).allowed
            after = pe_new.egress(sp, dp, port, proto).allowed and pe_new.ingress(sp, dp, port, proto).allowed
            if before != after and (_cls(old, s), _cls(old, d)) != own:
                changes.append({"source": _cls(old, s), "destination": _cls(old, d), "port": port,
                                "protocol": proto, "before": _v(before), "after": _v(after)})
    elif cand["kind"] == "ingress-rule":
        return {"opens": [], "opens_count": 0, "opens_bounded": False,
                "opens_note": "an Ingress rule opens only the new host/path from outside; no pod pair changes"}
    else:
        svc_key = _target_service(cand)
        for s in reps[:64]:
            f = make_flow(f"pod:{s.key}", f"svc:{svc_key}", port=flow.port, protocol=proto)
            try:
                before = _Tracer(old, f, Assumptions()).run().verdict
                after = _Tracer(new, f, Assumptions()).run().verdict
            except Exception:  # noqa: BLE001 — a sample source the trace refuses (e.g. not running) is skipped
                continue
            if before != after and (_cls(old, s), f"svc:{svc_key}") != own:
                changes.append({"source": _cls(old, s), "destination": f"svc:{svc_key}", "port": flow.port,
                                "protocol": proto, "before": before, "after": after})
        bounded = len(reps) > 64
    return {"opens": changes[:OPENS_SHOWN], "opens_count": len(changes),
            "opens_bounded": bounded or len(changes) > OPENS_SHOWN}


def _affected(cand, reps: list[Pod]):
    """Only pairs whose verdict can change: a new ingress policy changes what enters the pods it selects, an
    egress one what leaves them; a namespace label changes what rules match that namespace's pods, as sources
    (ingress rules) or destinations (egress rules) — both sides are kept for it."""
    m = cand["manifest"]
    if cand["kind"] == "namespace-label":
        ns = m["metadata"]["name"]
        inside = [p for p in reps if p.namespace == ns]
        yield from ((s, d) for s in inside for d in reps)
        yield from ((s, d) for s in reps if s.namespace != ns for d in inside)
        return
    sel = LabelSelector(match_labels=dict(m["spec"]["podSelector"]["matchLabels"]))
    chosen = [p for p in reps if p.namespace == m["metadata"]["namespace"] and sel.matches(p.labels)]
    if "ingress" in m["spec"]:
        yield from ((s, d) for s in reps for d in chosen)
    else:
        yield from ((s, d) for s in chosen for d in reps)


def _cls(model, pod: Pod) -> str:
    return f"{pod.namespace}/{{{_sel(stable_labels(model, pod))}}}"


def _v(ok: bool) -> str:
    return DELIVERED if ok else DROPPED


def _sel(labels: dict) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def _dump(manifest: dict) -> str:
    return yaml.safe_dump(manifest, sort_keys=False, default_flow_style=False)
