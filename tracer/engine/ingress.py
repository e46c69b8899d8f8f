"""Ingress: class → controller → host/path rule → backend (docs/semantics.md §D), the engine's public entry points.

- `route_request(model, host, path, scheme, controller=None) -> RouteDecision` — which rule answers, why,
  the backend Service port, TLS, and how the controller reaches the pods.
- `find_entry(model, host, path, scheme, via=None, port=None) -> Entry` — from outside: which controller
  exposure (LB address, externalIP, NodePort, hostNetwork/hostPort, cloud LB) the client enters, plus the
  route taken there.
- Both take `candidates=Candidates(ingresses, services)`: the Ingresses each controller serves and the Services
  each Ingress reaches; the trace walk passes its forwarding graph's ingress-controller → ingress and
  ingress → svc edges (this module cannot import graph.py, which imports it), so routing chooses among them.
- `controllers_for_ingress(model, ingress) -> list[Controller]`, `resolve_class`, `discover_controllers`.

The rules live in `ingress_routing.py` (D3–D8) and `ingress_controllers.py` (D1, D2, D9); this module only
chooses the controller and stitches the two together.
"""
from __future__ import annotations

import weakref
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from . import ingress_nginx
from .cluster import ClusterModel
from .ingress_controllers import (
    CLASSLESS_WITHOUT_CLASSES,
    CLOUD_CONTROLLERS,
    LEGACY_CLASS_ANNOTATION,
    ClassResolution,
    Controller,
    Exposure,
    backend_mode,
    controllers_for_ingress,
    discover_controllers,
    handles,
    ingresses_for_controller,
    resolve_class,
)
from .ingress_differences import apply_differences
from .ingress_routing import (
    ASSUMPTIONS,
    RouteDecision,
    RouteTable,
    TLSInfo,
    build_table,
    host_matches,
    host_tier,
    normalize_host,
    path_matches,
    route_in,
    split_url,
)
from .model import Ingress

__all__ = [
    "route_request", "find_entry", "Candidates", "Entry", "RouteDecision", "TLSInfo", "Controller", "Exposure",
    "ClassResolution", "controllers_for_ingress", "discover_controllers", "resolve_class",
    "ingresses_for_controller", "host_matches", "path_matches", "normalize_host", "split_url", "ASSUMPTIONS",
    "LEGACY_CLASS_ANNOTATION", "CLOUD_CONTROLLERS", "all_controllers", "backend_endpoints", "BackendEndpoint", "handles",
]


class Candidates(NamedTuple):
    """What routing may choose from, given by the caller (the trace walk passes its forwarding graph's edges:
    ingress-controller → ingress and ingress → svc). Without it, every Ingress a controller serves and every
    Service a backend names count — the same rule (ingresses_for_controller) the graph's edges come from."""

    ingresses: Callable[[Controller], Sequence[Ingress]]  # the Ingresses a controller serves
    services: Callable[[Ingress], Collection[str]]  # keys of the Services an Ingress's backends may reach


def _rank(d: RouteDecision) -> tuple[int, int]:
    """How specifically a controller's routing caught the request: a host rule beats a host-less rule
    beats a default backend beats nothing."""
    if not d.matched:
        return (0, 0)
    if d.via_default_backend:
        return (1, 1 if d.server != "_" else 0)
    return (3, 0) if d.server != "_" else (2, 0)


def _falls_through(ctrl: Controller) -> bool:
    """Traefik's router list lets an unmatched path of a known host fall through to host-less rules."""
    return ctrl.kind == "traefik"


@dataclass(slots=True)
class _Plan:
    """Which controller serves which Ingress, computed once per model (traces in a batch share it)."""

    controllers: list[Controller]
    by_controller: dict[int, list]
    orphans: list  # Ingresses no controller serves (D1: they do nothing)
    orphan_table: RouteTable | None = None
    tables: dict[tuple, tuple] = field(default_factory=dict)  # (id(ctrl), id(served list)) → (list, RouteTable)


_PLANS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _plan(model: ClusterModel) -> _Plan:
    plan = _PLANS.get(model)
    if plan is not None:
        return plan
    ctrls = list(discover_controllers(model))
    by: dict[int, list] = {id(c): [] for c in ctrls}
    cloud: dict[str, Controller] = {}
    orphans = []
    for ing in model.ingresses:
        found = controllers_for_ingress(model, ing)
        if not found:
            orphans.append(ing)
        for c in found:
            if c.cloud_managed:
                if c.kind not in cloud:
                    cloud[c.kind] = c
                    ctrls.append(c)
                    by[id(c)] = []
                c = cloud[c.kind]
            by[id(c)].append(ing)
    plan = _Plan(ctrls, by, orphans, build_table(orphans))
    _PLANS[model] = plan
    return plan


def all_controllers(model: ClusterModel) -> list[Controller]:
    """In-cluster controllers plus one cloud-managed controller per cloud kind that some Ingress uses."""
    return list(_plan(model).controllers)


def _served(model: ClusterModel, ctrl: Controller, cand: Candidates | None) -> Sequence[Ingress]:
    """The Ingresses `ctrl` serves: the caller's candidates, else the plan's."""
    if cand is not None:
        return cand.ingresses(ctrl)
    found = _plan(model).by_controller.get(id(ctrl))
    return found if found is not None else ingresses_for_controller(model, ctrl)


def _table_of(model: ClusterModel, ctrl: Controller, cand: Candidates | None = None) -> RouteTable:
    """The controller's merged route table, built once per model, controller and list of served Ingresses (the
    candidates' lists are kept by their caller, so the same list comes back for the same controller)."""
    plan = _plan(model)
    found = _served(model, ctrl, cand)
    key = (id(ctrl), id(found))  # the entry keeps `found` alive, so its id is not reused while cached
    got = plan.tables.get(key)
    if got is not None and got[0] is found:
        return got[1]
    served = found
    if ctrl.kind == "ingress-nginx":  # a canary is never a route of its own (D12)
        found = [i for i in found if not ingress_nginx.is_canary(i)]
    table = build_table(found)
    if cand is not None or id(ctrl) in plan.by_controller:  # a stable list (the caller's or the plan's): keep
        plan.tables[key] = (served, table)
    return table


def _finish(model: ClusterModel, d: RouteDecision, ctrl: Controller | None,
            cand: Candidates | None = None) -> RouteDecision:
    d.controller = ctrl
    if (cand is not None and d.service is not None and d.ingress is not None and not d.backend_problem
            and d.service.key not in cand.services(d.ingress)):
        d.backend_problem = "no-endpoints"  # the backend's Service is not one the Ingress can reach
        d.backend_detail = (f"Ingress {d.ingress.key} names Service {d.service.key}, which is not among the "
                            f"Services its backends reach; the controller answers 503")
    if (ctrl is not None and d.ingress is not None and not ctrl.watches_classless and not ctrl.cloud_managed
            and resolve_class(model, d.ingress).source == "none"):
        d.assumptions.append(CLASSLESS_WITHOUT_CLASSES)
    if ctrl is not None and d.service is not None and not d.backend_problem:
        mode, detail, problem = backend_mode(ctrl, d.ingress, d.service, d.service_port)
        d.backend_mode, d.backend_mode_detail = mode, detail
        if problem:
            d.backend_problem = problem
            d.backend_detail = detail
    if ctrl is not None and ctrl.kind == "ingress-nginx" and d.scheme == "http" and d.matched:
        if any(any(host_matches(h, d.host) for h in t.hosts) for t in d.ingress.tls) and d.host:
            d.warnings.append(
                f"ingress-nginx redirects plain HTTP for {d.host!r} to HTTPS (308) because Ingress "
                f"{d.ingress.key} has TLS for it (unless nginx.ingress.kubernetes.io/ssl-redirect: \"false\"); "
                "the redirected request takes the same route")
    if ctrl is not None and ctrl.kind == "ingress-nginx" and d.ingress is not None:
        ann = d.ingress.annotations or {}
        if ann.get("nginx.ingress.kubernetes.io/canary", "").lower() == "true" and d.canary is None:
            d.warnings.append(
                f"Ingress {d.ingress.key} is an ingress-nginx canary but has no primary Ingress for this host and "
                "path: ingress-nginx ignores it (D12)")
    return apply_differences(model, d, ctrl)  # D11: what this controller does differently


def _nginx(model: ClusterModel, d: RouteDecision, ctrl: Controller | None, headers: dict | None,
           regex_done: bool = False, cand: Candidates | None = None) -> RouteDecision:
    """ingress-nginx's own path and canary rules (ingress_nginx.py, D12/D13) on a decision of its table."""
    if ctrl is None or ctrl.kind != "ingress-nginx":
        return d
    if not regex_done:
        ingress_nginx.regex_route(model, _table_of(model, ctrl, cand), d)
    served = _served(model, ctrl, cand) if cand is not None else _plan(model).by_controller.get(id(ctrl), [])
    canaries = [i for i in served if ingress_nginx.is_canary(i)]
    if canaries:
        ingress_nginx.apply_canary(model, d, canaries, headers or {})
    return d


def route_request(model: ClusterModel, host: str, path: str = "/", scheme: str = "http",
                  controller: Controller | None = None, headers: dict | None = None,
                  candidates: Candidates | None = None) -> RouteDecision:
    """Route an HTTP(S) request. With `controller`, only the Ingresses that controller handles count (the
    client entered through it); without, every controller is tried and the most specific match wins
    (host rule > host-less rule > default backend), since from outside the Host picks the Ingress.

    No controller serving a matching Ingress ⇒ reason `no-ingress-controller`; nothing matching at all ⇒
    `ingress-no-match`. `candidates`: which Ingresses each controller serves and which Services each Ingress
    reaches (see Candidates; default: all).
    """
    cand = candidates
    if controller is not None:
        d = route_in(model, _table_of(model, controller, cand), host, path, scheme,
                     fallthrough=_falls_through(controller))
        d = _finish(model, _nginx(model, d, controller, headers, cand=cand), controller, cand)
        if not d.matched:
            _explain_orphans(model, d, controller)
        return d
    best: RouteDecision | None = None
    best_ctrl = None
    best_rank: tuple = ()
    host_n = normalize_host(host)
    for ctrl in all_controllers(model):
        table = _table_of(model, ctrl, cand)
        if not table.ordered:
            continue
        d = route_in(model, table, host, path, scheme, fallthrough=_falls_through(ctrl))
        if ctrl.kind == "ingress-nginx":
            ingress_nginx.regex_route(model, table, d)
        # The controller whose Ingresses name the host is the one the host's DNS points at, even when
        # it answers 404 for this path; otherwise the most specific match wins.
        owns_host = host_tier(table, host_n) != "catch-all"
        rank = (owns_host, _rank(d))
        if best is None or rank > best_rank:
            best, best_ctrl, best_rank = d, ctrl, rank
    if best is not None and best.matched:
        return _finish(model, _nginx(model, best, best_ctrl, headers, regex_done=True, cand=cand), best_ctrl, cand)
    # Nothing routes it: is there an Ingress that would, if only a controller served it?
    plan = _plan(model)
    if plan.orphans:
        d = route_in(model, plan.orphan_table, host, path, scheme)
        if d.matched:
            res = resolve_class(model, d.ingress)
            d.matched = False
            d.reason = "no-ingress-controller"
            d.backend_problem = None
            if res.admitted:
                want = (f"IngressClass {res.class_name} (spec.controller {res.controller!r})" if res.ingress_class
                        else f"class {res.class_name!r}" if res.class_name else "class-less Ingresses")
                d.why = (f"{d.why[:-1]}, but {res.detail}, and no controller pod in the cluster serves {want}: "
                         f"the Ingress does nothing (D1). Deploy a controller for that class or change the "
                         f"Ingress's class.")
            else:
                d.why = f"{d.why[:-1]}, but {res.detail}."
            return d
    if best is None:
        best = route_in(model, [], host, path, scheme)
        if not model.ingresses:
            best.why = "there is no Ingress in the cluster, so nothing routes this request."
        return best
    # The client still reaches a controller (which answers 404): keep it, so the trace can show the entry.
    return _finish(model, best, best_ctrl, cand)


def _explain_orphans(model: ClusterModel, d: RouteDecision, ctrl: Controller) -> None:
    plan = _plan(model)
    if not plan.orphans:
        return
    od = route_in(model, plan.orphan_table, d.host, d.path, d.scheme)
    if od.matched and od.ingress is not None:
        res = resolve_class(model, od.ingress)
        d.why += (f" (Ingress {od.ingress.key} would match, but {ctrl.describe()} does not handle it: "
                  f"{res.detail}.)")


def http_answer(d: RouteDecision) -> dict:
    """The path's `http` object after an ingress controller (contract): 404 when no rule (or default backend)
    takes the request, 503 when the chosen backend cannot serve, else 200 from the backend Service; with
    rewrite-target (D13) the path the backend sees."""
    status = 404 if not d.matched else 503 if d.backend_problem else 200
    out = {"status": status, "backend": d.service.key if d.service is not None and d.matched else None,
           "location": None, "route": f"Ingress {d.ingress.key}" if d.ingress is not None else None}
    if d.rewritten_path is not None:
        out["backend_request"] = {"path": d.rewritten_path}
    return out


@dataclass(slots=True)
class Entry:
    """Where a client outside the cluster enters for a URL, and what happens there."""

    decision: RouteDecision
    controller: Controller | None
    exposure: Exposure | None
    reason: str | None  # a REASON code when the client cannot even enter (e.g. no-ingress-controller)
    detail: str

    def to_dict(self) -> dict:
        return {"decision": self.decision.to_dict(),
                "controller": self.controller.name if self.controller else None,
                "exposure": self.exposure.to_dict() if self.exposure else None,
                "reason": self.reason, "detail": self.detail}


def _exposure_at(model: ClusterModel, ctrl: Controller, address: str, port: int | None,
                 scheme: str = "http") -> Exposure | None:
    """The exposure of `ctrl` at address[:port]; without a port, the one for the request's scheme first."""
    exposures = sorted(ctrl.exposures, key=lambda e: e.scheme != scheme)
    for e in exposures:
        if port is not None and e.port != port:
            continue
        if e.kind == "node-port":
            node = model.node_by_ip.get(address)
            if node is not None:
                return Exposure("node-port", address, e.port, e.scheme, e.service, node.name, e.target_port,
                                f"NodePort {e.port} of Service {e.service} on node {node.name} ({address})")
        elif e.kind == "cloud-load-balancer":
            if address and not model.node_by_ip.get(address):
                return Exposure("cloud-load-balancer", address, e.port, e.scheme, None, None, None,
                                e.detail.replace("its address is in the Ingress status, not in this snapshot; "
                                                 "pass --via to name it", f"at {address} (--via)"))
        elif e.address == address and e.kind != "cluster-ip":
            return e
    return None


def _known_address(model: ClusterModel, address: str) -> bool:
    return (address in model.node_by_ip or address in model.services_by_lb_ip
            or address in model.services_by_external_ip)


def find_entry(model: ClusterModel, host: str, path: str = "/", scheme: str = "http",
               via: str | None = None, port: int | None = None, headers: dict | None = None,
               candidates: Candidates | None = None) -> Entry:
    """From outside: route the request, then pick the controller exposure the client sends to.

    `via` (an address, optionally with `port`) overrides the default entry — e.g. one node's NodePort —
    and then only that controller's Ingresses count. Without `via` the entry is the matching Ingress's
    controller's LoadBalancer address, else externalIP, else NodePort on the first ready node, else a
    hostNetwork/hostPort node (docs/contract.md, url destination).
    """
    scheme = (scheme or "http").lower()
    if not via and host in ingress_status_index(model):
        via = host  # a request to the address an Ingress publishes enters through that address
    if via:
        published = ingress_status_index(model).get(via)
        if published is not None:
            return _status_entry(model, published, via, host, path, scheme, port, headers, candidates)
        ctrls = all_controllers(model)
        # in-cluster exposures first: a cloud load balancer takes any other address given with --via
        for ctrl in sorted(ctrls, key=lambda c: c.cloud_managed):
            e = _exposure_at(model, ctrl, via, port, scheme)
            if e is not None:
                d = route_request(model, host, path, scheme, controller=ctrl, headers=headers,
                                  candidates=candidates)
                return Entry(d, ctrl, e, d.reason, f"the client enters {ctrl.describe()} through {e.detail}")
        d = route_request(model, host, path, scheme, headers=headers, candidates=candidates)
        where = f"{via}{':' + str(port) if port else ''}"
        reason = "no-service-port" if _known_address(model, via) else "unknown-destination"
        return Entry(d, None, None, reason,
                     f"{where} is not an entry of any ingress controller (load balancer, externalIP, NodePort, "
                     "hostNetwork or hostPort)" + ("; that address exists but does not expose an ingress "
                                                   "controller on that port" if reason == "no-service-port" else ""))
    d = route_request(model, host, path, scheme, headers=headers, candidates=candidates)
    ctrl = d.controller if isinstance(d.controller, Controller) else None
    if ctrl is None:
        return Entry(d, None, None, d.reason, d.why)
    if ctrl.cloud_managed and d.ingress is not None and d.ingress.status_addresses:
        return _status_entry(model, d.ingress, d.ingress.status_addresses[0], host, path, scheme, port, headers,
                             candidates)
    e = ctrl.default_exposure(scheme, port)
    if e is None and port is not None:
        e = ctrl.default_exposure(scheme)
    if e is None:
        internal = [x for x in ctrl.exposures if x.kind == "cluster-ip"]
        detail = (f"{ctrl.describe()} has no entry from outside the cluster for {scheme}"
                  + (f" (only {internal[0].detail})" if internal else "")
                  + "; expose it with a LoadBalancer or NodePort Service, or hostNetwork/hostPort")
        return Entry(d, ctrl, None, None, detail)
    return Entry(d, ctrl, e, None, f"the client enters {ctrl.describe()} through {e.detail}")


_STATUS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def ingress_status_index(model: ClusterModel) -> dict[str, Ingress]:
    """address → the (oldest) Ingress publishing it in status.loadBalancer.ingress, once per model."""
    index = _STATUS.get(model)
    if index is None:
        index = {}
        for ing in sorted(model.ingresses, key=lambda i: (i.created or "~", i.key)):
            for addr in ing.status_addresses:
                index.setdefault(addr, ing)
        _STATUS[model] = index
    return index


def _status_entry(model: ClusterModel, ing: Ingress, address: str, host: str, path: str, scheme: str,
                  port: int | None, headers: dict | None, candidates: Candidates | None = None) -> Entry:
    """A request sent to the address `ing` publishes (status.loadBalancer.ingress) enters its controller (D9):
    a cloud controller's load balancer is that address; an in-cluster controller's is its exposure there (or,
    when the snapshot does not show that address on it, its default entry, stated)."""
    ctrls = controllers_for_ingress(model, ing)
    if not ctrls:
        d = route_request(model, host, path, scheme, headers=headers, candidates=candidates)
        return Entry(d, None, None, "no-ingress-controller",
                     f"{address} is the address Ingress {ing.key} publishes (status.loadBalancer.ingress), but no "
                     f"controller in the cluster serves it")
    ctrl = ctrls[0]
    d = route_request(model, host, path, scheme, controller=ctrl, headers=headers, candidates=candidates)
    published = f"{address} is the address Ingress {ing.key} publishes (status.loadBalancer.ingress)"
    if ctrl.cloud_managed:
        e = Exposure("cloud-load-balancer", address, port or (443 if scheme == "https" else 80), scheme, None, None,
                     None, f"{published}: the cloud load balancer of {ctrl.describe()}")
        return Entry(d, ctrl, e, None, f"the client enters {ctrl.describe()} through {e.detail}")
    e = _exposure_at(model, ctrl, address, port, scheme) or ctrl.default_exposure(scheme, port) or \
        ctrl.default_exposure(scheme)
    if e is None:
        return Entry(d, ctrl, None, None, f"{published}, but {ctrl.describe()} has no entry from outside the "
                                          f"cluster for {scheme}")
    if e.address != address:
        e = Exposure(e.kind, e.address, e.port, e.scheme, e.service, e.node, e.target_port,
                     f"{published}; the snapshot does not show that address on {ctrl.describe()}, so it is assumed "
                     f"to lead to its {e.detail} (impl)")
    return Entry(d, ctrl, e, None, f"the client enters {ctrl.describe()} through {e.detail}")


@dataclass(frozen=True, slots=True)
class BackendEndpoint:
    address: str
    port: int
    pod: object | None  # model.Pod when the address is a known pod
    node_name: str = ""


def backend_endpoints(model: ClusterModel, decision: RouteDecision) -> list[BackendEndpoint]:
    """The endpoints an in-cluster controller proxies to for the chosen Service port: every ready endpoint
    of the Service's EndpointSlices whose port has the Service port's name (the EndpointSlice port name is
    the Service port name; the number is the resolved targetPort). Controllers balance over all of them
    (load_balancing.feature); kube-proxy is not involved (D9, impl)."""
    svc, sp = decision.service, decision.service_port
    if svc is None or sp is None:
        return []
    out: list[BackendEndpoint] = []
    seen: set[tuple[str, int]] = set()
    for sl in model.slices_by_service.get(svc.key, []):
        port = next((p.port for p in sl.ports if p.name == sp.name and p.protocol == sp.protocol), None)
        if port is None:
            continue
        for ep in sl.endpoints:
            if ep.ready is False:
                continue
            for addr in ep.addresses[:1]:  # one address per endpoint is used (EndpointSlice semantics)
                if (addr, port) in seen:
                    continue
                seen.add((addr, port))
                out.append(BackendEndpoint(addr, port, model.pod_by_ip.get(addr), ep.node_name))
    return sorted(out, key=lambda e: (e.address, e.port))
