"""Ingress host/path routing (docs/semantics.md §D3–D8) on hand-built Ingresses, as tables.

Each row is one request against a small set of rules; the docstrings sketch the topology:
    [client] Host: H GET /p → Ingress rule (host, path, pathType) → svc/<name>:80
"""
from __future__ import annotations

import pytest

from tracer.engine.cluster import ClusterModel
from tracer.engine.ingress_routing import (
    host_matches,
    normalize_host,
    path_matches,
    route_in,
    split_url,
)
from tracer.engine.model import (
    ClusterObjects,
    Ingress,
    IngressBackend,
    IngressPath,
    IngressRule,
    IngressTLS,
    Secret,
    Service,
    ServicePort,
)


def backend(name, port=80):
    return IngressBackend(service_name=name, port_number=port) if isinstance(port, int) else \
        IngressBackend(service_name=name, port_name=port)


def ing(name, rules=(), default=None, created="2026-01-01T00:00:00Z", tls=(), ns="web"):
    """rules: [(host, [(path, pathType, service)])]"""
    return Ingress(namespace=ns, name=name, created=created, default_backend=backend(default) if default else None,
                   tls=tuple(tls),
                   rules=tuple(IngressRule(host=h, paths=tuple(IngressPath(path=p, path_type=t, backend=backend(s))
                                                                for p, t, s in paths)) for h, paths in rules))


def model(*services, secrets=()):
    svcs = [Service(namespace="web", name=s, cluster_ips=("10.96.0.9",),
                    ports=(ServicePort(port=80, name="http"),)) for s in services]
    return ClusterModel(ClusterObjects(services=svcs, secrets=list(secrets)))


# ---------------------------------------------------------------------------------------------
# D3 host


@pytest.mark.parametrize("rule,request_host,ok", [
    ("foo.bar.com", "foo.bar.com", True),
    ("foo.bar.com", "FOO.Bar.com", True),        # case-insensitive
    ("foo.bar.com", "foo.bar.com:8080", True),   # port stripped
    ("foo.bar.com", "foo.bar.com.", True),       # trailing dot of an FQDN
    ("foo.bar.com", "subdomain.bar.com", False),  # exact, not by suffix
    ("foo.bar.com", "bar.com", False),
    ("*.foo.com", "bar.foo.com", True),          # one extra label
    ("*.foo.com", "BAR.foo.com:443", True),
    ("*.foo.com", "baz.bar.foo.com", False),     # exactly one label
    ("*.foo.com", "foo.com", False),             # needs a label
    ("*.foo.com", ".foo.com", False),            # an empty label is not a label
    ("*.foo.com", "barfoo.com", False),
    ("", "anything.example", True),              # a rule without host matches any host
    ("", "", True),
])
def test_host_matching(rule, request_host, ok):
    """D3: rule host vs request Host header."""
    assert host_matches(rule, request_host) is ok


@pytest.mark.parametrize("raw,norm", [
    ("Example.COM", "example.com"), ("example.com:80", "example.com"), ("[fd00::1]:8443", "fd00::1"),
    ("10.0.0.1:80", "10.0.0.1"), ("", ""), (None, ""),
])
def test_normalize_host(raw, norm):
    """The Host header as compared: lower-case, no port, IPv6 brackets removed."""
    assert normalize_host(raw) == norm


# ---------------------------------------------------------------------------------------------
# D4 path


@pytest.mark.parametrize("ptype,rule,req,ok", [
    ("Exact", "/foo", "/foo", True),
    ("Exact", "/foo", "/foo/", False),           # trailing slash matters
    ("Exact", "/foo", "/FOO", False),            # case-sensitive
    ("Exact", "/foo/", "/foo", False),
    ("Exact", "/foo", "/foo?x=1", True),         # the query is not part of the path
    ("Prefix", "/", "/anything/at/all", True),   # / matches all
    ("Prefix", "/foo", "/foo", True),
    ("Prefix", "/foo", "/foo/", True),
    ("Prefix", "/foo", "/foo/bar", True),
    ("Prefix", "/foo", "/FOO", False),
    ("Prefix", "/aaa/bbb", "/aaa/bbbxyz", False),  # element-wise, not string prefix
    ("Prefix", "/aaa/bbb/", "/aaa/bbb", True),     # the rule's trailing slash is ignored
    ("Prefix", "/aaa/bbb/", "/aaa/bbb/ccc", True),
    ("Prefix", "/aaa", "/aaaccc", False),
    ("Prefix", "/foo", "", False),
    ("Prefix", "/", "", True),                     # an empty path is /
    ("ImplementationSpecific", "/foo", "/foo/bar", True),
    ("ImplementationSpecific", "/foo", "/foobar", True),  # (impl) ingress-nginx: plain string prefix
    ("ImplementationSpecific", "/foo", "/fo", False),
    ("ImplementationSpecific", "/*", "/", True),          # GCE / ALB glob
    ("ImplementationSpecific", "/*", "/cart/x", True),
    ("ImplementationSpecific", "/static/*", "/static/app.js", True),
    ("ImplementationSpecific", "/static/*", "/static", False),
])
def test_path_matching(ptype, rule, req, ok):
    """D4: a request path against one rule path."""
    assert path_matches(ptype, rule, req) is ok


# ---------------------------------------------------------------------------------------------
# D5 precedence and D6 default backend


PRECEDENCE = [
    # (description, ingresses, host, path, expected service or None for 404)
    ("longest prefix wins",
     [ing("a", [("h", [("/", "Prefix", "root"), ("/api", "Prefix", "api"), ("/api/v2", "Prefix", "v2")])])],
     "h", "/api/v2/users", "v2"),
    ("longest prefix wins regardless of order",
     [ing("a", [("h", [("/api/v2", "Prefix", "v2"), ("/api", "Prefix", "api")])])], "h", "/api/v1", "api"),
    ("Exact beats Prefix on a tie",
     [ing("a", [("h", [("/foo", "Prefix", "prefix"), ("/foo", "Exact", "exact")])])], "h", "/foo", "exact"),
    ("Prefix takes what Exact does not",
     [ing("a", [("h", [("/foo", "Prefix", "prefix"), ("/foo", "Exact", "exact")])])], "h", "/foo/x", "prefix"),
    ("a longer Exact beats a shorter Prefix",
     [ing("a", [("h", [("/foo", "Prefix", "prefix"), ("/foo/", "Exact", "exact")])])], "h", "/foo/", "exact"),
    ("Prefix trailing slash does not count for length: Exact /foo ties with Prefix /foo/ and wins",
     [ing("a", [("h", [("/foo/", "Prefix", "prefix"), ("/foo", "Exact", "exact")])])], "h", "/foo", "exact"),
    ("rules merge across Ingresses of one controller",
     [ing("a", [("h", [("/", "Prefix", "root")])]), ing("b", [("h", [("/api", "Prefix", "api")])])],
     "h", "/api/x", "api"),
    ("full tie: the oldest Ingress wins",
     [ing("new", [("h", [("/x", "Prefix", "newer")])], created="2026-02-01T00:00:00Z"),
      ing("old", [("h", [("/x", "Prefix", "older")])], created="2026-01-01T00:00:00Z")], "h", "/x", "older"),
    ("exact host beats wildcard",
     [ing("a", [("*.foo.com", [("/", "Prefix", "wild")]), ("bar.foo.com", [("/", "Prefix", "exact-host")])])],
     "bar.foo.com", "/", "exact-host"),
    ("a host rule beats a host-less rule with a longer path",
     [ing("a", [("", [("/api/long", "Prefix", "hostless")]), ("h", [("/", "Prefix", "host")])])],
     "h", "/api/long", "host"),
    ("a host with rules does not fall through to host-less rules (ingress-nginx servers)",
     [ing("a", [("h", [("/api", "Prefix", "api")])]), ing("b", [("", [("/", "Prefix", "hostless")])])],
     "h", "/other", None),
    ("host-less rules serve every other host",
     [ing("a", [("h", [("/api", "Prefix", "api")])]), ing("b", [("", [("/", "Prefix", "hostless")])])],
     "other.example", "/x", "hostless"),
    ("defaultBackend catches an unknown host",
     [ing("a", [("h", [("/api", "Prefix", "api")])], default="fallback")], "nope", "/", "fallback"),
    ("defaultBackend of the Ingress owning the host catches its unmatched paths",
     [ing("a", [("h", [("/api", "Prefix", "api")])], default="fallback")], "h", "/other", "fallback"),
    ("another Ingress's defaultBackend does not take a host it does not define",
     [ing("a", [("h", [("/api", "Prefix", "api")])]), ing("b", default="catchall")], "h", "/other", None),
    ("... but takes unknown hosts",
     [ing("a", [("h", [("/api", "Prefix", "api")])]), ing("b", default="catchall")], "x", "/other", "catchall"),
    ("a matching rule beats the defaultBackend",
     [ing("a", [("h", [("/api", "Prefix", "api")])], default="fallback")], "h", "/api", "api"),
    ("no rule, no defaultBackend: 404",
     [ing("a", [("h", [("/api", "Prefix", "api")])])], "h", "/", None),
    ("several defaultBackends: the newest wins the catch-all (ingress-nginx overwrites in order)",
     [ing("a", default="first", created="2026-01-01T00:00:00Z"),
      ing("b", default="second", created="2026-02-01T00:00:00Z")], "any", "/", "second"),
]


@pytest.mark.parametrize("desc,ingresses,host,path,expected", PRECEDENCE, ids=[r[0] for r in PRECEDENCE])
def test_precedence(desc, ingresses, host, path, expected):
    """D5/D6: [client] Host: host GET path → the winning rule's service (None = the controller's 404)."""
    names = {p.backend.service_name for i in ingresses for r in i.rules for p in r.paths}
    names |= {i.default_backend.service_name for i in ingresses if i.default_backend}
    d = route_in(model(*names), ingresses, host, path)
    if expected is None:
        assert not d.matched and d.reason == "ingress-no-match"
        assert "404" in d.why
    else:
        assert d.matched, d.why
        assert d.backend.service_name == expected, d.why
        assert d.service is not None and d.service.name == expected
        assert d.reason is None and d.backend_problem is None


def test_why_names_the_competitors():
    """[client] h/api/v2 → '/api/v2' wins over '/api' (shorter) and '/' (shorter); '/web' listed as not matching."""
    i = ing("a", [("h", [("/", "Prefix", "root"), ("/api", "Prefix", "api"), ("/api/v2", "Prefix", "v2"),
                         ("/web", "Prefix", "web")])])
    d = route_in(model("root", "api", "v2", "web"), [i], "h", "/api/v2")
    assert d.rule_path == "/api/v2" and d.path_type == "Prefix" and d.rule_host == "h"
    assert len(d.competitors) == 2
    assert "/api (Prefix) (shorter)" in d.why and "h/ (Prefix) (shorter)" in d.why
    assert "not matching: /web (Prefix)" in d.why


def test_tie_between_ingresses_is_stated_as_an_assumption():
    """[client] h/x → web/old and web/new both define h /x Prefix → the older one, said in why and assumptions."""
    old = ing("old", [("h", [("/x", "Prefix", "older")])], created="2026-01-01T00:00:00Z")
    new = ing("new", [("h", [("/x", "Prefix", "newer")])], created="2026-02-01T00:00:00Z")
    d = route_in(model("older", "newer"), [new, old], "h", "/x")
    assert d.ingress.name == "old"
    assert any("oldest Ingress" in a for a in d.assumptions)
    assert "web/new" in d.why


# ---------------------------------------------------------------------------------------------
# D7 backends


def test_backend_port_by_name_and_number():
    """D7: svc/web-svc ports 80 (http) and 8443 (admin): a backend by name or number resolves to that port."""
    svc = Service(namespace="web", name="web-svc", cluster_ips=("10.96.0.9",),
                  ports=(ServicePort(port=80, name="http", target_port=8080),
                         ServicePort(port=8443, name="admin", target_port="admin")))
    m = ClusterModel(ClusterObjects(services=[svc]))
    by_name = Ingress("web", "a", rules=(IngressRule("h", (IngressPath("/", "Prefix", backend("web-svc", "admin")),)),))
    by_num = Ingress("web", "b", rules=(IngressRule("h", (IngressPath("/", "Prefix", backend("web-svc", 80)),)),))
    assert route_in(m, [by_name], "h", "/").service_port.port == 8443
    assert route_in(m, [by_num], "h", "/").service_port.port == 80


@pytest.mark.parametrize("b,problem,words", [
    (IngressBackend(service_name="web-svc", port_number=8080), "no-service-port", "port number 8080"),  # targetPort ≠ port
    (IngressBackend(service_name="web-svc", port_name="grpc"), "no-service-port", "named 'grpc'"),
    (IngressBackend(service_name="missing"), "no-endpoints", "does not exist"),
    (IngressBackend(resource={"apiGroup": "k8s.example.com", "kind": "StorageBucket", "name": "static"}),
     "unknown-destination", "resource backend"),
])
def test_backend_problems(b, problem, words):
    """D7: the backend port is a SERVICE port in the Ingress's namespace; resource backends reach no pod."""
    svc = Service(namespace="web", name="web-svc", cluster_ips=("10.96.0.9",),
                  ports=(ServicePort(port=80, name="http", target_port=8080),))
    other_ns = Service(namespace="other", name="missing", cluster_ips=("10.96.0.10",), ports=(ServicePort(port=80),))
    m = ClusterModel(ClusterObjects(services=[svc, other_ns]))
    i = Ingress("web", "a", rules=(IngressRule("h", (IngressPath("/", "Prefix", b),)),))
    d = route_in(m, [i], "h", "/")
    assert d.matched and d.backend_problem == problem
    assert words in d.backend_detail


# ---------------------------------------------------------------------------------------------
# D8 TLS


TLS_SECRET = Secret("web", "shop-tls", type="kubernetes.io/tls", keys=("tls.crt", "tls.key"))


@pytest.mark.parametrize("tls,secrets,host,ok,problem", [
    ([IngressTLS(("shop.example.com",), "shop-tls")], [TLS_SECRET], "shop.example.com", True, None),
    ([IngressTLS(("*.example.com",), "shop-tls")], [TLS_SECRET], "shop.example.com", True, None),
    ([IngressTLS(("shop.example.com",), "shop-tls")], [], "shop.example.com", False, "secret-missing"),
    ([IngressTLS(("shop.example.com",), "shop-tls")], [Secret("web", "shop-tls", type="Opaque",
                                                             keys=("tls.crt", "tls.key"))],
     "shop.example.com", False, "secret-invalid"),
    ([IngressTLS(("shop.example.com",), "shop-tls")], [Secret("web", "shop-tls", type="kubernetes.io/tls",
                                                             keys=("tls.crt",))],
     "shop.example.com", False, "secret-invalid"),
    ([IngressTLS(("shop.example.com",), "shop-tls")], [Secret("other", "shop-tls", type="kubernetes.io/tls",
                                                             keys=("tls.crt", "tls.key"))],
     "shop.example.com", False, "secret-missing"),  # a secret in another namespace does not count
    ([IngressTLS(("other.example.com",), "shop-tls")], [TLS_SECRET], "shop.example.com", False, "host-not-listed"),
    ([], [], "shop.example.com", False, "host-not-listed"),
])
def test_tls(tls, secrets, host, ok, problem):
    """D8: [client] https://shop.example.com → TLS terminates at the controller :443 → plain HTTP to svc/shop.

    A bad or missing secret is a warning (default certificate served), never a drop."""
    i = ing("a", [("*.example.com", [("/", "Prefix", "shop")]), ("shop.example.com", [("/", "Prefix", "shop")])],
            tls=tls)
    d = route_in(model("shop", secrets=secrets), [i], host, "/", scheme="https")
    assert d.matched and d.service.name == "shop"
    assert d.tls is not None and d.tls.secret_ok is ok and d.tls.problem == problem
    if ok:
        assert "443" in d.tls.detail and "plain HTTP" in d.tls.detail and not d.warnings
    else:
        assert "default" in d.tls.detail and d.reason is None and d.backend_problem is None
        assert any("self-signed" in a for a in d.assumptions)


def test_plain_http_has_no_tls_check():
    """[client] http://h/ → no TLS hop at all (D8 only applies to https)."""
    i = ing("a", [("h", [("/", "Prefix", "shop")])])
    assert route_in(model("shop"), [i], "h", "/", scheme="http").tls is None


@pytest.mark.parametrize("url,parts", [
    ("http://Shop.Example.com/cart?x=1", ("http", "shop.example.com", None, "/cart")),
    ("https://shop.example.com:8443", ("https", "shop.example.com", 8443, "/")),
    ("shop.example.com/a/b", ("http", "shop.example.com", None, "/a/b")),
    ("http://[fd00::1]:8080/x", ("http", "fd00::1", 8080, "/x")),
])
def test_split_url(url, parts):
    """A url: destination → (scheme, normalised host, explicit port, path without query)."""
    assert split_url(url) == parts


FALLTHROUGH = [
    # (description, ingresses, host, path, nginx result, traefik result)
    ("known host, unmatched path, host-less rule exists",
     [ing("a", [("h", [("/api", "Prefix", "api")])]), ing("b", [("", [("/", "Prefix", "hostless")])])],
     "h", "/other", None, "hostless"),
    ("known host, unmatched path, another Ingress's defaultBackend",
     [ing("a", [("h", [("/api", "Prefix", "api")])]), ing("b", default="catchall")], "h", "/other", None, "catchall"),
    ("exact host, unmatched path, wildcard rule matches",
     [ing("a", [("bar.foo.com", [("/api", "Prefix", "api")]), ("*.foo.com", [("/", "Prefix", "wild")])])],
     "bar.foo.com", "/x", None, "wild"),
    ("a host rule still beats a host-less rule when both match",
     [ing("a", [("h", [("/", "Prefix", "host")])]), ing("b", [("", [("/api/long", "Prefix", "hostless")])])],
     "h", "/api/long", "host", "host"),
    ("unknown host takes host-less rules in both",
     [ing("a", [("h", [("/", "Prefix", "host")])]), ing("b", [("", [("/", "Prefix", "hostless")])])],
     "x", "/", "hostless", "hostless"),
]


@pytest.mark.parametrize("desc,ingresses,host,path,nginx,traefik", FALLTHROUGH, ids=[r[0] for r in FALLTHROUGH])
def test_fallthrough_differs_between_nginx_and_traefik(desc, ingresses, host, path, nginx, traefik):
    """(impl) ingress-nginx servers: a known host never falls through; Traefik's router list does.

        nginx:   [client] Host: h GET /other → server h → no path → 404
        traefik: [client] Host: h GET /other → no h rule matches → host-less / → svc/hostless
    """
    names = {p.backend.service_name for i in ingresses for r in i.rules for p in r.paths}
    names |= {i.default_backend.service_name for i in ingresses if i.default_backend}
    for fallthrough, expected in ((False, nginx), (True, traefik)):
        d = route_in(model(*names), ingresses, host, path, fallthrough=fallthrough)
        got = d.backend.service_name if d.matched else None
        assert got == expected, (fallthrough, d.why)
        assert any(("Traefik" in a) is fallthrough for a in d.assumptions)
    d = route_in(model(*names), ingresses, host, path, fallthrough=True)
    if nginx is None and traefik is not None:
        assert "falls through" in d.why or "defaultBackend" in d.why


def test_decision_to_dict_is_json_ready():
    """The decision serialises for the API/UI: plain values only, the winning rule and the backend named."""
    import json

    i = ing("a", [("h", [("/", "Prefix", "shop")])], tls=[IngressTLS(("h",), "shop-tls")])
    d = route_in(model("shop", secrets=[TLS_SECRET]), [i], "h", "/x", scheme="https").to_dict()
    json.dumps(d)
    assert (d["ingress"], d["rule_path"], d["service"], d["service_port"]) == ("web/a", "/", "web/shop", 80)
    assert d["tls"]["secret"] == "web/shop-tls"
