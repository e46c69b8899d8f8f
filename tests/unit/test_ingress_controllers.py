"""Ingress class → controller discovery → exposure (docs/semantics.md §D1, D2, D9) and the entry a client uses.

    [client] → (LB | externalIP | NodePort | hostNetwork | hostPort | cloud LB) → [controller] → rule → svc → pods
"""
from __future__ import annotations

import pytest

from tracer.engine.cluster import ClusterModel
from tracer.engine.ingress import (
    controllers_for_ingress,
    discover_controllers,
    find_entry,
    resolve_class,
    route_request,
)
from tracer.engine.ingress_controllers import parse_args
from tracer.engine.model import (
    ClusterObjects,
    Container,
    ContainerPort,
    Ingress,
    IngressBackend,
    IngressClass,
    IngressPath,
    IngressRule,
    LoadBalancerIngress,
    Node,
    Pod,
    Service,
    ServicePort,
)

NODES = [Node("node-a", addresses=(("InternalIP", "192.168.0.11"),)),
         Node("node-b", addresses=(("InternalIP", "192.168.0.12"),))]


def ctrl_pod(name, ns="ingress", image="", args=(), labels=None, host_network=False, ports=None, node="node-a",
             workload=None, ip="10.244.0.5"):
    ports = ports if ports is not None else (ContainerPort(80, name="http"), ContainerPort(443, name="https"))
    return Pod(namespace=ns, name=name, labels=labels or {"app": name}, ips=(ip,), node_name=node,
               host_ip="192.168.0.11" if node == "node-a" else "192.168.0.12", host_network=host_network,
               containers=(Container("main", image=image, args=tuple(args), ports=tuple(ports)),),
               workload_kind="Deployment" if workload else "", workload_name=workload or "")


def web_ingress(name="web", cls="", annotations=None, host="shop.example.com", svc="shop", ns="shop"):
    return Ingress(namespace=ns, name=name, class_name=cls, annotations=annotations or {},
                   rules=(IngressRule(host, (IngressPath("/", "Prefix", IngressBackend(svc, port_number=80)),)),))


SHOP = Service("shop", "shop", cluster_ips=("10.96.0.20",), selector={"app": "shop"},
               ports=(ServicePort(80, name="http", target_port=8080, node_port=31000),), type="NodePort")


def build(pods=(), services=(), ingresses=(), classes=(), nodes=NODES):
    return ClusterModel(ClusterObjects(pods=list(pods), services=[SHOP, *services], ingresses=list(ingresses),
                                       ingress_classes=list(classes), nodes=list(nodes)))


def lb_service(name, selector, ns="ingress", ip="203.0.113.5", type="LoadBalancer", external_ips=()):
    return Service(ns, name, type=type, cluster_ips=("10.96.0.50",), selector=selector, external_ips=tuple(external_ips),
                   ports=(ServicePort(80, name="http", target_port="http", node_port=30080),
                          ServicePort(443, name="https", target_port="https", node_port=30443)),
                   lb_ingress=(LoadBalancerIngress(ip=ip),) if type == "LoadBalancer" else ())


# ---------------------------------------------------------------------------------------------
# D2 class resolution


NGINX_CLASS = IngressClass("nginx", controller="k8s.io/ingress-nginx")
DEFAULT_TRAEFIK = IngressClass("traefik", controller="traefik.io/ingress-controller", is_default=True)


@pytest.mark.parametrize("ingress,classes,source,name,controller,admitted", [
    (web_ingress(cls="nginx"), [NGINX_CLASS], "ingressClassName", "nginx", "k8s.io/ingress-nginx", True),
    (web_ingress(cls="some-invalid-class-name"), [NGINX_CLASS], "ingressClassName", "some-invalid-class-name", "",
     False),
    (web_ingress(annotations={"kubernetes.io/ingress.class": "nginx"}), [], "annotation", "nginx", "", True),
    (web_ingress(annotations={"kubernetes.io/ingress.class": "nginx"}), [NGINX_CLASS], "annotation", "nginx",
     "k8s.io/ingress-nginx", True),
    (web_ingress(), [NGINX_CLASS, DEFAULT_TRAEFIK], "default-class", "traefik", "traefik.io/ingress-controller", True),
    (web_ingress(), [NGINX_CLASS], "none", "", "", True),
])
def test_class_resolution(ingress, classes, source, name, controller, admitted):
    """D2: ingressClassName → IngressClass → spec.controller; legacy annotation; default class; none."""
    res = resolve_class(build(classes=classes), ingress)
    assert (res.source, res.class_name, res.controller, res.admitted) == (source, name, controller, admitted)


def test_annotation_and_class_name_disagreeing_is_explained():
    """Legacy annotation nginx + ingressClassName traefik: controllers read the annotation; the detail says so."""
    ing = web_ingress(cls="traefik", annotations={"kubernetes.io/ingress.class": "nginx"})
    res = resolve_class(build(classes=[NGINX_CLASS, DEFAULT_TRAEFIK]), ing)
    assert res.class_name == "nginx" and "disagrees" in res.detail


# ---------------------------------------------------------------------------------------------
# Controller recognition


@pytest.mark.parametrize("pod,kind,classes,names,classless", [
    (ctrl_pod("nginx", image="registry.k8s.io/ingress-nginx/controller:v1.10.0",
              args=["/nginx-ingress-controller", "--controller-class=k8s.io/ingress-nginx", "--ingress-class=nginx"]),
     "ingress-nginx", {"k8s.io/ingress-nginx"}, {"nginx"}, False),
    (ctrl_pod("nginx2", image="registry.k8s.io/ingress-nginx/controller:v1.10.0",
              args=["/nginx-ingress-controller", "--controller-class", "example.com/internal",
                    "--ingress-class", "internal", "--watch-ingress-without-class=true"]),
     "ingress-nginx", {"example.com/internal"}, {"internal"}, True),
    (ctrl_pod("nginx-label", labels={"app.kubernetes.io/name": "ingress-nginx",
                                     "app.kubernetes.io/component": "controller"}),
     "ingress-nginx", {"k8s.io/ingress-nginx"}, {"nginx"}, False),
    (ctrl_pod("traefik", image="example.com/proxy:1.0", args=["--providers.kubernetesingress",
                                                              "--entrypoints.web.address=:8000"]),
     "traefik", {"traefik.io/ingress-controller"}, {"traefik"}, True),
    (ctrl_pod("traefik2", image="traefik:v3.0", args=["--providers.kubernetesingress.ingressclass=edge"]),
     "traefik", {"traefik.io/ingress-controller"}, {"edge"}, False),
    (ctrl_pod("kong", image="kong/kubernetes-ingress-controller:3.1"),
     "kong", {"ingress-controllers.konghq.com/kong"}, {"kong"}, False),
    (ctrl_pod("haproxy", image="haproxytech/kubernetes-ingress:1.11", args=["--ingress.class=haproxy",
                                                                          "--empty-ingress-class"]),
     "haproxy", {"haproxy.org/ingress-controller/haproxy"}, {"haproxy"}, True),
    (ctrl_pod("istio-ingressgateway", image="docker.io/istio/proxyv2:1.22", labels={"istio": "ingressgateway"}),
     "istio", {"istio.io/ingress-controller"}, {"istio"}, False),
    (ctrl_pod("custom", image="example.com/my-proxy:1", args=["--controller-class=example.com/mine"]),
     "generic", {"example.com/mine"}, set(), False),
])
def test_controller_recognition(pod, kind, classes, names, classless):
    """A pod is recognised as an ingress controller by its image, arguments or well-known labels."""
    [c] = discover_controllers(build(pods=[pod]))
    assert c.kind == kind
    assert set(c.controller_classes) == classes and set(c.class_names) == names
    assert c.watches_classless is classless
    assert c.evidence


def test_ordinary_pods_and_admission_jobs_are_not_controllers():
    """The ingress-nginx admission job carries the same name label but is not the controller."""
    job = ctrl_pod("ingress-nginx-admission-create", labels={"app.kubernetes.io/name": "ingress-nginx",
                                                             "app.kubernetes.io/component": "admission-webhook"})
    shop = ctrl_pod("shop-1", ns="shop", image="example.com/shop:1", labels={"app": "shop"})
    assert discover_controllers(build(pods=[job, shop])) == []


def test_contour_traffic_goes_through_its_envoy_pods():
    """[client] → svc projectcontour/envoy LB → [envoy-x] (data plane); [contour] only programs Envoy."""
    contour = ctrl_pod("contour-1", ns="projectcontour", image="ghcr.io/projectcontour/contour:v1.28",
                       args=["contour", "serve"], labels={"app": "contour"}, workload="contour")
    envoy = ctrl_pod("envoy-x", ns="projectcontour", image="docker.io/envoyproxy/envoy:v1.30",
                     labels={"app": "envoy"}, ip="10.244.0.9")
    svc = lb_service("envoy", {"app": "envoy"}, ns="projectcontour")
    [c] = discover_controllers(build(pods=[contour, envoy], services=[svc]))
    assert c.kind == "contour" and [p.name for p in c.pods] == ["envoy-x"]
    assert c.default_exposure("http").address == "203.0.113.5"


def test_parse_args():
    """Controller flags in every spelling: --a=1, --b 2, bare --flag, empty --c=, single-dash -v=3."""
    assert parse_args(["/bin/x", "--a=1", "--b", "2", "--flag", "--c=", "-v=3"]) == {
        "a": "1", "b": "2", "flag": "true", "c": "", "v": "3"}


# ---------------------------------------------------------------------------------------------
# Which controller handles which Ingress


NGINX_POD = ctrl_pod("ingress-nginx-controller-1", image="registry.k8s.io/ingress-nginx/controller:v1.10.0",
                     args=["/nginx-ingress-controller"], workload="ingress-nginx-controller")
TRAEFIK_POD = ctrl_pod("traefik-1", ns="traefik", image="traefik:v3.0", args=["--providers.kubernetesingress"],
                       workload="traefik", ip="10.244.0.7")


@pytest.mark.parametrize("ingress,classes,expected", [
    (web_ingress(cls="nginx"), [NGINX_CLASS], ["ingress/ingress-nginx-controller"]),
    (web_ingress(annotations={"kubernetes.io/ingress.class": "nginx"}), [], ["ingress/ingress-nginx-controller"]),
    (web_ingress(annotations={"kubernetes.io/ingress.class": "traefik"}), [], ["traefik/traefik"]),
    (web_ingress(), [NGINX_CLASS], ["traefik/traefik"]),  # class-less: only Traefik watches those by default
    # no IngressClass object at all (old cluster / partial manifests): every controller found takes it (impl)
    (web_ingress(), [], ["ingress/ingress-nginx-controller", "traefik/traefik"]),
    (web_ingress(), [IngressClass("nginx", "k8s.io/ingress-nginx", is_default=True)],
     ["ingress/ingress-nginx-controller"]),
    (web_ingress(cls="missing"), [NGINX_CLASS], []),
    (web_ingress(cls="other"), [IngressClass("other", "example.com/nobody")], []),
])
def test_controllers_for_ingress(ingress, classes, expected):
    """D2: the Ingress's class picks the controller among ingress-nginx and Traefik."""
    m = build(pods=[NGINX_POD, TRAEFIK_POD], classes=classes)
    assert [c.name for c in controllers_for_ingress(m, ingress)] == expected


def test_no_controller_for_the_class_is_reported():
    """[client] Host: shop.example.com → IngressClass other (example.com/nobody) has no controller pods →
    no-ingress-controller (D1), naming the class and its spec.controller."""
    ing = web_ingress(cls="other")
    m = build(pods=[NGINX_POD], ingresses=[ing], classes=[IngressClass("other", "example.com/nobody")])
    d = route_request(m, "shop.example.com", "/")
    assert not d.matched and d.reason == "no-ingress-controller"
    assert "example.com/nobody" in d.why and "shop/web" in d.why


def test_request_for_an_unrelated_host_is_no_match_not_no_controller():
    """[client] Host: elsewhere.example.com matches no Ingress at all → ingress-no-match, not no-ingress-controller."""
    ing = web_ingress(cls="other")
    m = build(pods=[NGINX_POD], ingresses=[ing], classes=[IngressClass("other", "example.com/nobody")])
    assert route_request(m, "elsewhere.example.com", "/").reason == "ingress-no-match"


# ---------------------------------------------------------------------------------------------
# D9 exposure and the client's entry


def test_entry_prefers_the_load_balancer():
    """[client] → LB 203.0.113.5:80 (svc ingress/ingress-nginx-controller) → [nginx] → svc/shop:80."""
    m = build(pods=[NGINX_POD], services=[lb_service("ingress-nginx-controller", {"app": NGINX_POD.name})],
              ingresses=[web_ingress(cls="nginx")], classes=[NGINX_CLASS])
    e = find_entry(m, "shop.example.com", "/", "http")
    assert (e.exposure.kind, e.exposure.address, e.exposure.port) == ("load-balancer", "203.0.113.5", 80)
    assert e.exposure.target_port == "http"
    assert e.decision.service.key == "shop/shop" and e.decision.backend_mode == "endpoints"
    https = find_entry(m, "shop.example.com", "/", "https")
    assert (https.exposure.address, https.exposure.port, https.exposure.target_port) == ("203.0.113.5", 443, "https")


@pytest.mark.parametrize("service,pod,kind,address,port", [
    (lb_service("c", {"app": "ctl"}, type="NodePort"), ctrl_pod("ctl", image="traefik:v3"),
     "node-port", "192.168.0.11", 30080),  # first ready node by name
    (lb_service("c", {"app": "ctl"}, type="ClusterIP", external_ips=["198.51.100.9"]),
     ctrl_pod("ctl", image="traefik:v3"), "external-ip", "198.51.100.9", 80),
    (None, ctrl_pod("ctl", image="traefik:v3", host_network=True, node="node-b"), "host-network", "192.168.0.12", 80),
    (None, ctrl_pod("ctl", image="traefik:v3", ports=(ContainerPort(8000, name="web", host_port=80),)),
     "host-port", "192.168.0.11", 80),
])
def test_exposure_kinds(service, pod, kind, address, port):
    """D9: NodePort service, externalIPs, hostNetwork DaemonSet, hostPort — the default entry for http."""
    m = build(pods=[pod], services=[service] if service else [], ingresses=[web_ingress()])
    e = find_entry(m, "shop.example.com", "/")
    assert (e.exposure.kind, e.exposure.address, e.exposure.port) == (kind, address, port)


def test_cluster_ip_only_controller_has_no_outside_entry():
    """[client] → ? Traefik behind a ClusterIP Service only: routing works, but there is no entry from outside."""
    m = build(pods=[ctrl_pod("ctl", image="traefik:v3")],
              services=[lb_service("c", {"app": "ctl"}, type="ClusterIP")], ingresses=[web_ingress()])
    e = find_entry(m, "shop.example.com", "/")
    assert e.exposure is None and e.decision.matched
    assert "no entry from outside" in e.detail and "ClusterIP" in e.detail


def test_via_a_node_port_picks_that_node_and_that_controller():
    """--via 192.168.0.12:30080 → NodePort of svc ingress/c on node-b → Traefik → svc/shop."""
    m = build(pods=[ctrl_pod("ctl", image="traefik:v3")],
              services=[lb_service("c", {"app": "ctl"}, type="NodePort")], ingresses=[web_ingress()])
    e = find_entry(m, "shop.example.com", "/", via="192.168.0.12", port=30080)
    assert (e.exposure.kind, e.exposure.node, e.exposure.port) == ("node-port", "node-b", 30080)
    assert e.controller.kind == "traefik" and e.decision.service.name == "shop"
    miss = find_entry(m, "shop.example.com", "/", via="192.0.2.99", port=80)
    assert miss.exposure is None and miss.reason == "unknown-destination" and "not an entry" in miss.detail
    wrong_port = find_entry(m, "shop.example.com", "/", via="192.168.0.12", port=30999)
    assert wrong_port.exposure is None and wrong_port.reason == "no-service-port"


def test_via_without_port_picks_the_exposure_for_the_scheme():
    """--via 203.0.113.5 with https:// → LB port 443 (not 80)."""
    m = build(pods=[NGINX_POD], services=[lb_service("ingress-nginx-controller", {"app": NGINX_POD.name})],
              ingresses=[web_ingress(cls="nginx")], classes=[NGINX_CLASS])
    e = find_entry(m, "shop.example.com", "/", "https", via="203.0.113.5")
    assert (e.exposure.port, e.exposure.scheme) == (443, "https")


# ---------------------------------------------------------------------------------------------
# Cloud-managed classes


def _svc(type="NodePort", annotations=None):
    return Service("shop", "shop", type=type, cluster_ips=("10.96.0.20",), selector={"app": "shop"},
                   annotations=annotations or {},
                   ports=(ServicePort(80, name="http", target_port=8080,
                                      node_port=31000 if type != "ClusterIP" else None),))


@pytest.mark.parametrize("ingress_ann,svc,mode,problem", [
    ({"kubernetes.io/ingress.class": "gce"}, _svc(), "node-port", None),
    ({"kubernetes.io/ingress.class": "gce"}, _svc("ClusterIP", {"cloud.google.com/neg": '{"ingress": true}'}),
     "endpoints", None),
    # ClusterIP without the annotation: GKE adds NEG itself on VPC-native clusters (impl, stated)
    ({"kubernetes.io/ingress.class": "gce-internal"}, _svc("ClusterIP"), "endpoints", None),
    ({"kubernetes.io/ingress.class": "gce"}, _svc("ClusterIP", {"cloud.google.com/neg": '{"ingress": false}'}),
     "node-port", "no-service-port"),
    ({"kubernetes.io/ingress.class": "alb"}, _svc(), "node-port", None),
    ({"kubernetes.io/ingress.class": "alb", "alb.ingress.kubernetes.io/target-type": "ip"}, _svc("ClusterIP"),
     "endpoints", None),
    ({"kubernetes.io/ingress.class": "alb"}, _svc("ClusterIP", {"alb.ingress.kubernetes.io/target-type": "ip"}),
     "endpoints", None),
    ({"kubernetes.io/ingress.class": "alb"}, _svc("ClusterIP"), "node-port", "no-service-port"),
])
def test_cloud_managed_backend_mode(ingress_ann, svc, mode, problem):
    """[client] → cloud LB → NodePort on the nodes, or straight to pod IPs (GKE NEG / ALB target-type ip)."""
    ing = web_ingress(annotations=ingress_ann)
    m = ClusterModel(ClusterObjects(services=[svc], ingresses=[ing], nodes=list(NODES)))
    [c] = controllers_for_ingress(m, ing)
    assert c.cloud_managed and not c.pods
    e = find_entry(m, "shop.example.com", "/")
    assert e.controller is c or e.controller.kind == c.kind
    assert e.exposure.kind == "cloud-load-balancer"
    assert e.decision.backend_mode == mode and e.decision.backend_problem == problem


def test_alb_ingress_class_object():
    """IngressClass alb (spec.controller ingress.k8s.aws/alb) → the cloud-managed ALB, no pods."""
    ing = web_ingress(cls="alb")
    m = ClusterModel(ClusterObjects(services=[_svc()], ingresses=[ing],
                                    ingress_classes=[IngressClass("alb", "ingress.k8s.aws/alb")]))
    [c] = controllers_for_ingress(m, ing)
    assert c.kind == "alb" and c.cloud_managed


def test_nginx_service_upstream_uses_the_cluster_ip():
    """[nginx] → svc/shop ClusterIP → kube-proxy → pod, with service-upstream: "true" (instead of endpoints)."""
    ing = web_ingress(cls="nginx", annotations={"nginx.ingress.kubernetes.io/service-upstream": "true"})
    m = build(pods=[NGINX_POD], ingresses=[ing], classes=[NGINX_CLASS])
    assert route_request(m, "shop.example.com", "/").backend_mode == "cluster-ip"


def test_classless_ingress_on_gke_goes_to_the_gce_controller():
    """GKE nodes (cloud.google.com/gke-nodepool label), class-less Ingress → Google load balancer → NodePort."""
    gke_nodes = [Node("gke-a", labels={"cloud.google.com/gke-nodepool": "default-pool"},
                      addresses=(("InternalIP", "10.128.0.2"),))]
    ing = web_ingress()
    m = ClusterModel(ClusterObjects(services=[_svc()], ingresses=[ing], nodes=gke_nodes))
    [c] = controllers_for_ingress(m, ing)
    assert c.kind == "gce" and c.cloud_managed
    assert find_entry(m, "shop.example.com", "/").decision.backend_mode == "node-port"
    # the same Ingress off GKE, with no controller at all, routes nowhere
    m2 = ClusterModel(ClusterObjects(services=[_svc()], ingresses=[ing], nodes=list(NODES)))
    assert controllers_for_ingress(m2, ing) == []
    assert route_request(m2, "shop.example.com", "/").reason == "no-ingress-controller"


def test_two_default_classes_is_flagged():
    """Two IngressClasses marked default: the API server refuses class-less Ingresses; we say so and pick one."""
    classes = [IngressClass("a", "k8s.io/ingress-nginx", is_default=True),
               IngressClass("b", "traefik.io/ingress-controller", is_default=True)]
    res = resolve_class(build(classes=classes), web_ingress())
    assert res.source == "default-class" and res.class_name == "a"
    assert "2 IngressClasses are marked default" in res.detail


@pytest.mark.parametrize("annotations", [
    {"nginx.ingress.kubernetes.io/use-regex": "true"},
    {"nginx.ingress.kubernetes.io/rewrite-target": "/"},
])
def test_ingress_nginx_regex_paths_are_applied(annotations):
    """[client] → [nginx] → rule: use-regex / rewrite-target make the host's paths regular expressions (D13)."""
    ing = web_ingress(cls="nginx", annotations=annotations)
    m = build(pods=[NGINX_POD], ingresses=[ing], classes=[NGINX_CLASS])
    d = route_request(m, "shop.example.com", "/")
    assert d.matched and "regular-expression paths" in d.why


def test_ingress_nginx_canary_without_a_primary_is_ignored():
    """A canary Ingress alone routes nothing: ingress-nginx only uses it beside a primary (D12)."""
    ing = web_ingress(cls="nginx", annotations={"nginx.ingress.kubernetes.io/canary": "true"})
    m = build(pods=[NGINX_POD], ingresses=[ing], classes=[NGINX_CLASS])
    d = route_request(m, "shop.example.com", "/")
    assert not d.matched and d.reason == "ingress-no-match"


def test_ingress_nginx_http_to_a_tls_host_mentions_the_redirect():
    """[client] http://shop.example.com → [nginx] 308 to https (TLS host) → same route; https uses the secret."""
    from tracer.engine.model import IngressTLS, Secret
    ing = Ingress("shop", "web", class_name="nginx", tls=(IngressTLS(("shop.example.com",), "tls"),),
                  rules=web_ingress().rules)
    m = ClusterModel(ClusterObjects(pods=[NGINX_POD], services=[SHOP], ingresses=[ing], ingress_classes=[NGINX_CLASS],
                                    secrets=[Secret("shop", "tls", "kubernetes.io/tls", ("tls.crt", "tls.key"))]))
    http = route_request(m, "shop.example.com", "/", "http")
    assert any("308" in w for w in http.warnings)
    https = route_request(m, "shop.example.com", "/", "https")
    assert https.tls.secret_ok and not https.warnings


def test_classless_ingress_without_any_ingress_class_is_an_assumption():
    """[client] → [nginx] → svc/shop although nginx does not watch class-less Ingresses: there is no
    IngressClass in the snapshot, so we assume the pre-IngressClass behaviour and say so."""
    m = build(pods=[NGINX_POD], ingresses=[web_ingress()])
    d = route_request(m, "shop.example.com", "/")
    assert d.matched and d.controller.kind == "ingress-nginx"
    assert any("no IngressClass at all" in a for a in d.assumptions)
    with_class = build(pods=[NGINX_POD], ingresses=[web_ingress()], classes=[NGINX_CLASS])
    assert route_request(with_class, "shop.example.com", "/").reason == "no-ingress-controller"


def test_online_boutique_gke_ingress():
    """Online Boutique's frontend-ingress (class-less, GKE annotations, `/*` ImplementationSpecific) with its
    NEG-annotated frontend Service, materialised:

        [client] → Google LB → (NEG) → [frontend-*]:8080
    """
    from tests.fixtures import FIXTURES
    from topology.importers import build_objects
    from topology.importers.load import load_documents
    from tracer.engine.ingress import backend_endpoints

    base = FIXTURES / "online-boutique"
    docs = (load_documents(base / "release" / "kubernetes-manifests.yaml")
            + load_documents(base / "github-release-cluster" / "frontend-ingress.yaml")
            + load_documents(base / "github-release-cluster" / "frontend-service.yaml"))
    m = ClusterModel(build_objects(docs, materialize=True).objects)
    e = find_entry(m, "shop.example.com", "/cart")
    d = e.decision
    assert e.controller.kind == "gce" and e.exposure.kind == "cloud-load-balancer"
    assert any("GCE annotations" in a or "GKE" in a for a in e.controller.assumptions + [e.controller.evidence])
    assert d.matched and d.rule_path == "/*" and d.service.key == "default/frontend"
    assert d.backend_mode == "endpoints" and "cloud.google.com/neg" in d.backend_mode_detail
    eps = backend_endpoints(m, d)
    assert eps and all(ep.pod.name.startswith("frontend") and ep.port == 8080 for ep in eps)


def test_the_controller_owning_the_host_answers_even_with_404():
    """shop.example.com is defined only on nginx (path /api); Traefik has a host-less catch-all. The host's
    DNS points at nginx, so GET /other is nginx's 404, not Traefik's catch-all.

        [client] Host: shop.example.com /other → [nginx] → server shop.example.com → no path → 404
    """
    api = Ingress("shop", "api", class_name="nginx", rules=(IngressRule("shop.example.com", (
        IngressPath("/api", "Prefix", IngressBackend("shop", port_number=80)),)),))
    catch = Ingress("shop", "catch", annotations={"kubernetes.io/ingress.class": "traefik"}, rules=(IngressRule("", (
        IngressPath("/", "Prefix", IngressBackend("shop", port_number=80)),)),))
    m = build(pods=[NGINX_POD, TRAEFIK_POD], ingresses=[api, catch], classes=[NGINX_CLASS])
    d = route_request(m, "shop.example.com", "/other")
    assert d.reason == "ingress-no-match" and d.controller.kind == "ingress-nginx"
    other = route_request(m, "else.example.com", "/other")
    assert other.matched and other.controller.kind == "traefik"
