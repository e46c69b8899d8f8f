"""Hop order (issue 13 item 7): egress NetworkPolicy is enforced at the source, before the packet leaves its
node, so an egress hop (allow or deny) comes before "node forward"; ingress comes after it.

Topology: shop_model (tests/unit/test_trace.py): front-0 on n1, cart-0 on n1, cart-1 on n2, web-0 on n2.
"""
from __future__ import annotations

import pytest

from tests.unit.conftest import policy, rule
from tests.unit.test_trace import shop_model

DENY_FRONT_EGRESS = policy("shop", "front-no-egress", {"app": "front"}, types=("Egress",),
                           egress=[rule(namespaces={"kubernetes.io/metadata.name": "kube-system"},
                                        ports=[(53, "UDP")])])
ALLOW_FRONT_EGRESS = policy("shop", "front-egress-all", {"app": "front"}, types=("Egress",), egress=[rule()])
DENY_WEB_INGRESS = policy("shop", "web-from-nobody", {"app": "web"})


def _kinds(path):
    return [(h["kind"], h["action"]) for h in path["hops"]]


def _position(path, kind, action_prefix):
    return next(i for i, h in enumerate(path["hops"]) if h["kind"] == kind and h["action"].startswith(action_prefix))


@pytest.mark.parametrize("dest,port", [("svc:shop/cart", 80), ("dns:web", 80), ("ip:10.244.2.7", 8080)])
def test_an_egress_denial_ends_the_path_before_the_packet_leaves_the_node(trace_dict, dest, port):
    r = trace_dict(shop_model(DENY_FRONT_EGRESS), "pod:shop/front-0", dest, port=port)
    denied = [p for p in r["paths"] if p["reason"] == "policy-egress-denied"]
    assert denied
    for p in denied:
        assert ("node", "forward") not in _kinds(p), _kinds(p)
        assert p["hops"][-1]["kind"] == "network-policy" and p["hops"][-1]["action"] == "egress-deny"


def test_egress_then_forward_then_ingress(trace_dict):
    r = trace_dict(shop_model(ALLOW_FRONT_EGRESS, DENY_WEB_INGRESS), "pod:shop/front-0", "ip:10.244.2.7", port=8080)
    (p,) = r["paths"]
    assert p["reason"] == "policy-ingress-denied"
    egress, forward = _position(p, "network-policy", "egress"), _position(p, "node", "forward")
    ingress = _position(p, "network-policy", "ingress")
    assert egress < forward < ingress == len(p["hops"]) - 1


def test_every_drop_is_the_last_hop_and_egress_precedes_forward_on_every_path(trace_dict):
    m = shop_model(DENY_FRONT_EGRESS, DENY_WEB_INGRESS)
    for src in ("pod:shop/front-0", "pod:shop/front-1", "pod:shop/cart-0"):
        for dest, port in (("svc:shop/cart", 80), ("svc:shop/web", 80), ("ip:10.244.2.6", 7070)):
            for p in trace_dict(m, src, dest, port=port)["paths"]:
                kinds = _kinds(p)
                if ("node", "forward") in kinds and any(k == "network-policy" and a.startswith("egress")
                                                        for k, a in kinds):
                    assert _position(p, "network-policy", "egress") < _position(p, "node", "forward")
                if p["verdict"] == "dropped" and p["reason"].startswith("policy-"):
                    assert p["hops"][-1]["kind"] == "network-policy"
