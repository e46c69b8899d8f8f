"""NetworkPolicy rules E1–E11 (docs/semantics.md §E), one parametrised table per rule.

Every table runs on small hand-built models; each row's id says what it shows and the table's
docstring sketches the topology. Pods: name@namespace {labels} ip [named ports].
"""
from __future__ import annotations

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
    Node,
    Pod,
    PolicyPeer,
    PolicyPort,
    PolicyRule,
    SelectorRequirement,
)
from tracer.engine.netpol import (
    Connections,
    Peer,
    PolicyEngine,
    effective_policy_types,
    policies_selecting,
    policy_engine,
)

# ---------------------------------------------------------------------------------------------
# builders


def sel(**labels) -> LabelSelector:
    return LabelSelector(dict(labels))


def pod(ns, name, labels=None, ip="10.0.0.1", ports=(), node="node-a", host_network=False) -> Pod:
    cps = tuple(ContainerPort(num, proto, pname) for pname, num, proto in ports)
    return Pod(ns, name, dict(labels or {}), (ip,), node_name=node, host_network=host_network,
               containers=(Container("main", ports=cps),))


def pol(ns, name, selector=None, types=("Ingress",), ingress=(), egress=()) -> NetworkPolicy:
    return NetworkPolicy(ns, name, selector or LabelSelector(), tuple(types), tuple(ingress), tuple(egress))


def rule(*peers, ports=()) -> PolicyRule:
    return PolicyRule(tuple(peers), tuple(ports))


def peer(pods=None, nss=None, cidr=None, except_=()) -> PolicyPeer:
    return PolicyPeer(pods, nss, IPBlock(cidr, tuple(except_)) if cidr else None)


def port(p=None, proto="TCP", end=None) -> PolicyPort:
    return PolicyPort(proto, p, end)


NAMESPACES = [Namespace("shop", {"team": "web"}), Namespace("pay", {"team": "money"}),
              Namespace("ops", {"team": "ops", "monitoring": "true"})]


def model(pods, policies, nodes=()) -> ClusterModel:
    return ClusterModel.build(ClusterObjects(namespaces=list(NAMESPACES), nodes=list(nodes), pods=list(pods),
                                             network_policies=list(policies)))


def verdicts(m: ClusterModel, src: Pod, dst: Pod, p=80, proto="TCP", **kw):
    eng = PolicyEngine(m, **kw)
    s, d = Peer.of_pod(src), Peer.of_pod(dst)
    return eng.egress(s, d, p, proto), eng.ingress(s, d, p, proto)


FRONT = pod("shop", "front-1", {"app": "front"}, "10.0.1.1")
CART = pod("shop", "cart-1", {"app": "cart"}, "10.0.1.2", ports=[("http", 8080, "TCP")])
LEDGER = pod("pay", "ledger-1", {"app": "ledger"}, "10.0.2.1", ports=[("grpc", 9090, "TCP")])
PROM = pod("ops", "prom-1", {"app": "prom"}, "10.0.3.1")

# ---------------------------------------------------------------------------------------------
# E2 / E3: isolation


E2_CASES = [
    ("ingress-policy-isolates-ingress-only", [pol("shop", "p", sel(app="cart"), ("Ingress",))], (False, True)),
    ("egress-policy-isolates-egress-only", [pol("shop", "p", sel(app="cart"), ("Egress",))], (True, False)),
    ("both-types", [pol("shop", "p", sel(app="cart"), ("Ingress", "Egress"))], (True, True)),
    ("selector-misses-pod", [pol("shop", "p", sel(app="front"), ("Ingress", "Egress"))], (False, False)),
    ("other-namespace-never-isolates", [pol("pay", "p", LabelSelector(), ("Ingress", "Egress"))], (False, False)),
    ("E3-absent-types-with-egress-rules", [pol("shop", "p", sel(app="cart"), (), egress=[rule()])], (True, True)),
    ("E3-absent-types-without-egress", [pol("shop", "p", sel(app="cart"), (), ingress=[rule()])], (False, True)),
]


@pytest.mark.parametrize("policies,isolated", [c[1:] for c in E2_CASES], ids=[c[0] for c in E2_CASES])
def test_e2_isolation(policies, isolated):
    """[pod cart-1@shop {app=cart}]: which directions a policy isolates (egress, ingress).

    A policy isolates only pods of its own namespace that its podSelector selects, and only for the
    directions in policyTypes (E3 defaults: Ingress, plus Egress when there are egress rules).
    """
    m = model([CART, FRONT], policies)
    eng = PolicyEngine(m)
    eg = eng.egress(Peer.of_pod(CART), Peer.of_pod(FRONT), 80, "TCP")
    ing = eng.ingress(Peer.of_pod(FRONT), Peer.of_pod(CART), 80, "TCP")
    assert (eg.isolated, ing.isolated) == isolated
    for d in (eg, ing):
        if not d.isolated:
            assert d.allowed and "E2" in d.detail and d.policies == ()


def test_e3_effective_policy_types():
    assert effective_policy_types(pol("a", "b", types=(), egress=[rule()])) == ("Ingress", "Egress")
    assert effective_policy_types(pol("a", "b", types=())) == ("Ingress",)
    assert effective_policy_types(pol("a", "b", types=("Egress",))) == ("Egress",)


# ---------------------------------------------------------------------------------------------
# E4 / E6: rules


E6_CASES = [
    ("no-rules-denies-all", [pol("shop", "deny", sel(app="cart"))], 8080, False, None),
    ("empty-rule-allows-all", [pol("shop", "all", sel(app="cart"), ingress=[rule()])], 8080, True, "shop/all rule #1"),
    ("peers-and-ports-both-match", [pol("shop", "p", sel(app="cart"),
                                        ingress=[rule(peer(sel(app="front")), ports=[port(8080)])])],
     8080, True, "shop/p rule #1"),
    ("peer-matches-port-does-not", [pol("shop", "p", sel(app="cart"),
                                        ingress=[rule(peer(sel(app="front")), ports=[port(9090)])])],
     8080, False, None),
    ("port-matches-peer-does-not", [pol("shop", "p", sel(app="cart"),
                                        ingress=[rule(peer(sel(app="other")), ports=[port(8080)])])],
     8080, False, None),
    ("ports-only-rule-any-peer", [pol("shop", "p", sel(app="cart"), ingress=[rule(ports=[port(8080)])])],
     8080, True, "shop/p rule #1"),
    ("E4-union-deny-plus-allow", [pol("shop", "deny", sel(app="cart")),
                                  pol("shop", "allow", sel(app="cart"), ingress=[rule(peer(sel(app="front")))])],
     8080, True, "shop/allow rule #1"),
    ("E4-second-rule-allows", [pol("shop", "p", sel(app="cart"), ingress=[
        rule(peer(sel(app="nobody"))), rule(peer(sel(app="front")), ports=[port(8080)])])],
     8080, True, "shop/p rule #2"),
]


@pytest.mark.parametrize("policies,p,allowed,by", [c[1:] for c in E6_CASES], ids=[c[0] for c in E6_CASES])
def test_e6_rules(policies, p, allowed, by):
    """[pod front-1@shop {app=front}] —TCP p→ [pod cart-1@shop {app=cart}]: cart's ingress policies.

    Within a rule peers AND ports; empty peers/ports match everything; rules and policies are
    ORed (E4); a selected pod with no rule allowing it is denied.
    """
    _, ing = verdicts(model([FRONT, CART], policies), FRONT, CART, p)
    assert ing.allowed is allowed
    assert ing.allowed_by == by
    assert ing.isolated and set(ing.policies) == {x.key for x in policies}


def test_denial_names_policy_and_field_to_change():
    """[front-1] —TCP 8080→ [cart-1], cart's only rule allows port 9090 from front:
    the detail names the policy, the rule and the ports field to extend."""
    p = pol("shop", "cart-in", sel(app="cart"), ingress=[rule(peer(sel(app="front")), ports=[port(9090)])])
    _, ing = verdicts(model([FRONT, CART], [p]), FRONT, CART, 8080)
    assert not ing.allowed and ing.policy_allowed is False
    assert "NetworkPolicy shop/cart-in" in ing.detail and "pod shop/cart-1" in ing.detail
    assert "spec.ingress[0].ports" in ing.detail and "TCP 8080" in ing.detail


def test_denial_without_matching_peer_proposes_a_from_item():
    """[prom-1@ops] —TCP 8080→ [cart-1@shop] under default deny: propose namespace + pod selectors."""
    p = pol("shop", "deny", sel(app="cart"))
    _, ing = verdicts(model([PROM, CART], [p]), PROM, CART, 8080)
    assert "add a spec.ingress rule to NetworkPolicy shop/deny" in ing.detail
    assert "kubernetes.io/metadata.name: ops" in ing.detail and "app: prom" in ing.detail


# ---------------------------------------------------------------------------------------------
# E7: peers


E7_CASES = [
    # (id, peers of cart's single ingress rule, source pod, allowed)
    ("podSelector-alone-same-namespace", [peer(sel(app="front"))], FRONT, True),
    ("podSelector-alone-not-other-namespace", [peer(sel(app="prom"))], PROM, False),
    ("empty-podSelector-whole-own-namespace", [peer(LabelSelector())], FRONT, True),
    ("empty-podSelector-not-other-namespace", [peer(LabelSelector())], PROM, False),
    ("namespaceSelector-alone", [peer(nss=sel(team="ops"))], PROM, True),
    ("namespaceSelector-alone-miss", [peer(nss=sel(team="money"))], PROM, False),
    ("namespaceSelector-empty-all-namespaces", [peer(nss=LabelSelector())], LEDGER, True),
    ("namespace-by-metadata-name", [peer(nss=sel(**{"kubernetes.io/metadata.name": "ops"}))], PROM, True),
    ("AND-both-match", [peer(sel(app="prom"), sel(team="ops"))], PROM, True),
    ("AND-namespace-matches-pod-not", [peer(sel(app="other"), sel(team="ops"))], PROM, False),
    ("AND-pod-matches-namespace-not", [peer(sel(app="prom"), sel(team="web"))], PROM, False),
    ("OR-separate-items", [peer(sel(app="other")), peer(nss=sel(team="ops"))], PROM, True),
    ("matchExpressions-In", [peer(LabelSelector({}, (SelectorRequirement("app", "In", ("front", "x")),)))],
     FRONT, True),
    ("matchExpressions-NotIn", [peer(LabelSelector({}, (SelectorRequirement("app", "NotIn", ("front",)),)))],
     FRONT, False),
    ("matchExpressions-Exists", [peer(LabelSelector({}, (SelectorRequirement("app", "Exists"),)))], FRONT, True),
    ("matchExpressions-DoesNotExist",
     [peer(LabelSelector({}, (SelectorRequirement("app", "DoesNotExist"),)))], FRONT, False),
    ("ipBlock-never-matches-a-pod (impl)", [peer(cidr="10.0.0.0/8")], FRONT, False),
]


@pytest.mark.parametrize("peers,src,allowed", [c[1:] for c in E7_CASES], ids=[c[0] for c in E7_CASES])
def test_e7_peers(peers, src, allowed):
    """[src pod] —TCP 8080→ [pod cart-1@shop {app=cart}], cart ingress: from: <peers>.

    Namespaces: shop {team=web} (front-1, cart-1), pay {team=money} (ledger-1),
    ops {team=ops, monitoring=true} (prom-1).
    """
    p = pol("shop", "cart-in", sel(app="cart"), ingress=[rule(*peers)])
    _, ing = verdicts(model([FRONT, CART, LEDGER, PROM], [p]), src, CART, 8080)
    assert ing.allowed is allowed


IPBLOCK_CASES = [
    ("inside-cidr", "203.0.113.9", [peer(cidr="203.0.113.0/24")], True),
    ("outside-cidr", "198.51.100.1", [peer(cidr="203.0.113.0/24")], False),
    ("in-except", "203.0.113.130", [peer(cidr="203.0.113.0/24", except_=["203.0.113.128/25"])], False),
    ("beside-except", "203.0.113.5", [peer(cidr="203.0.113.0/24", except_=["203.0.113.128/25"])], True),
    ("ipv6-block-ipv4-client", "203.0.113.9", [peer(cidr="2001:db8::/32")], False),
    ("ipv6-client", "2001:db8::7", [peer(cidr="2001:db8::/32")], True),
    ("all-but-private", "8.8.8.8", [peer(cidr="0.0.0.0/0", except_=["10.0.0.0/8", "192.168.0.0/16"])], True),
]


@pytest.mark.parametrize("client,peers,allowed", [c[1:] for c in IPBLOCK_CASES], ids=[c[0] for c in IPBLOCK_CASES])
def test_e7_ipblock(client, peers, allowed):
    """[external client] —TCP 80→ [pod cart-1@shop]: ipBlock = CIDR minus except."""
    p = pol("shop", "cart-in", sel(app="cart"), ingress=[rule(*peers)])
    eng = PolicyEngine(model([CART], [p]))
    assert eng.ingress(Peer(None, client), Peer.of_pod(CART), 80, "TCP").allowed is allowed


def test_e7_ipblock_vs_pod_ips_is_an_assumption_that_can_be_switched():
    """[front-1 10.0.1.1] —→ [cart-1] with from: ipBlock 10.0.0.0/8. By default (the nca oracle's
    reading) an ipBlock never matches a pod, and the decision says so; Calico-like matching is opt-in."""
    p = pol("shop", "cart-in", sel(app="cart"), ingress=[rule(peer(cidr="10.0.0.0/8"))])
    m = model([FRONT, CART], [p])
    _, ing = verdicts(m, FRONT, CART)
    assert not ing.allowed and any("ipBlock" in a and "impl" in a for a in ing.assumptions)
    _, ing = verdicts(m, FRONT, CART, ipblock_matches_pods=True)
    assert ing.allowed


# ---------------------------------------------------------------------------------------------
# E8: ports


E8_CASES = [
    # (id, ports of the rule, probe port, protocol, allowed)
    ("numeric", [port(8080)], 8080, "TCP", True),
    ("numeric-other", [port(8080)], 8081, "TCP", False),
    ("protocol-defaults-to-TCP", [PolicyPort(port=8080)], 8080, "TCP", True),
    ("TCP-rule-UDP-packet", [port(8080)], 8080, "UDP", False),
    ("UDP-rule", [port(53, "UDP")], 53, "UDP", True),
    ("SCTP-rule", [port(7070, "SCTP")], 7070, "SCTP", True),
    ("protocol-without-port-all-ports", [port(None, "UDP")], 40000, "UDP", True),
    ("endPort-lower-bound", [port(8000, end=8100)], 8000, "TCP", True),
    ("endPort-inclusive-upper", [port(8000, end=8100)], 8100, "TCP", True),
    ("endPort-just-above", [port(8000, end=8100)], 8101, "TCP", False),
    ("named-port-resolved-on-destination", [port("http")], 8080, "TCP", True),
    ("named-port-other-number", [port("http")], 9090, "TCP", False),
    ("named-port-protocol-must-match", [port("http", "UDP")], 8080, "UDP", False),
    ("named-port-unknown-name", [port("metrics")], 8080, "TCP", False),
    ("any-of-several", [port(22), port("http")], 8080, "TCP", True),
]


@pytest.mark.parametrize("ports,p,proto,allowed", [c[1:] for c in E8_CASES], ids=[c[0] for c in E8_CASES])
def test_e8_ports_ingress(ports, p, proto, allowed):
    """[front-1] —proto p→ [cart-1 {app=cart} port http=8080/TCP], cart ingress: ports: <ports>.
    Named ports resolve on the protected (destination) pod."""
    pl = pol("shop", "cart-in", sel(app="cart"), ingress=[rule(ports=ports)])
    _, ing = verdicts(model([FRONT, CART], [pl]), FRONT, CART, p, proto)
    assert ing.allowed is allowed


def test_e8_named_port_in_egress_resolves_on_the_peer_pod():
    """[front-1] —TCP→ [cart-1 http=8080] and [ledger-1 grpc=9090], front egress: to any, port: http.
    'http' is looked up on each destination: 8080 on cart is allowed; ledger has no 'http'."""
    pl = pol("shop", "front-out", sel(app="front"), ("Egress",), egress=[rule(ports=[port("http")])])
    m = model([FRONT, CART, LEDGER], [pl])
    eng = PolicyEngine(m)
    assert eng.egress(Peer.of_pod(FRONT), Peer.of_pod(CART), 8080, "TCP").allowed
    assert not eng.egress(Peer.of_pod(FRONT), Peer.of_pod(LEDGER), 9090, "TCP").allowed
    assert not eng.egress(Peer.of_pod(FRONT), Peer.of_pod(LEDGER), 8080, "TCP").allowed


def test_e8_named_port_never_matches_a_non_pod_destination():
    """[front-1] —TCP 8080→ 203.0.113.9 (outside): egress port 'http' has no pod to resolve on."""
    pl = pol("shop", "front-out", sel(app="front"), ("Egress",), egress=[rule(ports=[port("http")])])
    eng = PolicyEngine(model([FRONT, CART], [pl]))
    assert not eng.egress(Peer.of_pod(FRONT), Peer(None, "203.0.113.9"), 8080, "TCP").allowed


# ---------------------------------------------------------------------------------------------
# E9: idioms

DNS = pod("kube-system", "coredns-1", {"k8s-app": "kube-dns"}, "10.0.9.9",
          ports=[("dns", 53, "UDP"), ("dns-tcp", 53, "TCP")])
DNS_PEER = peer(sel(**{"k8s-app": "kube-dns"}), sel(**{"kubernetes.io/metadata.name": "kube-system"}))

E9_CASES = [
    # (id, policies in shop, src, dst, port, proto, allowed)
    ("default-deny-ingress", [pol("shop", "deny", LabelSelector(), ("Ingress",))], FRONT, CART, 8080, "TCP", False),
    ("allow-all-ingress", [pol("shop", "deny", LabelSelector(), ("Ingress",)),
                           pol("shop", "all", LabelSelector(), ("Ingress",), ingress=[rule()])],
     PROM, CART, 8080, "TCP", True),
    ("default-deny-egress-blocks-DNS", [pol("shop", "deny-out", LabelSelector(), ("Egress",))],
     FRONT, DNS, 53, "UDP", False),
    ("default-deny-egress-blocks-DNS-over-TCP", [pol("shop", "deny-out", LabelSelector(), ("Egress",))],
     FRONT, DNS, 53, "TCP", False),
    ("allow-DNS-egress", [pol("shop", "deny-out", LabelSelector(), ("Egress",)),
                          pol("shop", "dns", LabelSelector(), ("Egress",),
                              egress=[rule(DNS_PEER, ports=[port(53, "UDP"), port(53, "TCP")])])],
     FRONT, DNS, 53, "UDP", True),
    ("allow-DNS-egress-still-blocks-the-app", [pol("shop", "deny-out", LabelSelector(), ("Egress",)),
                                               pol("shop", "dns", LabelSelector(), ("Egress",),
                                                   egress=[rule(DNS_PEER, ports=[port(53, "UDP")])])],
     FRONT, CART, 8080, "TCP", False),
    ("allow-all-egress", [pol("shop", "all-out", LabelSelector(), ("Egress",), egress=[rule()])],
     FRONT, DNS, 53, "UDP", True),
]


@pytest.mark.parametrize("policies,src,dst,p,proto,allowed", [c[1:] for c in E9_CASES], ids=[c[0] for c in E9_CASES])
def test_e9_idioms(policies, src, dst, p, proto, allowed):
    """Namespace shop (front-1, cart-1), kube-system (coredns-1 {k8s-app=kube-dns} dns 53/UDP+TCP):
    default deny (`podSelector: {}` + policyTypes only), allow-all (`ingress: [{}]`), and
    default-deny egress, which also blocks the DNS query unless a rule allows port 53."""
    eg, ing = verdicts(model([FRONT, CART, PROM, DNS], policies), src, dst, p, proto)
    assert (eg.allowed and ing.allowed) is allowed


def test_e9_dns_denial_says_dns_is_blocked():
    """[front-1] —UDP 53→ [coredns-1] under default-deny egress: the detail explains DNS."""
    eg, _ = verdicts(model([FRONT, DNS], [pol("shop", "deny-out", LabelSelector(), ("Egress",))]), FRONT, DNS, 53, "UDP")
    assert not eg.allowed and "DNS" in eg.detail and "shop/deny-out" in eg.detail
    assert "k8s-app: kube-dns" in eg.detail and "UDP 53" in eg.detail


# ---------------------------------------------------------------------------------------------
# E11 and E1

NODE_A = Node("node-a", addresses=(("InternalIP", "192.168.0.10"),))
NODE_B = Node("node-b", addresses=(("InternalIP", "192.168.0.11"),))
KUBELET_PROBE_TARGET = pod("shop", "cart-1", {"app": "cart"}, "10.0.1.2", node="node-a")
HOSTNET_A = pod("kube-system", "agent-a", {"app": "agent"}, "192.168.0.10", node="node-a", host_network=True)
HOSTNET_B = pod("kube-system", "agent-b", {"app": "agent"}, "192.168.0.11", node="node-b", host_network=True)

E11_CASES = [
    ("own-node-by-name", Peer(None, "192.168.0.10", "node-a"), True),
    ("own-node-by-ip", Peer(None, "192.168.0.10"), True),
    ("other-node", Peer(None, "192.168.0.11", "node-b"), False),
    ("hostNetwork-pod-on-own-node", Peer.of_pod(HOSTNET_A), True),
    ("hostNetwork-pod-on-other-node", Peer.of_pod(HOSTNET_B), False),
    ("external-client", Peer(None, "203.0.113.9"), False),
    ("the-pod-itself", Peer.of_pod(KUBELET_PROBE_TARGET), True),
]


@pytest.mark.parametrize("src,allowed", [c[1:] for c in E11_CASES], ids=[c[0] for c in E11_CASES])
def test_e11_node_and_self(src, allowed):
    """[node-a 192.168.0.10] ⊃ [pod cart-1 10.0.1.2], [node-b 192.168.0.11]; cart is default-deny
    ingress. Its own node (kubelet probes, hostNetwork pods there) and itself still get in; the
    decision keeps what the policies alone say (`policy_allowed` False)."""
    m = model([KUBELET_PROBE_TARGET, HOSTNET_A, HOSTNET_B], [pol("shop", "deny", LabelSelector())],
              nodes=[NODE_A, NODE_B])
    ing = PolicyEngine(m).ingress(src, Peer.of_pod(KUBELET_PROBE_TARGET), 8080, "TCP")
    assert ing.allowed is allowed
    assert ing.policy_allowed is False
    if allowed:
        assert "E11" in ing.detail and "shop/deny" in ing.detail


def test_e11_own_node_known_only_by_the_pods_host_ip():
    """No Node objects imported; [cart-1 hostIP 192.168.0.10] ← 192.168.0.10 is still its node."""
    cart = Pod("shop", "cart-1", {"app": "cart"}, ("10.0.1.2",), node_name="node-a", host_ip="192.168.0.10")
    eng = PolicyEngine(model([cart], [pol("shop", "deny", LabelSelector())]))
    assert eng.ingress(Peer(None, "192.168.0.10"), Peer.of_pod(cart), 8080, "TCP").allowed
    assert not eng.ingress(Peer(None, "192.168.0.11"), Peer.of_pod(cart), 8080, "TCP").allowed


def test_e11_pod_reaches_itself_despite_default_deny_egress():
    """[cart-1] —TCP 8080→ [cart-1] with default-deny egress and ingress in shop: allowed (E11)."""
    m = model([CART], [pol("shop", "deny", LabelSelector(), ("Ingress", "Egress"))])
    eg, ing = verdicts(m, CART, CART, 8080)
    assert eg.allowed and ing.allowed and eg.policy_allowed is False


def test_hostnetwork_pods_are_their_node_by_default():
    """[agent-a hostNetwork] is not isolated by a kube-system default deny, and a podSelector peer
    does not match it (its packets carry the node IP); the nca reading is opt-in."""
    deny = pol("kube-system", "deny", LabelSelector(), ("Ingress", "Egress"))
    allow_agent = pol("shop", "from-agent", sel(app="cart"), ingress=[rule(peer(sel(app="agent"), LabelSelector()))])
    m = model([HOSTNET_A, HOSTNET_B, CART], [deny, allow_agent], nodes=[NODE_A, NODE_B])
    eng = PolicyEngine(m)
    assert eng.egress(Peer.of_pod(HOSTNET_B), Peer.of_pod(CART), 8080, "TCP").allowed
    d = eng.ingress(Peer.of_pod(HOSTNET_B), Peer.of_pod(CART), 8080, "TCP")
    assert not d.allowed and any("hostNetwork" in a for a in d.assumptions)
    as_pods = PolicyEngine(m, host_network_as_node=False)
    assert not as_pods.egress(Peer.of_pod(HOSTNET_B), Peer.of_pod(CART), 8080, "TCP").allowed
    assert as_pods.ingress(Peer.of_pod(HOSTNET_B), Peer.of_pod(CART), 8080, "TCP").allowed


def test_e1_not_enforced_allows_everything_and_says_so():
    """[front-1] —→ [cart-1] under default deny, CNI without NetworkPolicy support: allowed, stated."""
    m = model([FRONT, CART], [pol("shop", "deny", LabelSelector(), ("Ingress", "Egress"))])
    eg, ing = verdicts(m, FRONT, CART, enforced=False)
    assert eg.allowed and ing.allowed and not ing.isolated
    assert "cni_enforces_policy=false" in ing.detail and ing.assumptions


# ---------------------------------------------------------------------------------------------
# interface: caching, policies_selecting, connection sets


def test_policy_engine_is_compiled_once_per_model():
    m = model([CART], [])
    assert policy_engine(m) is policy_engine(m)
    assert policy_engine(m, enforced=False) is not policy_engine(m)


def test_policies_selecting_lists_every_direction():
    """[cart-1@shop]: an ingress policy and an egress policy select it; one in pay does not."""
    a = pol("shop", "in", sel(app="cart"))
    b = pol("shop", "out", LabelSelector(), ("Egress",))
    c = pol("pay", "x", LabelSelector())
    assert [p.key for p in policies_selecting(model([CART], [a, b, c]), CART)] == ["shop/in", "shop/out"]


def test_connections_intersect_egress_and_ingress():
    """[front-1] egress: TCP 8000-8100 and UDP 53; [cart-1] ingress: TCP 8080 and 9000-9999.
    Together: only TCP 8080."""
    out = pol("shop", "out", sel(app="front"), ("Egress",), egress=[rule(ports=[port(8000, end=8100), port(53, "UDP")])])
    inn = pol("shop", "in", sel(app="cart"), ingress=[rule(ports=[port("http"), port(9000, end=9999)])])
    eng = PolicyEngine(model([FRONT, CART], [out, inn]))
    conns = eng.connections(Peer.of_pod(FRONT), Peer.of_pod(CART))
    assert conns == Connections.of({"TCP": [(8080, 8080)]})
    assert conns.allows(8080) and not conns.allows(8081) and not conns.allows(53, "UDP")
    assert eng.connections(Peer.of_pod(CART), Peer.of_pod(FRONT)) == Connections.everything()
