"""ahmetb/kubernetes-network-policy-recipes: every "Try it out" probe of expectations.json.

Each recipe's setup (pods created by `kubectl run`, namespaces, `--expose`d Services) is built as a
model with the recipe's policies (parsed from the extracted YAML by the importer's parser). A probe

    [client pod, ns/labels] → http://web:80 → svc/web:80 → [pod web]:80

is allowed when, after the Service's DNAT (E10: policy sees the backend pod and the targetPort),
the client's egress AND the backend's ingress allow it (E5). A destination given by name is looked
up first: that DNS query (UDP 53 to the kube-dns pods in kube-system, which every cluster has and
we add when the setup does not list them) is traffic too and obeys egress policy (E9).
An external client reaching a LoadBalancer arrives from outside the cluster (no pod).

Recipe 14's prose ("foo → web:80 is allowed") predates the current YAML; expectations.json records
the spec's answer (blocked, `prose_is_stale`), which is what we follow (README).
"""
from __future__ import annotations

import json
import re

import pytest

from tests.fixtures import FIXTURES
from topology.importers.load import load_documents
from topology.importers.parse import parse_objects
from tracer.engine.cluster import ClusterModel
from tracer.engine.model import ClusterObjects, Container, ContainerPort, Namespace, Pod
from tracer.engine.netpol import Peer, PolicyEngine

RECIPES = FIXTURES / "netpol-recipes"
DATA = json.loads((RECIPES / "expectations.json").read_text())
EXTERNAL_EXAMPLE_IP = "93.184.216.34"  # www.example.com, as the recipes note


def _container_ports(spec) -> tuple[ContainerPort, ...]:
    out = []
    for p in spec:
        num, _, proto = str(p).partition("/")
        out.append(ContainerPort(int(num), proto or "TCP", ""))
    return tuple(out)


class Recipe:
    def __init__(self, recipe: dict):
        setup = recipe.get("setup") or {}
        docs = []
        for f in recipe["policies"]:
            docs.extend(load_documents(RECIPES / f))
        self.policies = parse_objects(docs).objects.network_policies
        namespaces = {"default": Namespace("default"), "kube-system": Namespace("kube-system")}
        for ns in setup.get("namespaces", []):
            namespaces[ns["name"]] = Namespace(ns["name"], dict(ns.get("labels") or {}))
        pods = []
        for i, p in enumerate(setup.get("pods", [])):
            name = p["name"].replace("-*", "-0")
            pods.append(Pod(p["namespace"], name, dict(p["labels"]), (f"10.244.1.{10 + i}",),
                            containers=(Container("main", ports=_container_ports(p["containerPorts"])),)))
        if not any(p.namespace == "kube-system" and p.labels.get("k8s-app") == "kube-dns" for p in pods):
            pods.append(Pod("kube-system", "coredns-0", {"k8s-app": "kube-dns"}, ("10.244.0.2",),
                            containers=(Container("coredns", ports=_container_ports(["53/UDP", "53/TCP"])),)))
        self.services = setup.get("services", [])
        self.pods = pods
        self.namespaces = namespaces

    def model(self, clients: list[Pod]) -> ClusterModel:
        return ClusterModel.build(ClusterObjects(namespaces=list(self.namespaces.values()),
                                                 pods=self.pods + clients, network_policies=self.policies))

    def service(self, name: str, client_ns: str) -> tuple[dict, str]:
        """The Service a name resolves to; a pod `kubectl run … --expose`d without a listed Service
        has one of its own name, selecting its labels, port = targetPort (expectations.json _about)."""
        svc_name, _, ns = name.partition(".")
        ns = ns or client_ns
        for s in self.services:
            if s["name"] == svc_name and s["namespace"] == ns:
                return s, ns
        pod = next(p for p in self.pods if p.name == svc_name and p.namespace == ns)
        port = next(pod.container_ports()).container_port
        return {"name": svc_name, "namespace": ns, "port": port, "targetPort": port, "selector": pod.labels}, ns

    def backends(self, svc: dict, ns: str) -> list[Pod]:
        sel = svc["selector"]
        return [p for p in self.pods if p.namespace == ns and all(p.labels.get(k) == v for k, v in sel.items())]


def _probes():
    for recipe in DATA["recipes"]:
        for i, probe in enumerate(recipe.get("probes", [])):
            yield pytest.param(recipe, probe, id=f"{recipe['recipe'].split('-')[0]}-{i + 1}")


PROBES = list(_probes())


def evaluate(recipe: dict, probe: dict) -> tuple[bool, list[str]]:
    """(allowed, the decision details in path order) for one probe."""
    r = Recipe(recipe)
    src = probe["from"]
    client = None if src.get("external") else Pod(src["namespace"], "client", dict(src["labels"]), ("10.244.2.50",))
    eng = PolicyEngine(r.model([client] if client else []))
    src_peer = Peer.of_pod(client) if client else Peer(None, "203.0.113.7")
    to = probe["to"]
    steps: list = []

    def check(dst_pod: Pod | None, ip: str, port: int, proto: str):
        dst = Peer.of_pod(dst_pod) if dst_pod else Peer(None, ip)
        steps.append(eng.egress(src_peer, dst, port, proto))
        steps.append(eng.ingress(src_peer, dst, port, proto))

    m = re.match(r"^(?P<ns>[\w-]+)/(?P<name>[\w-]+):(?P<port>\d+)/(?P<proto>\w+)$", to)
    if m:  # a pod addressed directly, e.g. kube-system/kube-dns:53/UDP
        target = next(p for p in r.pods if p.namespace == m["ns"] and p.labels.get("k8s-app") == m["name"])
        check(target, target.ip, int(m["port"]), m["proto"])
    else:
        m = re.match(r"^(?P<scheme>\w+)://(?P<host>[^:/ ]+)(?::(?P<port>\d+))?", to)
        host, port = m["host"], int(m["port"] or 80)
        if host == "[EXTERNAL-IP]":  # LoadBalancer: the client is outside, the LB sends to the pod port
            svc = r.services[0]
            for pod in r.backends(svc, svc["namespace"]):
                check(pod, pod.ip, svc["targetPort"], "TCP")
        else:
            if client is not None:  # the name is resolved first: UDP 53 to the cluster DNS pods
                dns = next(p for p in r.pods if p.namespace == "kube-system" and p.labels.get("k8s-app") == "kube-dns")
                check(dns, dns.ip, 53, "UDP")
            if "." in host and host.count(".") >= 2 and not any(host.startswith(s["name"] + ".") for s in r.services):
                check(None, EXTERNAL_EXAMPLE_IP, port, "TCP")  # www.example.com: outside the cluster
            else:
                svc, ns = r.service(host, src["namespace"])
                ports = svc.get("ports") or [{"port": svc["port"], "targetPort": svc["targetPort"]}]
                sp = next(p for p in ports if p["port"] == port)
                for pod in r.backends(svc, ns):  # E10: the backend pod and its targetPort
                    check(pod, pod.ip, sp["targetPort"], "TCP")
    allowed = bool(steps) and all(d.allowed for d in steps)
    return allowed, [d.detail for d in steps]


def test_recipes_summary(capsys):
    """All 28 probes agree; prints `netpol-recipes: N/N probes agree`."""
    results = [(p.id, evaluate(*p.values)[0] == (p.values[1]["expected"] == "allowed")) for p in PROBES]
    agree = sum(ok for _, ok in results)
    with capsys.disabled():
        print(f"\nnetpol-recipes: {agree}/{len(results)} probes agree")
    assert len(results) == 28
    assert agree == len(results), [i for i, ok in results if not ok]


@pytest.mark.parametrize("recipe,probe", PROBES)
def test_recipe_probe(recipe, probe):
    """One probe: our verdict equals the recipe's observed result; a block names a policy to change."""
    allowed, details = evaluate(recipe, probe)
    assert allowed == (probe["expected"] == "allowed"), details
    if not allowed:
        assert any("NetworkPolicy" in d and ("add" in d) for d in details), details


def test_recipe_14_follows_the_yaml_not_the_stale_prose():
    """[app=foo] → http://web:80: the current YAML only lets foo reach kube-dns:53, so blocked, and the
    egress decision says which policy to extend."""
    recipe = next(r for r in DATA["recipes"] if r["recipe"].startswith("14-"))
    probe = next(p for p in recipe["probes"] if p.get("prose_is_stale"))
    allowed, details = evaluate(recipe, probe)
    assert not allowed
    assert any("default/foo-deny-external-egress" in d and "egress" in d for d in details)
