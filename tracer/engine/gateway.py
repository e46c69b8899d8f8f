"""Gateway API control plane (semantics K1, K2, K4's ReferenceGrant, K7): which listeners a Gateway has, which
routes attach to which listener, with which effective hostnames, and the status the controller would write.

Why a view built once per model: attachment depends on every Gateway, ListenerSet, route, namespace and
ReferenceGrant together, and both traces (`gateway_routing`) and the API's status/map read it. `gateway_view(m)`
computes it once and caches it while the model lives (models are immutable).

Rules, with their source (gateway-api apis/v1 *_types.go and the conformance suite):
- K1 a Gateway's implementation is its GatewayClass's `controllerName`; listeners carry port, protocol, hostname,
  allowedRoutes (namespaces Same|All|Selector, kinds) and TLS certificateRefs (another namespace needs a
  ReferenceGrant from Gateway to Secret). ListenerSets add listeners to a Gateway whose `allowedListeners` admits
  their namespace (default None); their `Same` means the ListenerSet's namespace.
- K2 a parentRef picks the Gateway's own listeners (kind Gateway) or a ListenerSet's (kind ListenerSet), narrowed
  by sectionName and port. A listener takes a route when it allows the route's kind and namespace and their
  hostnames intersect; the route's effective hostnames on that listener are the intersection.
  Status reasons: NoMatchingParent (no listener left after sectionName/port, or no such parent),
  NotAllowedByListeners (kind or namespace), NoMatchingListenerHostname.
- Hostname wildcards: `*.example.com` matches any name with one or more labels before `.example.com`, never
  `example.com` itself (apis/v1 shared_types.go Hostname; unlike Ingress D3, which allows exactly one label).
- Listener precedence on one port: an exact hostname beats a wildcard, a longer wildcard beats a shorter, a
  hostname beats none; among equal ones the Gateway's own listeners come first, then ListenerSets oldest first,
  then by namespace/name (listenerset_types.go "Listener precedence").
"""
from __future__ import annotations

import weakref

from . import controller_routes, istio
from .cluster import ClusterModel
from .gateway_model import Attachment, BackendCheck, GatewayInfo, Listener, ParentStatus
from .model import LabelSelector, RouteObject

__all__ = ["Attachment", "BackendCheck", "GatewayInfo", "Listener", "ParentStatus", "GatewayView", "gateway_view",
           "gateway_status", "hostname_matches", "intersect", "host_specificity", "route_order"]

GATEWAY_GROUP = "gateway.networking.k8s.io"
GATEWAY_GROUPS = (GATEWAY_GROUP, "gateway.networking.x-k8s.io")
ROUTE_KINDS = ("HTTPRoute", "GRPCRoute", "TLSRoute", "TCPRoute", "UDPRoute")

# Route kinds a listener of each protocol supports (the implementation's SupportedKinds).
PROTOCOL_KINDS = {
    "HTTP": ("HTTPRoute", "GRPCRoute"),
    "HTTPS": ("HTTPRoute", "GRPCRoute"),
    "TLS": ("TLSRoute",),
    "TCP": ("TCPRoute",),
    "UDP": ("UDPRoute",),
}

# The implementations named by GatewayClass controllerName (prefixes), and how their data-plane pods look.
IMPLEMENTATIONS = (
    ("gateway.envoyproxy.io/", "Envoy Gateway"),
    ("istio.io/gateway-controller", "Istio"),
    ("istio.io/", "Istio"),
    ("io.cilium/gateway-controller", "Cilium"),
    ("gateway.nginx.org/", "NGINX Gateway Fabric"),
    ("projectcontour.io/", "Contour"),
    ("traefik.io/", "Traefik"),
    ("konghq.com/", "Kong"),
)


def implementation_of(controller_name: str) -> str:
    for prefix, name in IMPLEMENTATIONS:
        if controller_name.startswith(prefix):
            return name
    return controller_name or "(no GatewayClass)"


# ---------------------------------------------------------------------------------------------
# hostnames


def hostname_matches(pattern: str, host: str) -> bool:
    """Does a listener/route hostname `pattern` (maybe `*.x`) match a concrete request host? '' matches all."""
    if not pattern:
        return True
    host = host.lower().rstrip(".")
    if pattern.startswith("*."):
        suffix = pattern[1:]
        return host.endswith(suffix) and len(host) > len(suffix)
    return host == pattern


def intersect(listener_host: str, route_hosts: list[str]) -> list[str] | None:
    """Effective hostnames of a route on a listener (K2); None when they do not intersect; [] = any host."""
    if not listener_host:
        return list(route_hosts)
    if not route_hosts:
        return [listener_host]
    out = set()
    for h in route_hosts:
        if h == listener_host or (not h.startswith("*.") and hostname_matches(listener_host, h)):
            out.add(h)  # the route's name lies inside the listener's
        elif h.startswith("*.") and not listener_host.startswith("*."):
            if hostname_matches(h, listener_host):
                out.add(listener_host)
        elif h.startswith("*.") and listener_host.startswith("*."):
            if h[1:].endswith(listener_host[1:]):
                out.add(h)  # *.a.example.com inside *.example.com
            elif listener_host[1:].endswith(h[1:]):
                out.add(listener_host)
    return sorted(out) or None


def host_specificity(pattern: str) -> tuple[int, int]:
    """Sort key, most specific first: (non-wildcard characters, characters) — K3's first criterion."""
    if not pattern:
        return (0, 0)
    if pattern.startswith("*."):
        return (0, len(pattern))
    return (len(pattern), len(pattern))


# ---------------------------------------------------------------------------------------------
# the view


class GatewayView:
    def __init__(self, m: ClusterModel):
        self.m = m
        self.classes = {c.name: c for c in m.route_objects.get("GatewayClass", [])}
        self.grants = m.route_objects.get("ReferenceGrant", [])
        self.gateways: dict[str, GatewayInfo] = {}
        self.listener_sets: dict[str, RouteObject] = {o.key: o for o in m.route_objects.get("ListenerSet", [])}
        self.ls_accepted: dict[str, bool] = {}
        self.attachments: dict[str, list[Attachment]] = {}  # listener id → attachments
        self.statuses: list[ParentStatus] = []
        for gw in m.route_objects.get("Gateway", []):
            self.gateways[gw.key] = self._gateway(gw)
        for gw in m.route_objects.get("IstioGateway", []):  # Istio's own Gateway (K8): its servers as listeners
            if gw.key not in self.gateways:
                self.gateways[gw.key] = GatewayInfo(gw, "(Istio Gateway)", "istio.io/gateway", "Istio",
                                                    istio.listeners(self, gw), [], [])
        self.data_planes: dict[str, tuple[list, list]] = {}  # controller gateways: (pods, services)
        self.data_plane_cache: dict[str, tuple] = {}  # gateway_trace.data_plane, per Gateway
        self._attach_all()
        for info, kind, pods, services in controller_routes.controller_gateways(self):  # K9-K11
            if info.key in self.gateways:
                continue
            self.gateways[info.key] = info
            self.data_planes[info.key] = (pods, services)
            self._attach_controller_routes(info, kind)

    # -- gateways and listeners ---------------------------------------------------------------------------

    def _gateway(self, gw: RouteObject) -> GatewayInfo:
        cls_name = gw.spec.get("gatewayClassName", "")
        cls = self.classes.get(cls_name)
        controller = cls.spec.get("controllerName", "") if cls else ""
        problems = [] if cls else [f"GatewayClass {cls_name!r} does not exist: no controller programs this Gateway"]
        listeners = [self._listener(gw.key, "Gateway", gw, item, (0, "", "", i))
                     for i, item in enumerate(gw.spec.get("listeners", []))]
        sets = []
        allowed = gw.spec.get("allowedListeners", {}).get("namespaces", {})
        for ls in sorted(self.listener_sets.values(), key=lambda o: (o.created, o.namespace, o.name)):
            ref = ls.spec.get("parentRef", {})
            if ref.get("kind", "Gateway") != "Gateway" or f"{ref.get('namespace') or ls.namespace}/{ref.get('name')}" \
                    != gw.key:
                continue
            ok = self._namespace_allowed(allowed, gw.namespace, ls.namespace)
            self.ls_accepted[ls.key] = ok
            if not ok:
                continue
            sets.append(ls)
            for i, item in enumerate(ls.spec.get("listeners", [])):
                listeners.append(self._listener(gw.key, "ListenerSet", ls, item, (1, ls.created, ls.key, i)))
        self._mark_conflicts(listeners)
        return GatewayInfo(gw, cls_name, controller, implementation_of(controller), listeners, sets, problems)

    def _listener(self, gw_key: str, owner_kind: str, owner: RouteObject, item: dict, order: tuple) -> Listener:
        ar = item.get("allowedRoutes", {})
        ns = ar.get("namespaces", {})
        sel = ns.get("selector")
        protocol = item.get("protocol", "")
        supported = PROTOCOL_KINDS.get(protocol, ())
        if "kinds" in ar:
            kinds = tuple(k["kind"] for k in ar["kinds"] if k.get("group", GATEWAY_GROUP) in GATEWAY_GROUPS
                          and k["kind"] in supported)
        else:
            kinds = supported
        tls = item.get("tls")
        lst = Listener(gateway=gw_key, owner_kind=owner_kind, owner=owner.key, namespace=owner.namespace,
                       name=item["name"], port=item["port"], protocol=protocol, hostname=item.get("hostname", ""),
                       tls_mode=(tls or {}).get("mode", "") if protocol in ("HTTPS", "TLS") else "",
                       allowed_from=ns.get("from", "Same"),
                       allowed_selector=LabelSelector.from_dict(sel) if sel else None, allowed_kinds=kinds,
                       order=order)
        if protocol not in PROTOCOL_KINDS:
            lst.problems.append(f"protocol {protocol!r} is not supported (UnsupportedProtocol)")
        if protocol == "HTTPS" or (protocol == "TLS" and lst.tls_mode == "Terminate"):
            refs = (tls or {}).get("certificateRefs", [])
            if not refs:
                lst.problems.append("TLS termination needs tls.certificateRefs (InvalidCertificateRef)")
            for ref in refs:
                problem = self._cert_problem(owner, ref)
                if problem:
                    lst.problems.append(problem)
        return lst

    def _cert_problem(self, owner: RouteObject, ref: dict) -> str:
        if ref.get("kind", "Secret") != "Secret" or ref.get("group", "") not in ("", "core"):
            return f"certificateRef {ref.get('kind')} {ref.get('name')} is not a Secret (InvalidCertificateRef)"
        ns = ref.get("namespace") or owner.namespace
        if ns != owner.namespace and not self.granted(owner.kind, owner.namespace, "Secret", ns, ref["name"]):
            return (f"certificateRef Secret {ns}/{ref['name']} is in another namespace and no ReferenceGrant in "
                    f"{ns} allows {owner.kind}s from {owner.namespace} (RefNotPermitted)")
        secret = self.m.secrets.get(f"{ns}/{ref['name']}")
        if secret is None:
            return f"certificateRef Secret {ns}/{ref['name']} does not exist (InvalidCertificateRef)"
        if secret.type != "kubernetes.io/tls":
            return f"certificateRef Secret {ns}/{ref['name']} is of type {secret.type}, not kubernetes.io/tls"
        return ""

    @staticmethod
    def _mark_conflicts(listeners: list[Listener]) -> None:
        """Two listeners on one port with one hostname: the first in precedence keeps it (Conflicted)."""
        seen: dict[tuple[int, str], Listener] = {}
        for lst in sorted(listeners, key=lambda x: x.order):
            key = (lst.port, lst.hostname)
            first = seen.get(key)
            if first is None:
                seen[key] = lst
            elif first.protocol != lst.protocol or first.owner != lst.owner:
                lst.problems.append(f"conflicts with {first.label} (Conflicted: same port and hostname)")

    def _namespace_allowed(self, allowed: dict, own_ns: str, other_ns: str, default: str = "None") -> bool:
        frm = allowed.get("from", default)
        if frm == "All":
            return True
        if frm == "Same":
            return own_ns == other_ns
        if frm == "Selector":
            sel = allowed.get("selector")
            return bool(sel) and LabelSelector.from_dict(sel).matches(self.m.namespace_labels(other_ns))
        return False

    # -- ReferenceGrant --------------------------------------------------------------------------------------

    def granted(self, from_kind: str, from_ns: str, to_kind: str, to_ns: str, to_name: str) -> bool:
        """Is a reference from a `from_kind` in `from_ns` to `to_kind` `to_ns/to_name` allowed by a ReferenceGrant
        in `to_ns`? (ReferenceGrant: from group+kind+namespace, to group+kind[+name].)"""
        to_group = "" if to_kind in ("Service", "Secret") else GATEWAY_GROUP
        for g in self.grants:
            if g.namespace != to_ns:
                continue
            if not any(f["kind"] == from_kind and f["namespace"] == from_ns and f.get("group", "") in GATEWAY_GROUPS
                       for f in g.spec.get("from", [])):
                continue
            if any(t["kind"] == to_kind and t.get("group", "") in (to_group, "core" if not to_group else to_group)
                   and t.get("name", to_name) == to_name for t in g.spec.get("to", [])):
                return True
        return False

    def check_backend(self, route: RouteObject, ref: dict) -> BackendCheck:
        """A backendRef usable? (K4): a Service that exists, with that port, same namespace or granted."""
        kind, group = ref.get("kind", "Service"), ref.get("group", "")
        ns, name = ref.get("namespace") or route.namespace, ref["name"]
        if kind != "Service" or group not in ("", "core"):
            return BackendCheck(False, "InvalidKind", f"backendRef {group or 'core'}/{kind} {ns}/{name} is not a "
                                                      f"kind this implementation supports (Service)")
        if ns != route.namespace and route.kind in ROUTE_KINDS and \
                not self.granted(route.kind, route.namespace, "Service", ns, name):
            return BackendCheck(False, "RefNotPermitted",
                                f"backendRef Service {ns}/{name} is in another namespace and no ReferenceGrant in {ns} "
                                f"allows {route.kind}s from {route.namespace}: add one (from: group "
                                f"{GATEWAY_GROUP}, kind {route.kind}, namespace {route.namespace}; to: kind Service)")
        svc = self.m.services.get(f"{ns}/{name}")
        if svc is None:
            return BackendCheck(False, "BackendNotFound", f"backendRef Service {ns}/{name} does not exist")
        sp = next((p for p in svc.ports if p.port == ref.get("port")), None)
        if ref.get("port") is None and route.kind == istio.ROUTE_KIND:
            return BackendCheck(False, "BackendNotFound", f"destination {ns}/{name} needs port.number: the Service "
                                                          f"has {len(svc.ports)} ports", svc)
        if sp is None:
            return BackendCheck(False, "BackendNotFound",
                                f"Service {ns}/{name} has no port {ref.get('port')} (ports: "
                                f"{', '.join(str(p.port) for p in svc.ports) or 'none'})", svc)
        return BackendCheck(True, "", f"Service {ns}/{name} port {sp.port}", svc, sp)

    # -- attachment -----------------------------------------------------------------------------------------

    def _attach_all(self) -> None:
        routes = [r for kind in ROUTE_KINDS for r in sorted(self.m.route_objects.get(kind, []), key=route_order)]
        routes += [istio.to_route(self.m, vs) for vs in sorted(self.m.route_objects.get("VirtualService", []),
                                                                key=route_order)]
        for route in routes:
            for ref in route.spec.get("parentRefs", []):
                self.statuses.append(self._attach(route, ref))

    def _parent_listeners(self, ref: dict) -> tuple[str, list[Listener] | None]:
        ns, name, kind = ref.get("namespace"), ref.get("name"), ref.get("kind", "Gateway")
        if kind == "IstioGateway":
            gw = self.gateways.get(f"{ns}/{name}")
            ok = gw is not None and gw.obj.kind == "IstioGateway"
            return f"Gateway {ns}/{name} (Istio)", gw.listeners if ok else None
        if ref.get("group", GATEWAY_GROUP) not in GATEWAY_GROUPS:
            return f"{kind} {ns}/{name}", None
        if kind == "Gateway":
            gw = self.gateways.get(f"{ns}/{name}")
            return f"Gateway {ns}/{name}", None if gw is None else [x for x in gw.listeners if x.owner_kind == "Gateway"]
        if kind == "ListenerSet":
            key = f"{ns}/{name}"
            if not self.ls_accepted.get(key):
                return f"ListenerSet {key}", None
            ls = self.listener_sets[key]
            parent = ls.spec["parentRef"]
            gw = self.gateways.get(f"{parent.get('namespace') or ls.namespace}/{parent['name']}")
            return f"ListenerSet {key}", [] if gw is None else [x for x in gw.listeners if x.owner == key and
                                                                 x.owner_kind == "ListenerSet"]
        return f"{kind} {ns}/{name}", None

    def _attach(self, route: RouteObject, ref: dict) -> ParentStatus:
        parent, listeners = self._parent_listeners(ref)
        section = ref.get("sectionName", "")
        rid = f"{route.kind} {route.key}"

        def status(accepted, reason, message, names=()):
            refs_ok, refs_reason = self._refs_status(route)
            return ParentStatus(rid, parent, section, accepted, reason, refs_ok, refs_reason, message, list(names))

        if listeners is None:
            return status(False, "NoMatchingParent", f"{parent} does not exist (or is not accepted by its Gateway)")
        cands = [x for x in listeners if (not section or x.name == section) and
                 (ref.get("port") is None or x.port == ref["port"])]
        if not cands:
            want = " and ".join(w for w in (f"sectionName {section!r}" if section else "",
                                            f"port {ref['port']}" if ref.get("port") is not None else "") if w)
            return status(False, "NoMatchingParent", f"{parent} has no listener with {want}")
        allowed = [x for x in cands if route.kind in x.allowed_kinds and
                   self._namespace_allowed({"from": x.allowed_from, "selector": x.allowed_selector.to_dict()
                                            if x.allowed_selector else None}, x.namespace, route.namespace)]
        if not allowed:
            why = "; ".join(self._why_not_allowed(route, x) for x in cands)
            return status(False, "NotAllowedByListeners", why)
        took = []
        for x in allowed:
            hosts = intersect(x.hostname, route.spec.get("hostnames", [])) if route.kind != "TCPRoute" and \
                route.kind != "UDPRoute" else []
            if hosts is None:
                continue
            atts = self.attachments.setdefault(x.id, [])
            if not any(a.route is route for a in atts):
                atts.append(Attachment(route, x, hosts))
            took.append(x.name)
        if not took:
            return status(False, "NoMatchingListenerHostname",
                          f"none of the route's hostnames ({', '.join(route.spec.get('hostnames', []))}) intersects "
                          f"a listener hostname ({', '.join(x.hostname or '*' for x in allowed)})")
        return status(True, "Accepted", f"attached to listener(s) {', '.join(took)}", took)

    def _attach_controller_routes(self, info: GatewayInfo, kind: str) -> None:
        """A controller's own routes attach to all its listeners (Traefik: those of its entryPoints)."""
        for route in controller_routes.routes_for(self.m, kind):
            entry = route.spec.get("entryPoints") or []
            for x in info.listeners:
                if entry and any(e in ("web", "websecure") for e in entry) and \
                        ("websecure" if x.protocol == "HTTPS" else "web") not in entry:
                    continue
                self.attachments.setdefault(x.id, []).append(Attachment(route, x, list(route.spec.get("hostnames",
                                                                                                      []))))
            self.statuses.append(ParentStatus(f"{route.kind} {route.key}", f"{info.implementation} {info.key}", "",
                                              True, "Accepted", *self._refs_status(route),
                                              "; ".join(route.spec.get("notes", [])) or "served by the controller",
                                              [x.name for x in info.listeners]))

    def _why_not_allowed(self, route: RouteObject, x: Listener) -> str:
        if route.kind not in x.allowed_kinds:
            return f"{x.label} takes kinds {', '.join(x.allowed_kinds) or 'none'}, not {route.kind}"
        return (f"{x.label} allows routes from namespaces {x.allowed_from}"
                f"{' (selector)' if x.allowed_from == 'Selector' else ''} ({x.namespace}), not {route.namespace}")

    def _refs_status(self, route: RouteObject) -> tuple[bool, str]:
        for rule in route.spec.get("rules", []):
            for ref in rule.get("backendRefs", []):
                chk = self.check_backend(route, ref)
                if not chk.ok:
                    return False, chk.reason
        return True, "ResolvedRefs"

    # -- queries -------------------------------------------------------------------------------------------

    def attached(self, listener: Listener) -> list[Attachment]:
        return self.attachments.get(listener.id, [])

    def attached_count(self, listener: Listener) -> int:
        return len(self.attached(listener))

    def status_of(self, route_kind: str, route_key: str) -> list[ParentStatus]:
        rid = f"{route_kind} {route_key}"
        return [s for s in self.statuses if s.route == rid]


def route_order(route: RouteObject) -> tuple[str, str, str]:
    """Oldest first, then namespace/name alphabetical (K3's tie-break). Routes without a creationTimestamp
    (desired-state manifests) all compare equal here, so callers keep them in import order — the order
    `kubectl apply` would create them in."""
    if not route.created:
        return ("~", "", "")
    return (route.created, route.namespace, route.name)


_VIEWS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def gateway_view(m: ClusterModel) -> GatewayView:
    view = _VIEWS.get(m)
    if view is None:
        view = _VIEWS[m] = GatewayView(m)
    return view


def gateway_status(m: ClusterModel) -> dict:
    """What the Gateway API controller would write in status: per Gateway its listeners with attachedRoutes
    (the number of routes accepted on each) and its accepted ListenerSets; per route parentRef its Accepted and
    ResolvedRefs conditions with their reasons. The API and `manage.py gateway_status` serve it."""
    view = gateway_view(m)
    gateways = []
    for key, gw in sorted(view.gateways.items()):
        gateways.append({
            "gateway": key, "class": gw.class_name, "controller": gw.controller,
            "implementation": gw.implementation, "addresses": list(gw.obj.addresses), "problems": gw.problems,
            "attached_listener_sets": len(gw.listener_sets),
            "listener_sets": [ls.key for ls in gw.listener_sets],
            "listeners": [{"name": x.name, "owner": f"{x.owner_kind} {x.owner}", "port": x.port,
                           "protocol": x.protocol, "hostname": x.hostname or None, "tls_mode": x.tls_mode or None,
                           "allowed_routes": {"from": x.allowed_from, "kinds": list(x.allowed_kinds)},
                           "attached_routes": view.attached_count(x),
                           "routes": [f"{a.route.kind} {a.route.key}" for a in view.attached(x)],
                           "problems": list(x.problems)} for x in gw.listeners]})
    listener_sets = [{"listener_set": key, "accepted": view.ls_accepted.get(key, False)}
                     for key in sorted(view.listener_sets)]
    return {"gateways": gateways, "listener_sets": listener_sets,
            "routes": [s.to_dict() for s in view.statuses]}
