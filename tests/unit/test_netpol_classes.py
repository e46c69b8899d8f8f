"""Pod equivalence classes and whole-cluster reachability (`policy_classes`, `allowed_pairs`).

The matrix and the nca benchmark never evaluate pod pairs one by one: pods that policy cannot tell
apart share a class, and reachability is computed per class pair. These tests pin the grouping and
check, on generated clusters, that the class answer equals the per-pod `PolicyEngine` answer for
every pod pair — the class shortcut must never change a verdict.
"""
from __future__ import annotations

import random

import pytest

from tracer.engine.cluster import ClusterModel
from tracer.engine.model import (
    ClusterObjects,
    Container,
    ContainerPort,
    IPBlock,
    LabelSelector,
    Namespace,
    NetworkPolicy,
    Pod,
    PolicyPeer,
    PolicyPort,
    PolicyRule,
    SelectorRequirement,
)
from tracer.engine.netpol import Peer, PolicyEngine, allowed_pairs, policy_classes


def _pod(ns, name, labels, ip, named=(), host=False, node=""):
    ports = tuple(ContainerPort(num, "TCP", n) for n, num in named)
    return Pod(ns, name, labels, (ip,), node_name=node, host_network=host, containers=(Container("c", ports=ports),))


def test_classes_group_by_namespace_labels_and_named_ports():
    """shop: web-1, web-2 {app=web} http=80 → one class; web-3 {app=web} http=8080 → another (a named
    port resolves differently); pay: web-4 {app=web} → another namespace, another class."""
    pods = [_pod("shop", "web-1", {"app": "web"}, "10.0.0.1", [("http", 80)]),
            _pod("shop", "web-2", {"app": "web"}, "10.0.0.2", [("http", 80)]),
            _pod("shop", "web-3", {"app": "web"}, "10.0.0.3", [("http", 8080)]),
            _pod("pay", "web-4", {"app": "web"}, "10.0.0.4", [("http", 80)]),
            Pod("shop", "done-1", {"app": "web"}, (), phase="Succeeded")]
    m = ClusterModel.build(ClusterObjects(namespaces=[Namespace("shop"), Namespace("pay")], pods=pods))
    classes = policy_classes(m)
    assert sorted(sorted(p.name for p in c.pods) for c in classes) == [["web-1", "web-2"], ["web-3"], ["web-4"]]
    assert policy_classes(m) is classes  # cached per model


LABELS = [{"app": a, "tier": t} for a in ("web", "api", "db") for t in ("front", "back")]


def _selector(rng):
    choice = rng.randrange(5)
    if choice == 0:
        return LabelSelector()
    if choice == 1:
        return LabelSelector({"app": rng.choice(["web", "api", "db"])})
    if choice == 2:
        return LabelSelector({}, (SelectorRequirement("tier", rng.choice(["In", "NotIn"]), ("front",)),))
    if choice == 3:
        return LabelSelector({}, (SelectorRequirement("team", rng.choice(["Exists", "DoesNotExist"])),))
    return LabelSelector({"app": rng.choice(["web", "api"]), "tier": rng.choice(["front", "back"])})


def _peer(rng):
    kind = rng.randrange(5)
    if kind == 0:
        return PolicyPeer(pod_selector=_selector(rng))
    if kind == 1:
        return PolicyPeer(namespace_selector=_selector(rng))
    if kind == 2:
        return PolicyPeer(pod_selector=_selector(rng), namespace_selector=_selector(rng))
    if kind == 3:
        return PolicyPeer(ip_block=IPBlock("192.168.0.0/16", ("192.168.7.0/24",)))
    return PolicyPeer(namespace_selector=LabelSelector({"kubernetes.io/metadata.name": rng.choice(["a", "b"])}))


def _ports(rng):
    return tuple(rng.choice([PolicyPort("TCP", 80), PolicyPort("TCP", "http"), PolicyPort("TCP", 70, 90),
                             PolicyPort("UDP", 53), PolicyPort("TCP", None)]) for _ in range(rng.randrange(3)))


def _cluster(seed: int) -> ClusterModel:
    rng = random.Random(seed)
    nss = [Namespace("a", {"team": "x"}), Namespace("b"), Namespace("c", {"team": "y"})]
    pods = []
    for i in range(40):
        ns = rng.choice(nss).name
        host = rng.random() < 0.1
        ip = f"192.168.{rng.choice([1, 7])}.{i}" if host else f"10.1.{i // 200}.{i % 200}"
        named = [("http", rng.choice([80, 85, 8080]))] if rng.random() < 0.7 else []
        pods.append(_pod(ns, f"p{i}", dict(rng.choice(LABELS)), ip, named, host))
    policies = []
    for k in range(rng.randrange(3, 9)):
        types = rng.choice([("Ingress",), ("Egress",), ("Ingress", "Egress")])
        rules = lambda: tuple(PolicyRule(tuple(_peer(rng) for _ in range(rng.randrange(3))), _ports(rng))  # noqa: E731
                              for _ in range(rng.randrange(3)))
        policies.append(NetworkPolicy(rng.choice(nss).name, f"np{k}", _selector(rng), types, rules(), rules()))
    return ClusterModel.build(ClusterObjects(namespaces=nss, pods=pods, network_policies=policies))


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("port,proto", [(80, "TCP"), (85, "TCP"), (53, "UDP"), (8080, "TCP")])
def test_class_reachability_equals_per_pod_evaluation(seed, port, proto):
    """Generated cluster (3 namespaces, 40 pods incl. hostNetwork ones, 3–8 random policies with
    selectors, matchExpressions, AND/OR peers, ipBlock+except, named ports, endPort): for every
    ordered pair of distinct pods, allowed_pairs(...) == egress AND ingress of PolicyEngine."""
    m = _cluster(seed)
    reach = allowed_pairs(m, port, proto)
    eng = PolicyEngine(m)
    pods = m.objects.pods
    mismatches = []
    for a in pods:
        for b in pods:
            if a is b:
                continue
            s, d = Peer.of_pod(a), Peer.of_pod(b)
            want = eng.egress(s, d, port, proto).allowed and eng.ingress(s, d, port, proto).allowed
            if reach.allowed_pods(a, b) != want:
                mismatches.append((a.key, b.key, want))
    assert not mismatches, mismatches[:5]


def test_counts_and_not_enforced():
    """Two pods per class in shop; default deny on db: web→web and db→web allowed, nothing into db."""
    pods = [_pod("shop", f"{app}-{i}", {"app": app}, f"10.0.{j}.{i}") for j, app in enumerate(["web", "db"])
            for i in range(2)]
    deny = NetworkPolicy("shop", "db-deny", LabelSelector({"app": "db"}), ("Ingress",))
    m = ClusterModel.build(ClusterObjects(namespaces=[Namespace("shop")], pods=pods, network_policies=[deny]))
    reach = allowed_pairs(m, 80)
    # 4 pods: 12 ordered distinct pairs; the 4 web→db and the 2 db→db (other pod) pairs are denied
    assert reach.count_pod_pairs() == 12 - 4 - 2
    assert allowed_pairs(m, 80, enforced=False).count_pod_pairs() == 12
