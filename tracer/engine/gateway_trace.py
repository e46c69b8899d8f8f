"""The Gateway entry of a trace (semantics K7): `--via gateway:NS/NAME[:PORT]` with a url: destination.

Why a separate module: the trace walk (`trace.py`) is being reshaped around the forwarding graph; this entry needs
only a few of its steps (reach an address, reach an endpoint, drop), so it takes the tracer object and calls
those, and everything Gateway-specific stays here and in `gateway`/`gateway_routing`.

The story, one hop per decision:
  source → [the implementation's Service and pod (when the snapshot has them) | the listener entered directly,
  stated as an assumption] → `gateway` hop (which listener took the request, and why) → `route` hop (which rule
  won, why the others lost; or 404 / redirect / 500) → the backend Service's ready endpoints, each share split
  evenly (the data plane balances over endpoints itself, like an ingress controller, D9) → NetworkPolicy → pod.
Every path carries `http` {status, backend, location, backend_request} (docs/contract.md).
"""
from __future__ import annotations

import ipaddress

from . import istio
from . import kubeproxy as kp
from .errors import BadRequest
from .flow import parse_gateway_via
from .gateway import GatewayInfo, gateway_view
from .gateway_routing import GatewayDecision, Request, decide
from .model import Pod, Service
from .result import DROPPED, Hop, Path, Ref

# Labels the implementations put on the Service/pods they provision for a Gateway.
GATEWAY_NAME_LABELS = ("gateway.networking.k8s.io/gateway-name", "istio.io/gateway-name",
                       "gateway.envoyproxy.io/owning-gateway-name")
GATEWAY_NS_LABELS = ("gateway.envoyproxy.io/owning-gateway-namespace",)


def request_of(flow, dest_parts, port: int) -> Request:
    """The request as the Gateway sees it. The URL host is the SNI (https, tls) and the Host; a `Host` header
    given with --header overrides the Host only (a request whose Host differs from its SNI)."""
    scheme, host, _port, path = dest_parts
    headers = dict(flow.headers)
    method = flow.method or ("POST" if scheme == "grpc" else "GET")
    override = next((v for k, v in headers.items() if k.lower() == "host"), None)
    http_host = override.rsplit(":", 1)[0].lower() if override and not override.startswith("[") else host
    return Request(scheme=scheme, host=http_host, port=port, path=path, method=method, headers=headers,
                   query=flow.query, sni=host)


def data_plane(m, gw: GatewayInfo) -> tuple[Service | None, list[Pod]]:
    """The Service and pods the implementation runs for this Gateway, when the snapshot has them (computed once
    per model and Gateway: an Istio selector is matched against every pod)."""
    cache = gateway_view(m).data_plane_cache
    got = cache.get(gw.key)
    if got is None:
        got = cache[gw.key] = _data_plane(m, gw)
    return got


def _data_plane(m, gw: GatewayInfo) -> tuple[Service | None, list[Pod]]:
    planes = gateway_view(m).data_planes.get(gw.key)
    if planes is not None:  # a controller serving its own route objects (K9-K11)
        pods, services = planes
        svc = next(iter(sorted(services, key=lambda s: (s.type != "LoadBalancer", s.key))), None)
        return svc, pods
    if gw.obj.kind == "IstioGateway":  # the pods its selector picks, and a Service in front of them
        pods = istio.selector_pods(m, gw.obj)
        keys = {p.key for p in pods}
        for svc in sorted(m.objects.services, key=lambda s: (s.type != "LoadBalancer", s.key)):
            if svc.selector and any(p.key in keys and p.namespace == svc.namespace and
                                    all(p.labels.get(k) == v for k, v in svc.selector.items()) for p in pods):
                return svc, pods
        return None, pods
    ns, name = gw.obj.namespace, gw.obj.name
    addresses = set(gw.obj.addresses) | {a.get("value") for a in gw.obj.spec.get("addresses", []) if a.get("value")}
    for svc in m.services_by_namespace.get(ns, []) + [s for k, lst in m.services_by_namespace.items() if k != ns
                                                      for s in lst if any(i.ip in addresses for i in s.lb_ingress)]:
        labels = {**(svc.labels or {}), **(svc.selector or {})}
        named = any(labels.get(k) == name for k in GATEWAY_NAME_LABELS)
        ns_ok = all(labels.get(k, ns) == ns for k in GATEWAY_NS_LABELS)
        by_address = addresses and any(i.ip in addresses for i in svc.lb_ingress)
        if (named and ns_ok) or by_address:
            pods = sorted({ep.pod.key: ep.pod for ep in kp.service_endpoints(m, svc, None) if ep.pod is not None
                           and ep.ready}.values(), key=lambda p: p.key)
            return svc, pods
    return None, []


def _gw_ref(key: str) -> Ref:
    return Ref.key("gateway", key)


GRPC_STATUS = {200: "OK", 404: "UNIMPLEMENTED", 500: "INTERNAL", 503: "UNAVAILABLE"}


def http_of(d: GatewayDecision, backend: str | None = None, request: dict | None = None) -> dict | None:
    """The path's `http` object. A raw TLS stream (TLSRoute) has no HTTP status: `status` is null and the object
    exists only when the stream reaches a backend (`tls_passthrough` says whether it is still encrypted)."""
    route = f"{d.route.kind} {d.route.key}" if d.route is not None else None
    rule = d.rule_index + 1 if d.rule_index is not None else None
    if d.status is None and d.outcome != "redirect":
        if backend is None or d.listener is None:
            return None
        return {"status": None, "backend": backend, "location": None, "route": route, "rule": rule,
                "tls_passthrough": d.listener.tls_mode == "Passthrough"}
    out = {"status": d.status, "backend": backend, "location": d.location, "route": route, "rule": rule}
    if request is not None:
        out["backend_request"] = request
    return out


def gateway_paths(t, src, hops, prob, dest, gw_key: str, port: int | None) -> list[Path]:
    """Trace a url: request entering Gateway `gw_key` (ns/name) on listener port `port`."""
    m = t.m
    view = gateway_view(m)
    gw = view.gateways.get(gw_key)
    if gw is None:
        raise BadRequest(f"unknown Gateway {gw_key} in this snapshot (--via gateway:NS/NAME)")
    scheme = dest.parts[0]
    port = port or int(dest.parts[2])
    req = request_of(t.flow, dest.parts, port)
    t.notes.extend(gw.problems)
    svc, pods = data_plane(m, gw)
    if svc is None or not pods:
        addr = next(iter(gw.obj.addresses), None)
        t.notes.append(f"the snapshot has no data-plane pods for Gateway {gw_key} ({gw.implementation}): the request "
                       f"is shown entering its listener port {port} directly"
                       f"{' at ' + addr if addr else ''} (K7)")
        entry = Hop("gateway", _gw_ref(gw_key), "enter",
                    f"the client sends {scheme.upper()} to Gateway {gw_key} ({gw.implementation}, GatewayClass "
                    f"{gw.class_name}) on port {port}, entered directly (assumed: its data plane is not in the "
                    f"snapshot)")
        return _after_entry(t, src, [*hops, entry], prob, gw, req, None)
    target = next((i.ip for i in svc.lb_ingress if i.ip), None) or svc.cluster_ip
    # the Service port for this listener: the same number (Gateway API implementations), else the one whose
    # targetPort is the listener's port (Istio: the server port is the pod's port, e.g. 80 → 8080)
    sp = next((p for p in svc.ports if p.port == port), None) or \
        next((p for p in svc.ports if p.target_port == port), None)
    entry_port = sp.port if sp is not None else port
    t.notes.append(f"Gateway {gw_key} is served by {gw.implementation}: pods of Service {svc.key} ({len(pods)} "
                   f"ready); the client enters through {target}:{entry_port}")
    reached = t.to_ip(src, hops, prob, target, entry_port)
    keys = {p.key for p in pods}
    out: list[Path] = []
    for p in reached:
        ep_key = f"{p.endpoint.namespace}/{p.endpoint.name}" if p.endpoint is not None else ""
        if p.verdict == DROPPED or p.endpoint is None or p.endpoint.kind != "pod" or ep_key not in keys:
            out.append(p)
            continue
        gpod = m.pods[ep_key]
        entry = Hop("gateway", _gw_ref(gw_key), "accept",
                    f"{gw.implementation} pod {gpod.key} accepts {scheme.upper()} for Gateway {gw_key} on port "
                    f"{p.endpoint_port}")
        out.extend(_after_entry(t, src, [*p.hops, entry], p.probability, gw, req, gpod))
    return out


def _after_entry(t, src, hops, prob, gw: GatewayInfo, req: Request, gpod: Pod | None) -> list[Path]:
    paths = _route_paths(t, src, hops, prob, gw, req, gpod)
    if req.scheme == "grpc":
        for p in paths:
            if p.http is not None:
                p.http["grpc_status"] = GRPC_STATUS.get(p.http["status"], "UNKNOWN")
    return paths


def _route_paths(t, src, hops, prob, gw: GatewayInfo, req: Request, gpod: Pod | None) -> list[Path]:
    d = decide(t.m, gw.key, req, t.graph.next("gateway", gw.key, "backend"))  # backends among gateway → svc edges
    t.notes.extend(d.notes)
    lst_ref = Ref("listener", gw.obj.namespace, f"{gw.obj.name}/{d.listener.name}") if d.listener else _gw_ref(gw.key)
    route_ref = Ref(d.route.kind.lower(), d.route.namespace, d.route.name) if d.route is not None else lst_ref
    losers = ("; others: " + "; ".join(d.losers[:8])) if d.losers else ""
    if d.outcome == "no-listener":
        return [_mark(p, None) for p in t.drop(src, hops, prob, "no-listener",
                                                 Hop("gateway", _gw_ref(gw.key), "reject", d.why))]
    hops = [*hops, Hop("gateway", lst_ref, "listener", d.why.split("; ")[0])]
    if d.outcome == "no-route":
        what = ("the TLS connection is rejected" if d.status is None else
                "the Gateway answers 404" if req.scheme != "grpc" else "the Gateway answers gRPC UNIMPLEMENTED (404)")
        return [_mark(p, http_of(d)) for p in t.drop(src, hops, prob, "no-route",
                                                      Hop("route", route_ref, "no-match", f"{_route_part(d.why)}: {what}"
                                                          f"{losers}"))]
    if d.outcome == "redirect":
        return [_mark(p, http_of(d)) for p in t.drop(src, hops, prob, "http-redirect",
                                                      Hop("route", route_ref, "redirect", _route_part(d.why) + losers))]
    out: list[Path] = []
    if d.failed_share:
        status = {**http_of(d), "status": 500} if d.status is not None else None
        share = d.failed_share
        what = "answers 500" if d.status is not None else "rejects the TLS connection"
        out += [_mark(p, status) for p in
                t.drop(src, hops, prob * share, "backend-unavailable",
                       Hop("route", route_ref, "bad-backend", f"{_route_part(d.why)}; {share:.0%} of requests: "
                                                              f"{d.failed_detail}, so the Gateway {what}{losers}"))]
    if gpod is not None:
        gsrc = t.pod_source(gpod, 1)  # its address, and its node from the graph's pod → node edge
        csrc = type(src)(Ref.key("pod", gpod.key), "pod", gpod, gsrc.ip, gsrc.node_name, src.weight)
    else:
        csrc = src
    for b in d.backends:
        svc, sp = b.check.service, b.check.port
        backend = svc.key
        bprob = prob * b.share
        request = {"host": b.host, "path": b.path, "headers": b.headers} if req.scheme != "tls" else None
        route_hop = Hop("route", route_ref, "route",
                        f"{_route_part(d.why)}; backendRef Service {svc.key} port {sp.port} takes {b.share:.0%} of requests"
                        f"{_rewrite_text(req, b)}{losers}")
        eps = [ep for ep in t.endpoints(svc, sp) if ep.ready]  # the graph's svc → pod / external edges
        if not eps:
            http = http_of(d, backend, request)
            if http is not None:
                http["status"] = 503
            out += [_mark(p, http) for p in t.drop(src, [*hops, route_hop], bprob, "backend-unavailable",
                                                    Hop("service", Ref.key("service", svc.key), "no-endpoints",
                                                        f"Service {svc.key} port {sp.port} has no ready endpoint, "
                                                        f"so the Gateway answers 503; make a pod matching its "
                                                        f"selector ready"))]
            continue
        tls_note = ""
        if d.listener.protocol == "TLS":
            tls_note = ("; TLS passthrough: the encrypted stream reaches the backend untouched"
                        if d.listener.tls_mode == "Passthrough" else
                        "; TLS is terminated at the Gateway: the backend receives plain TCP")
        for ep in eps:
            h = Hop("service", Ref.key("service", svc.key), "proxy",
                    f"{gw.implementation} proxies to endpoint {ep.ip}:{ep.port} of Service {svc.key}, "
                    f"1/{len(eps)} of this backend's requests{tls_note}")
            seen = csrc.peer
            paths = t.to_endpoint(csrc, [*hops, route_hop, h], bprob / len(eps), ep, ep.port, seen,
                                  at_node=gpod.node_name if gpod else None)
            http = http_of(d, backend, request)
            for p in paths:
                p.source = src.ref
                _mark(p, http)
                if p.verdict == DROPPED and p.http is not None and p.http["status"] == 200:
                    p.http["status"] = 502  # the Gateway cannot reach that endpoint (e.g. NetworkPolicy)
            out += paths
    return out


def _route_part(why: str) -> str:
    """The decision sentence without its first clause (the listener, already said by the listener hop)."""
    return why.split("; ", 1)[1] if "; " in why else why


def _rewrite_text(req: Request, b) -> str:
    bits = []
    if b.path != req.path and req.scheme != "tls":
        bits.append(f"path rewritten to {b.path}")
    if b.host != req.host and req.scheme != "tls":
        bits.append(f"Host rewritten to {b.host}")
    return ("; " + ", ".join(bits)) if bits else ""


def _mark(p: Path, http: dict | None) -> Path:
    p.http = dict(http) if http is not None else None
    return p


def is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False


def gateway_for_url(m, dest_parts, flow) -> tuple[str, int] | None:
    """The Gateway (any kind in the view) whose routes take this URL, for a url: destination given without
    `--via`: (gateway key, listener port) or None. A listener counts when its port is the URL's port, or when
    the Service in front of the gateway pods maps the URL's port to it (Istio servers listen on pod ports).
    Gateway API Gateways are tried before Istio Gateways and controllers; then by namespace/name."""
    view = gateway_view(m)
    scheme, _host, port_s, _path = dest_parts
    url_port = int(port_s)
    order = {"Gateway": 0, "IstioGateway": 1}
    for key, gw in sorted(view.gateways.items(), key=lambda kv: (order.get(kv[1].obj.kind, 2), kv[0])):
        svc, _pods = data_plane(m, gw)
        ports = {url_port}
        if svc is not None:
            ports |= {p.effective_target for p in svc.ports if p.port == url_port and isinstance(p.effective_target,
                                                                                                  int)}
        for port in sorted(ports):
            if not any(x.port == port for x in gw.listeners):
                continue
            d = decide(m, key, request_of(flow, dest_parts, port))
            if d.outcome not in ("no-route", "no-listener"):
                return key, port
    return None


def gateway_entry(t, src, hops, prob, dest) -> list[Path] | None:
    """The trace's Gateway entry kind (registered in trace.py): a url: destination with `--via gateway:…`, or one
    that no Ingress takes but a Gateway's routes do (then stated as an assumption); None for any other flow."""
    if dest.kind != "url":
        return None
    gw_via = parse_gateway_via(t.flow.via)
    if gw_via:
        return gateway_paths(t, src, hops, prob, dest, gw_via[0], gw_via[1])
    scheme, host, _port, path = dest.parts
    if src.kind != "pod" and not t.via and (scheme in ("grpc", "tls") or not t.is_ingress_host(host, path, scheme)):
        found = gateway_for_url(t.m, dest.parts, t.flow)
        if found:
            t.notes.append(f"no Ingress takes {host}, but the routes of Gateway {found[0]} do: the client is assumed "
                           f"to reach that Gateway (pass --via gateway:NS/NAME to choose)")
            return gateway_paths(t, src, hops, prob, dest, found[0], found[1])
    if scheme in ("grpc", "tls"):
        raise BadRequest(f"{scheme}:// destinations are routed by a Gateway: add --via gateway:NS/NAME[:PORT]")
    return None
