"""Gateway API rules the visible conformance cases do not pin down (K2-K7), each on a small cluster built
from manifests with the real importer and traced with the engine's trace():

redirect port/scheme derivation, ReplacePrefixMatch edge cases, 303/308, header modifiers and Host rewrites,
an unsupported backend kind, a ReferenceGrant in the wrong namespace, a route half valid, an HTTPS Host that
belongs to another listener (421), hostname intersection and wildcard depth, regex and method precedence,
a Gateway served by its implementation's pods, and the request-attribute parsing."""
from __future__ import annotations

import pytest
import yaml

from topology.importers.load import Document
from topology.importers.parse import parse_objects
from tracer.engine.cluster import ClusterModel
from tracer.engine.errors import BadRequest
from tracer.engine.flow import make_flow
from tracer.engine.gateway import gateway_status, intersect
from tracer.engine.trace import trace

NS = "infra"
CLIENT = "external:203.0.113.9"


def _backend(name: str, ip: str, ns: str = NS, port: int = 8080) -> list[dict]:
    labels = {"app": name}
    return [
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns},
         "spec": {"clusterIP": f"10.96.{ip}", "selector": labels, "ports": [{"port": port, "targetPort": 3000}]}},
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"{name}-0", "namespace": ns, "labels": labels},
         "spec": {"nodeName": "node-1", "containers": [{"name": "c", "image": "echo"}]},
         "status": {"phase": "Running", "podIP": f"10.244.{ip}", "hostIP": "192.168.0.11",
                    "conditions": [{"type": "Ready", "status": "True"}]}},
    ]


BASE = [
    {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-1"},
     "status": {"addresses": [{"type": "InternalIP", "address": "192.168.0.11"}],
                "conditions": [{"type": "Ready", "status": "True"}]}},
    {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass", "metadata": {"name": "eg"},
     "spec": {"controllerName": "gateway.envoyproxy.io/gatewayclass-controller"}},
    {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls", "metadata": {"name": "cert", "namespace": NS},
     "data": {"tls.crt": "eA==", "tls.key": "eA=="}},
    *_backend("v1", "1.1"), *_backend("v2", "1.2"), *_backend("other", "2.1", ns="apps"),
]


def gateway(listeners: list[dict], name: str = "gw") -> dict:
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway", "metadata": {"name": name, "namespace": NS},
            "spec": {"gatewayClassName": "eg", "listeners": listeners}}


HTTP = {"name": "http", "port": 80, "protocol": "HTTP"}


def route(rules: list[dict], name: str = "r", hostnames=None, parent: str = "gw", ns: str = NS, **parent_kw) -> dict:
    spec = {"parentRefs": [{"name": parent, "namespace": NS, **parent_kw}], "rules": rules}
    if hostnames:
        spec["hostnames"] = hostnames
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
            "metadata": {"name": name, "namespace": ns}, "spec": spec}


def model(*docs) -> ClusterModel:
    items = [*BASE, *docs]
    text = yaml.safe_dump_all(items)
    parsed = [Document("t.yaml", i, d) for i, d in enumerate(yaml.safe_load_all(text))]
    return ClusterModel(parse_objects(parsed).objects)


def run(m, url: str, port: int = 80, gw: str = "gw", method=None, headers=None) -> dict:
    flow = make_flow(CLIENT, f"url:{url}", via=f"gateway:{NS}/{gw}:{port}", method=method, headers=headers)
    return trace(m, flow).to_dict()


def http(result) -> set:
    return {(p["http"] or {}).get("status") for p in result["paths"]}


def loc(result) -> str:
    (location,) = {p["http"]["location"] for p in result["paths"]}
    return location


def backends(result) -> dict:
    out: dict[str, float] = {}
    for p in result["paths"]:
        out[p["http"]["backend"]] = out.get(p["http"]["backend"], 0) + p["probability"]
    return out


def redirect_rule(path: str, **rr) -> dict:
    return {"matches": [{"path": {"type": "PathPrefix", "value": path}}],
            "filters": [{"type": "RequestRedirect", "requestRedirect": rr}]}


def test_redirect_port_follows_the_scheme_or_the_listener():
    https = {"name": "https", "port": 8443, "protocol": "HTTPS", "tls": {"certificateRefs": [{"name": "cert"}]}}
    m = model(gateway([{**HTTP, "port": 8080}, https]), route([
        redirect_rule("/to-https", scheme="https"),
        redirect_rule("/host-only", hostname="example.net"),
        redirect_rule("/scheme-and-port", scheme="https", port=8443),
        redirect_rule("/to-http", scheme="http", statusCode=301),
    ]))
    assert loc(run(m, "http://a.example/to-https/x", 8080)) == "https://a.example/to-https/x"
    assert loc(run(m, "http://a.example/host-only", 8080)) == "http://example.net:8080/host-only"
    assert loc(run(m, "http://a.example/scheme-and-port", 8080)) == "https://a.example:8443/scheme-and-port"
    r = run(m, "https://a.example/to-http", 8443)
    assert loc(r) == "http://a.example/to-http" and http(r) == {301}
    assert loc(run(m, "https://a.example/host-only?q=1", 8443)) == "https://example.net:8443/host-only?q=1"


@pytest.mark.parametrize("prefix,replacement,path,expected", [
    ("/prefix", "/replacement", "/prefix/one", "/replacement/one"),
    ("/prefix", "/replacement", "/prefix", "/replacement"),
    ("/prefix", "/", "/prefix/one", "/one"),
    ("/prefix", "/", "/prefix", "/"),
    ("/prefix/", "/replacement", "/prefix/one/two", "/replacement/one/two"),
    ("/prefix", "/replacement/", "/prefix/one", "/replacement/one"),
])
def test_replace_prefix_match(prefix, replacement, path, expected):
    m = model(gateway([HTTP]), route([{
        "matches": [{"path": {"type": "PathPrefix", "value": prefix}}],
        "filters": [{"type": "URLRewrite", "urlRewrite": {"path": {"type": "ReplacePrefixMatch",
                                                                     "replacePrefixMatch": replacement}}}],
        "backendRefs": [{"name": "v1", "port": 8080}]}]))
    r = run(m, f"http://a.example{path}")
    assert {p["http"]["backend_request"]["path"] for p in r["paths"]} == {expected}


@pytest.mark.parametrize("code", [303, 308])
def test_redirect_status_codes(code):
    m = model(gateway([HTTP]), route([redirect_rule("/", statusCode=code, hostname="b.example")]))
    r = run(m, "http://a.example/p")
    assert http(r) == {code} and loc(r) == "http://b.example/p"
    assert {p["reason"] for p in r["paths"]} == {"http-redirect"}


def test_header_modifier_and_host_rewrite_shape_what_the_backend_sees():
    m = model(gateway([HTTP]), route([{
        "filters": [{"type": "RequestHeaderModifier", "requestHeaderModifier": {
            "set": [{"name": "X-Set", "value": "s"}], "add": [{"name": "X-Add", "value": "b"}],
            "remove": ["X-Drop"]}},
            {"type": "URLRewrite", "urlRewrite": {"hostname": "internal.example"}}],
        "backendRefs": [{"name": "v1", "port": 8080}]}]))
    r = run(m, "http://a.example/", headers=["X-Set: old", "x-add: a", "X-Drop: 1"])
    seen = r["paths"][0]["http"]["backend_request"]
    assert seen["host"] == "internal.example"
    assert {k.lower(): v for k, v in seen["headers"].items()} == {"x-set": "s", "x-add": "a,b"}


def test_unknown_backend_kind_and_ungranted_namespace_answer_500_for_their_share():
    grant_in_wrong_ns = {"apiVersion": "gateway.networking.k8s.io/v1beta1", "kind": "ReferenceGrant",
                         "metadata": {"name": "g", "namespace": NS},
                         "spec": {"from": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute",
                                            "namespace": NS}], "to": [{"group": "", "kind": "Service"}]}}
    m = model(gateway([HTTP]), grant_in_wrong_ns, route([
        {"matches": [{"path": {"type": "PathPrefix", "value": "/kind"}}],
         "backendRefs": [{"group": "unknown.example", "kind": "Thing", "name": "v1"}]},
        {"matches": [{"path": {"type": "PathPrefix", "value": "/half"}}],
         "backendRefs": [{"name": "v1", "port": 8080}, {"name": "other", "namespace": "apps", "port": 8080}]},
    ]))
    assert http(run(m, "http://a.example/kind")) == {500}
    half = run(m, "http://a.example/half")
    assert half["verdict"] == "partial"
    shares = {(p["http"]["status"], p["http"]["backend"]): p["probability"] for p in half["paths"]}
    assert shares == {(200, f"{NS}/v1"): 0.5, (500, None): 0.5}
    status = gateway_status(m)["routes"][0]
    assert status["accepted"] and not status["resolved_refs"] and status["refs_reason"] == "InvalidKind"


def test_https_host_of_another_listener_is_misdirected():
    cert = {"certificateRefs": [{"name": "cert"}]}
    m = model(gateway([{"name": "a", "port": 443, "protocol": "HTTPS", "hostname": "a.example", "tls": cert},
                       {"name": "b", "port": 443, "protocol": "HTTPS", "hostname": "b.example", "tls": cert}]),
              route([{"backendRefs": [{"name": "v1", "port": 8080}]}], name="ra", sectionName="a"),
              route([{"backendRefs": [{"name": "v2", "port": 8080}]}], name="rb", sectionName="b"))
    assert backends(run(m, "https://b.example/", 443)) == {f"{NS}/v2": 1.0}
    assert http(run(m, "https://a.example/", 443, headers=["Host: b.example"])) == {421}


def test_hostname_intersection_and_wildcard_depth():
    assert intersect("*.example.com", ["foo.bar.example.com"]) == ["foo.bar.example.com"]
    assert intersect("*.example.com", ["example.com"]) is None
    assert intersect("foo.example.com", ["*.example.com"]) == ["foo.example.com"]
    assert intersect("*.example.com", ["*.com"]) == ["*.example.com"]
    assert intersect("*.com", ["*.example.com", "x.org"]) == ["*.example.com"]
    assert intersect("", []) == []
    m = model(gateway([{**HTTP, "hostname": "*.example.com"}]),
              route([{"backendRefs": [{"name": "v1", "port": 8080}]}], name="wild", hostnames=["*.example.com"]),
              route([{"backendRefs": [{"name": "v2", "port": 8080}]}], name="exact", hostnames=["a.b.example.com"]))
    assert backends(run(m, "http://a.b.example.com/")) == {f"{NS}/v2": 1.0}
    assert backends(run(m, "http://c.d.example.com/")) == {f"{NS}/v1": 1.0}
    assert http(run(m, "http://example.com/")) == {404}


def test_precedence_exact_then_regex_then_longest_prefix_then_method():
    m = model(gateway([HTTP]), route([
        {"matches": [{"path": {"type": "PathPrefix", "value": "/a"}}], "backendRefs": [{"name": "v1", "port": 8080}]},
        {"matches": [{"path": {"type": "RegularExpression", "value": "/a/[0-9]+"}}],
         "backendRefs": [{"name": "v2", "port": 8080}]},
    ], name="older"), route([
        {"matches": [{"path": {"type": "PathPrefix", "value": "/a"}, "method": "POST"}],
         "backendRefs": [{"name": "v2", "port": 8080}]},
    ], name="post"))
    assert backends(run(m, "http://h/a/12")) == {f"{NS}/v2": 1.0}
    assert backends(run(m, "http://h/a/x")) == {f"{NS}/v1": 1.0}
    assert backends(run(m, "http://h/a/x", method="POST")) == {f"{NS}/v2": 1.0}
    assert http(run(m, "http://h/ab")) == {404}


def test_gateway_served_by_its_implementation_pods():
    labels = {"gateway.envoyproxy.io/owning-gateway-name": "gw",
              "gateway.envoyproxy.io/owning-gateway-namespace": NS}
    envoy = [
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "envoy-gw", "namespace": "envoy-gateway-system",
                                                            "labels": labels},
         "spec": {"type": "LoadBalancer", "clusterIP": "10.96.9.9", "selector": labels,
                  "ports": [{"port": 80, "targetPort": 10080, "nodePort": 30080}]},
         "status": {"loadBalancer": {"ingress": [{"ip": "198.51.100.50"}]}}},
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "envoy-0", "namespace": "envoy-gateway-system",
                                                        "labels": labels},
         "spec": {"nodeName": "node-1", "containers": [{"name": "envoy", "image": "envoyproxy/envoy"}]},
         "status": {"phase": "Running", "podIP": "10.244.9.9", "hostIP": "192.168.0.11",
                    "conditions": [{"type": "Ready", "status": "True"}]}},
    ]
    gw = gateway([HTTP])
    gw["status"] = {"addresses": [{"type": "IPAddress", "value": "198.51.100.50"}]}
    m = model(gw, *envoy, route([{"backendRefs": [{"name": "v1", "port": 8080}]}]))
    r = run(m, "http://a.example/")
    assert r["verdict"] == "delivered"
    kinds = [h["kind"] for h in r["paths"][0]["hops"]]
    assert "load-balancer" in kinds and "gateway" in kinds and kinds[-1] == "endpoint"
    gw_hop = next(h for h in r["paths"][0]["hops"] if h["kind"] == "gateway")
    assert "envoy-0" in gw_hop["detail"]
    assert not any("entering its listener" in a for a in r["assumptions"])


def test_request_attributes_are_validated():
    with pytest.raises(BadRequest):
        make_flow(CLIENT, "svc:a/b", method="GET")
    with pytest.raises(BadRequest):
        make_flow(CLIENT, "url:http://h/", headers=["no colon"])
    with pytest.raises(BadRequest):
        make_flow(CLIENT, "url:grpc://h/only-service")
    with pytest.raises(BadRequest):
        make_flow(CLIENT, "url:http://h/", via="gateway:no-namespace")
    f = make_flow(CLIENT, "url:http://h/p?a=1&a=2&b", method="post", headers={"X": "1"})
    assert (f.method, f.headers, f.query) == ("POST", (("X", "1"),), {"a": "1", "b": ""})


def test_tie_break_oldest_route_then_import_order():
    """Two routes with the same match: the older one wins; without creationTimestamps (desired-state manifests)
    the one imported first does, as `kubectl apply` would have created it first (K3)."""
    first = route([{"backendRefs": [{"name": "v1", "port": 8080}]}], name="zz-first")
    second = route([{"backendRefs": [{"name": "v2", "port": 8080}]}], name="aa-second")
    assert backends(run(model(gateway([HTTP]), first, second), "http://h/")) == {f"{NS}/v1": 1.0}
    second["metadata"]["creationTimestamp"] = "2024-01-01T00:00:00Z"
    first["metadata"]["creationTimestamp"] = "2024-06-01T00:00:00Z"
    assert backends(run(model(gateway([HTTP]), first, second), "http://h/")) == {f"{NS}/v2": 1.0}


def test_the_route_hop_says_why_the_others_lost():
    m = model(gateway([HTTP]), route([
        {"matches": [{"path": {"type": "PathPrefix", "value": "/a"}}], "backendRefs": [{"name": "v1", "port": 8080}]},
        {"matches": [{"path": {"type": "Exact", "value": "/a/b"}}], "backendRefs": [{"name": "v2", "port": 8080}]},
        {"matches": [{"path": {"type": "PathPrefix", "value": "/a"}, "headers": [{"name": "x", "value": "1"}]}],
         "backendRefs": [{"name": "v1", "port": 8080}]}]))
    r = run(m, "http://h/a/b", headers={"x": "1"})
    (detail,) = {h["detail"] for p in r["paths"] for h in p["hops"] if h["kind"] == "route"}
    assert "rule 2 wins with Exact /a/b" in detail
    assert "rule 1 (PathPrefix /a) also matches but loses on path match type" in detail
    r = run(m, "http://h/a/c", headers={"x": "1"})
    (detail,) = {h["detail"] for p in r["paths"] for h in p["hops"] if h["kind"] == "route"}
    assert "rule 3 wins" in detail and "loses on number of header matches" in detail
    assert "rule 2: path /a/c is not Exact /a/b" in detail


def test_gateway_traces_are_paths_of_the_forwarding_graph():
    """The map (forwarding_graph) has the Gateway vertex and its edges; every Gateway trace walks them: a listener
    entered directly (external → gateway → svc → pod) and one served by its implementation's pods (… → envoy pod
    → gateway → svc → pod), and Istio through its ingressgateway pods."""
    from tests.unit.test_istio_routing import bookinfo
    from tracer.engine.graph import forwarding_graph, is_path, path_of

    direct = model(gateway([HTTP]), route([{"backendRefs": [{"name": "v1", "port": 8080}]}]))
    served = model(*_envoy_gateway_docs(), route([{"backendRefs": [{"name": "v1", "port": 8080}]}]))
    cases = [(direct, "http://a.example/", "gw", 80), (served, "http://a.example/", "gw", 80),
             (bookinfo(), "http://x/productpage", "bookinfo-gateway", 8080)]
    for m, url, gw, port in cases:
        ns = "bookinfo" if gw == "bookinfo-gateway" else NS
        flow = make_flow(CLIENT, f"url:{url}", via=f"gateway:{ns}/{gw}:{port}")
        result = trace(m, flow)
        g = forwarding_graph(m)
        assert f"gateway:{ns}/{gw}" in g
        for p in result.paths:
            walk = path_of(p.hops)
            assert f"gateway:{ns}/{gw}" in walk and p.verdict == "delivered"
            ok, why = is_path(g, walk)
            assert ok, (walk, why)


def _envoy_gateway_docs() -> list[dict]:
    labels = {"gateway.envoyproxy.io/owning-gateway-name": "gw", "gateway.envoyproxy.io/owning-gateway-namespace": NS}
    gw = gateway([HTTP])
    return [gw,
            {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "envoy-gw", "namespace": "envoy-gateway-system",
                                                                "labels": labels},
             "spec": {"type": "LoadBalancer", "clusterIP": "10.96.9.9", "selector": labels,
                      "ports": [{"port": 80, "targetPort": 10080, "nodePort": 30080}]},
             "status": {"loadBalancer": {"ingress": [{"ip": "198.51.100.50"}]}}},
            {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "envoy-0", "namespace": "envoy-gateway-system",
                                                            "labels": labels},
             "spec": {"nodeName": "node-1", "containers": [{"name": "envoy", "image": "envoyproxy/envoy"}]},
             "status": {"phase": "Running", "podIP": "10.244.9.9", "hostIP": "192.168.0.11",
                        "conditions": [{"type": "Ready", "status": "True"}]}}]


def test_text_output_says_what_the_client_gets():
    from tracer.engine.render import render_text

    m = model(gateway([HTTP]), route([redirect_rule("/old", statusCode=301, hostname="b.example"),
                                      {"matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                                       "backendRefs": [{"name": "v1", "port": 8080}]}]))
    flow = make_flow(CLIENT, "url:http://a.example/old/x", via=f"gateway:{NS}/gw:80", headers=["X-A: 1"])
    text = render_text(trace(m, flow))
    assert "[GET; X-A: 1]" in text and "HTTP 301 → http://b.example/old/x" in text
    text = render_text(trace(m, make_flow(CLIENT, "url:http://a.example/", via=f"gateway:{NS}/gw:80")))
    assert f"HTTP 200 from {NS}/v1" in text
