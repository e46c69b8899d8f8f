"""Cluster DNS as a pod's resolver sees it (docs/semantics.md §B).

- `resolver_for`      B8: dnsPolicy ClusterFirst / Default / ClusterFirstWithHostNet / None, hostNetwork fallback
- `candidates`        B7: resolv.conf search list and ndots:5 (dnsConfig merged)
- `lookup`            B1 (ClusterIP), B2 (headless → ready endpoints, hostnames), B3 (SRV), B4 (ExternalName CNAME),
                      B5 (pod hostname.subdomain), pod A records `a-b-c-d.ns.pod.zone`
- `resolve`           the whole query: candidates tried in order, first answer wins, else NXDOMAIN
- `public_name`       H3: only a name under a public top-level domain can exist outside the cluster
Names outside the cluster domain are answered by an upstream resolver the snapshot does not hold: a name whose
last label is a public TLD (PUBLIC_TLDS: generic TLDs and the country codes) resolves to `external:NAME`
(impl: assumed to exist) — unless that label is also a namespace or a Service of the pod's namespace
(`x.shop` with a namespace `shop`): a cluster name was meant and it does not exist. Any other name (`web-0.nginx` with no Service `nginx`, `cart.no-such-namespace`,
a single label, `db.internal`) went through the search path and then upstream, which has no such TLD:
NXDOMAIN (H3).
The query itself is traffic; `trace.py` sends it through kube-proxy and NetworkPolicy.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .cluster import ClusterModel
from .kubeproxy import ProxyEndpoint, service_endpoints
from .model import Pod, Service

DNS_SERVICE = "kube-system/kube-dns"


@dataclass(slots=True)
class Resolver:
    kind: str  # "cluster" | "node" | "none"
    searches: tuple[str, ...] = ()
    ndots: int = 5
    nameservers: tuple[str, ...] = ()
    note: str = ""


@dataclass(slots=True)
class Answer:
    """The outcome of one name lookup."""

    kind: str  # "A" | "CNAME" | "EXTERNAL" | "NXDOMAIN"
    name: str  # the name asked
    fqdn: str = ""  # the name that answered
    ips: list[str] = field(default_factory=list)
    service: Service | None = None
    endpoints: list[ProxyEndpoint] = field(default_factory=list)  # headless / pod-record answers
    target: str = ""  # CNAME target / external host
    srv_port: int | None = None
    tried: list[str] = field(default_factory=list)
    detail: str = ""
    resolver: Resolver | None = None


def resolver_for(model: ClusterModel, pod: Pod | None) -> Resolver:
    """B8: which resolver a pod (or a node process when pod is None) uses."""
    zone = model.cluster_domain
    if pod is None:
        return Resolver("node", note="a node process uses the node's own resolver, which does not serve "
                                     f"{zone} names (impl: the node's resolv.conf does not point at cluster DNS)")
    policy = pod.dns_policy or "ClusterFirst"
    cfg = pod.dns_config or {}
    extra_search = tuple(cfg.get("searches") or ())
    ndots = 5
    for opt in cfg.get("options") or ():
        if isinstance(opt, dict) and opt.get("name") == "ndots":
            try:
                ndots = int(opt.get("value"))
            except (TypeError, ValueError):
                pass
    cluster_search = (f"{pod.namespace}.svc.{zone}", f"svc.{zone}", zone)
    if policy == "ClusterFirst" and pod.host_network:
        return Resolver("node", note=f"pod {pod.key} is hostNetwork with dnsPolicy ClusterFirst, which silently "
                                     f"falls back to Default (the node's resolver): cluster names do not "
                                     f"resolve; set dnsPolicy: ClusterFirstWithHostNet (B8)")
    if policy in ("ClusterFirst", "ClusterFirstWithHostNet"):
        return Resolver("cluster", cluster_search + extra_search, ndots,
                        note=f"dnsPolicy {policy}: search {' '.join(cluster_search + extra_search)}, ndots:{ndots}")
    if policy == "Default":
        return Resolver("node", extra_search, ndots,
                        note=f"pod {pod.key} has dnsPolicy Default: it uses the node's resolver, which does not "
                             f"serve {zone} names; set dnsPolicy: ClusterFirst (B8)")
    # None: only dnsConfig
    servers = tuple(cfg.get("nameservers") or ())
    dns_svc = model.services.get(DNS_SERVICE)
    if dns_svc and dns_svc.cluster_ip and dns_svc.cluster_ip in servers:
        return Resolver("cluster", extra_search, ndots, servers,
                        note=f"dnsPolicy None with the cluster DNS {dns_svc.cluster_ip} as nameserver; "
                             f"search {' '.join(extra_search) or '(none)'}, ndots:{ndots}")
    return Resolver("node" if servers else "none", extra_search, ndots, servers,
                    note=f"dnsPolicy None: nameservers {', '.join(servers) or '(none)'} from dnsConfig, "
                         f"not the cluster DNS: cluster names do not resolve")


def candidates(name: str, resolver: Resolver) -> list[str]:
    """B7: the names the stub resolver tries, in order."""
    if name.endswith("."):
        return [name.rstrip(".")]
    searched = [f"{name}.{s}" for s in resolver.searches]
    if name.count(".") >= resolver.ndots:
        return [name, *searched]
    return [*searched, name]


def lookup(model: ClusterModel, fqdn: str) -> Answer | None:
    """One authoritative lookup of an absolute name in the cluster zone; None = NXDOMAIN for this name."""
    zone = model.cluster_domain
    suffix = "." + zone
    if not fqdn.endswith(suffix):
        return None
    head = fqdn[: -len(suffix)].split(".")
    if len(head) >= 3 and head[-1] == "svc":
        labels = head[:-1]
        ns = labels[-1]
        svc = model.services.get(f"{ns}/{labels[-2]}") if len(labels) >= 2 else None
        if svc is None:
            return None
        if len(labels) == 2:
            return _service_answer(model, svc, fqdn)
        if len(labels) == 3:
            return _hostname_answer(model, svc, labels[0], fqdn)
        if len(labels) == 4 and labels[0].startswith("_") and labels[1].startswith("_"):
            return _srv_answer(model, svc, labels[0][1:], labels[1][1:].upper(), fqdn)
        return None
    if len(head) == 3 and head[-1] == "pod":
        ip = head[0].replace("-", ".")
        pod = model.pod_by_ip.get(ip)
        if pod is not None and pod.namespace == head[1]:
            return Answer("A", fqdn, fqdn, [ip], detail=f"pod A record {fqdn} → {ip} (pod {pod.key})")
        return None
    return None


def ready_dns_endpoints(model: ClusterModel, svc: Service) -> list[ProxyEndpoint]:
    """B2/A19: the endpoints a headless service publishes: ready ones (all with publishNotReadyAddresses)."""
    eps = service_endpoints(model, svc, None)
    return [ep for ep in eps if ep.ready or svc.publish_not_ready_addresses]


def _service_answer(model: ClusterModel, svc: Service, fqdn: str) -> Answer | None:
    if svc.type == "ExternalName":
        target = svc.external_name.rstrip(".").lower()
        return Answer("CNAME", fqdn, fqdn, service=svc, target=target,
                      detail=f"{fqdn} is ExternalName Service {svc.key}: CNAME {target} (B4); the packet "
                             f"leaves the cluster")
    if svc.headless:
        eps = ready_dns_endpoints(model, svc)
        if not eps:
            return None
        ips = list(dict.fromkeys(ep.ip for ep in eps))
        return Answer("A", fqdn, fqdn, ips, service=svc, endpoints=eps,
                      detail=f"{fqdn} is headless Service {svc.key}: one A record per ready endpoint "
                             f"({', '.join(ips[:8])}{' …' if len(ips) > 8 else ''}) (B2)")
    return Answer("A", fqdn, fqdn, [svc.cluster_ip], service=svc,
                  detail=f"{fqdn} → ClusterIP {svc.cluster_ip} of Service {svc.key} (B1)")


def _hostname_answer(model: ClusterModel, svc: Service, hostname: str, fqdn: str) -> Answer | None:
    if not svc.headless:
        return None
    eps = [ep for ep in ready_dns_endpoints(model, svc) if ep.hostname == hostname]
    if not eps:
        return None
    return Answer("A", fqdn, fqdn, [eps[0].ip], service=svc, endpoints=eps[:1],
                  detail=f"{fqdn} → {eps[0].ip}: endpoint hostname {hostname} of headless Service {svc.key} "
                         f"(pod {eps[0].pod.key if eps[0].pod else eps[0].ip}; B2/B5)")


def _srv_answer(model: ClusterModel, svc: Service, port_name: str, proto: str, fqdn: str) -> Answer | None:
    for p in svc.ports:
        if p.name == port_name and (p.protocol or "TCP") == proto:
            ans = _service_answer(model, svc, f"{svc.name}.{svc.namespace}.svc.{model.cluster_domain}")
            if ans is None or ans.kind != "A":
                return None
            ans.srv_port = p.port
            ans.fqdn = fqdn
            ans.detail = f"SRV {fqdn} → port {p.port} of Service {svc.key} (B3); " + ans.detail
            return ans
    return None


def resolve(model: ClusterModel, pod: Pod | None, name: str, *, external: bool = False) -> Answer:
    """Resolve `name` as the source would. `pod` None ⇒ a node process (or `external` client)."""
    name = name.lower()
    zone = model.cluster_domain
    if external:
        resolver = Resolver("none", note="an external client uses public DNS, which does not serve "
                                         f"{zone} names")
    else:
        resolver = resolver_for(model, pod)
    tried: list[str] = []
    if resolver.kind == "cluster":
        for cand in candidates(name, resolver):
            tried.append(cand)
            ans = lookup(model, cand)
            if ans is not None:
                ans.name, ans.tried, ans.resolver = name, tried, resolver
                return ans
    absolute = name.rstrip(".")
    if not absolute.endswith("." + zone) and absolute != zone:
        last = absolute.rsplit(".", 1)[-1]
        cluster_intent = (last in model.namespaces or last in ("svc", "pod")
                          or (pod is not None and f"{pod.namespace}/{last}" in model.services))
        if public_name(absolute) and not cluster_intent:
            if not tried or tried[-1] != absolute:
                tried.append(absolute)
            return Answer("EXTERNAL", name, absolute, target=absolute, tried=tried, resolver=resolver,
                          detail=f"{absolute} is outside {zone} under the public TLD "
                                 f".{absolute.rsplit('.', 1)[-1]}: answered by the upstream resolver (not in the "
                                 f"snapshot; impl: assumed to exist and resolve to an internet address) (H3)")
    if "." in absolute and not absolute.endswith("." + zone) and absolute != zone:
        why = _unknown_name_reason(model, pod, absolute, tried, resolver)
    elif resolver.kind != "cluster":
        why = resolver.note
    else:
        why = (f"no record for any of {', '.join(tried)}"
               + (f"; a bare name is namespace-relative (B9): from namespace {pod.namespace} use "
                  f"NAME.NAMESPACE" if pod is not None and "." not in absolute else ""))
    return Answer("NXDOMAIN", name, tried=tried, resolver=resolver, detail=f"{name} does not resolve: {why}")


# H3: the top-level domains a public resolver answers for (generic and country-code TLDs, IANA root zone; a
# subset of the generic ones, the common ones). A name under any other last label cannot exist on the internet.
_GENERIC_TLDS = """
com org net edu gov mil int arpa info biz name pro aero coop museum mobi asia tel travel jobs cat post
dev app page cloud tech online site store shop blog xyz top club live news digital network systems solutions
services software email link website space world today company group global agency media studio design zone
run host codes tools team works wiki fun io ai co me tv gg ly sh so to fm am
google amazon aws azure microsoft apple goog new art
""".split()
_COUNTRY_TLDS = """
ac ad ae af ag ai al am ao aq ar as at au aw ax az ba bb bd be bf bg bh bi bj bm bn bo bq br bs bt bw by bz
ca cc cd cf cg ch ci ck cl cm cn co cr cu cv cw cx cy cz de dj dk dm do dz ec ee eg er es et eu fi fj fk fm fo
fr ga gd ge gf gg gh gi gl gm gn gp gq gr gs gt gu gw gy hk hm hn hr ht hu id ie il im in io iq ir is it je jm
jo jp ke kg kh ki km kn kp kr kw ky kz la lb lc li lk lr ls lt lu lv ly ma mc md me mg mh mk ml mm mn mo mp mq
mr ms mt mu mv mw mx my mz na nc ne nf ng ni nl no np nr nu nz om pa pe pf pg ph pk pl pm pn pr ps pt pw py qa
re ro rs ru rw sa sb sc sd se sg sh si sk sl sm sn so sr ss st su sv sx sy sz tc td tf tg th tj tk tl tm tn to
tr tt tv tw tz ua ug uk us uy uz va vc ve vg vi vn vu wf ws ye yt za zm zw
""".split()
PUBLIC_TLDS = frozenset(_GENERIC_TLDS) | frozenset(_COUNTRY_TLDS)


def public_name(name: str) -> bool:
    """H3: `name` (absolute, no trailing dot) has at least two labels and ends in a public TLD."""
    labels = name.lower().rstrip(".").split(".")
    return len(labels) >= 2 and all(labels) and labels[-1] in PUBLIC_TLDS


def _unknown_name_reason(model: ClusterModel, pod: Pod | None, name: str, tried: list[str],
                         resolver: Resolver) -> str:
    """H3: why a name that is neither a cluster record nor under a public TLD has no answer anywhere."""
    labels = name.split(".")
    last = labels[-1]
    parts = []
    if resolver.kind == "cluster":
        parts.append(f"no cluster record for any of {', '.join(tried) or name}")
    else:
        parts.append(resolver.note)
    if len(labels) >= 2:
        ns = pod.namespace if pod is not None else None
        if last in model.namespaces:
            parts.append(f"'{last}' is a namespace, but no Service {last}/{labels[-2]} exists "
                         f"(a name NAME.NAMESPACE needs Service NAME in NAMESPACE)")
        elif ns is not None and len(labels) == 2:
            parts.append(f"neither a namespace '{last}' (for SERVICE.NAMESPACE) nor a headless Service "
                         f"{ns}/{last} exists (a StatefulSet pod name POD.SERVICE needs its governing headless "
                         f"Service)")
        else:
            parts.append(f"no namespace '{last}' exists")
    parts.append(f"upstream, '.{last}' is not a public top-level domain, so no public resolver has it "
                 f"(impl: a private zone of the node's resolver is not in the snapshot)")
    return "; ".join(parts)
