"""Gateway API data plane decisions (semantics K3–K6): which listener a request lands on, which route rule wins
(and why the others lost), and what the client gets — a backend share, a redirect, 404 or 500.

PURE: reads `gateway.gateway_view(m)` and a `Request`; returns a `GatewayDecision`. The trace (`trace.py`)
turns the decision into hops and follows each backend share to its endpoints.

Rules (gateway-api apis/v1 httproute_types.go, grpcroute_types.go, tlsroute_types.go; conformance suite):
- Listener: among the Gateway's listeners on the port whose protocol fits the request (http → HTTP,
  https → HTTPS, tls → TLS, grpc → HTTP/HTTPS), the one whose hostname matches the Host (SNI for TLS/HTTPS)
  most specifically; its routes alone are considered (listener isolation). None: TLS is rejected, HTTP 404.
- K3 HTTPRoute: a rule matches if any of its matches does (path AND headers AND query AND method). Precedence over
  every matching rule of every route on the listener: the most specific matching hostname (non-wildcard
  characters, then characters), Exact path, then RegularExpression (impl: Envoy-based implementations order it
  between the two), then the longest PathPrefix, then a method match, then most header matches, then most query
  matches; still tied: the oldest route, then namespace/name, then rule order, then match order.
  Header names compare case-insensitively, query parameter names case-sensitively; RegularExpression is a full
  match (RE2 in every implementation; Python `re` here).
- K4 backendRefs share by weight (default 1); a share whose ref is unusable (missing Service or port, another
  namespace without ReferenceGrant, unsupported kind) answers 500; no backendRefs, or every weight 0, answers 500.
- K5 RequestRedirect answers (statusCode default 302): scheme, hostname (default the request's), port (default:
  the well-known port of a changed scheme, else the listener's), path (ReplaceFullPath / ReplacePrefixMatch);
  the Location omits :80 for http and :443 for https. URLRewrite (rule- or backendRef-level) changes the host and
  path the backend sees; RequestHeaderModifier its headers.
- K6 GRPCRoute: match on service/method (Exact: empty = any; RegularExpression) and headers; precedence: hostname,
  then characters in the service, then in the method, then header matches. No match: gRPC UNIMPLEMENTED (HTTP 404).
  TLSRoute: the SNI picks the route (most specific hostname, then oldest); no route or no usable backend: the TLS
  connection is rejected. Passthrough listeners hand the TLS stream to the backend; Terminate listeners decrypt.
"""
from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from urllib.parse import urlencode

from .cluster import ClusterModel
from .gateway import (
    Attachment,
    BackendCheck,
    Listener,
    gateway_view,
    host_specificity,
    hostname_matches,
    route_order,
)
from .ingress_routing import path_matches as prefix_path_matches

SCHEME_PORTS = {"http": 80, "https": 443}
PATH_RANK = {"Exact": 0, "RegularExpression": 1, "PathPrefix": 2, "StringPrefix": 2}
FIRST_MATCH_KINDS = ("VirtualService",)  # Istio: rules in order, the first match wins (istio.py)
OWN_KINDS = ("VirtualService", "IngressRoute", "HTTPProxy", "Mapping")  # controllers' own route objects


@dataclass(slots=True)
class Request:
    scheme: str  # http | https | tls | grpc
    host: str  # Host header / SNI ('' or an IP literal: no name)
    port: int
    path: str = "/"
    method: str = "GET"
    headers: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    sni: str | None = None  # the TLS server name (https, tls); None = the host

    @property
    def server_name(self) -> str:
        return self.host if self.sni is None else self.sni

    @property
    def grpc(self) -> tuple[str, str]:
        """(service, method) of a gRPC request path /SERVICE/METHOD."""
        bits = self.path.strip("/").split("/")
        return (bits[0], bits[1]) if len(bits) >= 2 else (bits[0] if bits else "", "")

    def header(self, name: str) -> str | None:
        low = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == low), None)


@dataclass(slots=True)
class BackendShare:
    share: float
    ref: dict
    check: BackendCheck
    host: str  # the Host the backend sees
    path: str  # the path the backend sees
    headers: dict[str, str]


@dataclass(slots=True)
class GatewayDecision:
    gateway: str
    outcome: str  # forward | redirect | no-listener | no-route | backend-unavailable
    status: int | None  # HTTP status (None for raw TLS)
    listener: Listener | None = None
    route: object = None  # RouteObject
    rule_index: int | None = None
    why: str = ""
    losers: list[str] = field(default_factory=list)
    backends: list[BackendShare] = field(default_factory=list)
    failed_share: float = 0.0  # the share of requests answered 500 (unusable backendRefs)
    failed_detail: str = ""
    location: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def route_id(self) -> str:
        return f"{self.route.kind.lower()}:{self.route.key}" if self.route is not None else ""


# ---------------------------------------------------------------------------------------------
# listener


def _protocols(scheme: str) -> tuple[str, ...]:
    # an HTTPS client may also land on a TLS Passthrough listener: a TLSRoute then hands its stream to a backend
    # that terminates TLS itself (conformance TLSRouteHostnameIntersection)
    return {"http": ("HTTP",), "https": ("HTTPS", "TLS"), "tls": ("TLS",), "grpc": ("HTTP", "HTTPS")}.get(scheme, ())


def pick_listener(listeners: list[Listener], req: Request) -> tuple[Listener | None, str]:
    """The listener that serves `req` and why; None with the reason when none does."""
    on_port = [x for x in listeners if x.port == req.port]
    if not on_port:
        return None, f"no listener on port {req.port} (ports: {', '.join(sorted({str(x.port) for x in listeners}))})"
    fits = [x for x in on_port if x.protocol in _protocols(req.scheme)]
    if not fits:
        return None, (f"the listeners on port {req.port} speak {', '.join(sorted({x.protocol for x in on_port}))}, "
                      f"not {req.scheme.upper()}")
    usable = [x for x in fits if not x.problems]
    if not usable:
        return None, "; ".join(f"{x.label}: {', '.join(x.problems)}" for x in fits)
    host = req.server_name if req.scheme in ("tls", "https") else req.host
    matching = [x for x in usable if hostname_matches(x.hostname, host)]
    if not matching:
        what = "SNI" if req.scheme in ("tls", "https") else "Host"
        return None, (f"{what} {host or '(none)'} matches no listener hostname on port {req.port} "
                      f"({', '.join(x.hostname or '*' for x in usable)})")
    best = sorted(matching, key=lambda x: (tuple(-v for v in host_specificity(x.hostname)), x.order))[0]
    others = [x for x in matching if x is not best]
    why = f"{best.label} takes {host or 'the request'}"
    if others:
        why += f" (more specific than {', '.join(x.label for x in others)})"
    return best, why


# ---------------------------------------------------------------------------------------------
# matching


def _value_match(kind: str, want: str, got: str | None) -> bool:
    if got is None:
        return False
    if kind == "RegularExpression":
        try:
            return re.fullmatch(want, got) is not None
        except re.error:
            return False
    if kind == "Prefix":  # Istio's string prefix
        return got.startswith(want)
    return got == want


def _path_match(pm: dict, path: str) -> bool:
    kind, value = pm["type"], pm["value"]
    if kind == "Exact":
        return path == value
    if kind == "RegularExpression":
        return _value_match("RegularExpression", value, path)
    if kind == "StringPrefix":
        return path.startswith(value)
    return prefix_path_matches("Prefix", value, path)


def http_match(match: dict, req: Request) -> str:
    """'' when `match` matches `req`, else why not (for the story)."""
    path = req.path.split("?", 1)[0] or "/"
    if match.get("hosts") and not any(hostname_matches(h, req.host) for h in match["hosts"]):
        return f"host {req.host or '(none)'} is not {' or '.join(match['hosts'])}"
    if match.get("host_regex") and not _value_match("RegularExpression", match["host_regex"], req.host):
        return f"host {req.host or '(none)'} does not match {match['host_regex']}"
    pm = match["path"]
    if not _path_match(pm, path):
        return f"path {path} is not {pm['type']} {pm['value']}"
    if match.get("method") and match["method"] != req.method.upper():
        return f"method {req.method} is not {match['method']}"
    for h in match.get("headers", []):
        if not _value_match(h["type"], h["value"], req.header(h["name"])):
            return f"header {h['name']} is not {h['value']!r}"
    for q in match.get("queryParams", []):
        if not _value_match(q["type"], q["value"], req.query.get(q["name"])):
            return f"query parameter {q['name']} is not {q['value']!r}"
    return ""


def grpc_match(match: dict, req: Request) -> str:
    service, method = req.grpc
    m = match.get("method")
    if m:
        if m["type"] == "RegularExpression":
            ok = (not m["service"] or _value_match("RegularExpression", m["service"], service)) and \
                 (not m["method"] or _value_match("RegularExpression", m["method"], method))
        else:
            ok = (not m["service"] or m["service"] == service) and (not m["method"] or m["method"] == method)
        if not ok:
            return f"gRPC {service}/{method} is not {m['service'] or '*'}/{m['method'] or '*'}"
    for h in match.get("headers", []):
        if not _value_match(h["type"], h["value"], req.header(h["name"])):
            return f"header {h['name']} is not {h['value']!r}"
    return ""


def _describe_match(match: dict, grpc: bool) -> str:
    if grpc:
        m = match.get("method")
        bits = [f"method {m['service'] or '*'}/{m['method'] or '*'}"] if m else ["any method"]
    else:
        bits = [f"{match['path']['type']} {match['path']['value']}"]
        if match.get("method"):
            bits.append(f"method {match['method']}")
        bits += [f"query {q['name']}={q['value']}" for q in match.get("queryParams", [])]
    bits += [f"header {h['name']}: {h['value']}" for h in match.get("headers", [])]
    return ", ".join(bits)


def _precedence(match: dict, host_pattern: str, grpc: bool) -> tuple:
    hs = host_specificity(host_pattern)
    if grpc:
        m = match.get("method") or {}
        return (-hs[0], -hs[1], -len(m.get("service", "")), -len(m.get("method", "")),
                -len(match.get("headers", [])))
    pm = match["path"]
    return (-hs[0], -hs[1], PATH_RANK.get(pm["type"], 3), -len(pm["value"]), 0 if match.get("method") else 1,
            -len(match.get("headers", [])), -len(match.get("queryParams", [])))


HTTP_CRITERIA = ("hostname specificity", "hostname length", "path match type (Exact > RegularExpression > "
                 "PathPrefix)", "path length", "method match", "number of header matches", "number of query matches")
GRPC_CRITERIA = ("hostname specificity", "hostname length", "service length", "method length",
                 "number of header matches")


def _lost_on(win: tuple, lose: tuple, grpc: bool) -> str:
    """Name the first precedence criterion (K3/K6) on which `lose` ranks below `win`."""
    (wp, wr, wa, wri, _wm), (lp, lr, la, lri, _lm) = win, lose
    names = GRPC_CRITERIA if grpc else HTTP_CRITERIA
    if wp != lp:
        if len(wp) != len(lp) or len(wp) != len(names):
            return "the controller's rule order or priority"
        i = next(i for i, (a, b) in enumerate(zip(wp, lp, strict=True)) if a != b)
        return names[i]
    if wr != lr:
        return "route age (the older route wins)"
    if wa != la:
        return "import order of routes without creationTimestamp" if wr == ("~", "", "") else \
            "namespace/name order"
    return "rule order" if wri != lri else "match order"


def _own_precedence(kind: str, rule: dict) -> tuple:
    """Istio: rule order (first match); Traefik: the highest priority; Emissary: the highest precedence; Contour:
    Gateway API-like specificity (appended by the caller)."""
    if kind == "IngressRoute":
        return (-rule.get("priority", 0),)
    if kind == "Mapping":
        return (-rule.get("precedence", 0),)
    return ()


def _host_pattern(att: Attachment, host: str) -> str | None:
    """The most specific effective hostname of `att` matching `host` ('' = any host), or None."""
    if not att.hostnames:
        return ""
    found = [h for h in att.hostnames if hostname_matches(h, host)]
    if not found:
        return None
    return sorted(found, key=lambda h: tuple(-v for v in host_specificity(h)))[0]


# ---------------------------------------------------------------------------------------------
# decisions


def decide(m: ClusterModel, gateway_key: str, req: Request,
           services: Collection[str] | None = None) -> GatewayDecision:
    """Route `req` arriving at Gateway `gateway_key` (ns/name) on `req.port`. `services`: keys of the Services
    the Gateway may forward to (the trace walk passes its graph's gateway → svc edges); None = every Service its
    routes name."""
    view = gateway_view(m)
    gw = view.gateways.get(gateway_key)
    if gw is None:
        return GatewayDecision(gateway_key, "no-listener", None, why=f"Gateway {gateway_key} does not exist")
    listener, why = pick_listener(gw.listeners, req)
    status_none = 404 if req.scheme != "tls" else None
    if listener is None:
        outcome = "no-listener" if "no listener on port" in why or "speak" in why else "no-route"
        return GatewayDecision(gateway_key, outcome, status_none if outcome == "no-route" else None, why=why)
    raw = listener.protocol == "TLS"  # a TLS stream: no HTTP answer from the Gateway itself
    d = GatewayDecision(gateway_key, "no-route", None if raw else status_none, listener=listener, why=why)
    if listener.protocol == "HTTPS" and req.host != req.server_name and not hostname_matches(listener.hostname,
                                                                                              req.host):
        other, _ = pick_listener(gw.listeners, Request("https", req.host, req.port, sni=req.host))
        if other is not None and other is not listener:
            d.status = 421  # Misdirected Request: the Host belongs to another listener than the SNI chose
            d.why += (f"; but the Host {req.host} belongs to {other.label}, not to the listener the SNI "
                      f"{req.server_name} chose: the Gateway answers 421 Misdirected Request")
            return d
    kind = "TLSRoute" if raw else "GRPCRoute" if req.scheme == "grpc" else "HTTPRoute"
    if listener.allowed_kinds and listener.allowed_kinds[0] in OWN_KINDS:  # Istio, Traefik, Contour, Emissary
        kind = listener.allowed_kinds[0]
    atts = [a for a in view.attached(listener) if a.route.kind == kind]
    if not atts:
        d.why += f"; no {kind} is attached to it"
        return d
    if kind == "TLSRoute":
        return _decide_tls(view, d, atts, req, services)
    return _decide_http(view, d, atts, req, grpc=kind == "GRPCRoute", services=services)


def _decide_tls(view, d: GatewayDecision, atts: list[Attachment], req: Request,
                services: Collection[str] | None = None) -> GatewayDecision:
    cands = []
    for ai, a in enumerate(atts):
        pat = _host_pattern(a, req.server_name)
        if pat is not None:
            cands.append(((tuple(-v for v in host_specificity(pat)), route_order(a.route), ai), a, pat))
        else:
            d.losers.append(f"TLSRoute {a.route.key}: SNI {req.server_name or '(none)'} is not one of "
                            f"{', '.join(a.hostnames)}")
    if not cands:
        d.why += f"; no TLSRoute on it takes SNI {req.server_name or '(none)'}"
        return d
    cands.sort(key=lambda c: c[0])
    _key, att, pat = cands[0]
    d.losers += [f"TLSRoute {c[1].route.key} (hostname {c[2] or '*'}) loses to a more specific or older route"
                 for c in cands[1:]]
    d.route, d.rule_index = att.route, 0
    d.why += f"; TLSRoute {att.route.key} takes SNI {req.server_name} (hostname {pat or '*'})"
    rules = att.route.spec.get("rules", [])
    refs = [r for rule in rules for r in rule.get("backendRefs", [])]
    return _backends(view, d, att.route, refs, req, {"host": req.server_name, "path": "", "headers": {}}, [], None,
                     services)


def _decide_http(view, d: GatewayDecision, atts: list[Attachment], req: Request, grpc: bool,
                 services: Collection[str] | None = None) -> GatewayDecision:
    matcher = grpc_match if grpc else http_match
    cands, misses = [], []
    for ai, a in enumerate(atts):
        pat = _host_pattern(a, req.host)
        label = f"{a.route.kind} {a.route.key}"
        if pat is None:
            misses.append(f"{label}: Host {req.host or '(none)'} is not one of {', '.join(a.hostnames)}")
            continue
        for ri, rule in enumerate(a.route.spec.get("rules", [])):
            for mi, match in enumerate(rule.get("matches", [])):
                why_not = matcher(match, req)
                where = f"{label} rule {ri + 1}" + (f" ({rule['name']})" if rule.get("name") else "")
                if why_not:
                    misses.append(f"{where}: {why_not}")
                    continue
                prec = _own_precedence(a.route.kind, rule) if a.route.kind in OWN_KINDS else \
                    _precedence(match, pat, grpc)
                if a.route.kind in ("HTTPProxy", "Mapping"):
                    prec = (*prec, *_precedence(match, pat, grpc))
                key = (prec, route_order(a.route), ai, ri, mi)
                cands.append((key, a, ri, match, pat, where))
    if not cands:
        d.why += "; no rule matches: " + "; ".join(misses[:6]) if misses else "; no rule matches"
        d.losers = misses
        return d
    cands.sort(key=lambda c: c[0])
    _key, att, ri, match, pat, where = cands[0]
    d.route, d.rule_index = att.route, ri
    d.why += (f"; {where} wins with {_describe_match(match, grpc)}"
              f"{' for hostname ' + pat if pat else ''}")
    d.losers = [f"{c[5]} ({_describe_match(c[3], grpc)}) also matches but loses on {_lost_on(cands[0][0], c[0], grpc)}"
                for c in cands[1:] if c[1] is not att or c[2] != ri] + misses
    rule = att.route.spec["rules"][ri]
    filters = rule.get("filters", [])
    redirect = next((f["requestRedirect"] for f in filters if f["type"] == "RequestRedirect"), None)
    view_req = {"host": req.host, "path": req.path, "headers": dict(req.headers)}
    prefix = match.get("path", {}).get("value") if not grpc and match["path"]["type"] in ("PathPrefix",
                                                                                          "StringPrefix") else None
    if redirect is not None:
        return _redirect(d, redirect, req, prefix)
    _apply_filters(view_req, filters, prefix, d)
    return _backends(view, d, att.route, rule.get("backendRefs", []), req, view_req, filters, prefix, services)


def _replace_path(path: str, modifier: dict, prefix: str | None) -> str:
    if modifier["type"] == "ReplaceFullPath":
        return modifier.get("replaceFullPath") or "/"
    repl = modifier.get("replacePrefixMatch", "/")
    if prefix is None:
        return path
    base = prefix.rstrip("/")
    rest = path[len(base):] if path.startswith(base) else path
    new = repl.rstrip("/") + rest
    if not new.startswith("/"):
        new = "/" + new
    if repl.endswith("/") and len(repl) > 1 and not rest:
        new = repl  # "/prefix" → "/replacement/" keeps the replacement's slash
    return new


def _apply_filters(view_req: dict, filters: list[dict], prefix: str | None, d: GatewayDecision) -> None:
    for f in filters:
        if f["type"] == "URLRewrite":
            uw = f["urlRewrite"]
            if uw.get("hostname"):
                view_req["host"] = uw["hostname"]
            if uw.get("path"):
                view_req["path"] = _replace_path(view_req["path"], uw["path"], prefix)
        elif f["type"] == "RequestHeaderModifier":
            hm = f["requestHeaderModifier"]
            headers = view_req["headers"]
            for h in hm.get("set", []):
                for k in [k for k in headers if k.lower() == h["name"].lower()]:
                    del headers[k]
                headers[h["name"]] = h["value"]
            for h in hm.get("add", []):
                old = next((k for k in headers if k.lower() == h["name"].lower()), None)
                if old:
                    headers[old] = f"{headers[old]},{h['value']}"
                else:
                    headers[h["name"]] = h["value"]
            for name in hm.get("remove", []):
                for k in [k for k in headers if k.lower() == name.lower()]:
                    del headers[k]
        elif f["type"] == "StripPrefix":  # Traefik
            for pre in f.get("prefixes", []):
                if view_req["path"].startswith(pre):
                    view_req["path"] = "/" + view_req["path"][len(pre):].lstrip("/")
                    break
        elif f["type"] == "AddPrefix":  # Traefik
            view_req["path"] = f.get("prefix", "").rstrip("/") + view_req["path"]
        elif f["type"] not in ("ResponseHeaderModifier", "RequestRedirect"):
            d.notes.append(f"filter {f['type']} is not modelled: it does not change which backend answers")


def _redirect(d: GatewayDecision, rr: dict, req: Request, prefix: str | None) -> GatewayDecision:
    scheme_in = "https" if req.scheme == "https" else "http"
    scheme = rr.get("scheme") or scheme_in
    host = rr.get("hostname") or req.host
    if rr.get("port"):
        port = rr["port"]
    elif rr.get("scheme"):
        port = SCHEME_PORTS.get(scheme, d.listener.port)
    else:
        port = d.listener.port
    path = _replace_path(req.path, rr["path"], prefix) if rr.get("path") else req.path
    show_port = "" if SCHEME_PORTS.get(scheme) == port else f":{port}"
    query = f"?{urlencode(req.query)}" if req.query else ""
    d.outcome, d.status = "redirect", rr.get("statusCode", 302)
    d.location = f"{scheme}://{host}{show_port}{path}{query}"
    d.why += f"; its RequestRedirect filter answers {d.status} Location: {d.location}"
    return d


def _backends(view, d: GatewayDecision, route, refs: list[dict], req: Request, view_req: dict,
              filters: list[dict], prefix: str | None, services: Collection[str] | None = None) -> GatewayDecision:
    total = sum(r.get("weight", 1) for r in refs)
    raw = d.listener.protocol == "TLS"
    fail = None if raw else 500
    if not refs or total == 0:
        d.outcome, d.status = "backend-unavailable", fail
        d.failed_share = 1.0
        d.failed_detail = ("the rule has no backendRefs" if not refs else "every backendRef has weight 0") + \
            (", so the Gateway answers 500" if fail else ", so the TLS connection is rejected")
        return d
    for ref in refs:
        w = ref.get("weight", 1)
        if w == 0:
            continue
        chk = view.check_backend(route, ref)
        if chk.ok and services is not None and chk.service is not None and chk.service.key not in services:
            chk = BackendCheck(False, "BackendNotFound", f"backendRef Service {chk.service.key} is not among the "
                                                         f"Services Gateway {d.gateway} forwards to")
        if not chk.ok:
            d.failed_share += w / total
            d.failed_detail = (d.failed_detail + "; " if d.failed_detail else "") + chk.detail
            continue
        vr = {"host": view_req["host"], "path": view_req["path"], "headers": dict(view_req["headers"])}
        if ref.get("filters"):
            _apply_filters(vr, ref["filters"], prefix, d)
        d.backends.append(BackendShare(w / total, ref, chk, vr["host"], vr["path"], vr["headers"]))
    if d.backends:
        # through a TLS listener an HTTPS client's answer comes from the backend (assumed to serve HTTPS: 200)
        d.outcome, d.status = "forward", (None if req.scheme == "tls" else 200)
        if raw and req.scheme == "https":
            d.notes.append("an HTTPS request through a TLS listener is answered by the backend itself; it is assumed "
                           "to serve HTTPS on that port (status 200)")
    else:
        d.outcome, d.status = "backend-unavailable", fail
    return d


def parse_query(query: str) -> dict[str, str]:
    """`a=1&b=2` → {a: 1, b: 2} (the first value of a repeated name, as Envoy matches)."""
    from urllib.parse import parse_qsl

    out: dict[str, str] = {}
    for k, v in parse_qsl(query, keep_blank_values=True):
        out.setdefault(k, v)
    return out
