"""ingress-nginx canary (D12) and regular-expression paths with rewrite-target (D13), cases from the
ingress-nginx documentation (annotations.md#canary, examples/rewrite): decided by `ingress.route_request` with
the request's headers, and split by `ingress_nginx.canary_split` into the shares a trace follows."""
from __future__ import annotations

from tests.unit.test_controller_routes import controller
from tests.unit.test_gateway_routing import _backend, model
from tracer.engine import ingress_nginx
from tracer.engine.ingress import route_request

NS = "shop"
A = "nginx.ingress.kubernetes.io/"
NGINX = controller("ingress-nginx", "ingress-nginx-controller", "registry.k8s.io/ingress-nginx/controller:v1.11.0",
                   {"app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/component": "controller"},
                   [{"name": "http", "port": 80, "targetPort": 80}], "9.1",
                   args=["/nginx-ingress-controller", "--controller-class=k8s.io/ingress-nginx"])
CLASS = {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass", "metadata": {"name": "nginx"},
         "spec": {"controller": "k8s.io/ingress-nginx"}}


def ing(name: str, service: str, path: str = "/", annotations=None, path_type: str = "Prefix",
        created: str = "2024-01-01T00:00:00Z") -> dict:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": name, "namespace": NS, "annotations": annotations or {},
                         "creationTimestamp": created},
            "spec": {"ingressClassName": "nginx", "rules": [{"host": "shop.example.com", "http": {"paths": [
                {"path": path, "pathType": path_type,
                 "backend": {"service": {"name": service, "port": {"number": 80}}}}]}}]}}


APPS = [*_backend("prod", "10.1", NS, 80), *_backend("canary", "10.2", NS, 80)]


def shares(d) -> dict:
    return {part.service.key: round(share, 6) for share, part in ingress_nginx.canary_split(d)}


def canary_model(**ann):
    return model(*NGINX, CLASS, *APPS, ing("prod", "prod"),
                 ing("prod-canary", "canary", annotations={A + "canary": "true", **{A + k: v for k, v in ann.items()}},
                     created="2024-02-01T00:00:00Z"))


def test_canary_by_weight_splits_the_primary_route():
    d = route_request(canary_model(**{"canary-weight": "20"}), "shop.example.com", "/cart")
    assert d.ingress.key == f"{NS}/prod" and shares(d) == {f"{NS}/prod": 0.8, f"{NS}/canary": 0.2}
    d = route_request(canary_model(**{"canary-weight": "1", "canary-weight-total": "4"}), "shop.example.com", "/")
    assert shares(d) == {f"{NS}/prod": 0.75, f"{NS}/canary": 0.25}


def test_canary_by_header_beats_cookie_beats_weight():
    m = canary_model(**{"canary-by-header": "X-Canary", "canary-by-cookie": "canary", "canary-weight": "50"})
    assert shares(route_request(m, "shop.example.com", "/", headers={"x-canary": "always"})) == {f"{NS}/canary": 1}
    assert shares(route_request(m, "shop.example.com", "/", headers={"X-Canary": "never",
                                                                     "Cookie": "canary=always"})) == {f"{NS}/prod": 1}
    assert shares(route_request(m, "shop.example.com", "/", headers={"Cookie": "a=b; canary=always"})) == \
        {f"{NS}/canary": 1}
    assert shares(route_request(m, "shop.example.com", "/")) == {f"{NS}/prod": 0.5, f"{NS}/canary": 0.5}
    m = canary_model(**{"canary-by-header": "X-Region", "canary-by-header-value": "eu"})
    assert shares(route_request(m, "shop.example.com", "/", headers={"X-Region": "eu"})) == {f"{NS}/canary": 1}
    assert shares(route_request(m, "shop.example.com", "/", headers={"X-Region": "always"})) == {f"{NS}/prod": 1}


def test_regex_paths_and_rewrite_target():
    """examples/rewrite: path /something(/|$)(.*) with rewrite-target /$2: /something/new → /new."""
    m = model(*NGINX, CLASS, *APPS,
              ing("rewrite", "canary", path="/something(/|$)(.*)", path_type="ImplementationSpecific",
                  annotations={A + "rewrite-target": "/$2", A + "use-regex": "true"}),
              ing("plain", "prod", path="/some", created="2024-03-01T00:00:00Z"))
    d = route_request(m, "shop.example.com", "/something/new")
    assert d.ingress.key == f"{NS}/rewrite" and d.rewritten_path == "/new" and d.service.key == f"{NS}/canary"
    assert route_request(m, "shop.example.com", "/something").rewritten_path == "/"
    # on that host every path is a case-insensitive regex anchored at the start: /some matches /SOMEthing-else
    d = route_request(m, "shop.example.com", "/SOMEthing-else")
    assert d.ingress.key == f"{NS}/plain" and d.rewritten_path is None


def test_a_trace_follows_the_canary_shares():
    from tracer.engine.flow import make_flow
    from tracer.engine.trace import trace

    m = canary_model(**{"canary-weight": "20", "canary-by-header": "X-Canary"})

    def endpoints(headers=None) -> dict:
        r = trace(m, make_flow("external:203.0.113.9", "url:http://shop.example.com/cart", headers=headers))
        assert r.verdict == "delivered"
        return {p.endpoint.name: round(p.probability, 6) for p in r.paths}

    assert endpoints() == {"prod-0": 0.8, "canary-0": 0.2}
    assert endpoints({"X-Canary": "always"}) == {"canary-0": 1.0}


def test_ingress_paths_carry_the_http_answer():
    from tracer.engine.flow import make_flow
    from tracer.engine.trace import trace

    m = model(*NGINX, CLASS, *APPS,
              ing("rewrite", "canary", path="/something(/|$)(.*)", path_type="ImplementationSpecific",
                  annotations={A + "rewrite-target": "/$2"}), ing("prod", "prod", path="/shop", path_type="Exact"))

    def answer(url: str) -> list:
        return [p.http for p in trace(m, make_flow("external:203.0.113.9", f"url:{url}")).paths]

    assert answer("http://shop.example.com/something/new") == [
        {"status": 200, "backend": f"{NS}/canary", "location": None, "route": f"Ingress {NS}/rewrite",
         "backend_request": {"path": "/new"}}]
    assert [h["status"] for h in answer("http://shop.example.com/shop")] == [200]
    assert answer("http://shop.example.com/nothing") == [
        {"status": 404, "backend": None, "location": None, "route": None}]
