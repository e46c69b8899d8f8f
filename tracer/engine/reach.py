"""Reachability matrix: which source classes reach which destinations, cell by cell, by tracing.

Why classes: a matrix over pods is pods² traces (150,000² is hopeless). Pods that NetworkPolicy cannot
tell apart — same namespace, namespace labels, pod labels, named ports, hostNetwork — are one class
(`netpol.policy_classes`). Every cell is then ONE real `trace()` from the class's representative pod, so
a cell's verdict and reason are by construction what `manage.py trace` answers for that flow, and the
drill-down is that same flow (`Cell.request`). Cost grows with classes × destinations, not pods².

Where the source's node matters the class is split, because kube-proxy then answers differently
per node:
- `internalTrafficPolicy: Local` (A16): only endpoints on the client's node are used. Nodes are
  grouped by their *local-endpoint signature* — which classes of pods back each Local service on that
  node — so 5,000 nodes that all run the same DaemonSet backend stay one group, not 5,000;
- topology hints / `trafficDistribution` (A18): endpoints are filtered by the client node's zone;
- hostNetwork pods (A21, E11): their traffic carries their node's IP, and the destination pod's own
  node is always allowed in: split by node.
Destinations are every service port (`svc:NS/NAME` + port) and every pod class at each container
port it declares (`ip:POD_IP` + port; pods of a class are also split by declared ports).

A cell stands for every member of its source class sending to every member of its destination, and a
pod never counts as its own peer: two replicas of one workload under deny-all are `dropped` between each
other although each may always reach itself (E11). The drill-down request is a real member pair (another
member of the destination or of the source when the representatives coincide), and a trace that passes
through the sender itself (hairpin to its own endpoint) has that path left out of the cell. Only a class of
one pod whose sole peer is itself keeps the self trace (`delivered`, E11).

Matrix jobs plan with `project=None` (auto): past PROJECT_ABOVE_CELLS cells, labels that no NetworkPolicy
selector reads (and, for senders, named ports) do not split classes — 15,000 generated pods give ~100
sender classes instead of ~1,000; small clusters keep one row per label set.
Cells are assembled per destination column (`reach_columns`): the destination's endpoints once, then
bitsets over policy classes; only cells where the sender's node, zone or identity matter run `trace()`.

This module is pure (no Django): the Celery tasks call `plan()` once, then `compute_cells()` per chunk.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from .assumptions import Assumptions
from .cluster import ClusterModel
from .errors import TracerError
from .gateway import gateway_view
from .model import Pod

__all__ = [
    "SourceClass", "Destination", "Cell", "MatrixPlan", "plan", "source_classes", "destinations",
    "cell_request", "compute_cell", "compute_cells", "compute_columns", "column_ranges", "chunk_ranges",
    "diff_cells", "MATRIX_ASSUMPTIONS", "peer_paths", "peer_verdict", "combine",
    "ERROR",
]

MEMBERS_KEPT = 50  # members listed per class in a stored plan (the count is always exact)
ERROR = "error"  # a cell whose trace raised (a bug or a request the engine refuses): never silent

MATRIX_ASSUMPTIONS = (
    "pods are grouped into classes NetworkPolicy cannot tell apart (namespace, namespace labels, pod labels, "
    "named ports, hostNetwork; plus node or zone where kube-proxy answers per node); a cell stands for every "
    "member of its source class sending to every member of its destination",
    "a pod never counts as its own peer: a pod reaching itself (always allowed, E11) does not make a cell "
    "delivered for its siblings; only a class of one pod whose only peer is itself keeps that self trace",
    "destinations that no policy, selector or traffic policy can tell apart (same endpoint classes, target "
    "ports and protocol) share one stored column; the API expands it to every destination on read",
    "pod destinations are the container ports the pods declare; undeclared ports are not probed",
    "route destinations are each HTTPRoute rule attached to a Gateway listener, probed with a request its first "
    "match takes (path, exact headers, query parameters, method; a wildcard host as any.DOMAIN), sent to the "
    "Gateway (via gateway:NS/NAME:PORT)",
)


def _digest(*parts) -> str:
    raw = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def _labels_text(labels: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items())) or "(no labels)"


@dataclass(frozen=True, slots=True)
class SourceClass:
    """Pods that behave alike as senders. `key` is stable across snapshots (diffs join on it)."""

    key: str
    namespace: str
    labels: dict[str, str]
    namespace_labels: dict[str, str]
    node: str | None  # hostNetwork: the node; iTP Local: the representative's node (its group below)
    zone: str | None  # set when the class is split by zone
    host_network: bool
    pods: tuple[str, ...]  # "ns/name", sorted; pods[0] is the representative (stored: the first 50)
    size: int = 0  # how many pods the class has
    node_group: str = ""  # iTP Local: digest of the nodes' local-endpoint signature
    nodes: int = 0  # iTP Local: how many nodes the group's pods run on

    @property
    def representative(self) -> str:
        return f"pod:{self.pods[0]}"

    @property
    def label(self) -> str:
        if self.node_group:
            where = f" on node {self.node}" + (f" (+{self.nodes - 1} alike)" if self.nodes > 1 else "")
        else:
            where = f" on node {self.node}" if self.node else ""
        where += f" in zone {self.zone}" if self.zone else ""
        net = " (hostNetwork)" if self.host_network else ""
        return f"{self.namespace}: {_labels_text(self.labels)}{net}{where} · {self.size} pod(s)"

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in self.__slots__}  # shallow: asdict's deep copy is slow for big plans
        d["labels"], d["namespace_labels"] = dict(self.labels), dict(self.namespace_labels)
        d["pods"] = list(self.pods[:MEMBERS_KEPT])
        d["representative"] = self.representative
        d["label"] = self.label
        return d


@dataclass(frozen=True, slots=True)
class Destination:
    """A column of the matrix: a service port, or a pod class at one declared port."""

    key: str
    kind: str  # "service" | "pod"
    namespace: str
    name: str  # service name, or the pod class's label text
    to: str  # the trace DESTINATION: svc:NS/NAME or ip:POD_IP
    port: int
    protocol: str
    port_name: str = ""
    pods: tuple[str, ...] = ()  # pod classes: members ("ns/name"), pods[0] is the one traced to
    size: int = 0
    alt: str = ""  # pod classes of 2+ pods: the trace destination of a second member (ip:…), for self pairs
    via: str = ""  # route destinations: the Gateway the request is sent to (gateway:NS/NAME:PORT)
    method: str = ""  # route destinations: the request a rule's first match takes
    headers: tuple = ()  # ((name, value), …)

    @property
    def label(self) -> str:
        if self.kind == "service":
            named = f" ({self.port_name})" if self.port_name else ""
            return f"svc/{self.namespace}/{self.name}:{self.port}/{self.protocol}{named}"
        if self.kind == "route":
            return f"{self.name} ({self.via[len('gateway:'):]})"
        return f"pods {self.namespace}: {self.name} :{self.port}/{self.protocol} · {self.size} pod(s)"

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in self.__slots__}
        d["pods"] = list(self.pods[:MEMBERS_KEPT])
        d["label"] = self.label
        return d


@dataclass(slots=True)
class Cell:
    source: int  # index into the plan's sources
    destination: int  # index into the plan's destinations
    verdict: str  # delivered | dropped | partial | error
    reason: str | None
    request: dict
    result: dict | None = None  # the full trace (kept only when asked: diffs)


@dataclass(slots=True)
class MatrixPlan:
    sources: list[SourceClass]
    destinations: list[Destination]
    assumptions: list[str] = field(default_factory=lambda: list(MATRIX_ASSUMPTIONS))

    @property
    def cell_count(self) -> int:
        return len(self.sources) * len(self.destinations)

    def to_dict(self) -> dict:
        return {"sources": [s.to_dict() for s in self.sources],
                "destinations": [d.to_dict() for d in self.destinations],
                "assumptions": list(self.assumptions)}

    @classmethod
    def from_dict(cls, data: dict) -> MatrixPlan:
        src_fields = set(SourceClass.__slots__)
        dst_fields = set(Destination.__slots__)
        sources = [SourceClass(**{k: (tuple(v) if k == "pods" else v) for k, v in s.items() if k in src_fields})
                   for s in data.get("sources", [])]
        dests = [Destination(**{k: (tuple(v) if k == "pods" else tuple(map(tuple, v)) if k == "headers" else v)
                                for k, v in d.items() if k in dst_fields})
                 for d in data.get("destinations", [])]
        return cls(sources, dests, list(data.get("assumptions", MATRIX_ASSUMPTIONS)))


# ---------------------------------------------------------------------------------------------
# Classes


def _node_split(model: ClusterModel) -> tuple[bool, bool]:
    """(split sources by node group, split by zone): when does the sender's node change kube-proxy's answer?"""
    by_node = any(s.internal_traffic_policy == "Local" for s in model.services.values())
    by_zone = any(s.traffic_distribution for s in model.services.values()) or any(
        ep.hint_zones for sl in model.objects.endpoint_slices for ep in sl.endpoints)
    return by_node, by_zone


def _class_key(pc) -> str:
    return _digest(pc.namespace, sorted(pc.ns_labels.items()), sorted(pc.labels.items()), sorted(pc.named_ports),
                   pc.host_network)


def local_signatures(model: ClusterModel) -> dict[str, str]:
    """node name → digest of what `internalTrafficPolicy: Local` services offer on that node.

    The signature lists, per Local service, the pod classes of the endpoints on the node with their
    ready/serving/terminating conditions: two nodes with equal signatures give every source the same
    endpoints up to class, hence the same verdicts. Nodes without any local endpoint share one signature.
    """
    local = [s for s in model.services.values() if s.internal_traffic_policy == "Local"]
    if not local:
        return {}
    class_of = {p.key: _class_key(pc) for pc in _policy_classes(model) for p in pc.pods}
    sig: dict[str, set] = {}
    for svc in local:
        for sl in model.slices_by_service.get(svc.key, []):
            for ep in sl.endpoints:
                if not ep.node_name:
                    continue
                target = f"{ep.target_namespace or sl.namespace}/{ep.target_name}" if ep.target_name else ""
                member = class_of.get(target, target or (ep.addresses[0] if ep.addresses else ""))
                sig.setdefault(ep.node_name, set()).add(
                    (svc.key, sl.name, member, ep.ready, ep.serving, ep.terminating))
    return {node: _digest(sorted(items, key=repr)) for node, items in sig.items()}


def _policy_classes(model: ClusterModel):
    from .podclasses import policy_classes  # the one definition of "pods policy cannot tell apart"

    return policy_classes(model)


def _sendable(pod: Pod) -> bool:
    return bool(pod.ips) and pod.phase not in ("Succeeded", "Failed")


def selector_label_keys(model: ClusterModel) -> frozenset[str]:
    """Every pod label key a NetworkPolicy can read: its podSelector's and its peers' podSelectors'
    matchLabels and matchExpressions keys (E2/E7). Labels under other keys never change a policy answer."""
    keys: set[str] = set()
    for pol in model.objects.network_policies:
        sels = [pol.pod_selector] + [peer.pod_selector for r in pol.ingress + pol.egress for peer in r.peers]
        for sel in sels:
            if sel is not None:
                keys.update(sel.match_labels)
                keys.update(e.key for e in sel.match_expressions)
    return frozenset(keys)


def _sender_groups(model: ClusterModel, project: bool):
    """(namespace, namespace labels, labels shown, named ports, hostNetwork, pods) of each sender group.

    Unprojected: the policy classes. Projected (`project=True`, what a matrix job uses): policy classes
    whose pods agree on the namespace, hostNetwork and the labels under `selector_label_keys` are merged —
    as a *sender* a pod is read by policy only through those (E2 isolation by its namespace's podSelectors,
    E7 peers by namespace, namespace labels and podSelector keys); its named ports only matter when it is
    the destination (E8), so they are dropped too. `reach_columns` evaluates a sender by its own policy
    class, so every fast cell is exactly what any member's trace answers.
    """
    if not project:
        for pc in _policy_classes(model):
            yield pc.namespace, pc.ns_labels, pc.labels, sorted(pc.named_ports), pc.host_network, pc.pods
        return
    keys = selector_label_keys(model)
    merged: dict[tuple, tuple] = {}
    for pc in _policy_classes(model):
        seen = tuple(sorted((k, v) for k, v in pc.labels.items() if k in keys))
        k = (pc.namespace, seen, pc.host_network)
        if k not in merged:
            merged[k] = (pc.namespace, pc.ns_labels, dict(pc.labels), [], pc.host_network, [])
        else:  # shown: the labels every member has (a superset of what policy reads)
            shared = merged[k][2]
            for key in [key for key, v in shared.items() if pc.labels.get(key) != v]:
                del shared[key]
        merged[k][5].extend(pc.pods)
    yield from merged.values()


def source_classes(model: ClusterModel, *, project: bool = False) -> list[SourceClass]:
    """Sender groups (`_sender_groups`), split by node group / zone / node where kube-proxy or E11 make the
    sender's node matter."""
    split_node, split_zone = _node_split(model)
    signatures = local_signatures(model) if split_node else {}
    out: dict[str, SourceClass] = {}
    for ns_name, ns_labels, labels, named_ports, host_network, members in _sender_groups(model, project):
        pc = _Group(ns_name, ns_labels, labels, named_ports, host_network)
        groups: dict[tuple[str | None, str, str | None], list[Pod]] = {}
        for pod in members:
            if not _sendable(pod):
                continue
            node, group, zone = None, "", None
            if pc.host_network:
                node = pod.node_name or None
            elif split_node:
                group = signatures.get(pod.node_name, "none")
            if split_zone and not pc.host_network:
                n = model.nodes.get(pod.node_name)
                zone = (n.zone if n else "") or None
            groups.setdefault((node, group, zone), []).append(pod)
        for (node, group, zone), pods in groups.items():
            key = _digest("src", pc.namespace, sorted(pc.ns_labels.items()), sorted(pc.labels.items()),
                          pc.named_ports, pc.host_network, node, group, zone, *(["projected"] if project else []))
            pods.sort(key=lambda p: p.key)
            names = tuple(p.key for p in pods)
            out[key] = SourceClass(key=key, namespace=pc.namespace, labels=dict(pc.labels),
                                   namespace_labels=dict(pc.ns_labels),
                                   node=node or (pods[0].node_name if group else None), zone=zone,
                                   host_network=pc.host_network, pods=names, size=len(names), node_group=group,
                                   nodes=len({p.node_name for p in pods}) if group else 0)
    return sorted(out.values(), key=_source_order)


@dataclass(frozen=True, slots=True)
class _Group:
    namespace: str
    ns_labels: dict
    labels: dict
    named_ports: list
    host_network: bool


def _source_order(s: SourceClass):
    return (s.namespace, _labels_text(s.labels), s.node or "", s.zone or "", s.key)


def _service_destinations(model: ClusterModel) -> list[Destination]:
    out = []
    for svc in sorted(model.services.values(), key=lambda s: (s.namespace, s.name)):
        if svc.type == "ExternalName":
            continue  # a DNS alias to somewhere outside: nothing of the cluster to reach
        for sp in svc.ports:
            proto = (sp.protocol or "TCP").upper()
            key = f"svc:{svc.namespace}/{svc.name}:{sp.port}/{proto}"
            out.append(Destination(key=key, kind="service", namespace=svc.namespace, name=svc.name,
                                   to=f"svc:{svc.namespace}/{svc.name}", port=sp.port, protocol=proto,
                                   port_name=sp.name or ""))
    return out


def _receiver_groups(model: ClusterModel, project: bool):
    """Policy classes, or (`project=True`) policy classes merged when their pods agree on the namespace,
    hostNetwork, named ports (E8 resolves them on the receiver) and the labels under `selector_label_keys`:
    as a receiver a pod is read by policy only through those. Shown labels: those every member has."""
    if not project:
        for pc in _policy_classes(model):
            yield pc.namespace, pc.ns_labels, pc.labels, pc.pods
        return
    keys = selector_label_keys(model)
    merged: dict[tuple, tuple] = {}
    for pc in _policy_classes(model):
        k = (pc.namespace, tuple(sorted((k, v) for k, v in pc.labels.items() if k in keys)),
             tuple(sorted(pc.named_ports)), pc.host_network,
             pc.representative.ips if pc.host_network else None)  # policy_classes' ipBlock split, kept
        if k not in merged:
            merged[k] = (pc.namespace, pc.ns_labels, dict(pc.labels), [])
        else:
            shared = merged[k][2]
            for key in [key for key, v in shared.items() if pc.labels.get(key) != v]:
                del shared[key]
        merged[k][3].extend(pc.pods)
    yield from merged.values()


def _pod_destinations(model: ClusterModel, project: bool = False) -> list[Destination]:
    out: dict[str, Destination] = {}
    for ns_name, ns_labels, labels, members in _receiver_groups(model, project):
        pc = _Group(ns_name, ns_labels, labels, [], False)
        by_ports: dict[tuple, list[Pod]] = {}
        for pod in members:
            if not pod.ip or pod.phase in ("Succeeded", "Failed"):
                continue
            node = pod.node_name if pod.host_network else ""  # a hostNetwork pod IS its node's address
            ports = tuple(sorted({(cp.container_port, (cp.protocol or "TCP").upper(), cp.name or "")
                                  for cp in pod.container_ports()}))
            by_ports.setdefault((ports, node), []).append(pod)
        for (ports, node), pods in by_ports.items():
            pods.sort(key=lambda p: p.key)
            rep = pods[0]
            base = _digest("dst", pc.namespace, sorted(pc.ns_labels.items()), sorted(pc.labels.items()),
                           ports, node, *(["projected"] if project else []))
            name = _labels_text(pc.labels) + (f" on node {node}" if node else "")
            for port, proto, pname in ports:
                key = f"pods:{base}:{port}/{proto}"
                out[key] = Destination(key=key, kind="pod", namespace=pc.namespace, name=name,
                                       to=f"ip:{rep.ip}", port=port, protocol=proto, port_name=pname,
                                       pods=tuple(p.key for p in pods), size=len(pods),
                                       alt=f"ip:{pods[1].ip}" if len(pods) > 1 else "")
    return sorted(out.values(), key=lambda d: (d.namespace, d.name, d.port, d.protocol, d.key))


def _route_destinations(model: ClusterModel) -> list[Destination]:
    """Each HTTPRoute rule attached to an HTTP(S) listener of a Gateway, as the request its first match takes
    (K3): a column says which source classes get through the Gateway to that rule (issue 14 item 5)."""
    view = gateway_view(model)
    out: dict[str, Destination] = {}
    for gw_key, gw in sorted(view.gateways.items()):
        for lst in gw.listeners:
            if lst.protocol not in ("HTTP", "HTTPS"):
                continue
            scheme = lst.protocol.lower()
            for att in view.attached(lst):
                route = att.route
                if route.kind != "HTTPRoute":
                    continue
                hosts = att.hostnames or [lst.hostname or f"{route.name}.{route.namespace}.example"]
                for host in hosts:
                    host = "any" + host[1:] if host.startswith("*") else host
                    for ri, rule in enumerate(route.spec.get("rules", []), 1):
                        match = (rule.get("matches") or [{}])[0]
                        path = match.get("path") or {"type": "PathPrefix", "value": "/"}
                        if path.get("type") == "RegularExpression":
                            continue  # no request to derive from a regular expression
                        query = "&".join(f"{q['name']}={q['value']}" for q in match.get("queryParams", [])
                                         if q.get("type", "Exact") == "Exact")
                        headers = tuple((h["name"], h["value"]) for h in match.get("headers", [])
                                        if h.get("type", "Exact") == "Exact")
                        url = f"{scheme}://{host}{path.get('value') or '/'}" + (f"?{query}" if query else "")
                        key = f"route:{gw_key}:{lst.name}:{route.kind}/{route.key}:{ri}:{host}"
                        out[key] = Destination(
                            key=key, kind="route", namespace=route.namespace,
                            name=f"HTTPRoute {route.name} rule {ri}: {url[len(scheme) + 3:]}", to=f"url:{url}",
                            port=lst.port, protocol="TCP", via=f"gateway:{gw_key}:{lst.port}",
                            method=match.get("method") or "", headers=headers)
    return list(out.values())


def destinations(model: ClusterModel, *, services: bool = True, pods: bool = True,
                 project: bool = False) -> list[Destination]:
    out = []
    if services:
        out.extend(_service_destinations(model))
        out.extend(_route_destinations(model))
    if pods:
        out.extend(_pod_destinations(model, project))
    return out


PROJECT_ABOVE_CELLS = 1_000_000  # `project=None`: merge classes on what policy reads past this many cells
PROJECTED_ASSUMPTION = (
    "this matrix is large, so pod labels that no NetworkPolicy selector reads do not split classes (nor do a "
    "sender's named ports): every pod of a class gets the same policy answers; the labels shown are those all "
    "its pods share")


def plan(model: ClusterModel, *, services: bool = True, pods: bool = True,
         project: bool | None = False) -> MatrixPlan:
    """Sources and destinations of the matrix of `model` (deterministic: same snapshot ⇒ same plan).

    `project=True` merges senders (`_sender_groups`) and receiving pods (`_receiver_groups`) that policy
    cannot tell apart through the label keys its selectors read: far fewer rows and columns on real
    clusters. `project=None` (matrix jobs) does so only past PROJECT_ABOVE_CELLS cells. Projected class keys
    depend on the snapshot's policies, so diffs (which join two snapshots' plans on keys) stay unprojected.
    """
    if project is None:  # auto: a small cluster keeps one row per label set (what a reader expects to see)
        exact = plan(model, services=services, pods=pods)
        if exact.cell_count <= PROJECT_ABOVE_CELLS:
            return exact
        project = True
    out = MatrixPlan(source_classes(model, project=project),
                     destinations(model, services=services, pods=pods, project=project))
    if project:
        out.assumptions.append(PROJECTED_ASSUMPTION)
    return out


def merge_plans(base: MatrixPlan, candidate: MatrixPlan) -> MatrixPlan:
    """The union of two plans by key (for a diff): classes or ports present in either snapshot."""
    sources = {s.key: s for s in base.sources}
    sources.update({s.key: s for s in candidate.sources})
    dests = {d.key: d for d in base.destinations}
    dests.update({d.key: d for d in candidate.destinations})
    return MatrixPlan(sorted(sources.values(), key=_source_order),
                      sorted(dests.values(), key=lambda d: (d.kind != "service", d.namespace, d.name, d.port,
                                                             d.protocol, d.key)),
                      list(base.assumptions))


# ---------------------------------------------------------------------------------------------
# Cells


def cell_request(source: SourceClass, dest: Destination) -> dict:
    """The trace request a cell stands for: POST it to /api/traces or pass it to `manage.py trace`.

    A member pair, never a pod to itself when the classes hold another pair: when the source's
    representative is the destination's traced pod, another destination member (or source member) is used.
    """
    frm, to = source.representative, dest.to
    if dest.kind == "pod" and dest.pods and source.pods and dest.pods[0] == source.pods[0]:
        if dest.alt:
            to = dest.alt
        elif len(source.pods) > 1:
            frm = f"pod:{source.pods[1]}"
    out = {"from": frm, "to": to, "port": dest.port, "protocol": dest.protocol}
    if dest.via:  # a Gateway route: the request is sent to the Gateway, with what the rule matches on
        out["via"] = dest.via
        if dest.method:
            out["method"] = dest.method
        if dest.headers:
            out["headers"] = dict(dest.headers)
    return out


def request_flow(request: dict, source: str | None = None, to: str | None = None):
    """The Flow of a cell's request (optionally with another sender or destination), keeping via/method/headers."""
    from .flow import make_flow

    return make_flow(source or request["from"], to or request["to"], request.get("port"), request.get("protocol"),
                     request.get("via"), request.get("method"), request.get("headers"))


def _endpoint_id(path) -> str | None:
    ep = path.endpoint
    return getattr(ep, "id", ep)


def peer_paths(result, sender: str) -> tuple[list, bool]:
    """(paths of `result` that do not end at the sender itself, whether one did): a pod is never its own peer."""
    from .result import DELIVERED

    kept = [p for p in result.paths if not (p.verdict == DELIVERED and _endpoint_id(p) == sender)]
    return kept, len(kept) != len(result.paths)


def peer_verdict(result, sender: str) -> tuple[str, str | None]:
    """(verdict, reason) of one trace as a matrix cell counts it: without a path to the sender itself,
    unless that is the only path (a lone pod reaching itself: E11)."""
    paths = peer_paths(result, sender)[0]
    return combine(paths) if paths else (result.verdict, result.reason)


def combine(paths) -> tuple[str, str | None]:
    """delivered if every path is, dropped if none is, else partial; the reason of the first dropped path."""
    from .result import DELIVERED, DROPPED, PARTIAL

    ok = any(p.verdict == DELIVERED for p in paths)
    dropped = [p for p in paths if p.verdict == DROPPED]
    verdict = PARTIAL if ok and dropped else DELIVERED if ok else DROPPED
    return verdict, (dropped[0].reason if dropped else None)


def compute_cell(model: ClusterModel, source: SourceClass, dest: Destination,
                 assumptions: Assumptions | None = None, *, keep_result: bool = False,
                 indexes: tuple[int, int] = (0, 0)) -> Cell:
    from .trace import trace

    request = cell_request(source, dest)
    try:
        flow = request_flow(request)
        traced = trace(model, flow, assumptions)
    except TracerError as exc:
        return Cell(indexes[0], indexes[1], ERROR, str(exc)[:200], request,
                    {"error": str(exc)} if keep_result else None)
    paths, had_self = peer_paths(traced, request["from"])
    if had_self and len(source.pods) > 1:
        # the sender is one of the endpoints: its siblings reach it too, so a second member's trace counts
        try:
            other = trace(model, request_flow(request, source=f"pod:{source.pods[1]}"), assumptions)
            paths += peer_paths(other, f"pod:{source.pods[1]}")[0]
        except TracerError:
            pass
    for to in _node_peers(model, source, dest, request):
        # a hostNetwork sender is its node: E11 admits it to pods on that node only, so the members of a
        # pod destination on the sender's node and elsewhere can differ — both kinds count
        try:
            paths += peer_paths(trace(model, request_flow(request, to=to), assumptions), request["from"])[0]
        except TracerError:
            pass
    verdict, reason = combine(paths) if paths else (traced.verdict, traced.reason)
    return Cell(indexes[0], indexes[1], verdict, reason, request, traced.to_dict() if keep_result else None)


def _node_peers(model: ClusterModel, source: SourceClass, dest: Destination, request: dict) -> list[str]:
    """Extra trace destinations for a hostNetwork sender to a pod class: a member on the other side of the
    sender's node (on it when the traced member is not, elsewhere when it is)."""
    if dest.kind != "pod" or not source.host_network or len(dest.pods) < 2:
        return []
    node = source.node
    traced = model.pod_by_ip.get(request["to"][3:])
    on_node = traced is not None and traced.node_name == node
    for key in dest.pods:
        member = model.pods.get(key)
        if member is not None and member.ip and (member.node_name == node) != on_node:
            return [f"ip:{member.ip}"]
    return []


def compute_cells(model: ClusterModel, matrix: MatrixPlan, source_range: tuple[int, int],
                  assumptions: Assumptions | None = None, *, keep_results: bool = False,
                  fast_cells: bool = True) -> Iterator[Cell]:
    """Every cell whose source index is in [start, end), in (source, destination) order.

    By default cells come from the matrix's columns (`reach_columns`: class decisions as vectors, full
    traces only where the sender's node, zone or identity matter); `keep_results` (diffs) or
    `fast_cells=False` run one `compute_cell` per cell instead.
    """
    start, end = source_range
    end = min(end, len(matrix.sources))
    if keep_results or fast_cells is False:
        for i in range(start, end):
            for j, dst in enumerate(matrix.destinations):
                yield compute_cell(model, matrix.sources[i], dst, assumptions, keep_result=keep_results,
                                   indexes=(i, j))
        return
    ev, cols = compute_columns(model, matrix, assumptions=assumptions)
    entries = ev.book.entries
    for i in range(start, end):
        src = matrix.sources[i]
        for j, dst in enumerate(matrix.destinations):
            verdict, reason = entries[int(cols[j].codes[i])]
            yield Cell(i, j, verdict, reason, cell_request(src, dst))


def compute_columns(model: ClusterModel, matrix: MatrixPlan, dest_range: tuple[int, int] | None = None,
                    assumptions: Assumptions | None = None):
    """(evaluator, [Column …]) for the destinations [start, end): codes index `evaluator.book.entries`."""
    from .reach_columns import column_evaluator

    ev = column_evaluator(model, assumptions, matrix)
    start, end = dest_range or (0, len(matrix.destinations))
    return ev, [col for _, col in ev.columns(start, min(end, len(matrix.destinations)))]


def column_ranges(n_destinations: int, n_sources: int, cells_per_chunk: int = 2_000_000,
                  max_chunks: int = 200) -> list[tuple[int, int]]:
    """Split the destinations into contiguous ranges of about `cells_per_chunk` cells (≥ 1 destination)."""
    if n_destinations == 0:
        return []
    per = max(1, cells_per_chunk // max(1, n_sources))
    per = max(per, -(-n_destinations // max_chunks))
    return [(j, min(j + per, n_destinations)) for j in range(0, n_destinations, per)]


def chunk_ranges(n_sources: int, n_destinations: int, cells_per_chunk: int = 2000,
                 max_chunks: int = 1000) -> list[tuple[int, int]]:
    """Split the sources into contiguous ranges of about `cells_per_chunk` cells each (≥ 1 source)."""
    if n_sources == 0:
        return []
    per = max(1, cells_per_chunk // max(1, n_destinations))
    per = max(per, -(-n_sources // max_chunks))
    return [(i, min(i + per, n_sources)) for i in range(0, n_sources, per)]


# ---------------------------------------------------------------------------------------------
# Diff


def classify_change(base: tuple[str, str | None] | None, cand: tuple[str, str | None] | None) -> str | None:
    """How a cell changed between two snapshots, or None when it did not.

    opened: was not delivered, now is · closed: was delivered, now is not · added/removed: the class or
    the destination exists in one snapshot only · changed: anything else (e.g. partial, another reason).
    """
    if base == cand:
        return None
    if base is None:
        return "added"
    if cand is None:
        return "removed"
    if cand[0] == "delivered" and base[0] != "delivered":
        return "opened"
    if base[0] == "delivered" and cand[0] != "delivered":
        return "closed"
    return "changed"


def diff_cells(base: dict[tuple[str, str], tuple[str, str | None]],
               candidate: dict[tuple[str, str], tuple[str, str | None]]) -> list[tuple[tuple[str, str], str]]:
    """Cells (source key, destination key) whose (verdict, reason) differ, with the kind of change."""
    out = []
    for key in sorted(set(base) | set(candidate)):
        change = classify_change(base.get(key), candidate.get(key))
        if change:
            out.append((key, change))
    return out


def iter_pairs(sources: Iterable[SourceClass], dests: Iterable[Destination]) -> Iterator[tuple[str, str]]:
    for s in sources:
        for d in dests:
            yield s.key, d.key
