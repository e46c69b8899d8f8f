"""The ingress controllers' own route objects (semantics K9–K11): Traefik IngressRoute (+ Middleware), Contour
HTTPProxy (routes, conditions, includes) and Emissary-ingress Mapping, read into the Gateway view as one virtual
Gateway per controller, so that `gateway_routing` decides and `gateway_trace` traces them
(`--via gateway:NS/NAME[:PORT]` with the controller's workload NS/NAME, e.g. `gateway:traefik/traefik:80`).

Each controller's listeners are its Services' TCP ports (https when the port is named/numbered like https);
the client enters through that Service as for an Ingress controller (D9), and its pods proxy to the backend
Service's endpoints.

Rules, from each project's reference documentation:
- K9 Traefik IngressRoute (traefik.io/v1alpha1): `entryPoints` (web = the http ports, websecure = the https ports;
  none = all), `routes[]` with a `match` expression of Host(`a`[,`b`]), HostRegexp, Path, PathPrefix (a string
  prefix), PathRegexp, Method, Header/Headers, Query, combined with && and ||; the router with the highest
  `priority` wins, the default priority being the length of the match expression. `services[]` share by
  `weight` (default 1). Middlewares: RedirectScheme (scheme, port; permanent → 301 else 302), StripPrefix
  (the matched prefix leaves the path), AddPrefix, ReplacePath; others are noted, not modelled.
- K10 Contour HTTPProxy (projectcontour.io/v1): a root proxy names `virtualhost.fqdn`; `routes[]` have
  `conditions` (prefix (string prefix), exact, regex, header exact/contains/present/notexact, queryParameter
  exact), `services[]` with `weight` (unset weights share equally when none is set, else count 0),
  `requestRedirectPolicy` (scheme, hostname, port, statusCode default 302, path/prefix) and
  `pathRewritePolicy.replacePrefix`; `includes[]` graft another proxy's routes under the include's prefix and
  header conditions. Precedence as in Gateway API (exact, then longest prefix, then more header conditions).
  A proxy not reachable from a root (no fqdn, not included) serves nothing.
- K11 Emissary-ingress Mapping (getambassador.io/v3alpha1): `hostname` (default any), `prefix` (string prefix;
  `prefix_regex: true` = a regular expression), `method`, `headers`, `service` (`name[.namespace][:port]`,
  scheme prefix dropped), `rewrite` (default "/": the prefix is replaced by "/"), `weight` (Mappings with the
  same host+prefix form one route: weighted ones take their percentage, the others share the rest), `precedence`
  (higher first), then the longest prefix.
"""
from __future__ import annotations

import re

from .gateway_model import GatewayInfo, Listener
from .ingress_controllers import EMISSARY_IMAGES, discover_controllers
from .model import RouteObject

CONTROLLER_KIND = "ControllerGateway"
ROUTE_KINDS = ("IngressRoute", "HTTPProxy", "Mapping")

_TERM = re.compile(r"^\s*(!?)\s*([A-Za-z]+)\s*\((.*)\)\s*$", re.S)
_ARG = re.compile(r"`([^`]*)`|\"([^\"]*)\"")


def _is_https(name: str, port: int) -> bool:
    return port in (443, 8443) or "https" in (name or "").lower() or "websecure" in (name or "").lower()


# ---------------------------------------------------------------------------------------------
# controllers as virtual gateways


def _emissary_pods(m) -> dict[str, list]:
    groups: dict[str, list] = {}
    for pod in m.objects.pods:
        if pod.phase in ("Succeeded", "Failed") or not pod.ready:
            continue
        if any(any(s in (c.image or "").lower() for s in EMISSARY_IMAGES) for c in pod.containers):
            groups.setdefault(f"{pod.namespace}/{pod.workload_name or pod.name}", []).append(pod)
    return groups


def controller_gateways(view) -> list:
    """(GatewayInfo, kind, pods, services) for Traefik, Contour and Emissary controllers in the snapshot."""
    m = view.m
    found = []
    if not any(m.route_objects.get(k) for k in ROUTE_KINDS):
        return []  # no route objects of a controller's own: nothing to scan
    for ctrl in discover_controllers(m):
        if ctrl.kind in ("traefik", "contour") and ctrl.pods:
            found.append((ctrl.name, ctrl.kind, list(ctrl.pods), list(ctrl.services)))
    for key, pods in sorted(_emissary_pods(m).items() if m.route_objects.get("Mapping") else ()):
        ns = key.split("/", 1)[0]
        services = [s for s in m.services_by_namespace.get(ns, []) if s.selector and any(
            all(p.labels.get(k) == v for k, v in s.selector.items()) for p in pods)]
        found.append((key, "emissary", pods, services))
    own = {"traefik": "IngressRoute", "contour": "HTTPProxy", "emissary": "Mapping"}
    out = []
    for key, kind, pods, services in found:
        if not m.route_objects.get(own[kind]):
            continue  # a controller that serves only Ingresses (D) has no routes of its own here
        ns, name = key.split("/", 1)
        obj = RouteObject(kind=CONTROLLER_KIND, namespace=ns, name=name, spec={"controller": kind})
        listeners, seen = [], set()
        for svc in sorted(services, key=lambda s: (s.type != "LoadBalancer", s.key)):
            for sp in svc.ports:
                if sp.protocol != "TCP" or sp.port in seen:
                    continue
                seen.add(sp.port)
                protocol = "HTTPS" if _is_https(sp.name, sp.port) else "HTTP"
                listeners.append(Listener(gateway=key, owner_kind="Gateway", owner=key, namespace=ns,
                                          name=sp.name or str(sp.port), port=sp.port, protocol=protocol,
                                          tls_mode="Terminate" if protocol == "HTTPS" else "", allowed_from="All",
                                          allowed_kinds=({"traefik": "IngressRoute", "contour": "HTTPProxy",
                                                          "emissary": "Mapping"}[kind],), order=(0, "", "", sp.port)))
        impl = {"traefik": "Traefik", "contour": "Contour", "emissary": "Emissary-ingress"}[kind]
        info = GatewayInfo(obj, f"({impl} routes)", kind, impl, listeners, [], [])
        out.append((info, kind, pods, services))
    return out


# ---------------------------------------------------------------------------------------------
# Traefik


def _args(text: str) -> list[str]:
    return [a or b for a, b in _ARG.findall(text)]


def _split_top(expr: str, op: str) -> list[str]:
    out, depth, cur, i = [], 0, "", 0
    while i < len(expr):
        ch = expr[i]
        depth += ch == "("
        depth -= ch == ")"
        if depth == 0 and expr.startswith(op, i):
            out.append(cur)
            cur, i = "", i + len(op)
            continue
        cur += ch
        i += 1
    return [*out, cur]


def _traefik_match(expr: str) -> tuple[list[dict], list[str]]:
    """A Traefik rule → HTTPRoute-shaped matches (one per || alternative) and the notes on what was skipped."""
    matches, notes = [], []
    for alt in _split_top(expr.strip(), "||"):
        alt = alt.strip()
        if alt.startswith("(") and alt.endswith(")"):
            alt = alt[1:-1]
        match: dict = {"path": {"type": "PathPrefix", "value": "/"}, "headers": [], "queryParams": []}
        for term in _split_top(alt, "&&"):
            t = _TERM.match(term)
            if not t:
                notes.append(f"match term {term.strip()!r} is not modelled")
                continue
            neg, fn, args = t.group(1), t.group(2), _args(t.group(3))
            if neg:
                notes.append(f"negated term {term.strip()!r} is not modelled")
                continue
            if fn == "Host":
                match["hosts"] = [a.lower() for a in args]
            elif fn == "HostRegexp":
                match["host_regex"] = args[0] if args else ".*"
            elif fn == "Path" and args:
                match["path"] = {"type": "Exact", "value": args[0]}
            elif fn == "PathPrefix" and args:
                match["path"] = {"type": "StringPrefix", "value": args[0]}
            elif fn == "PathRegexp" and args:
                match["path"] = {"type": "RegularExpression", "value": args[0] + ".*"}
            elif fn == "Method" and args:
                match["method"] = args[0].upper()
            elif fn in ("Header", "Headers") and len(args) == 2:
                match["headers"].append({"type": "Exact", "name": args[0], "value": args[1]})
            elif fn in ("HeaderRegexp", "HeadersRegexp") and len(args) == 2:
                match["headers"].append({"type": "RegularExpression", "name": args[0], "value": args[1]})
            elif fn == "Query" and len(args) == 2:
                match["queryParams"].append({"type": "Exact", "name": args[0], "value": args[1]})
            else:
                notes.append(f"matcher {fn} is not modelled")
        matches.append(match)
    return matches, notes


def _port_number(m, ns: str, name: str, port) -> int | None:
    svc = m.services.get(f"{ns}/{name}")
    if isinstance(port, int):
        return port
    if svc is None:
        return None
    if port in (None, ""):
        return svc.ports[0].port if len(svc.ports) == 1 else None
    return next((p.port for p in svc.ports if p.name == port or str(p.port) == str(port)), None)


def _traefik_filters(m, route_ns: str, middlewares: list, notes: list) -> list[dict]:
    by_key = {o.key: o for o in m.route_objects.get("Middleware", [])}
    filters = []
    for ref in middlewares or []:
        if not isinstance(ref, dict):
            continue
        mw = by_key.get(f"{ref.get('namespace') or route_ns}/{ref.get('name')}")
        if mw is None:
            notes.append(f"Middleware {ref.get('namespace') or route_ns}/{ref.get('name')} does not exist: Traefik "
                         "disables the router (404)")
            filters.append({"type": "Missing"})
            continue
        spec = mw.spec
        if isinstance(spec.get("redirectScheme"), dict):
            rs = spec["redirectScheme"]
            filters.append({"type": "RequestRedirect", "requestRedirect": {
                "scheme": rs.get("scheme", "https"), "hostname": None,
                "port": int(rs["port"]) if str(rs.get("port", "")).isdigit() else None, "path": None,
                "statusCode": 301 if rs.get("permanent") else 302}})
        elif isinstance(spec.get("stripPrefix"), dict):
            filters.append({"type": "StripPrefix", "prefixes": list(spec["stripPrefix"].get("prefixes") or [])})
        elif isinstance(spec.get("addPrefix"), dict):
            filters.append({"type": "AddPrefix", "prefix": spec["addPrefix"].get("prefix", "")})
        elif isinstance(spec.get("replacePath"), dict):
            filters.append({"type": "URLRewrite", "urlRewrite": {"hostname": None, "path": {
                "type": "ReplaceFullPath", "replaceFullPath": spec["replacePath"].get("path", "/")}}})
        else:
            notes.append(f"Middleware {mw.key} ({', '.join(spec) or 'empty'}) does not change the route: not modelled")
    return filters


def traefik_route(m, obj: RouteObject) -> RouteObject:
    rules, notes = [], []
    for route in obj.spec.get("routes") or []:
        if not isinstance(route, dict) or not isinstance(route.get("match"), str):
            continue
        matches, n = _traefik_match(route["match"])
        notes += n
        refs = []
        for svc in route.get("services") or []:
            if not isinstance(svc, dict) or svc.get("kind", "Service") != "Service":
                notes.append("a TraefikService backend is not modelled")
                continue
            ns = svc.get("namespace") or obj.namespace
            refs.append({"group": "", "kind": "Service", "name": svc.get("name", ""), "namespace": ns,
                         "port": _port_number(m, ns, svc.get("name", ""), svc.get("port")),
                         "weight": int(svc.get("weight", 1))})
        priority = route.get("priority")
        rules.append({"matches": matches, "filters": _traefik_filters(m, obj.namespace, route.get("middlewares"), notes),
                      "backendRefs": refs, "priority": int(priority) if priority else len(route["match"])})
    entry = obj.spec.get("entryPoints") or []
    return RouteObject(kind="IngressRoute", namespace=obj.namespace, name=obj.name, created=obj.created,
                       spec={"rules": rules, "hostnames": [], "entryPoints": list(entry), "notes": notes})


# ---------------------------------------------------------------------------------------------
# Contour


def _contour_conditions(conds: list) -> dict:
    match: dict = {"path": {"type": "StringPrefix", "value": "/"}, "headers": [], "queryParams": []}
    prefix = ""
    for c in conds or []:
        if not isinstance(c, dict):
            continue
        if "prefix" in c:
            prefix = prefix.rstrip("/") + str(c["prefix"]) if prefix else str(c["prefix"])
        elif "exact" in c:
            match["path"] = {"type": "Exact", "value": str(c["exact"])}
        elif "regex" in c:
            match["path"] = {"type": "RegularExpression", "value": str(c["regex"])}
        elif isinstance(c.get("header"), dict):
            h = c["header"]
            if "exact" in h:
                match["headers"].append({"type": "Exact", "name": h.get("name", ""), "value": str(h["exact"])})
            elif "contains" in h:
                match["headers"].append({"type": "RegularExpression", "name": h.get("name", ""),
                                         "value": f".*{re.escape(str(h['contains']))}.*"})
            elif h.get("present"):
                match["headers"].append({"type": "RegularExpression", "name": h.get("name", ""), "value": ".*"})
        elif isinstance(c.get("queryParameter"), dict) and "exact" in c["queryParameter"]:
            q = c["queryParameter"]
            match["queryParams"].append({"type": "Exact", "name": q.get("name", ""), "value": str(q["exact"])})
    if prefix and match["path"]["type"] == "StringPrefix":
        match["path"] = {"type": "StringPrefix", "value": prefix}
    return match


def _contour_rules(m, proxy: RouteObject, inherited: list, seen: set) -> list[dict]:
    if proxy.key in seen:  # an include cycle: Contour marks them invalid
        return []
    seen = seen | {proxy.key}
    rules = []
    for route in proxy.spec.get("routes") or []:
        if not isinstance(route, dict):
            continue
        match = _contour_conditions([*inherited, *(route.get("conditions") or [])])
        services = [s for s in route.get("services") or [] if isinstance(s, dict)]
        any_weight = any("weight" in s for s in services)
        refs = [{"group": "", "kind": "Service", "name": s.get("name", ""), "namespace": proxy.namespace,
                 "port": _port_number(m, proxy.namespace, s.get("name", ""), s.get("port")),
                 "weight": int(s.get("weight", 0 if any_weight else 1))} for s in services]
        filters = []
        rr = route.get("requestRedirectPolicy")
        if isinstance(rr, dict):
            path = ({"type": "ReplaceFullPath", "replaceFullPath": rr["path"]} if rr.get("path") else
                    {"type": "ReplacePrefixMatch", "replacePrefixMatch": rr["prefix"]} if rr.get("prefix") else None)
            filters.append({"type": "RequestRedirect", "requestRedirect": {
                "scheme": rr.get("scheme"), "hostname": rr.get("hostname"), "port": rr.get("port"), "path": path,
                "statusCode": int(rr.get("statusCode") or 302)}})
        rewrite = (route.get("pathRewritePolicy") or {}).get("replacePrefix") or []
        if rewrite and isinstance(rewrite[0], dict):
            filters.append({"type": "URLRewrite", "urlRewrite": {"hostname": None, "path": {
                "type": "ReplacePrefixMatch", "replacePrefixMatch": rewrite[0].get("replacement", "/")}}})
        rules.append({"matches": [match], "filters": filters, "backendRefs": refs})
    by_key = {o.key: o for o in m.route_objects.get("HTTPProxy", [])}
    for inc in proxy.spec.get("includes") or []:
        if not isinstance(inc, dict):
            continue
        child = by_key.get(f"{inc.get('namespace') or proxy.namespace}/{inc.get('name')}")
        if child is not None:
            rules += _contour_rules(m, child, [*inherited, *(inc.get("conditions") or [])], seen)
    return rules


def contour_routes(m) -> list[RouteObject]:
    out = []
    for proxy in m.route_objects.get("HTTPProxy", []):
        fqdn = ((proxy.spec.get("virtualhost") or {}).get("fqdn") or "").lower()
        if not fqdn:
            continue  # not a root: serves only through an include
        out.append(RouteObject(kind="HTTPProxy", namespace=proxy.namespace, name=proxy.name, created=proxy.created,
                               spec={"hostnames": [fqdn], "rules": _contour_rules(m, proxy, [], set())}))
    return out


# ---------------------------------------------------------------------------------------------
# Emissary


def _emissary_service(text: str, ns: str) -> tuple[str, str, int | None]:
    text = re.sub(r"^[a-z]+://", "", text.strip())
    host, _, port = text.partition(":")
    name, _, svc_ns = host.partition(".")
    return name, (svc_ns.split(".")[0] if svc_ns else ns), int(port) if port.isdigit() else None


def emissary_routes(m) -> list[RouteObject]:
    groups: dict[tuple, list[RouteObject]] = {}
    for mp in sorted(m.route_objects.get("Mapping", []), key=lambda o: (o.created or "~", o.namespace, o.name)):
        spec = mp.spec
        if not isinstance(spec.get("prefix"), str) or not isinstance(spec.get("service"), str):
            continue
        host = str(spec.get("hostname") or spec.get("host") or "*").lower()
        hdrs = tuple(sorted((str(k), str(v)) for k, v in (spec.get("headers") or {}).items()))
        key = (host, spec["prefix"], bool(spec.get("prefix_regex")), str(spec.get("method", "")).upper(), hdrs,
               int(spec.get("precedence", 0)))
        groups.setdefault(key, []).append(mp)
    out = []
    for (host, prefix, regex, method, hdrs, precedence), mappings in groups.items():
        weighted = [mp for mp in mappings if "weight" in mp.spec]
        rest = max(0, 100 - sum(int(mp.spec["weight"]) for mp in weighted))
        unweighted = [mp for mp in mappings if "weight" not in mp.spec]
        refs, rewrites = [], set()
        for mp in mappings:
            name, ns, port = _emissary_service(mp.spec["service"], mp.namespace)
            share = int(mp.spec["weight"]) if "weight" in mp.spec else rest / max(1, len(unweighted))
            refs.append({"group": "", "kind": "Service", "name": name, "namespace": ns,
                         "port": port if port is not None else _port_number(m, ns, name, None) or 80,
                         "weight": share, "source": mp.key})
            rewrites.add(mp.spec.get("rewrite", "/"))
        match = {"path": {"type": "RegularExpression" if regex else "StringPrefix", "value": prefix},
                 "headers": [{"type": "Exact", "name": k, "value": v} for k, v in hdrs], "queryParams": []}
        if method:
            match["method"] = method
        if host not in ("*", ""):
            match["hosts"] = [host]
        rewrite = next(iter(rewrites))
        filters = [] if rewrite in (None, "") or regex else [
            {"type": "URLRewrite", "urlRewrite": {"hostname": None, "path": {"type": "ReplacePrefixMatch",
                                                                              "replacePrefixMatch": rewrite}}}]
        first = mappings[0]
        out.append(RouteObject(kind="Mapping", namespace=first.namespace, name=first.name, created=first.created,
                               spec={"hostnames": [], "rules": [{"matches": [match], "filters": filters,
                                                                 "backendRefs": refs, "precedence": precedence}]}))
    return out


def routes_for(m, kind: str) -> list[RouteObject]:
    """The controller's own objects as HTTPRoute-shaped routes (kind kept: IngressRoute, HTTPProxy, Mapping)."""
    if kind == "traefik":
        return [traefik_route(m, o) for o in m.route_objects.get("IngressRoute", [])]
    if kind == "contour":
        return contour_routes(m)
    return emissary_routes(m)
