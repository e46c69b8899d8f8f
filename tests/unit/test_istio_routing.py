"""Istio Gateway + VirtualService (semantics K8), cases written from Istio's documentation (Bookinfo:
bookinfo-gateway.yaml, request routing by the `end-user` header, traffic shifting by weight, redirect and
rewrite), traced with the engine through `--via gateway:NS/NAME[:PORT]`."""
from __future__ import annotations

from tests.unit.test_gateway_routing import BASE, CLIENT, _backend, backends, http, loc, model
from tracer.engine.flow import make_flow
from tracer.engine.gateway import gateway_status
from tracer.engine.trace import trace

NS = "bookinfo"
ISTIO_LABELS = {"istio": "ingressgateway"}
INGRESS_GW = [
    {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "istio-ingressgateway", "namespace": "istio-system"},
     "spec": {"type": "LoadBalancer", "clusterIP": "10.96.8.8", "selector": ISTIO_LABELS,
              "ports": [{"name": "http2", "port": 80, "targetPort": 8080, "nodePort": 31380}]},
     "status": {"loadBalancer": {"ingress": [{"ip": "198.51.100.80"}]}}},
    {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "istio-ingressgateway-0", "namespace": "istio-system",
                                                    "labels": ISTIO_LABELS},
     "spec": {"nodeName": "node-1", "containers": [{"name": "istio-proxy", "image": "istio/proxyv2"}]},
     "status": {"phase": "Running", "podIP": "10.244.8.8", "hostIP": "192.168.0.11",
                "conditions": [{"type": "Ready", "status": "True"}]}},
]
GATEWAY = {"apiVersion": "networking.istio.io/v1", "kind": "Gateway",
           "metadata": {"name": "bookinfo-gateway", "namespace": NS},
           "spec": {"selector": ISTIO_LABELS,
                    "servers": [{"port": {"number": 8080, "name": "http", "protocol": "HTTP"}, "hosts": ["*"]}]}}
VS = {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "metadata": {"name": "bookinfo", "namespace": NS},
      "spec": {"hosts": ["*"], "gateways": ["bookinfo-gateway"], "http": [
          {"match": [{"uri": {"exact": "/productpage"}}, {"uri": {"prefix": "/static"}}],
           "route": [{"destination": {"host": "productpage", "port": {"number": 9080}}}]},
          {"match": [{"uri": {"prefix": "/reviews"}, "headers": {"end-user": {"exact": "jason"}}}],
           "route": [{"destination": {"host": "reviews-v2"}}]},
          {"match": [{"uri": {"prefix": "/reviews"}}],
           "route": [{"destination": {"host": "reviews-v1"}, "weight": 50},
                     {"destination": {"host": "reviews-v3"}, "weight": 50}]},
          {"match": [{"uri": {"prefix": "/v1/old"}}], "redirect": {"uri": "/v2/new", "authority": "new.example"}},
          {"match": [{"uri": {"prefix": "/ratings"}}], "rewrite": {"uri": "/v1/ratings"},
           "route": [{"destination": {"host": "ratings.bookinfo.svc.cluster.local"}}]},
      ]}}
BACKENDS = [*_backend("productpage", "3.1", NS, 9080), *_backend("reviews-v1", "3.2", NS, 9080),
            *_backend("reviews-v2", "3.3", NS, 9080), *_backend("reviews-v3", "3.4", NS, 9080),
            *_backend("ratings", "3.5", NS, 9080)]


def run(m, path: str, headers=None) -> dict:
    flow = make_flow(CLIENT, f"url:http://bookinfo.example{path}", via=f"gateway:{NS}/bookinfo-gateway:8080",
                     headers=headers)
    return trace(m, flow).to_dict()


M = None


def bookinfo():
    global M
    if M is None:
        M = model(GATEWAY, VS, *INGRESS_GW, *BACKENDS)
    return M


def test_bookinfo_routes_and_enters_through_the_ingressgateway_pods():
    r = run(bookinfo(), "/productpage")
    assert backends(r) == {f"{NS}/productpage": 1.0}
    assert r["verdict"] == "delivered"
    hops = r["paths"][0]["hops"]
    assert any(h["kind"] == "load-balancer" for h in hops)
    assert any("istio-ingressgateway-0" in h["detail"] for h in hops if h["kind"] == "gateway")
    assert backends(run(bookinfo(), "/static/css/x.css")) == {f"{NS}/productpage": 1.0}
    # Istio's uri prefix is a plain string prefix: /staticfoo matches /static
    assert backends(run(bookinfo(), "/staticfoo")) == {f"{NS}/productpage": 1.0}


def test_first_match_wins_and_header_routing():
    assert backends(run(bookinfo(), "/reviews/1", headers={"end-user": "jason"})) == {f"{NS}/reviews-v2": 1.0}
    assert backends(run(bookinfo(), "/reviews/1")) == {f"{NS}/reviews-v1": 0.5, f"{NS}/reviews-v3": 0.5}


def test_redirect_rewrite_and_no_match():
    r = run(bookinfo(), "/v1/old")
    assert http(r) == {301} and loc(r) == "http://new.example:8080/v2/new"
    r = run(bookinfo(), "/ratings/7")
    assert {p["http"]["backend_request"]["path"] for p in r["paths"]} == {"/v1/ratings/7"}
    assert backends(r) == {f"{NS}/ratings": 1.0}
    assert http(run(bookinfo(), "/nothing")) == {404}


def test_virtualservice_binding_shows_in_status():
    status = gateway_status(bookinfo())
    gw = next(g for g in status["gateways"] if g["gateway"] == f"{NS}/bookinfo-gateway")
    assert gw["implementation"] == "Istio" and gw["listeners"][0]["attached_routes"] == 1
    assert BASE  # the shared node and GatewayClass are part of the cluster


def test_without_via_the_gateway_whose_routes_take_the_url_is_entered():
    """The cluster routes with Istio, not Ingress: a client of http://bookinfo.example/productpage (port 80 of the
    ingressgateway Service → server port 8080) reaches productpage without naming the Gateway."""
    r = trace(bookinfo(), make_flow(CLIENT, "url:http://bookinfo.example/productpage")).to_dict()
    assert r["verdict"] == "delivered" and backends(r) == {f"{NS}/productpage": 1.0}
    assert any("routes of Gateway bookinfo/bookinfo-gateway" in a for a in r["assumptions"])
