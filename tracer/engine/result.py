"""The trace result as explicit trees (TraceResult → Path → Hop), with to_dict/from_dict.

The JSON shape is the public contract (docs/contract.md "Result"); `schema_version` lets a stored trace from
an older release still load and render.

Version 2 names every object by a typed reference, `Ref(kind, namespace, name)`: `hop.ref`, `path.endpoint_ref`
and `path.source_ref` in JSON. The string ids of version 1 (`hop.id`, `path.endpoint`, `path.source`) are still
written, derived from the reference (`Ref.id`), so no reader of version 1 breaks. Nothing on the server parses
those strings any more except `Ref.from_v1`, which reads stored version-1 results once, when they load.

`REASON_TEXT` is the one table of what each drop reason means and what to change (the API serves it at
`/api/reasons/`; the UI reads it there).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

SCHEMA_VERSION = 2

DELIVERED = "delivered"
DROPPED = "dropped"
PARTIAL = "partial"

# code → (what it means, what to change). Every REASON code of the contract, including those other engine
# modules (Gateway API, listeners) produce.
REASON_TEXT: dict[str, tuple[str, str]] = {
    "dns-nxdomain": (
        "The name does not resolve from the source.",
        "Check the spelling and namespace: short names resolve only in the source's own namespace "
        "(use name.namespace)."),
    "unknown-destination": (
        "The address belongs to nothing in the cluster model.",
        "Check the IP: no pod, service, node or load balancer owns it."),
    "no-service-port": (
        "The service, NodePort or load-balancer address does not expose that port.",
        "Use one of the service's spec.ports[].port values (not its targetPort), or add the port to the Service."),
    "no-endpoints": (
        "The service has no usable endpoints.",
        "Make spec.selector match the pods' labels, check the pods are Ready, and that a named targetPort exists "
        "on them."),
    "no-local-endpoints": (
        "externalTrafficPolicy/internalTrafficPolicy is Local and no endpoint runs on that node.",
        "Enter through a node that runs an endpoint, or set the traffic policy to Cluster."),
    "source-range-denied": (
        "loadBalancerSourceRanges excludes the client.",
        "Add the client's range to spec.loadBalancerSourceRanges of the Service."),
    "policy-egress-denied": (
        "A NetworkPolicy isolating the source pod for egress allows none of this traffic.",
        "Add an egress rule (to the destination and port, and to DNS on 53/UDP) in a policy selecting the source "
        "pod."),
    "policy-ingress-denied": (
        "A NetworkPolicy isolating the destination pod for ingress allows none of this traffic.",
        "Add an ingress rule allowing this source (podSelector/namespaceSelector/ipBlock) and port to a policy "
        "selecting the destination pod."),
    "ingress-no-match": (
        "No Ingress rule matches the host and path, and there is no default backend.",
        "Add a rule for this host/path or a spec.defaultBackend to the Ingress."),
    "no-ingress-controller": (
        "The Ingress's class has no controller pods in the cluster.",
        "Deploy the ingress controller for that IngressClass, or change spec.ingressClassName."),
    "no-route": (
        "A Gateway listener or controller has no route for this host, path, method or headers (HTTP 404).",
        "Add a route (HTTPRoute rule) matching the request, or attach the route to this listener."),
    "backend-unavailable": (
        "The chosen route's backend is missing, not permitted or refuses the request (HTTP 500/502/503).",
        "Point the route at an existing Service with ready endpoints; across namespaces add a ReferenceGrant."),
    "http-redirect": (
        "The route answers with a redirect; nothing reaches a backend.",
        "Follow the redirect's location, or remove the RequestRedirect filter from the route."),
    "pod-not-ready": (
        "The only pods that could serve are not ready.",
        "Fix what keeps them from becoming Ready (the hop says why, e.g. a missing Secret)."),
    "no-listener": (
        "The address is right but nothing listens on that port.",
        "Use a port a container declares (or a Service's port), or make the process listen there."),
}
# The codes this engine's trace() produces (the others belong to entries other modules add).
REASONS = (
    "dns-nxdomain", "unknown-destination", "no-service-port", "no-endpoints", "no-local-endpoints",
    "source-range-denied", "policy-egress-denied", "policy-ingress-denied", "ingress-no-match",
    "no-ingress-controller", "no-listener",
)


def reason_table() -> list[dict]:
    """REASON_TEXT as JSON rows (the API's /api/reasons/)."""
    return [{"code": code, "meaning": meaning, "fix": fix} for code, (meaning, fix) in REASON_TEXT.items()]


# Ref kind → the prefix of its version-1 string id ("svc:NS/NAME", "lb:IP", "networkpolicy:NS/NAME", ...).
REF_PREFIX = {
    "pod": "pod", "service": "svc", "node": "node", "external": "external", "ip": "ip", "url": "url",
    "load-balancer": "lb", "kube-proxy": "kube-proxy", "network-policy": "networkpolicy", "dns": "dns",
    "ingress": "ingress", "ingress-controller": "ingress-controller", "workload": "workload",
}
_PREFIX_REF = {prefix: kind for kind, prefix in REF_PREFIX.items()}
_NAMESPACED = {"pod", "service", "network-policy", "ingress", "ingress-controller", "workload"}


class Ref(NamedTuple):
    """What a hop stands on or names: kind (a REF_PREFIX key), namespace ("" when cluster-scoped or none), name.

    pod/service/network-policy/ingress: the object; node: the Node; ingress-controller: its workload
    (NS/NAME) or, for a cloud controller, its kind; load-balancer/ip/external: an address (external also a
    host name); kube-proxy: the node whose rules apply ("" when not known); dns: the queried name; url: a URL.
    """

    kind: str
    namespace: str
    name: str

    @classmethod
    def key(cls, kind: str, key: str) -> Ref:
        """From an object key "NS/NAME" (the model's keys), not from a hop id."""
        ns, sep, name = key.partition("/")
        return cls(kind, ns, name) if sep else cls(kind, "", key)

    @property
    def id(self) -> str:
        """The version-1 string id, e.g. "svc:shop/cart", "kube-proxy:node-1", "external:198.51.100.7"."""
        name = self.name or ("node" if self.kind == "kube-proxy" else "")
        return f"{REF_PREFIX.get(self.kind, self.kind)}:{self.namespace + '/' if self.namespace else ''}{name}"

    def to_dict(self) -> dict:
        return {"kind": self.kind, "namespace": self.namespace, "name": self.name}

    @classmethod
    def from_dict(cls, d) -> Ref | None:
        if not isinstance(d, dict) or not d.get("kind"):
            return None
        return cls(str(d["kind"]), str(d.get("namespace") or ""), str(d.get("name") or ""))

    @classmethod
    def from_v1(cls, ident: str | None) -> Ref | None:
        """A version-1 string id → Ref. Only for results stored before schema version 2."""
        head, sep, rest = (ident or "").partition(":")
        kind = _PREFIX_REF.get(head)
        if not sep or kind is None:
            return None
        if kind == "network-policy":
            rest = rest.split(" rule")[0]
        if kind in _NAMESPACED and "/" in rest:
            ns, _, name = rest.partition("/")
            if kind == "workload" and name.count("/") == 1:
                name = name.split("/")[1]
            return cls(kind, ns, name)
        if kind == "kube-proxy" and rest == "node":
            rest = ""
        return cls(kind, "", rest)


@dataclass(slots=True)
class Hop:
    kind: str
    ref: Ref
    action: str
    detail: str

    @property
    def id(self) -> str:
        return self.ref.id

    def to_dict(self) -> dict:
        return {"kind": self.kind, "id": self.ref.id, "action": self.action, "detail": self.detail,
                "ref": self.ref.to_dict()}

    @classmethod
    def from_dict(cls, d: dict) -> Hop:
        ref = Ref.from_dict(d.get("ref")) or Ref.from_v1(d.get("id")) or Ref("", "", d.get("id", ""))
        return cls(kind=d.get("kind", ""), ref=ref, action=d.get("action", ""), detail=d.get("detail", ""))


@dataclass(slots=True)
class Path:
    source: Ref
    verdict: str
    reason: str | None
    probability: float
    endpoint: Ref | None = None
    endpoint_port: int | None = None
    hops: list[Hop] = field(default_factory=list)
    http: dict | None = None  # after an L7 hop (Gateway, Ingress): {status, backend, location, …} (contract)
    fix: dict | None = None  # a dropped path: the verified one-object edit that delivers it (fixes.py, contract)

    def to_dict(self) -> dict:
        ep = self.endpoint
        out = {"source": self.source.id, "verdict": self.verdict, "reason": self.reason,
               "probability": self.probability, "endpoint": ep.id if ep else None,
               "endpoint_port": self.endpoint_port, "hops": [h.to_dict() for h in self.hops],
               "source_ref": self.source.to_dict(), "endpoint_ref": ep.to_dict() if ep else None}
        if self.http is not None:
            out["http"] = self.http
        if self.fix is not None:
            out["fix"] = self.fix
        return out

    @classmethod
    def from_dict(cls, d: dict) -> Path:
        source = Ref.from_dict(d.get("source_ref")) or Ref.from_v1(d.get("source")) or Ref("", "", "")
        endpoint = Ref.from_dict(d.get("endpoint_ref")) or Ref.from_v1(d.get("endpoint"))
        return cls(source=source, verdict=d.get("verdict", DROPPED), reason=d.get("reason"),
                   probability=float(d.get("probability", 0.0)), endpoint=endpoint,
                   endpoint_port=d.get("endpoint_port"), hops=[Hop.from_dict(h) for h in d.get("hops", [])],
                   http=d.get("http") if isinstance(d.get("http"), dict) else None,
                   fix=d.get("fix") if isinstance(d.get("fix"), dict) else None)


@dataclass(slots=True)
class TraceResult:
    verdict: str
    reason: str | None
    paths: list[Path]
    assumptions: list[str] = field(default_factory=list)
    request: dict | None = None  # the flow as asked (extra field: the contract allows additions)
    schema_version: int = SCHEMA_VERSION
    # every endpoint a Service's choice left out, and why (excluded_endpoints.py): [{ref, endpoint, service,
    # port, reason, detail}]; written only when not empty
    excluded_endpoints: list[dict] = field(default_factory=list)

    @classmethod
    def from_paths(cls, paths: list[Path], assumptions: list[str], request: dict | None = None) -> TraceResult:
        """Verdict = delivered / dropped / partial over the paths; reason = that of the first dropped path."""
        delivered = [p for p in paths if p.verdict == DELIVERED]
        dropped = [p for p in paths if p.verdict == DROPPED]
        if delivered and dropped:
            verdict = PARTIAL
        elif delivered:
            verdict = DELIVERED
        else:
            verdict = DROPPED
        reason = dropped[0].reason if dropped else None
        seen, unique = set(), []
        for a in assumptions:
            if a not in seen:
                seen.add(a)
                unique.append(a)
        return cls(verdict=verdict, reason=reason, paths=paths, assumptions=unique, request=request)

    def to_dict(self) -> dict:
        out = {"schema_version": SCHEMA_VERSION, "verdict": self.verdict, "reason": self.reason,
               "paths": [p.to_dict() for p in self.paths], "assumptions": list(self.assumptions)}
        if self.request is not None:
            out["request"] = self.request
        if self.excluded_endpoints:
            out["excluded_endpoints"] = list(self.excluded_endpoints)
        return out

    @classmethod
    def from_dict(cls, d: dict) -> TraceResult:
        """Any stored version (1 or 2) → the current one; `schema_version` keeps the version it was stored as."""
        return cls(verdict=d.get("verdict", DROPPED), reason=d.get("reason"),
                   paths=[Path.from_dict(p) for p in d.get("paths", [])],
                   assumptions=list(d.get("assumptions", [])), request=d.get("request"),
                   schema_version=int(d.get("schema_version") or 1),
                   excluded_endpoints=[e for e in d.get("excluded_endpoints") or () if isinstance(e, dict)])

    def refs(self) -> list[Ref]:
        """Every object the paths name (sources, hops, endpoints), deduplicated, in first-seen order."""
        seen: dict[Ref, None] = {}
        for p in self.paths:
            seen.setdefault(p.source)
            for h in p.hops:
                seen.setdefault(h.ref)
            if p.endpoint is not None:
                seen.setdefault(p.endpoint)
        return list(seen)
