"""Every endpoint left out of a Service's choice is listed with why (issue 13 item 8, `excluded_endpoints`).

Topology:
    ns shop: [pod front 10.244.1.5 @n1]
             svc cart 10.96.0.20:80 → targetPort "http" (named), selector app=cart
               cart-0 @n1 ready; cart-canary @n2 not ready; cart-old @n2 terminating (serving);
               cart-noport @n1 matches the selector but declares no port named "http"
             svc local 10.96.0.30:80 NodePort 30080, externalTrafficPolicy Local → local-0 @n2
"""
from __future__ import annotations

from tests.unit.conftest import build, eps, node, pod, svc


def cluster():
    return build(
        node("n1", "172.20.0.1", "z1", "10.244.1.0/24"), node("n2", "172.20.0.2", "z1", "10.244.2.0/24"),
        pod("shop", "front", "10.244.1.5", "n1", {"app": "front"}),
        pod("shop", "cart-0", "10.244.1.6", "n1", {"app": "cart"}, ports=[(8080, "TCP", "http")]),
        pod("shop", "cart-canary", "10.244.2.6", "n2", {"app": "cart"}, ports=[(8080, "TCP", "http")], ready=False),
        pod("shop", "cart-old", "10.244.2.7", "n2", {"app": "cart"}, ports=[(8080, "TCP", "http")], deleting=True),
        pod("shop", "cart-noport", "10.244.1.8", "n1", {"app": "cart"}, ports=[(9090, "TCP", "metrics")]),
        svc("shop", "cart", "10.96.0.20", [(80, "http", "TCP", "web")], selector={"app": "cart"}),
        eps("shop", "cart", [("10.244.1.6", "n1", "cart-0"),
                             ("10.244.2.6", "n2", "cart-canary", {"ready": False, "serving": False}),
                             ("10.244.2.7", "n2", "cart-old", {"ready": False, "serving": True, "terminating": True})],
            [("web", 8080, "TCP")]),
        pod("shop", "local-0", "10.244.2.9", "n2", {"app": "local"}, ports=[(80, "TCP", "http")]),
        svc("shop", "local", "10.96.0.30", [(80, 80, "TCP", "http", 30080)], type="NodePort",
            selector={"app": "local"}, external_traffic_policy="Local"),
        eps("shop", "local", [("10.244.2.9", "n2", "local-0")], [("http", 80, "TCP")]),
    )


def test_each_left_out_endpoint_is_listed_with_its_reason(trace_dict):
    r = trace_dict(cluster(), "pod:shop/front", "svc:shop/cart", port=80)
    assert {p["endpoint"] for p in r["paths"] if p["verdict"] == "delivered"} == {"pod:shop/cart-0"}
    got = {e["endpoint"]: e["reason"] for e in r["excluded_endpoints"]}
    assert got == {"pod:shop/cart-canary": "not-ready", "pod:shop/cart-old": "terminating",
                   "pod:shop/cart-noport": "named-port-missing"}
    for e in r["excluded_endpoints"]:
        assert e["service"] == "shop/cart" and e["ref"]["kind"] == "pod" and e["detail"]
    assert "'http'" in next(e["detail"] for e in r["excluded_endpoints"] if e["reason"] == "named-port-missing")


def test_a_local_policy_lists_the_endpoints_on_other_nodes(trace_dict):
    r = trace_dict(cluster(), "external:203.0.113.9", "ip:172.20.0.1", port=30080)
    assert r["reason"] == "no-local-endpoints"
    assert [(e["endpoint"], e["reason"]) for e in r["excluded_endpoints"]] == [("pod:shop/local-0", "other-node")]
    assert "node n1" in r["excluded_endpoints"][0]["detail"]


def test_nothing_left_out_writes_no_field(trace_dict):
    r = trace_dict(cluster(), "pod:shop/front", "svc:shop/local", port=80)
    assert "excluded_endpoints" not in r


def test_round_trip():
    from tracer.engine.assumptions import Assumptions
    from tracer.engine.flow import make_flow
    from tracer.engine.result import TraceResult
    from tracer.engine.trace import trace
    res = trace(cluster(), make_flow("pod:shop/front", "svc:shop/cart", 80, None, None), Assumptions())
    assert TraceResult.from_dict(res.to_dict()).to_dict() == res.to_dict()


def test_the_text_output_lists_them():
    from tracer.engine.assumptions import Assumptions
    from tracer.engine.flow import make_flow
    from tracer.engine.render import render_text
    from tracer.engine.trace import trace
    res = trace(cluster(), make_flow("pod:shop/front", "svc:shop/cart", 80, None, None), Assumptions())
    text = render_text(res)
    assert "endpoints left out:" in text and "pod:shop/cart-canary (shop/cart): not-ready" in text


def test_a_headless_services_not_ready_pod_is_listed(trace_dict):
    from tests.unit.conftest import build, eps, node, pod, svc
    m = build(
        node("n1", "172.20.0.1", "z1", "10.244.1.0/24"),
        pod("shop", "front", "10.244.1.5", "n1", {"app": "front"}),
        pod("shop", "db-0", "10.244.1.7", "n1", {"app": "db"}, ports=[(5432, "TCP", "pg")]),
        pod("shop", "db-1", "10.244.1.8", "n1", {"app": "db"}, ports=[(5432, "TCP", "pg")], ready=False),
        svc("shop", "db", "None", [(5432, 5432, "TCP", "pg")], selector={"app": "db"}),
        eps("shop", "db", [("10.244.1.7", "n1", "db-0"), ("10.244.1.8", "n1", "db-1", {"ready": False})],
            [("pg", 5432, "TCP")]),
    )
    r = trace_dict(m, "pod:shop/front", "svc:shop/db", port=5432)
    assert [(e["endpoint"], e["reason"]) for e in r["excluded_endpoints"]] == [("pod:shop/db-1", "not-ready")]
