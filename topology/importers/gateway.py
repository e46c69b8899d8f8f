"""Gateway API objects and the controllers' own route objects → `RouteObject` (PURE, no Django).

Each parser validates the fields the engine reads (`tracer.engine.gateway`, `gateway_routing`, `controller_routes`)
the way the CRD's OpenAPI schema would reject them, and writes the CRD's defaults into the spec, so the engine
never guesses: a listener's `allowedRoutes.namespaces.from` is Same, a parentRef's namespace is the route's, a
backendRef's weight 1 and kind Service, an HTTPRoute match's path `PathPrefix /`, a redirect's status 302.
Errors name the file, document, object and field (`Ctx.error`). Fields the engine does not read are kept as they are.

Kinds: gateway.networking.k8s.io (GatewayClass, Gateway, ListenerSet, HTTPRoute, GRPCRoute, TLSRoute, TCPRoute,
UDPRoute, ReferenceGrant; ListenerSet/TLSRoute also from the experimental x-k8s.io group), traefik.io
(IngressRoute, Middleware), projectcontour.io (HTTPProxy), getambassador.io (Mapping), networking.istio.io
(Gateway → stored as kind "IstioGateway", VirtualService).
"""
from __future__ import annotations

from typing import Any

from tracer.engine.model import RouteObject

from .fields import Ctx

GATEWAY_GROUP = "gateway.networking.k8s.io"
GATEWAY_GROUPS = (GATEWAY_GROUP, "gateway.networking.x-k8s.io")
_X_KINDS = {"XListenerSet": "ListenerSet"}  # experimental names of kinds that graduated

# stored kind → API groups it is read from
ROUTE_GROUPS: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(("GatewayClass", "Gateway", "ListenerSet", "HTTPRoute", "GRPCRoute", "TLSRoute", "TCPRoute",
                     "UDPRoute", "ReferenceGrant"), GATEWAY_GROUPS),
    "IngressRoute": ("traefik.io", "traefik.containo.us"),
    "Middleware": ("traefik.io", "traefik.containo.us"),
    "HTTPProxy": ("projectcontour.io",),
    "Mapping": ("getambassador.io",),
    "IstioGateway": ("networking.istio.io",),
    "VirtualService": ("networking.istio.io",),
}
ROUTE_KINDS = tuple(ROUTE_GROUPS)
CLUSTER_SCOPED_ROUTE_KINDS = ("GatewayClass",)
PATH_TYPES = ("Exact", "PathPrefix", "RegularExpression")
MATCH_TYPES = ("Exact", "RegularExpression")
REDIRECT_CODES = (301, 302, 303, 307, 308)


def qualified_kind(kind: str, api_version: Any) -> str:
    """The stored kind of a document: Istio's Gateway is "IstioGateway"; XListenerSet is "ListenerSet"."""
    group = api_version.rpartition("/")[0] if isinstance(api_version, str) else ""
    if kind == "Gateway" and group == "networking.istio.io":
        return "IstioGateway"
    if group == "gateway.networking.x-k8s.io" and kind in _X_KINDS:
        return _X_KINDS[kind]
    return kind


# ---------------------------------------------------------------------------------------------
# shared pieces


def _selector(ctx: Ctx, obj: dict, key: str, path: str) -> dict | None:
    sel = ctx.selector(obj, key, path)
    return None if sel is None else sel.to_dict()


def _hostname(ctx: Ctx, value: Any, path: str) -> str:
    """A Gateway API Hostname: lower-case DNS name, optionally with one leading `*.` label; no IP, no port."""
    if not isinstance(value, str) or not value:
        raise ctx.error(path, "must be a non-empty host name")
    name = value.lower()
    body = name[2:] if name.startswith("*.") else name
    if "*" in body or ":" in body or not body or any(not label for label in body.split(".")):
        raise ctx.error(path, f"{value!r} is not a valid hostname (a DNS name, optionally starting with '*.'; "
                              "no IP address or port)")
    return name


def _hostnames(ctx: Ctx, obj: dict, path: str) -> list[str]:
    return [_hostname(ctx, h, f"{path}.hostnames[{i}]") for i, h in enumerate(ctx.list(obj, "hostnames",
                                                                                        f"{path}.hostnames"))]


def _allowed(ctx: Ctx, obj: dict, path: str, default_from: str, choices: tuple[str, ...]) -> dict:
    ns = ctx.map(obj, "namespaces", f"{path}.namespaces")
    frm = ctx.str(ns, "from", f"{path}.namespaces.from", default_from, choices=choices)
    out: dict[str, Any] = {"namespaces": {"from": frm}}
    if frm == "Selector":
        sel = _selector(ctx, ns, "selector", f"{path}.namespaces.selector")
        if sel is None:
            raise ctx.error(f"{path}.namespaces.selector", "required when from is Selector")
        out["namespaces"]["selector"] = sel
    kinds = []
    for p, k in ctx.maps(obj, "kinds", f"{path}.kinds"):
        kinds.append({"group": ctx.str(k, "group", f"{p}.group", GATEWAY_GROUP),
                      "kind": ctx.str(k, "kind", f"{p}.kind", required=True)})
    if "kinds" in obj:
        out["kinds"] = kinds
    return out


def _listener(ctx: Ctx, item: dict, path: str) -> dict:
    out = {"name": ctx.str(item, "name", f"{path}.name", required=True),
           "port": ctx.port(item, "port", f"{path}.port", required=True),
           "protocol": ctx.str(item, "protocol", f"{path}.protocol", required=True),
           "allowedRoutes": _allowed(ctx, ctx.map(item, "allowedRoutes", f"{path}.allowedRoutes"),
                                     f"{path}.allowedRoutes", "Same", ("Same", "All", "Selector"))}
    if item.get("hostname") not in (None, ""):
        out["hostname"] = _hostname(ctx, item["hostname"], f"{path}.hostname")
    tls = ctx.map(item, "tls", f"{path}.tls")
    if tls or out["protocol"] in ("HTTPS", "TLS"):
        refs = []
        for p, r in ctx.maps(tls, "certificateRefs", f"{path}.tls.certificateRefs"):
            ref = {"group": ctx.str(r, "group", f"{p}.group", ""), "kind": ctx.str(r, "kind", f"{p}.kind", "Secret"),
                   "name": ctx.str(r, "name", f"{p}.name", required=True)}
            if r.get("namespace"):
                ref["namespace"] = ctx.str(r, "namespace", f"{p}.namespace")
            refs.append(ref)
        out["tls"] = {"mode": ctx.str(tls, "mode", f"{path}.tls.mode", "Terminate",
                                      choices=("Terminate", "Passthrough")), "certificateRefs": refs}
    return out


def _listeners(ctx: Ctx, spec: dict, required: bool) -> list[dict]:
    out, names = [], set()
    for p, item in ctx.maps(spec, "listeners", "spec.listeners", required=required):
        listener = _listener(ctx, item, p)
        if listener["name"] in names:
            raise ctx.error(f"{p}.name", f"listener name {listener['name']!r} is used twice (names must be unique)")
        names.add(listener["name"])
        out.append(listener)
    return out


def _parent_ref(ctx: Ctx, r: dict, path: str, default_kind: str = "Gateway") -> dict:
    out = {"group": ctx.str(r, "group", f"{path}.group", GATEWAY_GROUP),
           "kind": ctx.str(r, "kind", f"{path}.kind", default_kind),
           "namespace": ctx.str(r, "namespace", f"{path}.namespace", ctx.namespace),
           "name": ctx.str(r, "name", f"{path}.name", required=True)}
    if r.get("sectionName") not in (None, ""):
        out["sectionName"] = ctx.str(r, "sectionName", f"{path}.sectionName")
    if r.get("port") is not None:
        out["port"] = ctx.port(r, "port", f"{path}.port")
    return out


def _backend_ref(ctx: Ctx, r: dict, path: str, filters: bool) -> dict:
    out = {"group": ctx.str(r, "group", f"{path}.group", ""), "kind": ctx.str(r, "kind", f"{path}.kind", "Service"),
           "name": ctx.str(r, "name", f"{path}.name", required=True),
           "namespace": ctx.str(r, "namespace", f"{path}.namespace", ctx.namespace),
           "weight": ctx.int(r, "weight", f"{path}.weight", 1, lo=0, hi=1000000)}
    port = ctx.port(r, "port", f"{path}.port")
    if port is not None:
        out["port"] = port
    elif out["kind"] == "Service" and out["group"] in ("", "core"):
        raise ctx.error(f"{path}.port", "required when the backend is a Service")
    if filters:
        out["filters"] = _filters(ctx, r, path)
    return out


def _backend_refs(ctx: Ctx, rule: dict, path: str, filters: bool = False) -> list[dict]:
    return [_backend_ref(ctx, r, p, filters) for p, r in ctx.maps(rule, "backendRefs", f"{path}.backendRefs")]


def _path_modifier(ctx: Ctx, obj: dict, path: str) -> dict | None:
    pm = ctx.map(obj, "path", f"{path}.path")
    if not pm:
        return None
    kind = ctx.str(pm, "type", f"{path}.path.type", required=True, choices=("ReplaceFullPath", "ReplacePrefixMatch"))
    key = "replaceFullPath" if kind == "ReplaceFullPath" else "replacePrefixMatch"
    return {"type": kind, key: ctx.str(pm, key, f"{path}.path.{key}", "/" if kind == "ReplacePrefixMatch" else "")}


def _header_modifier(ctx: Ctx, obj: dict, path: str) -> dict:
    out: dict[str, Any] = {}
    for op in ("set", "add"):
        out[op] = [{"name": ctx.str(h, "name", f"{p}.name", required=True), "value": ctx.str(h, "value", f"{p}.value")}
                   for p, h in ctx.maps(obj, op, f"{path}.{op}")]
    out["remove"] = list(ctx.strs(obj, "remove", f"{path}.remove"))
    return out


def _filters(ctx: Ctx, obj: dict, path: str) -> list[dict]:
    out = []
    for p, f in ctx.maps(obj, "filters", f"{path}.filters"):
        kind = ctx.str(f, "type", f"{p}.type", required=True)
        item: dict[str, Any] = {"type": kind}
        if kind == "RequestRedirect":
            rr = ctx.map(f, "requestRedirect", f"{p}.requestRedirect", required=True)
            q = f"{p}.requestRedirect"
            item["requestRedirect"] = {
                "scheme": ctx.str(rr, "scheme", f"{q}.scheme", choices=("http", "https")) or None,
                "hostname": _hostname(ctx, rr["hostname"], f"{q}.hostname") if rr.get("hostname") else None,
                "port": ctx.port(rr, "port", f"{q}.port"),
                "path": _path_modifier(ctx, rr, q),
                "statusCode": ctx.int(rr, "statusCode", f"{q}.statusCode", 302)}
            if item["requestRedirect"]["statusCode"] not in REDIRECT_CODES:
                raise ctx.error(f"{q}.statusCode", f"must be one of {', '.join(map(str, REDIRECT_CODES))}")
        elif kind == "URLRewrite":
            uw = ctx.map(f, "urlRewrite", f"{p}.urlRewrite", required=True)
            q = f"{p}.urlRewrite"
            item["urlRewrite"] = {"hostname": _hostname(ctx, uw["hostname"], f"{q}.hostname")
                                  if uw.get("hostname") else None, "path": _path_modifier(ctx, uw, q)}
        elif kind in ("RequestHeaderModifier", "ResponseHeaderModifier"):
            key = kind[0].lower() + kind[1:]
            item[key] = _header_modifier(ctx, ctx.map(f, key, f"{p}.{key}", required=True), f"{p}.{key}")
        else:  # RequestMirror, CORS, ExtensionRef…: kept, not modelled (the engine says so)
            item.update({k: v for k, v in f.items() if k != "type"})
        out.append(item)
    return out


def _value_matches(ctx: Ctx, obj: dict, key: str, path: str) -> list[dict]:
    return [{"type": ctx.str(h, "type", f"{p}.type", "Exact", choices=MATCH_TYPES),
             "name": ctx.str(h, "name", f"{p}.name", required=True),
             "value": ctx.str(h, "value", f"{p}.value", required=True)}
            for p, h in ctx.maps(obj, key, f"{path}.{key}")]


def _http_match(ctx: Ctx, m: dict, path: str) -> dict:
    pm = ctx.map(m, "path", f"{path}.path")
    ptype = ctx.str(pm, "type", f"{path}.path.type", "PathPrefix", choices=PATH_TYPES)
    value = ctx.str(pm, "value", f"{path}.path.value", "/")
    if ptype != "RegularExpression" and not value.startswith("/"):
        raise ctx.error(f"{path}.path.value", f"{value!r} must start with '/'")
    out = {"path": {"type": ptype, "value": value}, "headers": _value_matches(ctx, m, "headers", path),
           "queryParams": _value_matches(ctx, m, "queryParams", path)}
    if m.get("method"):
        out["method"] = ctx.str(m, "method", f"{path}.method").upper()
    return out


def _grpc_match(ctx: Ctx, m: dict, path: str) -> dict:
    meth = ctx.map(m, "method", f"{path}.method")
    out: dict[str, Any] = {"headers": _value_matches(ctx, m, "headers", path)}
    if meth:
        q = f"{path}.method"
        out["method"] = {"type": ctx.str(meth, "type", f"{q}.type", "Exact", choices=MATCH_TYPES),
                         "service": ctx.str(meth, "service", f"{q}.service"),
                         "method": ctx.str(meth, "method", f"{q}.method")}
        if not out["method"]["service"] and not out["method"]["method"]:
            raise ctx.error(q, "one of service or method must be set")
    return out


def _parent_refs(ctx: Ctx, spec: dict) -> list[dict]:
    return [_parent_ref(ctx, r, p) for p, r in ctx.maps(spec, "parentRefs", "spec.parentRefs")]


def _rule_name(ctx: Ctx, rule: dict, p: str) -> dict:
    return {"name": ctx.str(rule, "name", f"{p}.name")} if rule.get("name") else {}


# ---------------------------------------------------------------------------------------------
# Gateway API kinds


def _gateway_class(ctx: Ctx, spec: dict, data: dict) -> dict:
    return {"controllerName": ctx.str(spec, "controllerName", "spec.controllerName", required=True)}


def _gateway(ctx: Ctx, spec: dict, data: dict) -> dict:
    out = {"gatewayClassName": ctx.str(spec, "gatewayClassName", "spec.gatewayClassName", required=True),
           "listeners": _listeners(ctx, spec, required=True),
           "allowedListeners": _allowed(ctx, ctx.map(spec, "allowedListeners", "spec.allowedListeners"),
                                        "spec.allowedListeners", "None", ("None", "Same", "All", "Selector")),
           "addresses": [{"type": ctx.str(a, "type", f"{p}.type", "IPAddress"), "value": ctx.str(a, "value",
                                                                                                f"{p}.value")}
                         for p, a in ctx.maps(spec, "addresses", "spec.addresses")]}
    return out


def _listener_set(ctx: Ctx, spec: dict, data: dict) -> dict:
    parent = ctx.map(spec, "parentRef", "spec.parentRef", required=True)
    return {"parentRef": _parent_ref(ctx, parent, "spec.parentRef"), "listeners": _listeners(ctx, spec, True)}


def _http_route(ctx: Ctx, spec: dict, data: dict) -> dict:
    rules = []
    for p, rule in ctx.maps(spec, "rules", "spec.rules"):
        matches = [_http_match(ctx, m, mp) for mp, m in ctx.maps(rule, "matches", f"{p}.matches")]
        rules.append({**_rule_name(ctx, rule, p),
                      "matches": matches or [{"path": {"type": "PathPrefix", "value": "/"}, "headers": [],
                                              "queryParams": []}],
                      "filters": _filters(ctx, rule, p), "backendRefs": _backend_refs(ctx, rule, p, filters=True)})
    if not rules:  # the CRD default: one rule matching every request, with no backend (→ 500)
        rules = [{"matches": [{"path": {"type": "PathPrefix", "value": "/"}, "headers": [], "queryParams": []}],
                  "filters": [], "backendRefs": []}]
    return {"parentRefs": _parent_refs(ctx, spec), "hostnames": _hostnames(ctx, spec, "spec"), "rules": rules}


def _grpc_route(ctx: Ctx, spec: dict, data: dict) -> dict:
    rules = []
    for p, rule in ctx.maps(spec, "rules", "spec.rules"):
        matches = [_grpc_match(ctx, m, mp) for mp, m in ctx.maps(rule, "matches", f"{p}.matches")]
        rules.append({**_rule_name(ctx, rule, p), "matches": matches or [{"headers": []}],
                      "filters": _filters(ctx, rule, p), "backendRefs": _backend_refs(ctx, rule, p, filters=True)})
    return {"parentRefs": _parent_refs(ctx, spec), "hostnames": _hostnames(ctx, spec, "spec"),
            "rules": rules or [{"matches": [{"headers": []}], "filters": [], "backendRefs": []}]}


def _l4_route(ctx: Ctx, spec: dict, data: dict) -> dict:
    rules = [{**_rule_name(ctx, rule, p), "backendRefs": _backend_refs(ctx, rule, p)}
             for p, rule in ctx.maps(spec, "rules", "spec.rules", required=True)]
    out = {"parentRefs": _parent_refs(ctx, spec), "rules": rules}
    if ctx.kind == "TLSRoute":
        out["hostnames"] = _hostnames(ctx, spec, "spec")
    return out


def _reference_grant(ctx: Ctx, spec: dict, data: dict) -> dict:
    frm = [{"group": ctx.str(f, "group", f"{p}.group"), "kind": ctx.str(f, "kind", f"{p}.kind", required=True),
            "namespace": ctx.str(f, "namespace", f"{p}.namespace", required=True)}
           for p, f in ctx.maps(spec, "from", "spec.from", required=True)]
    to = [{"group": ctx.str(t, "group", f"{p}.group"), "kind": ctx.str(t, "kind", f"{p}.kind", required=True),
           **({"name": ctx.str(t, "name", f"{p}.name")} if t.get("name") else {})}
          for p, t in ctx.maps(spec, "to", "spec.to", required=True)]
    return {"from": frm, "to": to}


def _as_is(ctx: Ctx, spec: dict, data: dict) -> dict:
    """Controller CRDs: kept as written; `controller_routes` validates what it reads when it builds its view."""
    return dict(spec)


_SPEC_PARSERS = {
    "GatewayClass": _gateway_class, "Gateway": _gateway, "ListenerSet": _listener_set, "HTTPRoute": _http_route,
    "GRPCRoute": _grpc_route, "TLSRoute": _l4_route, "TCPRoute": _l4_route, "UDPRoute": _l4_route,
    "ReferenceGrant": _reference_grant,
}


def parse_route_object(ctx: Ctx, data: dict, kind: str, labels: dict, annotations: dict, created: str) -> RouteObject:
    """One document of a ROUTE_KINDS kind (already through `parse._start`) → RouteObject."""
    spec = ctx.map(data, "spec", "spec", required=kind not in ("IstioGateway", "VirtualService"))
    addresses: tuple[str, ...] = ()
    if kind == "Gateway":
        status = data.get("status") if isinstance(data.get("status"), dict) else {}
        addresses = tuple(a["value"] for a in status.get("addresses") or [] if isinstance(a, dict)
                          and isinstance(a.get("value"), str) and a["value"])
    parsed = _SPEC_PARSERS.get(kind, _as_is)(ctx, spec, data)
    return RouteObject(kind=kind, namespace="" if kind in CLUSTER_SCOPED_ROUTE_KINDS else ctx.namespace,
                       name=ctx.name, api_version=str(data.get("apiVersion") or ""), labels=labels,
                       annotations=annotations, spec=parsed, addresses=addresses, created=created)
