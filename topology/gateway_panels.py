"""Side panels for Gateways and route objects (issue 14 item 5): what a Gateway API controller would show.

Why a module of its own next to `panels.py`: a Gateway panel is its listeners (port, protocol, hostname, which
routes may attach) and the routes attached to each with the conditions the controller would write in status
(Accepted / ResolvedRefs and their reasons); a route panel is its rules — matches, filters, backends with weights
and whether each backend resolves. Every conclusion comes from the engine (`tracer.engine.gateway`); this module
only lays the facts out. The controllers' own objects (Traefik IngressRoute, Contour HTTPProxy, Emissary Mapping,
Istio Gateway/VirtualService) get the same shape, read from their spec.

Panel refs: `gateway:NS/NAME` (a Gateway, an Istio Gateway or a controller's gateway) and
`route:KIND/NS/NAME` with KIND lower case (`route:httproute/shop/storefront`), the form the trace hops'
typed refs use (`{"kind": "httproute", "namespace": ..., "name": ...}`).
"""
from __future__ import annotations

from tracer.engine.cluster import ClusterModel
from tracer.engine.gateway import gateway_view

GATEWAY_API_ROUTES = ("HTTPRoute", "GRPCRoute", "TLSRoute", "TCPRoute", "UDPRoute")
ROUTE_KINDS = (*GATEWAY_API_ROUTES, "IngressRoute", "HTTPProxy", "Mapping", "VirtualService")


def route_ref(kind: str, key: str) -> str:
    """`HTTPRoute`, `shop/storefront` → `route:httproute/shop/storefront` (the panel ref)."""
    return f"route:{kind.lower()}/{key}"


def _status_rows(view, route_kind: str, route_key: str) -> list[dict]:
    return [s.to_dict() for s in view.status_of(route_kind, route_key)]


def gateway_panel(model: ClusterModel, key: str) -> dict | None:
    """A Gateway: its listeners and, per listener, the routes attached; then every route that names it as a
    parent but is not accepted, with the reason a controller would write."""
    view = gateway_view(model)
    gw = view.gateways.get(key)
    if gw is None:
        return None
    listeners = []
    for x in gw.listeners:
        routes = []
        for a in view.attached(x):
            routes.append({"ref": route_ref(a.route.kind, a.route.key), "route": f"{a.route.kind} {a.route.key}",
                           "hostnames": list(a.hostnames)})
        allowed = x.allowed_from + (f" ({x.allowed_selector.describe()})" if x.allowed_selector is not None else "")
        listeners.append({"name": x.name, "owner": f"{x.owner_kind} {x.owner}", "port": x.port,
                          "protocol": x.protocol, "hostname": x.hostname or "* (any host)",
                          "tls_mode": x.tls_mode or "", "allowed_routes": allowed,
                          "allowed_kinds": list(x.allowed_kinds), "routes": routes, "problems": list(x.problems)})
    parent = f"{gw.obj.kind if gw.obj.kind != 'IstioGateway' else 'Gateway'} {key}"
    statuses = [s.to_dict() for s in view.statuses if s.parent in (parent, f"Gateway {key}")]
    for s in statuses:
        kind, _, rkey = s["route"].partition(" ")
        s["ref"] = route_ref(kind, rkey)
    return {
        "kind": "Gateway" if gw.obj.kind == "Gateway" else gw.obj.kind, "ref": f"gateway:{key}",
        "namespace": gw.obj.namespace, "name": gw.obj.name,
        "facts": [["class", gw.class_name], ["controller", gw.controller], ["implementation", gw.implementation],
                  ["addresses", ", ".join(gw.obj.addresses) or "none in the snapshot"],
                  ["ListenerSets", ", ".join(ls.key for ls in gw.listener_sets)],
                  ["problems", "; ".join(gw.problems)]],
        "listeners": listeners,
        "statuses": statuses,
    }


def _match_text(match: dict) -> str:
    """One HTTPRoute/GRPCRoute match in words: `PathPrefix /api, header x-canary: true`."""
    bits = []
    if "path" in match:
        bits.append(f"{match['path'].get('type', 'PathPrefix')} {match['path'].get('value', '/')}")
    if match.get("method"):
        m = match["method"]
        bits.append(f"method {m.get('service') or '*'}/{m.get('method') or '*'}" if isinstance(m, dict)
                    else f"method {m}")
    bits += [f"query {q['name']}={q['value']}" for q in match.get("queryParams", [])]
    bits += [f"header {h['name']}: {h['value']}" + (f" ({h['type']})" if h.get("type") not in (None, "Exact") else "")
             for h in match.get("headers", [])]
    return ", ".join(bits) or "everything"


def _filter_text(f: dict) -> str:
    kind = f.get("type", "")
    body = {k: v for k, v in f.items() if k != "type"}
    inner = next(iter(body.values()), {}) if body else {}
    if isinstance(inner, dict) and inner:
        return f"{kind}: " + ", ".join(f"{k}={v}" for k, v in sorted(inner.items()) if v not in (None, "", [], {}))
    return kind


def _gateway_api_rules(view, route) -> list[dict]:
    rules = []
    for i, rule in enumerate(route.spec.get("rules", []), 1):
        backends = []
        for ref in rule.get("backendRefs", []):
            check = view.check_backend(route, ref)
            ns = ref.get("namespace") or route.namespace
            backends.append({"ref": f"svc:{ns}/{ref['name']}" if ref.get("kind", "Service") == "Service" else "",
                             "backend": f"{ref.get('kind', 'Service')} {ns}/{ref['name']}",
                             "port": ref.get("port"), "weight": ref.get("weight", 1), "ok": check.ok,
                             "why": check.detail if not check.ok else ""})
        total = sum(b["weight"] for b in backends if b["ok"])
        for b in backends:
            b["share"] = round(b["weight"] / total, 4) if total and b["ok"] else 0
        rules.append({"rule": i, "name": rule.get("name", ""),
                      "matches": [_match_text(m) for m in rule.get("matches", [])] or ["everything"],
                      "filters": [_filter_text(f) for f in rule.get("filters", [])],
                      "backends": backends})
    return rules


def _condition_text(cond: dict) -> str:
    """A Contour condition in words: `prefix /blog`, `header x-user exact beta`."""
    parts = []
    for k, v in cond.items():
        if isinstance(v, dict):  # {"name": "x-user", "exact": "beta"} → header x-user exact beta
            parts.append(" ".join([k, str(v.get("name", "")), *(f"{op} {x}" for op, x in sorted(v.items())
                                                                if op != "name")]).replace("  ", " "))
        else:
            parts.append(f"{k} {v}")
    return ", ".join(parts)


def _own_rules(route) -> list[dict]:
    """The controllers' own objects: their route list in the same shape (matches as written, backends, weights)."""
    spec = route.spec
    ns = route.namespace
    out = []
    if route.kind in ("IngressRoute", "HTTPProxy"):
        for i, r in enumerate(spec.get("routes", []), 1):
            match = r.get("match") or "; ".join(_condition_text(c) for c in r.get("conditions", []))
            out.append({"rule": i, "name": "", "matches": [match or "everything"],
                        "filters": [f"middleware {m.get('name')}" for m in r.get("middlewares", [])],
                        "backends": [{"ref": f"svc:{s.get('namespace') or ns}/{s['name']}",
                                      "backend": f"Service {s.get('namespace') or ns}/{s['name']}",
                                      "port": s.get("port"), "weight": s.get("weight", 1), "ok": True, "why": "",
                                      "share": None} for s in r.get("services", []) if s.get("name")]})
        for inc in spec.get("includes", []):
            conds = "; ".join(_condition_text(c) for c in inc.get("conditions", [])) or "everything"
            out.append({"rule": len(out) + 1, "name": "include", "matches": [conds],
                        "filters": [], "backends": [{"ref": route_ref("HTTPProxy", f"{inc.get('namespace') or ns}/"
                                                                                   f"{inc['name']}"),
                                                     "backend": f"HTTPProxy {inc.get('namespace') or ns}/{inc['name']}",
                                                     "port": None, "weight": None, "ok": True, "why": "",
                                                     "share": None}]})
    elif route.kind == "Mapping":
        svc = str(spec.get("service", ""))  # name[.namespace][:port], or a URL
        hostport = svc.split("://", 1)[-1]
        name, _, port = hostport.partition(":")
        name, _, svc_ns = name.partition(".")
        host = spec.get("hostname") or spec.get("host") or "*"
        out.append({"rule": 1, "name": "", "matches": [f"host {host}, prefix {spec.get('prefix', '/')}"],
                    "filters": [f"rewrite {spec['rewrite']!r}"] if spec.get("rewrite") is not None else [],
                    "backends": [{"ref": f"svc:{svc_ns.split('.')[0] or ns}/{name}" if name else "", "backend": svc,
                                  "port": int(port) if port.isdigit() else None, "weight": spec.get("weight"),
                                  "ok": True, "why": "", "share": None}]})
    elif route.kind == "VirtualService":
        for i, r in enumerate(spec.get("http", []), 1):
            matches = [", ".join(f"{k} {v}" for k, v in m.items()) for m in r.get("match", [])] or ["everything"]
            backends = []
            for d in r.get("route", []):
                dest = d.get("destination", {})
                host = str(dest.get("host", ""))
                name, _, rest = host.partition(".")
                target_ns = rest.split(".")[0] if rest else ns
                backends.append({"ref": f"svc:{target_ns}/{name}" if name else "", "backend": host,
                                 "port": (dest.get("port") or {}).get("number"), "weight": d.get("weight"),
                                 "ok": True, "why": "", "share": None})
            out.append({"rule": i, "name": r.get("name", ""), "matches": matches,
                        "filters": ["redirect"] if r.get("redirect") else [], "backends": backends})
    return out


def route_panel(model: ClusterModel, key: str) -> dict | None:
    """key is `kind/NS/NAME` (kind lower case): the route's parents with their conditions, and its rules."""
    kind, _, rest = key.partition("/")
    view = gateway_view(model)
    route = next((r for k in ROUTE_KINDS if k.lower() == kind for r in model.route_objects.get(k, [])
                  if r.key == rest), None)
    if route is None:
        return None
    statuses = _status_rows(view, route.kind, route.key)
    for s in statuses:
        pkind, _, pkey = s["parent"].partition(" ")
        s["parent_ref"] = f"gateway:{pkey}" if pkind == "Gateway" and "/" in pkey else ""
    hostnames = route.spec.get("hostnames") or route.spec.get("hosts") or (
        [route.spec["virtualhost"]["fqdn"]] if isinstance(route.spec.get("virtualhost"), dict) else [])
    rules = _gateway_api_rules(view, route) if route.kind in GATEWAY_API_ROUTES else _own_rules(route)
    return {
        "kind": route.kind, "ref": route_ref(route.kind, route.key), "namespace": route.namespace,
        "name": route.name,
        "facts": [["hostnames", ", ".join(map(str, hostnames)) or "any (the listener's)"],
                  ["parents", ", ".join(f"{p.get('namespace') or route.namespace}/{p['name']}"
                                        + (f" ({p['sectionName']})" if p.get("sectionName") else "")
                                        for p in route.spec.get("parentRefs", []))]],
        "statuses": statuses,
        "rules": rules,
    }
