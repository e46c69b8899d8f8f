"""Ingress host/path routing (docs/semantics.md §D3–D8): which rule of which Ingress answers a request.

Why a module of its own: the rules are table-like and controller-independent where the API defines them
(D3 host, D4 path, D5 precedence), and everything that is implementation-defined is decided in ONE place
here, with the assumption spelled out in `ASSUMPTIONS` so a trace can list it:

- Merging across Ingresses follows ingress-nginx (the reference controller, and what Contour/Envoy also do):
  every Ingress handled by one controller is merged into *servers*, one per host; a request is handled by
  the server of its exact host, else of the matching single-label wildcard host, else by the catch-all
  server made of the host-less rules. A request whose host has a server never falls through to host-less
  rules: it uses that host's paths, then the host's default location.
- The default location of a host server is the `spec.defaultBackend` of the oldest Ingress that defines
  the host, else the controller's own default backend (404). The catch-all server's default location is
  the `spec.defaultBackend` of the newest Ingress that has one (ingress-nginx overwrites it in creation
  order), else 404.
- ImplementationSpecific paths: ingress-nginx emits a plain nginx prefix location (`location /foo`), so
  they match as a *string* prefix (`/foo` matches `/foobar`); Traefik's PathPrefix does the same. For
  precedence they rank like Prefix paths.
- A full tie (same host, path and pathType in several Ingresses): the oldest Ingress wins (ingress-nginx
  sorts by creationTimestamp, then namespace/name, and keeps the first location).

This module sees only a list of Ingresses (those one controller handles) and the model for backends and
TLS secrets; `ingress_controllers.py` decides which Ingresses that is.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from .cluster import ClusterModel
from .model import Ingress, IngressBackend, Service, ServicePort

__all__ = [
    "ASSUMPTIONS", "RouteDecision", "TLSInfo", "Candidate", "RouteTable", "build_table", "host_tier", "normalize_host", "normalize_path",
    "host_matches", "path_matches", "route_in", "ingress_order_key", "resolve_backend", "check_tls",
    "split_url",
]

ASSUMPTIONS = {
    "merge": "Ingresses of one controller are merged per host as ingress-nginx does: a host that has rules "
             "uses only those rules (then its default location); host-less rules form the catch-all server "
             "for every other host (impl)",
    "fallthrough": "Traefik turns every Ingress rule into one router list ordered by specificity: a request "
                   "whose host has rules but no matching path falls through to wildcard-host rules, then "
                   "host-less rules, then a defaultBackend (impl)",
    "implementation-specific": "pathType ImplementationSpecific is matched as a plain string prefix, as "
                               "ingress-nginx's nginx 'location /path' and Traefik's PathPrefix do; a trailing "
                               "'*' (GCE/ALB glob, e.g. '/*') matches the rest of the path (impl)",
    "tie": "when several Ingresses define the same host, path and pathType, the oldest Ingress "
           "(creationTimestamp, then namespace/name) wins, as in ingress-nginx (impl)",
    "no-match": "an unmatched request with no applicable defaultBackend gets the controller's own default "
                "backend, which answers 404 (impl)",
    "default-backend": "the catch-all server's default is the defaultBackend of the most recently created "
                       "Ingress that has one (ingress-nginx overwrites it in creation order); a host's own "
                       "default is the defaultBackend of the oldest Ingress defining that host (impl)",
    "tls-fallback": "an HTTPS request whose host has no usable TLS secret is still served, with the "
                    "controller's default self-signed certificate; clients that verify certificates fail "
                    "the handshake (impl)",
}


# ---------------------------------------------------------------------------------------------
# D3 host and D4 path primitives


def normalize_host(host: str | None) -> str:
    """The Host header as controllers compare it: lower-case, port and a trailing dot removed.

    `[::1]:8443` → `::1`; `Foo.Example.COM:80` → `foo.example.com`; empty/None → "".
    """
    h = (host or "").strip()
    if h.startswith("["):  # IPv6 literal, optionally with a port
        end = h.find("]")
        h = h[1:end] if end > 0 else h[1:]
    elif h.count(":") == 1:
        h = h.split(":", 1)[0]
    return h.rstrip(".").lower()


def normalize_path(path: str | None) -> str:
    """The request path without query or fragment; empty → `/`; a missing leading slash is added."""
    p = (path or "").split("?", 1)[0].split("#", 1)[0]
    if not p.startswith("/"):
        p = "/" + p
    return p


def host_matches(rule_host: str, request_host: str) -> bool:
    """D3: exact (case-insensitive) match, or `*.foo.com` covering exactly one extra, non-empty label.

    A rule without host matches any host (the caller treats host-less rules as the catch-all).
    """
    rule = normalize_host(rule_host)
    req = normalize_host(request_host)
    if not rule:
        return True
    if rule.startswith("*."):
        suffix = rule[1:]  # ".foo.com"
        if not req.endswith(suffix):
            return False
        label = req[: -len(suffix)]
        return bool(label) and "." not in label
    return rule == req


def _elements(path: str) -> list[str]:
    return [e for e in path.split("/") if e]


def path_matches(path_type: str, rule_path: str, request_path: str) -> bool:
    """D4: Exact = whole path, case-sensitive; Prefix = element-wise with the trailing slash ignored.

    ImplementationSpecific = string prefix (see module docstring).
    """
    rule_path = rule_path or "/"
    req = normalize_path(request_path)
    if path_type == "Exact":
        return req == rule_path
    if path_type == "Prefix":
        rule_el = _elements(rule_path)
        return _elements(req)[: len(rule_el)] == rule_el
    # ImplementationSpecific and anything unknown: a string prefix; a trailing `*` (the GCE / ALB glob,
    # e.g. `/*`, `/static/*`) is a wildcard for the rest of the path.
    if rule_path.endswith("*"):
        return req.startswith(rule_path[:-1])
    return req.startswith(rule_path)


def _rank_length(path_type: str, rule_path: str) -> int:
    """D5: the length compared for 'longest match wins' — a Prefix path's trailing slash is ignored."""
    p = rule_path or "/"
    if path_type == "Prefix" and p != "/":
        p = p.rstrip("/") or "/"
    return len(p)


def ingress_order_key(ing: Ingress) -> tuple[str, str, str]:
    """ingress-nginx processing order: oldest first, then namespace/name ('' sorts first: unknown age)."""
    return (ing.created or "", ing.namespace, ing.name)


def split_url(url: str) -> tuple[str, str, int | None, str]:
    """`https://Shop.Example.com:8443/cart?x=1` → ("https", "shop.example.com", 8443, "/cart")."""
    scheme = "http"
    rest = url
    if "://" in url:
        scheme, rest = url.split("://", 1)
        scheme = scheme.lower()
    hostport, sep, path = rest.partition("/")
    path = normalize_path("/" + path if sep else "/")
    port = None
    if hostport.startswith("["):
        end = hostport.find("]")
        tail = hostport[end + 1:]
        if tail.startswith(":") and tail[1:].isdigit():
            port = int(tail[1:])
    elif hostport.count(":") == 1:
        p = hostport.split(":", 1)[1]
        port = int(p) if p.isdigit() else None
    return scheme, normalize_host(hostport), port, path


# ---------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True, slots=True)
class TLSInfo:
    """D8 for an HTTPS request: where TLS terminates and whether the certificate is the Ingress's own."""

    host_listed: bool  # the request host is in a tls[].hosts of the Ingress serving it
    secret: str | None  # "ns/name" of the referenced secret
    secret_ok: bool  # exists, type kubernetes.io/tls, keys tls.crt and tls.key
    problem: str | None  # why the default certificate would be served
    detail: str

    def to_dict(self) -> dict:
        return {"host_listed": self.host_listed, "secret": self.secret, "secret_ok": self.secret_ok,
                "problem": self.problem, "detail": self.detail}


@dataclass(frozen=True, slots=True, eq=False)
class Candidate:
    """One (Ingress, rule, path) entry of a server, as considered for a request."""

    ingress: Ingress
    host: str  # rule host as written ("" for host-less)
    path: str
    path_type: str
    backend: IngressBackend

    def describe(self) -> str:
        host = self.host or "*"
        return f"{self.ingress.key} {host}{self.path} ({self.path_type})"


@dataclass(slots=True)
class RouteDecision:
    """What the controller does with one HTTP request. `matched` ⇒ a backend was chosen.

    `reason` is a contract REASON code when the request goes nowhere (`ingress-no-match`,
    `no-ingress-controller`); `backend_problem` is a REASON code when the chosen backend cannot serve
    (`no-service-port`, `no-endpoints`, `unknown-destination`). `why` is the sentence for the
    ingress-rule hop: which rule won and over which competitors. `tls.detail` tells the TLS story
    (including a missing/invalid secret: a warning, not a drop); `warnings` holds other notes.
    """

    host: str
    path: str
    scheme: str = "http"
    matched: bool = False
    reason: str | None = None
    ingress: Ingress | None = None
    rule_host: str | None = None  # "" = host-less rule; None = default backend / no match
    rule_path: str | None = None
    path_type: str | None = None
    backend: IngressBackend | None = None
    via_default_backend: bool = False
    server: str = ""  # the merged server that handled the request: a host, "*.foo.com" or "_" (catch-all)
    why: str = ""
    competitors: list[str] = field(default_factory=list)
    tls: TLSInfo | None = None
    service: Service | None = None
    service_port: ServicePort | None = None
    backend_problem: str | None = None
    backend_detail: str = ""
    controller: object | None = None  # ingress_controllers.Controller (typed loosely to avoid a cycle)
    backend_mode: str = ""  # "endpoints" | "cluster-ip" | "node-port" (how the controller reaches pods)
    backend_mode_detail: str = ""
    warnings: list[str] = field(default_factory=list)
    assumptions: list[str] = field(default_factory=list)
    canary: RouteDecision | None = None  # ingress-nginx canary shadowing this route (ingress_nginx.py, D12)
    canary_share: float = 0.0  # the share of requests the canary takes
    rewritten_path: str | None = None  # the path the backend sees after rewrite-target (D13)

    @property
    def backend_text(self) -> str:
        return describe_backend(self.backend) if self.backend else "the controller's default backend (404)"

    def to_dict(self) -> dict:
        b = self.backend
        return {
            "host": self.host, "path": self.path, "scheme": self.scheme, "matched": self.matched,
            "reason": self.reason, "ingress": self.ingress.key if self.ingress else None,
            "rule_host": self.rule_host, "rule_path": self.rule_path, "path_type": self.path_type,
            "backend": b.to_dict() if b else None, "via_default_backend": self.via_default_backend,
            "server": self.server, "why": self.why, "competitors": list(self.competitors),
            "tls": self.tls.to_dict() if self.tls else None,
            "service": self.service.key if self.service else None,
            "service_port": self.service_port.port if self.service_port else None,
            "backend_problem": self.backend_problem, "backend_detail": self.backend_detail,
            "backend_mode": self.backend_mode, "backend_mode_detail": self.backend_mode_detail,
            "warnings": list(self.warnings), "assumptions": list(self.assumptions),
            "controller": getattr(self.controller, "name", None),
        }


def describe_backend(b: IngressBackend) -> str:
    if b.resource:
        return f"resource {b.resource.get('kind', '?')}/{b.resource.get('name', '?')}"
    port = b.port_name if b.port_name else b.port_number
    return f"service {b.service_name}:{port}"


# ---------------------------------------------------------------------------------------------
# D5 precedence inside the merged servers of one controller


@dataclass(slots=True)
class RouteTable:
    """One controller's Ingresses merged into servers, built once and reused for every request.

    servers: normalised host ("" = the host-less catch-all) → candidates in Ingress age order;
    owners: host → the oldest Ingress defining it (its defaultBackend is that host's default).
    """

    ordered: list[Ingress]
    servers: dict[str, list[Candidate]]
    owners: dict[str, Ingress]
    with_default: list[Ingress]


def build_table(ingresses: Iterable[Ingress]) -> RouteTable:
    """Merge Ingresses into servers, in processing order (oldest first)."""
    servers: dict[str, list[Candidate]] = {}
    owners: dict[str, Ingress] = {}
    ordered = sorted(ingresses, key=ingress_order_key)
    for ing in ordered:
        for rule in ing.rules:
            key = normalize_host(rule.host)
            owners.setdefault(key, ing)
            bucket = servers.setdefault(key, [])
            for p in rule.paths:
                bucket.append(Candidate(ing, rule.host, p.path or "/", p.path_type or "ImplementationSpecific",
                                        p.backend))
    return RouteTable(ordered, servers, owners, [i for i in ordered if i.default_backend])


def _tiers(servers: dict[str, list[Candidate]], host: str) -> list[tuple[str, str]]:
    """The servers that may take `host`, most specific first: exact, single-label wildcard, catch-all.

    ingress-nginx (and Contour/Envoy virtual hosts) use only the first; Traefik falls through them all.
    """
    tiers: list[tuple[str, str]] = []
    if host and host in servers:
        tiers.append((host, "exact"))
    if host and "." in host:
        label, rest = host.split(".", 1)
        wildcard = "*." + rest
        if label and wildcard in servers:
            tiers.append((wildcard, "wildcard"))
    tiers.append(("", "catch-all"))
    return tiers


def host_tier(table: RouteTable, host: str) -> str:
    """How a table's servers take `host`: "exact", "wildcard" or "catch-all" (no server names it)."""
    return _tiers(table.servers, normalize_host(host))[0][1]


def route_in(model: ClusterModel, ingresses: Iterable[Ingress] | RouteTable, host: str, path: str,
             scheme: str = "http", *, fallthrough: bool = False) -> RouteDecision:
    """Route one request through the merged Ingresses of ONE controller (D3–D6), then D7 and D8.

    [client] → Host: shop.example.com GET /cart → server shop.example.com → longest matching path →
    backend service:port (or the host's default, the catch-all default, or 404).

    fallthrough=True is Traefik's model: all rules form one router list ordered by specificity, so a host
    whose rules match no path falls through to wildcard, then host-less rules, then any defaultBackend.
    """
    host_n = normalize_host(host)
    path_n = normalize_path(path)
    scheme = (scheme or "http").lower()
    table = ingresses if isinstance(ingresses, RouteTable) else build_table(ingresses)
    servers, owners = table.servers, table.owners
    decision = RouteDecision(host=host_n, path=path_n, scheme=scheme)
    decision.assumptions.append(ASSUMPTIONS["fallthrough" if fallthrough else "merge"])
    tiers = _tiers(servers, host_n)
    skipped: list[str] = []
    for tier in tiers if fallthrough else tiers[:1]:
        server_key, how = tier
        candidates = servers.get(server_key, [])
        matching = [c for c in candidates if path_matches(c.path_type, c.path, path_n)]
        if matching:
            break
        if fallthrough and candidates and server_key:
            skipped.append(server_key)
    if fallthrough and not matching:
        server_key, how = "", "catch-all"
        candidates = servers.get("", [])
    decision.server = server_key or "_"
    if any(c.path_type not in ("Exact", "Prefix") for c in candidates):
        decision.assumptions.append(ASSUMPTIONS["implementation-specific"])

    host_words = {"exact": f"host {host_n!r} has rules", "wildcard": f"host {host_n!r} matches wildcard "
                  f"{server_key!r}", "catch-all": (f"no rule names host {host_n!r}, so the host-less rules "
                                                   "apply" if host_n else "the request has no host, so the "
                                                   "host-less rules apply")}[how]
    if skipped:
        host_words = (f"no path of host rule{'s' if len(skipped) > 1 else ''} {', '.join(map(repr, skipped))} "
                      f"matches {path_n!r}, so the request falls through (Traefik) to the "
                      + ("host-less rules" if how == "catch-all" else f"wildcard {server_key!r}"))
    if matching:
        # D5: longest path (trailing slash of Prefix ignored), then Exact over Prefix, then oldest Ingress.
        best = max(matching, key=lambda c: (_rank_length(c.path_type, c.path), c.path_type == "Exact"))
        # (max keeps the first of equals, and candidates are in Ingress age order: the oldest wins a tie)
        decision.matched = True
        decision.ingress = best.ingress
        decision.rule_host = best.host
        decision.rule_path = best.path
        decision.path_type = best.path_type
        decision.backend = best.backend
        others = [c for c in matching if c is not best]
        decision.competitors = [c.describe() for c in others]
        reasons = []
        for c in others:
            if _rank_length(c.path_type, c.path) < _rank_length(best.path_type, best.path):
                reasons.append(f"{c.describe()} (shorter)")
            elif c.path_type != "Exact" and best.path_type == "Exact":
                reasons.append(f"{c.describe()} (same length; Exact beats {c.path_type})")
            else:
                reasons.append(f"{c.describe()} (same path; the older Ingress {best.ingress.key} wins)")
                if ASSUMPTIONS["tie"] not in decision.assumptions:
                    decision.assumptions.append(ASSUMPTIONS["tie"])
        matched_ids = {id(c) for c in matching}
        non_matching = [c for c in candidates if id(c) not in matched_ids]
        why = (f"{host_words}; path {path_n!r} matches {best.path_type} {best.path!r} of Ingress "
               f"{best.ingress.key}")
        if reasons:
            why += "; it beats " + ", ".join(reasons)
        else:
            why += "; no other rule matches"
        if non_matching:
            shown = ", ".join(f"{c.path} ({c.path_type})" for c in non_matching[:5])
            more = f" and {len(non_matching) - 5} more" if len(non_matching) > 5 else ""
            why += f" (not matching: {shown}{more})"
        decision.why = why + f" → {describe_backend(best.backend)}."
    else:
        # D6: the server's default location.
        if server_key:
            owner = owners[server_key]
            default_ing = owner if owner.default_backend else None
            where = (f"{host_words}, but none of its paths ({', '.join(sorted({c.path for c in candidates}))}) "
                     f"matches {path_n!r}")
            if servers.get("") or any(i is not owner for i in table.with_default):
                where += (" (host-less rules and other Ingresses' defaultBackends only serve hosts without "
                          "rules of their own, as in ingress-nginx)")
        else:
            with_default = table.with_default
            default_ing = with_default[-1] if with_default else None
            where = host_words + (f", and none of them matches {path_n!r}" if candidates else
                                  " (there are none)")
            if len(with_default) > 1:
                decision.competitors = [f"{i.key} defaultBackend" for i in with_default[:-1]]
        if default_ing is not None:
            decision.assumptions.append(ASSUMPTIONS["default-backend"])
            decision.matched = True
            decision.via_default_backend = True
            decision.ingress = default_ing
            decision.backend = default_ing.default_backend
            decision.why = (f"{where}; the request goes to spec.defaultBackend of Ingress {default_ing.key}"
                            f" → {describe_backend(default_ing.default_backend)}.")
            if decision.competitors:
                decision.why = decision.why[:-1] + (f" (the newest of {len(decision.competitors) + 1} "
                                                    "Ingresses with a defaultBackend).")
        else:
            decision.assumptions.append(ASSUMPTIONS["no-match"])
            decision.reason = "ingress-no-match"
            if server_key:
                fix = (f"add a path for {path_n!r} under host {server_key!r} or a spec.defaultBackend to "
                       f"Ingress {owners[server_key].key}")
            else:
                fix = (f"add a rule for host {host_n!r}, a host-less rule, or a spec.defaultBackend"
                       if host_n else "add a host-less rule or a spec.defaultBackend")
            decision.why = f"{where}, and no defaultBackend applies: the controller answers 404; {fix}."
    if decision.matched:
        resolve_backend(model, decision)
    if scheme == "https":
        same_server: list[Ingress] = []
        if decision.server != "_":
            for c in servers.get(decision.server, []):
                if c.ingress not in same_server:
                    same_server.append(c.ingress)
        decision.tls = check_tls(model, decision, same_server)
        if not decision.tls.secret_ok:  # a warning in tls.detail, not a drop (see check_tls)
            decision.assumptions.append(ASSUMPTIONS["tls-fallback"])
    return decision


# ---------------------------------------------------------------------------------------------
# D7 backends


def resolve_backend(model: ClusterModel, decision: RouteDecision) -> None:
    """D7: the backend names a *service* port (number or name) of a Service in the Ingress's namespace."""
    b = decision.backend
    ing = decision.ingress
    assert b is not None and ing is not None
    field_path = "spec.defaultBackend" if decision.via_default_backend else (
        f"rule host {decision.rule_host or '*'!r} path {decision.rule_path!r} backend")
    if b.resource:
        decision.backend_problem = "unknown-destination"
        decision.backend_detail = (
            f"Ingress {ing.key} {field_path} is a resource backend ({describe_backend(b)}), not a Service: no "
            "pod receives this request (ingress-nginx ignores resource backends and answers 404; some cloud "
            "controllers serve e.g. a storage bucket)")
        return
    svc = model.services.get(f"{ing.namespace}/{b.service_name}")
    if svc is None:
        decision.backend_problem = "no-endpoints"
        decision.backend_detail = (
            f"Ingress {ing.key} {field_path} names Service {ing.namespace}/{b.service_name}, which does not "
            f"exist (a backend must be in the Ingress's own namespace); the controller answers 503. Create "
            f"the Service or fix service.name")
        return
    decision.service = svc
    port = None
    for sp in svc.ports:
        if (b.port_name and sp.name == b.port_name) or (b.port_number is not None and sp.port == b.port_number):
            port = sp
            break
    if port is None:
        wanted = f"named {b.port_name!r}" if b.port_name else f"number {b.port_number}"
        have = ", ".join(f"{p.port} ({p.name})" if p.name else str(p.port) for p in svc.ports) or "no ports"
        decision.backend_problem = "no-service-port"
        decision.backend_detail = (
            f"Ingress {ing.key} {field_path} asks for Service {svc.key} port {wanted}, but the Service exposes "
            f"{have} (a backend port is a Service port, not a container port); change the backend's "
            f"service.port or add the port to the Service")
        return
    decision.service_port = port
    decision.backend_detail = (f"Service {svc.key} port {port.port}" + (f" ({port.name})" if port.name else "")
                               + f", targetPort {port.effective_target}")


# ---------------------------------------------------------------------------------------------
# D8 TLS


_TLS_KEYS = ("tls.crt", "tls.key")


def check_tls(model: ClusterModel, decision: RouteDecision, ingresses: list[Ingress]) -> TLSInfo:
    """D8: the request host must be in a tls[].hosts entry (of the serving Ingress, else of another
    Ingress of the same server — `ingresses` — as ingress-nginx shares one certificate per server) whose secret exists
    in that Ingress's namespace with type kubernetes.io/tls and keys tls.crt and tls.key.

    Missing / wrong secret is a *warning*, not a drop: the controller still terminates TLS on 443 with
    its default self-signed certificate and forwards the request, so the packet path is unchanged; only
    a client that verifies certificates fails, and the tracer cannot know the client.
    """
    host = decision.host
    order: list[Ingress] = []
    if decision.ingress is not None:
        order.append(decision.ingress)
    server = decision.server
    for ing in ingresses:  # the other Ingresses defining the same server, oldest first
        if ing is not decision.ingress and server != "_":
            order.append(ing)
    for ing in order:
        for t in ing.tls:
            # A tls entry without hosts applies to the host-less/catch-all server (ingress-nginx).
            listed = any(host_matches(h, host) for h in t.hosts) if t.hosts else not decision.rule_host
            if not listed or not host:
                continue
            if not t.secret_name:
                return TLSInfo(True, None, False, "no-secret-name",
                               f"Ingress {ing.key} lists host {host!r} under spec.tls without a secretName: the "
                               "controller serves its default self-signed certificate; set secretName")
            key = f"{ing.namespace}/{t.secret_name}"
            sec = model.secrets.get(key)
            if sec is None:
                return TLSInfo(True, key, False, "secret-missing",
                               f"TLS secret {key} referenced by Ingress {ing.key} does not exist: the controller "
                               f"serves its default self-signed certificate for {host!r}, so clients that verify "
                               f"certificates fail; create a kubernetes.io/tls Secret {t.secret_name} in "
                               f"namespace {ing.namespace}")
            missing = [k for k in _TLS_KEYS if k not in sec.keys]
            if sec.type != "kubernetes.io/tls" or missing:
                what = (f"has type {sec.type!r}" if sec.type != "kubernetes.io/tls" else "") + (
                    (" and " if sec.type != "kubernetes.io/tls" else "") + f"lacks {', '.join(missing)}"
                    if missing else "")
                return TLSInfo(True, key, False, "secret-invalid",
                               f"TLS secret {key} referenced by Ingress {ing.key} {what}; it must be type "
                               f"kubernetes.io/tls with keys tls.crt and tls.key. The controller serves its "
                               f"default self-signed certificate for {host!r} until it is fixed")
            return TLSInfo(True, key, True, None,
                           f"TLS for {host!r} terminates at the controller on port 443 (SNI) with secret {key} "
                           f"of Ingress {ing.key}; the hop to the backend is plain HTTP")
    return TLSInfo(False, None, False, "host-not-listed",
                   f"no Ingress serving {host or 'this request'!r} lists it under spec.tls: the controller "
                   "terminates TLS on 443 with its default self-signed certificate, so clients that verify "
                   "certificates fail; add the host to spec.tls[].hosts with a kubernetes.io/tls secret")
