"""Names (docs/semantics.md B1-B9, A2): the trace walk's steps for `dns:` destinations, headless services and the
DNS query a pod must get answered first.

A mixin of the trace walk (`trace._Tracer`): dns.resolve answers the name, dns_query.cluster_dns_query decides
whether the query itself gets through (kube-proxy + NetworkPolicy); this module turns their answers into hops.
"""
from __future__ import annotations

from . import dns as dnsmod
from . import kubeproxy as kp
from .dns_query import cluster_dns_query
from .errors import BadRequest
from .excluded_endpoints import excluded
from .model import Service
from .result import Hop, Path, Ref
from .trace_state import Source


class NameWalk:
    """DNS names and headless services."""

    def to_headless(self, src, hops, prob, svc: Service) -> list[Path]:
        """A2/B2: no virtual IP: the client connects straight to each ready endpoint's IP."""
        eps = dnsmod.ready_dns_endpoints(self.m, svc)
        port = self.port
        sp = kp.find_service_port(svc, port, self.proto) if port is not None or len(svc.ports) == 1 else None
        if port is None:
            if sp is None:
                raise BadRequest(f"give --port: headless Service {svc.key} has ports {kp.describe_ports(svc)}")
            port = sp.port
        if isinstance(port, str):
            if sp is None:
                return self.drop(src, hops, prob, "no-service-port",
                                 Hop("service", Ref.key("service", svc.key), "no-port",
                                     kp.missing_port_detail(svc, port, self.proto, "port named")))
            by_ip = {e.ip: e.port for e in kp.service_endpoints(self.m, svc, sp)}
            eps = [e for e in eps if e.ip in by_ip]
            ports = {e.ip: by_ip[e.ip] for e in eps}
        else:
            ports = {e.ip: port for e in eps}
        if svc.ports:  # B2: not-ready / terminating endpoints have no A record: say which were left out
            for e in excluded(self.m, svc, sp or svc.ports[0], kp.service_endpoints(self.m, svc, None), eps,
                              local_node=None, zone=None, policy_field=""):
                self.excluded.setdefault((e["service"], e["endpoint"], e["reason"]), e)
        if src.kind == "external":
            return self.drop(src, hops, prob, "unknown-destination",
                             Hop("service", Ref.key("service", svc.key), "unreachable",
                                 f"headless Service {svc.key} has no virtual IP and no NodePort: it is only "
                                 f"resolvable inside the cluster"))
        if not eps:
            return self.drop(src, hops, prob, "no-endpoints",
                             Hop("service", Ref.key("service", svc.key), "no-endpoints",
                                 f"headless Service {svc.key} has no ready endpoint, so its name has no A "
                                 f"record (B2); make a pod matching its selector ready"))
        hop = Hop("service", Ref.key("service", svc.key), "resolve",
                  f"headless Service {svc.key} (clusterIP: None): no kube-proxy rules; the client connects "
                  f"directly to one of its {len(eps)} ready endpoint IP(s) (A2/B2)")
        self.notes.append("a client of a headless service picks each A record with equal share (impl: "
                          "resolvers rotate the answer order)")
        out = []
        for ep in eps:
            out.extend(self.to_endpoint(src, [*hops, hop], prob / len(eps), ep, ports[ep.ip], src.peer))
        return out

    def dns_query(self, src: Source, hops, prob) -> tuple[list[Hop], list[Path] | None]:
        """The query is traffic: source pod → kube-dns Service UDP 53 → a CoreDNS pod (dns_query decides)."""
        q = cluster_dns_query(self.m, self.pe, src.peer)
        self.notes.extend(q.notes)
        if not q.action:
            return hops, None
        hop = Hop("dns", Ref.key("service", q.service.key), q.action, q.detail)
        if q.reason:
            return hops, self.drop(src, hops, prob, q.reason, hop)
        return [*hops, hop], None

    def to_name(self, src: Source, hops, prob, name: str, port, *, http: bool = False) -> list[Path]:
        ans = dnsmod.resolve(self.m, src.pod, name, external=src.kind == "external")
        if ans.resolver is not None and ans.resolver.kind == "cluster" and src.kind == "pod":
            hops, dropped = self.dns_query(src, hops, prob)
            if dropped:
                return dropped
        elif ans.resolver is not None and ans.resolver.note:
            self.notes.append(ans.resolver.note)
        tried = f" (tried {', '.join(ans.tried)})" if len(ans.tried) > 1 else ""
        dns_id = Ref("dns", "", ans.fqdn or name)
        if ans.kind == "NXDOMAIN":
            return self.drop(src, hops, prob, "dns-nxdomain", Hop("dns", dns_id, "nxdomain", ans.detail + tried))
        chased = 0
        while ans.kind == "CNAME" and ans.target.endswith("." + self.m.cluster_domain) and chased < 8:
            # an ExternalName pointing at a cluster name: CoreDNS follows the CNAME inside the zone
            hops = [*hops, Hop("dns", dns_id, "cname", ans.detail.replace("; the packet leaves the cluster", "")
                               + "; the target is a cluster name, so the resolver follows it")]
            nxt = dnsmod.lookup(self.m, ans.target)
            chased += 1
            if nxt is None:
                return self.drop(src, hops, prob, "dns-nxdomain",
                                 Hop("dns", Ref("dns", "", ans.target), "nxdomain",
                                     f"the CNAME target {ans.target} of Service {ans.service.key} has no record; "
                                     f"fix spec.externalName"))
            ans = nxt
            dns_id = Ref("dns", "", ans.fqdn)
            tried = ""
        if ans.kind in ("CNAME", "EXTERNAL"):
            hop = Hop("dns", dns_id, "answer", ans.detail + tried)
            if port is None or isinstance(port, str):
                if ans.service is not None and len(ans.service.ports) == 1 and port is None:
                    port = ans.service.ports[0].port
                else:
                    raise BadRequest(f"give a numeric --port for {name} (it resolves outside the cluster)")
            return self.to_external(src, [*hops, hop], prob, ans.target, port)
        hop = Hop("dns", dns_id, "answer", ans.detail + tried)
        hops = [*hops, hop]
        svc = ans.service
        if ans.srv_port is not None:
            port = ans.srv_port
        if ans.endpoints:  # headless / hostname answers: straight to pods
            eps = ans.endpoints
            if isinstance(port, str) or port is None:
                sp = kp.find_service_port(svc, port, self.proto)
                if sp is None:
                    return self.drop(src, hops, prob, "no-service-port",
                                     Hop("service", Ref.key("service", svc.key), "no-port",
                                         kp.missing_port_detail(svc, port, self.proto)))
                by_ip = {e.ip: e.port for e in kp.service_endpoints(self.m, svc, sp)}
                ports = {e.ip: by_ip.get(e.ip, sp.port) for e in eps}
            else:
                ports = {e.ip: port for e in eps}
            if len(eps) > 1:
                self.notes.append("a client picks each A record with equal share (impl: resolvers rotate the "
                                  "answer order)")
            out = []
            for ep in eps:
                out.extend(self.to_endpoint(src, hops, prob / len(eps), ep, ports[ep.ip], src.peer))
            return out
        if port is None and svc is not None and len(svc.ports) == 1:
            port = svc.ports[0].port
        if port is None:
            raise BadRequest(f"give --port for {name}")
        out = []
        for ip in ans.ips:
            out.extend(self.to_ip(src, hops, prob / len(ans.ips), ip, port))
        return out
