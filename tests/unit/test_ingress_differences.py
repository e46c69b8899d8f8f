"""Emissary-ingress recognised as an Ingress controller (D10) and the per-controller differences of D11.

    ns edge: [emissary-0] (image emissary-ingress) ← svc edge/emissary LB 203.0.113.40:80/443
    ns projectcontour: [contour] + [envoy-0] ← svc envoy LB 203.0.113.41
    ns istio-system: [istio-ingressgateway-0] ← svc istio-ingressgateway LB 203.0.113.42
    ns shop: svc shop:80 (NodePort), svc legacy (ExternalName legacy.example.net)
"""
from __future__ import annotations

import pytest

from tests.unit.test_ingress_controllers import build, ctrl_pod, lb_service, web_ingress
from tracer.engine.flow import make_flow
from tracer.engine.ingress import discover_controllers, find_entry, http_answer, route_request
from tracer.engine.model import IngressClass, IngressTLS, Secret, Service, ServicePort
from tracer.engine.trace import trace

EMISSARY = ctrl_pod("emissary-0", ns="edge", image="docker.io/emissaryingress/emissary:3.9.1",
                    labels={"app.kubernetes.io/name": "emissary-ingress"}, workload="emissary")
EMISSARY_SVC = lb_service("emissary", {"app.kubernetes.io/name": "emissary-ingress"}, ns="edge", ip="203.0.113.40")
CONTOUR = ctrl_pod("contour-0", ns="projectcontour", image="ghcr.io/projectcontour/contour:v1.28",
                   args=["contour", "serve"], labels={"app": "contour"}, workload="contour")
ENVOY = ctrl_pod("envoy-0", ns="projectcontour", image="docker.io/envoyproxy/envoy:v1.30", labels={"app": "envoy"},
                 ip="10.244.0.9")
ENVOY_SVC = lb_service("envoy", {"app": "envoy"}, ns="projectcontour", ip="203.0.113.41")
ISTIO = ctrl_pod("istio-ingressgateway-0", ns="istio-system", image="docker.io/istio/proxyv2:1.22",
                 labels={"istio": "ingressgateway"}, ip="10.244.0.10")
ISTIO_SVC = lb_service("istio-ingressgateway", {"istio": "ingressgateway"}, ns="istio-system", ip="203.0.113.42")
LEGACY = Service("shop", "legacy", type="ExternalName", external_name="legacy.example.net",
                 ports=(ServicePort(80, name="http"),))
TLS_OK = ("kubernetes.io/tls", ("tls.crt", "tls.key"))


def tls_ingress(cls="", secret="shop-tls", annotations=None, svc="shop"):
    ing = web_ingress(cls=cls, annotations=annotations, svc=svc)
    ing.tls = (IngressTLS(("shop.example.com",), secret),)
    return ing


# -- D10: Emissary-ingress / Ambassador -------------------------------------------------------------------------


@pytest.mark.parametrize("ingress,classes", [
    (web_ingress(cls="ambassador"), [IngressClass("ambassador", controller="getambassador.io/ingress-controller")]),
    (web_ingress(annotations={"kubernetes.io/ingress.class": "ambassador"}), []),
])
def test_d10_emissary_serves_its_class_and_the_legacy_annotation(ingress, classes):
    m = build(pods=[EMISSARY], services=[EMISSARY_SVC], ingresses=[ingress], classes=classes)
    (ctrl,) = discover_controllers(m)
    assert ctrl.kind == "emissary" and ctrl.name == "edge/emissary"
    e = find_entry(m, "shop.example.com", "/", "http")
    assert e.controller is ctrl and e.decision.service.key == "shop/shop"
    assert (e.exposure.address, e.exposure.port) == ("203.0.113.40", 80)


def test_d10_emissary_does_not_take_another_class():
    m = build(pods=[EMISSARY], services=[EMISSARY_SVC], ingresses=[web_ingress(cls="nginx")],
              classes=[IngressClass("nginx", controller="k8s.io/ingress-nginx")])
    assert find_entry(m, "shop.example.com", "/", "http").reason == "no-ingress-controller"


def test_d10_emissary_by_label_alone():
    pod = ctrl_pod("amb-0", ns="edge", image="registry.example/custom:1", labels={"service": "ambassador"})
    (ctrl,) = discover_controllers(build(pods=[pod]))
    assert ctrl.kind == "emissary" and "getambassador.io/ingress-controller" in ctrl.controller_classes


# -- D11: per-controller differences -----------------------------------------------------------------------------


def contour(*extra, ingress=None):
    return build(pods=[CONTOUR, ENVOY], services=[ENVOY_SVC, LEGACY, *extra],
                 ingresses=[ingress or tls_ingress(cls="contour")],
                 classes=[IngressClass("contour", controller="projectcontour.io/ingress-controller")])


def test_d11_contour_does_not_serve_https_for_a_host_without_a_valid_secret():
    m = contour()
    d = route_request(m, "shop.example.com", "/", "https")
    assert not d.matched and d.reason == "ingress-no-match"
    assert "Contour" in d.why and "does not serve HTTPS" in d.why and "(D11)" in d.why
    assert route_request(m, "shop.example.com", "/", "http").matched  # plain HTTP still routes


def test_d11_contour_serves_https_with_a_valid_secret():
    m = contour()
    m.objects.secrets.append(Secret("shop", "shop-tls", *TLS_OK))
    m.secrets["shop/shop-tls"] = m.objects.secrets[-1]
    d = route_request(m, "shop.example.com", "/", "https")
    assert d.matched and d.tls.secret_ok


@pytest.mark.parametrize("cls,pods,classes", [
    ("nginx", [ctrl_pod("nginx-0", image="registry.k8s.io/ingress-nginx/controller:v1.10")],
     [IngressClass("nginx", controller="k8s.io/ingress-nginx")]),
    ("traefik", [ctrl_pod("traefik-0", image="traefik:v3")],
     [IngressClass("traefik", controller="traefik.io/ingress-controller")]),
])
def test_d11_nginx_and_traefik_serve_their_default_certificate(cls, pods, classes):
    m = build(pods=pods, ingresses=[tls_ingress(cls=cls)], classes=classes)
    d = route_request(m, "shop.example.com", "/", "https")
    assert d.matched and not d.tls.secret_ok and "default self-signed certificate" in d.tls.detail


def test_d11_contour_refuses_external_name_backends():
    m = contour(ingress=web_ingress(cls="contour", svc="legacy"))
    d = route_request(m, "shop.example.com", "/", "http")
    assert d.backend_problem == "backend-unavailable" and "enableExternalNameService" in d.backend_detail
    assert http_answer(d)["status"] == 503


def test_d11_istio_reads_the_tls_secret_from_the_gateway_namespace():
    classes = [IngressClass("istio", controller="istio.io/ingress-controller")]
    in_ingress_ns = Secret("shop", "shop-tls", *TLS_OK)
    m = build(pods=[ISTIO], services=[ISTIO_SVC], ingresses=[tls_ingress(cls="istio")], classes=classes)
    m.secrets["shop/shop-tls"] = in_ingress_ns
    d = route_request(m, "shop.example.com", "/", "https")
    assert not d.tls.secret_ok and d.tls.secret == "istio-system/shop-tls"
    assert "is not read" in d.tls.detail and "create Secret shop-tls in namespace istio-system" in d.tls.detail
    m.secrets["istio-system/shop-tls"] = Secret("istio-system", "shop-tls", *TLS_OK)
    d = route_request(m, "shop.example.com", "/", "https")
    assert d.tls.secret_ok and "istio-system" in d.tls.detail


# -- D9: the address an Ingress publishes (status.loadBalancer.ingress) is an entry ------------------------------

GCE_CLASS = IngressClass("gce", controller="k8s.io/ingress-gce")


def published(cls, address, *pods, services=()):
    ing = web_ingress(cls=cls)
    ing.status_addresses = (address,)
    classes = [GCE_CLASS, IngressClass("ambassador", controller="getambassador.io/ingress-controller")]
    return build(pods=list(pods), services=list(services), ingresses=[ing], classes=classes)


def test_d9_cloud_ingress_entered_at_its_published_address_without_via():
    m = published("gce", "34.120.0.7")
    e = find_entry(m, "shop.example.com", "/", "http")
    assert e.controller.kind == "gce" and e.exposure.address == "34.120.0.7" and "status.loadBalancer" in e.detail
    # a request to the bare address: through the cloud load balancer, whose rules have no host-less rule → 404
    (path,) = trace(m, make_flow("external:198.51.100.3", "ip:34.120.0.7", 80)).to_dict()["paths"]
    lb = next(h for h in path["hops"] if h["kind"] == "load-balancer")
    assert "Ingress shop/web publishes" in lb["detail"] and "--via" not in lb["detail"]
    assert path["reason"] == "ingress-no-match" and path["http"]["status"] == 404
    # the Ingress's host through the same load balancer reaches the backend Service
    (path,) = trace(m, make_flow("external:198.51.100.3", "url:http://shop.example.com/")).to_dict()["paths"]
    assert path["http"]["backend"] == "shop/shop" and "34.120.0.7" in path["hops"][1]["detail"]


def test_d9_published_address_of_an_in_cluster_controller_leads_to_it():
    m = published("ambassador", "emissary.example.net", EMISSARY, services=[EMISSARY_SVC])
    e = find_entry(m, "emissary.example.net", "/", "http")
    assert e.controller.kind == "emissary" and e.exposure.address == "203.0.113.40"
    assert "does not show that address" in e.exposure.detail


def test_d9_an_address_no_ingress_publishes_stays_unknown():
    m = published("gce", "34.120.0.7")
    r = trace(m, make_flow("external:198.51.100.3", "ip:34.120.0.8", 80)).to_dict()
    assert r["paths"][0]["endpoint"] == "external:34.120.0.8"
