"""The controllers' own route objects (semantics K9–K11), with cases written from each project's documentation:
Traefik IngressRoute + Middleware (routing by Host/PathPrefix/Header, priority by rule length, weighted services,
RedirectScheme, StripPrefix), Contour HTTPProxy (fqdn, conditions, includes, weights, redirect) and Emissary-ingress
Mapping (prefix with the default rewrite to "/", host, canary weight). Each controller is entered through its own
pods and LoadBalancer Service with `--via gateway:NS/WORKLOAD:PORT`."""
from __future__ import annotations

from tests.unit.test_gateway_routing import CLIENT, _backend, backends, http, loc, model
from tracer.engine.flow import make_flow
from tracer.engine.gateway import gateway_status
from tracer.engine.trace import trace

APP = "apps"


def controller(ns: str, name: str, image: str, labels: dict, ports: list[dict], ip: str, **pod_kw) -> list[dict]:
    return [
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": ns},
         "spec": {"selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels}, "spec": {
             "containers": [{"name": name, "image": image, **pod_kw}]}}}},
        {"apiVersion": "v1", "kind": "Pod", "metadata": {
            "name": f"{name}-0", "namespace": ns, "labels": labels,
            "ownerReferences": [{"kind": "Deployment", "name": name, "controller": True, "apiVersion": "apps/v1",
                                 "uid": "u"}]},
         "spec": {"nodeName": "node-1", "containers": [{"name": name, "image": image, **pod_kw}]},
         "status": {"phase": "Running", "podIP": f"10.244.{ip}", "hostIP": "192.168.0.11",
                    "conditions": [{"type": "Ready", "status": "True"}]}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns},
         "spec": {"type": "LoadBalancer", "clusterIP": f"10.96.{ip}", "selector": labels, "ports": ports},
         "status": {"loadBalancer": {"ingress": [{"ip": f"198.51.{ip}"}]}}},
    ]


WEB = [{"name": "web", "port": 80, "targetPort": 8000, "nodePort": 30080},
       {"name": "websecure", "port": 443, "targetPort": 8443, "nodePort": 30443}]
BACKENDS = [*_backend("whoami", "5.1", APP, 80), *_backend("api", "5.2", APP, 80), *_backend("canary", "5.3", APP, 80),
            *_backend("blog", "5.4", APP, 80), *_backend("quote", "5.5", APP, 80)]


def go(m, gw: str, url: str, port: int = 80, headers=None) -> dict:
    return trace(m, make_flow(CLIENT, f"url:{url}", via=f"gateway:{gw}:{port}", headers=headers)).to_dict()


def traefik_model():
    docs = controller("traefik", "traefik", "traefik:v3.1", {"app.kubernetes.io/name": "traefik"}, WEB, "6.1",
                      args=["--providers.kubernetescrd"])
    mw = [{"apiVersion": "traefik.io/v1alpha1", "kind": "Middleware", "metadata": {"name": "strip-api", "namespace": APP},
           "spec": {"stripPrefix": {"prefixes": ["/api"]}}},
          {"apiVersion": "traefik.io/v1alpha1", "kind": "Middleware", "metadata": {"name": "to-https", "namespace": APP},
           "spec": {"redirectScheme": {"scheme": "https", "permanent": True}}}]
    ir = {"apiVersion": "traefik.io/v1alpha1", "kind": "IngressRoute", "metadata": {"name": "whoami", "namespace": APP},
          "spec": {"entryPoints": ["web"], "routes": [
              {"kind": "Rule", "match": "Host(`test.example.com`)", "services": [{"name": "whoami", "port": 80}]},
              {"kind": "Rule", "match": "Host(`test.example.com`) && PathPrefix(`/api`)",
               "middlewares": [{"name": "strip-api"}], "services": [{"name": "api", "port": 80}]},
              {"kind": "Rule", "match": "Host(`test.example.com`) && Header(`X-Canary`, `on`)",
               "services": [{"name": "whoami", "port": 80, "weight": 3}, {"name": "canary", "port": 80, "weight": 1}]},
              {"kind": "Rule", "match": "Host(`secure.example.com`)", "middlewares": [{"name": "to-https"}],
               "services": [{"name": "whoami", "port": 80}]},
          ]}}
    return model(*docs, *mw, ir, *BACKENDS)


def test_traefik_ingressroute():
    m = traefik_model()
    r = go(m, "traefik/traefik", "http://test.example.com/")
    assert backends(r) == {f"{APP}/whoami": 1.0} and r["verdict"] == "delivered"
    assert any(h["kind"] == "load-balancer" for h in r["paths"][0]["hops"])
    r = go(m, "traefik/traefik", "http://test.example.com/api/users")  # longer rule = higher priority
    assert backends(r) == {f"{APP}/api": 1.0}
    assert {p["http"]["backend_request"]["path"] for p in r["paths"]} == {"/users"}
    r = go(m, "traefik/traefik", "http://test.example.com/", headers={"X-Canary": "on"})
    assert backends(r) == {f"{APP}/whoami": 0.75, f"{APP}/canary": 0.25}
    r = go(m, "traefik/traefik", "http://secure.example.com/login")
    assert http(r) == {301} and loc(r) == "https://secure.example.com/login"
    assert http(go(m, "traefik/traefik", "http://other.example.com/")) == {404}
    # entryPoints: [web] only: the websecure listener has no route
    assert http(go(m, "traefik/traefik", "https://test.example.com/", 443)) == {404}


def contour_model():
    docs = controller("projectcontour", "envoy", "envoyproxy/envoy:v1.30", {"app": "envoy"},
                      [{"name": "http", "port": 80, "targetPort": 8080}, {"name": "https", "port": 443,
                                                                          "targetPort": 8443}], "7.1")
    docs += controller("projectcontour", "contour", "ghcr.io/projectcontour/contour:v1.29", {"app": "contour"},
                       [{"name": "xds", "port": 8001}], "7.2")
    root = {"apiVersion": "projectcontour.io/v1", "kind": "HTTPProxy", "metadata": {"name": "root", "namespace": APP},
            "spec": {"virtualhost": {"fqdn": "site.example.com"}, "includes": [
                {"name": "blog", "conditions": [{"prefix": "/blog"}]}],
                "routes": [
                    {"conditions": [{"prefix": "/"}], "services": [{"name": "whoami", "port": 80, "weight": 90},
                                                                   {"name": "canary", "port": 80, "weight": 10}]},
                    {"conditions": [{"prefix": "/"}, {"header": {"name": "x-user", "exact": "beta"}}],
                     "services": [{"name": "canary", "port": 80}]},
                    {"conditions": [{"prefix": "/old"}], "requestRedirectPolicy": {"hostname": "new.example.com",
                                                                                   "statusCode": 301}},
                ]}}
    blog = {"apiVersion": "projectcontour.io/v1", "kind": "HTTPProxy", "metadata": {"name": "blog", "namespace": APP},
            "spec": {"routes": [{"conditions": [{"prefix": "/"}], "services": [{"name": "blog", "port": 80}]}]}}
    return model(*docs, root, blog, *BACKENDS)


def test_contour_httpproxy():
    m = contour_model()
    status = gateway_status(m)
    gw_key = next(g["gateway"] for g in status["gateways"] if g["implementation"] == "Contour")
    assert backends(go(m, gw_key, "http://site.example.com/x")) == {f"{APP}/whoami": 0.9, f"{APP}/canary": 0.1}
    assert backends(go(m, gw_key, "http://site.example.com/x", headers={"x-user": "beta"})) == {f"{APP}/canary": 1.0}
    assert backends(go(m, gw_key, "http://site.example.com/blog/post-1")) == {f"{APP}/blog": 1.0}
    r = go(m, gw_key, "http://site.example.com/old/page")
    assert http(r) == {301} and loc(r) == "http://new.example.com/old/page"
    assert http(go(m, gw_key, "http://elsewhere.example.com/")) == {404}
    hops = go(m, gw_key, "http://site.example.com/x")["paths"][0]["hops"]
    assert any("envoy-0" in h["detail"] for h in hops if h["kind"] == "gateway")


def test_emissary_mapping():
    docs = controller("emissary", "emissary-ingress", "docker.io/emissaryingress/emissary:3.9",
                      {"app.kubernetes.io/name": "emissary-ingress"},
                      [{"name": "http", "port": 80, "targetPort": 8080}], "8.1")
    maps = [{"apiVersion": "getambassador.io/v3alpha1", "kind": "Mapping", "metadata": {"name": n, "namespace": APP},
             "spec": spec} for n, spec in (
        ("quote-backend", {"hostname": "*", "prefix": "/backend/", "service": "quote"}),
        ("quote-canary", {"hostname": "*", "prefix": "/backend/", "service": "canary.apps:80", "weight": 10}),
        ("blog", {"hostname": "blog.example.com", "prefix": "/", "service": "blog", "rewrite": ""}),
    )]
    m = model(*docs, *maps, *BACKENDS)
    key = "emissary/emissary-ingress"
    r = go(m, key, "http://any.example.com/backend/quote")
    assert backends(r) == {f"{APP}/quote": 0.9, f"{APP}/canary": 0.1}
    assert {p["http"]["backend_request"]["path"] for p in r["paths"]} == {"/quote"}  # default rewrite "/"
    r = go(m, key, "http://blog.example.com/2024/post")
    assert backends(r) == {f"{APP}/blog": 1.0}
    assert {p["http"]["backend_request"]["path"] for p in r["paths"]} == {"/2024/post"}
    assert http(go(m, key, "http://other.example.com/2024/post")) == {404}


def test_without_via_a_controller_route_takes_the_url():
    r = trace(traefik_model(), make_flow(CLIENT, "url:http://test.example.com/api/x")).to_dict()
    assert r["verdict"] == "delivered" and backends(r) == {f"{APP}/api": 1.0}
