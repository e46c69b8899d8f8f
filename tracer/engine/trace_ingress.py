"""URLs through an Ingress (docs/semantics.md D1-D9): the trace walk's steps for `url:` destinations.

A mixin of the trace walk (`trace._Tracer`): ingress.find_entry / ingress.route_request decide which controller,
which Ingress rule and which backend, choosing among the candidates this walk reads from its forwarding graph
(ingress-controller → ingress and ingress → svc edges, `ingress_candidates`); this module reaches the controller
(an address, like any packet), then follows the backend mode the controller uses.
"""
from __future__ import annotations

import ipaddress
import weakref

from . import dns as dnsmod
from . import ingress, ingress_nginx
from .model import Pod
from .result import DELIVERED, DROPPED, Hop, Path, Ref
from .trace_state import Source

_INGRESS_BY_KEY: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class IngressWalk:
    """url: destinations."""

    def to_url(self, src: Source, hops, prob, dest) -> list[Path]:
        scheme, host, port_s, path = dest.parts
        port = int(port_s)
        if src.kind == "pod":
            self.notes.append(f"from a pod, the URL host {host} is resolved like dns:{host} and the request goes "
                              f"to port {port}")
            try:
                ipaddress.ip_address(host)
                return self.to_ip(src, hops, prob, host, port)
            except ValueError:
                pass
            ans = dnsmod.resolve(self.m, src.pod, host)
            if ans.kind == "EXTERNAL" and self.is_ingress_host(host, path, scheme):
                # a public name served by this cluster's Ingress: public DNS points it at the controller's entry
                if ans.resolver is not None and ans.resolver.kind == "cluster":
                    hops, dropped = self.dns_query(src, hops, prob)
                    if dropped:
                        return dropped
                self.notes.append(f"{host} is outside the cluster domain but matches an Ingress rule: assumed its "
                                  f"public DNS record points at the Ingress controller's entry (impl)")
                hops = [*hops, Hop("dns", Ref("dns", "", host), "answer",
                                   f"{host} is answered by the upstream resolver; it is an Ingress host of this "
                                   f"cluster, so it leads back in through the controller's entry")]
                return self.via_ingress(src, hops, prob, scheme, host, port, path)
            return self.to_name(src, hops, prob, host, port, http=True)
        return self.via_ingress(src, hops, prob, scheme, host, port, path)

    def ingress_candidates(self) -> ingress.Candidates:
        """What Ingress routing may choose from: the graph's ingress-controller → ingress (route) and
        ingress → svc (backend) edges."""
        graph = self.graph
        cached = _INGRESS_BY_KEY.get(graph)  # per graph: key → Ingress, and each controller's served list
        if cached is None:
            cached = _INGRESS_BY_KEY[graph] = ({i.key: i for i in self.m.ingresses}, {})
        by_key, served = cached

        def ingresses(ctrl) -> list:
            got = served.get(ctrl.name)
            if got is None:
                got = served[ctrl.name] = [by_key[k] for k in graph.next("ingress-controller", ctrl.name, "route")]
            return got

        return ingress.Candidates(ingresses, lambda ing: graph.next("ingress", ing.key, "backend"))

    def is_ingress_host(self, host: str, path: str, scheme: str) -> bool:
        d = ingress.route_request(self.m, host, path, scheme, candidates=self.ingress_candidates())
        return bool(d.matched and d.rule_host) or d.reason == "no-ingress-controller"

    def via_ingress(self, src: Source, hops, prob, scheme: str, host: str, port: int, path: str) -> list[Path]:
        """From outside (or a node): the Host picks the Ingress (D3–D5); the client enters through that Ingress's
        controller's exposure (LB address by default, `--via` overrides), the controller pod then proxies to the
        backend Service's endpoints itself (D9, impl) — as the source NetworkPolicy sees."""
        via_addr, via_port = self.via if self.via else (None, None)
        entry = ingress.find_entry(self.m, host, path, scheme, via=via_addr, port=via_port if via_addr else port,
                                   headers=dict(self.flow.headers), candidates=self.ingress_candidates())
        d = entry.decision
        self.notes.extend(d.assumptions)
        ctrl = entry.controller
        url = f"{scheme}://{host}{':' + str(port) if port not in (80, 443) else ''}{path}"
        if ctrl is None:
            reason = entry.reason or d.reason or "ingress-no-match"
            return self.drop(src, hops, prob, reason,
                             Hop("ingress-rule", Ref.key("ingress", d.ingress.key) if d.ingress else Ref("url", "", url),
                                 "no-route", entry.detail or d.why))
        self.notes.extend(ctrl.assumptions)
        ctrl_hop_id = Ref.key("ingress-controller", ctrl.name)
        if entry.exposure is None:
            return self.drop(src, hops, prob, "no-service-port",
                             Hop("ingress-controller", ctrl_hop_id, "not-exposed", entry.detail))
        exp = entry.exposure
        if ctrl.cloud_managed:
            lb_hop = Hop("load-balancer", ctrl_hop_id, "route",
                         f"{entry.detail}; the cloud load balancer itself applies the Ingress rules")
            return self.after_controller(src, [*hops, lb_hop], prob, None, d, ctrl, url)
        # reach a controller pod through its exposure, with kube-proxy/NetworkPolicy as for any packet
        self.notes.append(f"the client enters {ctrl.describe()} through {exp.detail or exp.kind}")
        reached = self.to_ip(src, hops, prob, exp.address, exp.port)
        out: list[Path] = []
        ctrl_pods = {p.key for p in ctrl.pods}
        for p in reached:
            ep = p.endpoint
            if p.verdict != DELIVERED or ep is None or ep.kind != "pod" or f"{ep.namespace}/{ep.name}" not in ctrl_pods:
                out.append(p)
                continue
            cpod = self.m.pods[f"{ep.namespace}/{ep.name}"]
            phops = p.hops[:-1] + [Hop("ingress-controller", ctrl_hop_id, "accept",
                                       f"{ctrl.describe()}: pod {cpod.key} accepts {scheme.upper()} on port "
                                       f"{p.endpoint_port} for Host {host} (evidence: {ctrl.evidence or 'discovery'})")]
            out.extend(self.after_controller(src, phops, p.probability, cpod, d, ctrl, url))
        return out

    def after_controller(self, src: Source, hops, prob, cpod: Pod | None, d, ctrl, url: str) -> list[Path]:
        split = ingress_nginx.canary_split(d)  # an ingress-nginx canary takes its share of the requests (D12)
        if len(split) > 1 or split[0][1] is not d:
            return [p for share, part in split for p in self.after_controller(src, hops, prob * share, cpod, part,
                                                                               ctrl, url)]
        paths = self._after_controller(src, hops, prob, cpod, d, ctrl, url)
        answer = ingress.http_answer(d)  # the HTTP status the client gets from the controller (contract `http`)
        for p in paths:
            if p.http is None:
                p.http = dict(answer)
                if p.verdict == DROPPED and answer["status"] == 200:
                    p.http["status"] = 502  # the controller cannot reach that endpoint (e.g. NetworkPolicy)
        return paths

    def _after_controller(self, src: Source, hops, prob, cpod: Pod | None, d, ctrl, url: str) -> list[Path]:
        ing_id = Ref.key("ingress", d.ingress.key) if d.ingress else Ref.key("ingress-controller", ctrl.name)
        if not d.matched:
            return self.drop(src, hops, prob, d.reason or "ingress-no-match",
                             Hop("ingress-rule", ing_id, "no-match", d.why))
        tls = ""
        if d.tls is not None:
            tls = "; " + d.tls.detail
        warn = ("; " + "; ".join(d.warnings)) if d.warnings else ""
        if d.backend_problem:
            return self.drop(src, hops, prob, d.backend_problem,
                             Hop("ingress-rule", ing_id, "bad-backend", f"{d.why} {d.backend_detail}{tls}"))
        svc, sp = d.service, d.service_port
        rule_hop = Hop("ingress-rule", ing_id, "route",
                       f"{d.why} {d.backend_detail}{tls}{warn}. {d.backend_mode_detail}".strip())
        hops = [*hops, rule_hop]
        mode = d.backend_mode or "endpoints"
        if cpod is not None:
            own = self.pod_source(cpod, 1)  # its address, and its node from the graph's pod → node edge
            csrc = Source(src.ref, "pod", cpod, own.ip, own.node_name, src.weight)
        else:
            csrc = src
        if mode == "external-name":
            return self.to_external(csrc, hops, prob, svc.external_name.rstrip("."), sp.port)
        if mode == "cluster-ip":
            return self.via_cluster_ip(csrc, hops, prob, svc, sp)
        if mode == "node-port":
            # the cloud load balancer's backend nodes: the graph's ingress-controller → node edges
            backends = self.graph.next("ingress-controller", ctrl.name, "backend")
            first = next((n for n in (self.m.nodes[name] for name in backends) if n.internal_ip), None)
            if first is None or not sp.node_port:
                return self.drop(src, hops, prob, "no-service-port",
                                 Hop("service", Ref.key("service", svc.key), "no-port",
                                     f"Service {svc.key} port {sp.port} has no NodePort on a ready node"))
            self.notes.append(f"the cloud load balancer's traffic is shown entering node {first.name} (first "
                              f"ready by name); every node behaves the same with externalTrafficPolicy: Cluster")
            return self.to_ip(src, hops, prob, first.internal_ip, sp.node_port)
        # endpoints: the controller balances over the ready endpoints itself (no kube-proxy)
        eps = [ep for ep in self.endpoints(svc, sp) if ep.ready]
        if not eps:
            return self.drop(src, hops, prob, "no-endpoints",
                             Hop("service", Ref.key("service", svc.key), "no-endpoints",
                                 f"Service {svc.key} port {sp.name or sp.port} has no ready endpoint, so "
                                 f"{ctrl.kind} answers 503; make a pod matching its selector ready"))
        self.notes.append("an ingress controller spreads requests evenly over the backend's ready endpoints "
                          "(impl: round-robin)")
        out = []
        for ep in eps:
            h = Hop("service", Ref.key("service", svc.key), "proxy",
                    f"{ctrl.kind} proxies to endpoint {ep.addr} ({ep.label}) of Service {svc.key}, 1/{len(eps)} "
                    f"of requests, source = the controller's address {csrc.ip or '(cloud)'}")
            out.extend(self.to_endpoint(csrc, [*hops, h], prob / len(eps), ep, ep.port, csrc.peer,
                                        at_node=csrc.node_name if cpod else None))
        return out
