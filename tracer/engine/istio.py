"""Istio's own routing objects (networking.istio.io Gateway + VirtualService), read into the Gateway view
(semantics K8) so that the same request routing (`gateway_routing`) and trace entry (`gateway_trace`) serve them.

Rules, from Istio's reference docs (networking.istio.io/v1 Gateway, VirtualService):
- An Istio Gateway's `servers` are its listeners: `port` {number, protocol HTTP|HTTPS|HTTP2|GRPC|TLS}, `hosts`
  (`ns/host`, `./host` = the Gateway's namespace, `*/host` or `host` = any namespace; `*` = any host) and
  `tls.mode` (SIMPLE/MUTUAL terminate, PASSTHROUGH). `selector` picks the gateway pods (usually
  `istio: ingressgateway`) in any namespace: they are the data plane.
- A VirtualService binds to a Gateway through `gateways` (`name` = its own namespace, `ns/name`; `mesh` is the
  sidecar mesh, not modelled) and to host names through `hosts` (intersected with the server's hosts).
- Its `http` rules are evaluated **in order, the first match wins** (not by specificity as in Gateway API K3);
  a rule without `match` matches everything. A match: `uri` exact | prefix (a plain string prefix) | regex,
  `headers` and `queryParams` exact | prefix | regex, `method`; conditions of one match are ANDed, matches ORed.
- `route[]` destinations (`host`: a Service name, `name.ns`, or `name.ns.svc.<domain>`; `port.number`, optional
  when the Service has one port) share by `weight` (default: equal when one, else as written); `redirect`
  {uri, authority, port, scheme, redirectCode default 301} answers; `rewrite` {uri, authority} replaces the
  matched prefix / Host. No matching rule: 404. Istio needs no ReferenceGrant across namespaces.
"""
from __future__ import annotations

from .gateway_model import Listener
from .model import LabelSelector, RouteObject

ISTIO_PROTOCOLS = {"HTTP": "HTTP", "HTTP2": "HTTP", "GRPC": "HTTP", "HTTPS": "HTTPS", "TLS": "TLS"}
ROUTE_KIND = "VirtualService"


def _server_hosts(host: str, gw_ns: str) -> tuple[str, str]:
    """`ns/host` → (allowed namespace or '*', hostname or '')."""
    ns, _, name = host.rpartition("/")
    ns = gw_ns if ns == "." else (ns or "*")
    return ns, "" if name in ("*", "") else name.lower()


def listeners(view, gw: RouteObject) -> list:
    """The Istio Gateway's servers as Gateway API listeners (one per server host)."""
    out = []
    for si, server in enumerate(gw.spec.get("servers") or []):
        if not isinstance(server, dict):
            continue
        port = server.get("port") or {}
        protocol = ISTIO_PROTOCOLS.get(str(port.get("protocol", "")).upper(), "")
        tls = server.get("tls") or {}
        mode = "Passthrough" if str(tls.get("mode", "")).upper() == "PASSTHROUGH" else "Terminate"
        for hi, host in enumerate(server.get("hosts") or ["*"]):
            ns, hostname = _server_hosts(str(host), gw.namespace)
            x = Listener(gateway=gw.key, owner_kind="Gateway", owner=gw.key, namespace=gw.namespace,
                         name=f"{port.get('name') or port.get('number')}-{si}-{hi}", port=int(port.get("number") or 0),
                         protocol=protocol, hostname=hostname,
                         tls_mode=mode if protocol in ("HTTPS", "TLS") else "",
                         allowed_from="All" if ns == "*" else "Selector",
                         allowed_selector=None if ns == "*" else LabelSelector(
                             match_labels={"kubernetes.io/metadata.name": ns}),
                         allowed_kinds=(ROUTE_KIND,), order=(0, "", "", si, hi))
            if not protocol:
                x.problems.append(f"server protocol {port.get('protocol')!r} is not modelled (HTTP, HTTPS, TLS)")
            out.append(x)
    return out


def selector_pods(m, gw: RouteObject) -> list:
    sel = gw.spec.get("selector") or {}
    if not isinstance(sel, dict) or not sel:
        return []
    return sorted((p for p in m.pods.values() if all(p.labels.get(k) == v for k, v in sel.items()) and p.ready),
                  key=lambda p: p.key)


def _match(match: dict) -> dict:
    out: dict = {"path": {"type": "PathPrefix", "value": "/"}, "headers": [], "queryParams": []}
    uri = match.get("uri") or {}
    if "exact" in uri:
        out["path"] = {"type": "Exact", "value": uri["exact"]}
    elif "prefix" in uri:
        out["path"] = {"type": "StringPrefix", "value": uri["prefix"]}
    elif "regex" in uri:
        out["path"] = {"type": "RegularExpression", "value": uri["regex"]}
    for key, target in (("headers", "headers"), ("queryParams", "queryParams")):
        for name, cond in (match.get(key) or {}).items():
            if isinstance(cond, dict) and cond:
                kind, value = next(iter(cond.items()))
                out[target].append({"type": {"exact": "Exact", "prefix": "Prefix", "regex": "RegularExpression"}
                                    .get(kind, "Exact"), "name": name, "value": str(value)})
    method = (match.get("method") or {}).get("exact")
    if method:
        out["method"] = str(method).upper()
    return out


def _backend(m, vs: RouteObject, dest: dict, weight) -> dict:
    host = str((dest.get("destination") or {}).get("host", ""))
    bits = host.split(".")
    name, ns = bits[0], bits[1] if len(bits) > 1 else vs.namespace
    port = ((dest.get("destination") or {}).get("port") or {}).get("number")
    if port is None:
        svc = m.services.get(f"{ns}/{name}")
        port = svc.ports[0].port if svc is not None and len(svc.ports) == 1 else None
    return {"group": "", "kind": "Service", "name": name, "namespace": ns, "port": port,
            "weight": int(weight if weight is not None else 1)}


def to_route(m, vs: RouteObject) -> RouteObject:
    """A VirtualService as an HTTPRoute-shaped RouteObject (kind VirtualService; first match wins)."""
    rules = []
    for rule in vs.spec.get("http") or []:
        if not isinstance(rule, dict):
            continue
        matches = [_match(mt) for mt in rule.get("match") or [] if isinstance(mt, dict)] or [_match({})]
        filters = []
        redirect = rule.get("redirect")
        if isinstance(redirect, dict):
            filters.append({"type": "RequestRedirect", "requestRedirect": {
                "scheme": redirect.get("scheme"), "hostname": redirect.get("authority"), "port": redirect.get("port"),
                "path": {"type": "ReplaceFullPath", "replaceFullPath": redirect["uri"]} if redirect.get("uri") else None,
                "statusCode": int(redirect.get("redirectCode") or 301)}})
        rewrite = rule.get("rewrite")
        if isinstance(rewrite, dict):
            filters.append({"type": "URLRewrite", "urlRewrite": {
                "hostname": rewrite.get("authority"),
                "path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": rewrite["uri"]} if rewrite.get("uri")
                else None}})
        dests = [d for d in rule.get("route") or [] if isinstance(d, dict)]
        refs = [_backend(m, vs, d, d.get("weight", 100 if len(dests) == 1 else None)) for d in dests]
        rules.append({"name": rule.get("name", ""), "matches": matches, "filters": filters, "backendRefs": refs})
    hosts = [h.lower() for h in vs.spec.get("hosts") or [] if isinstance(h, str) and h != "*"]
    return RouteObject(kind=ROUTE_KIND, namespace=vs.namespace, name=vs.name, api_version=vs.api_version,
                       spec={"hostnames": hosts, "rules": rules,
                             "parentRefs": [_gateway_ref(g, vs.namespace) for g in vs.spec.get("gateways") or []
                                            if isinstance(g, str) and g != "mesh"]},
                       created=vs.created)


def _gateway_ref(ref: str, ns: str) -> dict:
    gw_ns, _, name = ref.rpartition("/")
    return {"group": "networking.istio.io", "kind": "IstioGateway", "namespace": gw_ns or ns, "name": name}
