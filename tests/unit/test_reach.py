"""Reachability matrix planning and cells (tracer/engine/reach.py), on hand-made models, no database.

    nodes n1, n2
    shop:  [pod web-1 @n1] [pod web-2 @n2]  (app=web)      [pod cart-1 @n1] (app=cart, :7070 "http")
    svc/shop/cart:80 → targetPort http
"""
from __future__ import annotations

import pytest

from tracer.engine import reach

from .conftest import build, eps, node, pod, policy, rule, svc

N1, N2 = node("n1", "172.18.0.2", zone="a"), node("n2", "172.18.0.3", zone="b")


def shop(*, itp: str = "Cluster", extra=(), cart_policy: bool = False, web_labels=None):
    objs = [
        N1, N2,
        pod("shop", "web-1", "10.244.1.10", "n1", web_labels or {"app": "web"}),
        pod("shop", "web-2", "10.244.2.10", "n2", web_labels or {"app": "web"}),
        pod("shop", "cart-1", "10.244.1.20", "n1", {"app": "cart"}, ports=[(7070, "TCP", "http")]),
        svc("shop", "cart", "10.96.0.20", [(80, "http", "TCP", "http")], selector={"app": "cart"},
            internal_traffic_policy=itp),
        eps("shop", "cart", [("10.244.1.20", "n1", "cart-1")], [("http", 7070, "TCP")]),
        *extra,
    ]
    if cart_policy:
        objs.append(policy("shop", "cart-from-nobody", {"app": "cart"}, ingress=[rule(pods={"app": "nobody"})]))
    return build(*objs)


def by_rep(plan):
    return {s.representative: s for s in plan.sources}


def cell(model, plan, source_rep: str, dest_key: str) -> reach.Cell:
    src = by_rep(plan)[source_rep]
    dst = next(d for d in plan.destinations if d.key == dest_key)
    return reach.compute_cell(model, src, dst)


def test_pods_with_the_same_labels_are_one_class_and_cost_one_trace_per_destination():
    model = shop()
    plan = reach.plan(model)
    web = by_rep(plan)["pod:shop/web-1"]
    assert web.pods == ("shop/web-1", "shop/web-2") and web.size == 2 and web.node is None
    # web, cart, coredns → 3 sources; svc cart:80, kube-dns 53/UDP + 53/TCP, cart pods :7070, coredns :53 ×2
    assert len(plan.sources) == 3
    assert {d.key for d in plan.destinations if d.kind == "service"} == {
        "svc:shop/cart:80/TCP", "svc:kube-system/kube-dns:53/UDP", "svc:kube-system/kube-dns:53/TCP"}
    assert plan.cell_count == len(plan.sources) * len(plan.destinations)


def test_internal_traffic_policy_local_splits_sources_by_node():
    """[web-1 @n1] → svc/cart (iTP Local) → [cart-1 @n1] ✓ ; [web-2 @n2] → svc/cart ✗ no-local-endpoints"""
    model = shop(itp="Local")
    plan = reach.plan(model)
    reps = by_rep(plan)
    assert reps["pod:shop/web-1"].node == "n1" and reps["pod:shop/web-2"].node == "n2"
    on_n1 = cell(model, plan, "pod:shop/web-1", "svc:shop/cart:80/TCP")
    on_n2 = cell(model, plan, "pod:shop/web-2", "svc:shop/cart:80/TCP")
    assert (on_n1.verdict, on_n1.reason) == ("delivered", None)
    assert (on_n2.verdict, on_n2.reason) == ("dropped", "no-local-endpoints")


def test_nodes_offering_the_same_local_endpoints_are_one_group():
    """cart runs on n1 and n2 (a DaemonSet-like spread): web pods on both nodes behave alike → one class;
    a third node n3 without cart gives its web pod a class of its own."""
    n3 = node("n3", "172.18.0.4")
    model = build(N1, N2, n3,
                  pod("shop", "web-1", "10.244.1.10", "n1", {"app": "web"}),
                  pod("shop", "web-2", "10.244.2.10", "n2", {"app": "web"}),
                  pod("shop", "web-3", "10.244.3.10", "n3", {"app": "web"}),
                  pod("shop", "cart-1", "10.244.1.20", "n1", {"app": "cart"}, ports=[(7070, "TCP", "http")]),
                  pod("shop", "cart-2", "10.244.2.20", "n2", {"app": "cart"}, ports=[(7070, "TCP", "http")]),
                  svc("shop", "cart", "10.96.0.20", [(80, "http", "TCP", "http")], selector={"app": "cart"},
                      internal_traffic_policy="Local"),
                  eps("shop", "cart", [("10.244.1.20", "n1", "cart-1"), ("10.244.2.20", "n2", "cart-2")],
                      [("http", 7070, "TCP")]))
    plan = reach.plan(model)
    webs = sorted((s.pods, s.nodes) for s in plan.sources if s.labels == {"app": "web"})
    assert webs == [(("shop/web-1", "shop/web-2"), 2), (("shop/web-3",), 1)]
    alike = next(s for s in plan.sources if s.pods == ("shop/web-1", "shop/web-2"))
    assert alike.label == "shop: app=web on node n1 (+1 alike) · 2 pod(s)"
    alone = next(s for s in plan.sources if s.pods == ("shop/web-3",))
    dst = next(d for d in plan.destinations if d.key == "svc:shop/cart:80/TCP")
    assert reach.compute_cell(model, alike, dst).verdict == "delivered"
    assert reach.compute_cell(model, alone, dst).reason == "no-local-endpoints"


def test_zone_hints_split_sources_by_zone_not_node():
    hinted = eps("shop", "cart", [("10.244.1.20", "n1", "cart-1", {"hint_zones": ("a",)})], [("http", 7070, "TCP")])
    model = build(N1, N2,
                  pod("shop", "web-1", "10.244.1.10", "n1", {"app": "web"}),
                  pod("shop", "web-2", "10.244.2.10", "n2", {"app": "web"}),
                  pod("shop", "cart-1", "10.244.1.20", "n1", {"app": "cart"}, ports=[(7070, "TCP", "http")]),
                  svc("shop", "cart", "10.96.0.20", [(80, "http", "TCP", "http")], selector={"app": "cart"}),
                  hinted)
    webs = sorted((s.zone, s.node) for s in reach.plan(model).sources if s.labels == {"app": "web"})
    assert webs == [("a", None), ("b", None)]


def test_host_network_pods_are_classed_per_node():
    model = shop(extra=[pod("monitoring", "exporter-1", "172.18.0.2", "n1", {"app": "exporter"}, host_network=True),
                        pod("monitoring", "exporter-2", "172.18.0.3", "n2", {"app": "exporter"}, host_network=True)])
    exporters = [s for s in reach.plan(model).sources if s.labels == {"app": "exporter"}]
    assert sorted(s.node for s in exporters) == ["n1", "n2"]
    assert all(s.host_network for s in exporters)


def test_pod_destinations_are_declared_ports_of_each_class():
    plan = reach.plan(shop())
    cart = [d for d in plan.destinations if d.kind == "pod" and d.namespace == "shop"]
    assert [(d.to, d.port, d.protocol, d.port_name) for d in cart] == [("ip:10.244.1.20", 7070, "TCP", "http")]


def test_cells_agree_with_single_traces(trace_dict):
    """[web] → svc/cart:80 ✗ shop/cart-from-nobody ; [web] → [cart pods]:7070 ✗ the same policy"""
    model = shop(cart_policy=True)
    plan = reach.plan(model)
    cells = list(reach.compute_cells(model, plan, (0, len(plan.sources))))
    assert len(cells) == plan.cell_count
    for c in cells:
        r = c.request
        result = trace_dict(model, r["from"], r["to"], r["port"], r["protocol"])
        assert (c.verdict, c.reason) == (result["verdict"], result["reason"]), r
    web_to_cart = cell(model, plan, "pod:shop/web-1", "svc:shop/cart:80/TCP")
    assert (web_to_cart.verdict, web_to_cart.reason) == ("dropped", "policy-ingress-denied")


def test_plan_round_trips_through_json_with_members_capped():
    model = build(*[pod("big", f"p-{i:03d}", f"10.244.3.{i}", "n1", {"app": "big"}) for i in range(1, 120)], N1)
    plan = reach.plan(model)
    again = reach.MatrixPlan.from_dict(plan.to_dict())
    big = next(s for s in again.sources if s.namespace == "big")
    assert big.size == 119 and len(big.pods) == reach.MEMBERS_KEPT and big.representative == "pod:big/p-001"
    assert [s.key for s in again.sources] == [s.key for s in plan.sources]
    assert [d.key for d in again.destinations] == [d.key for d in plan.destinations]


def test_source_keys_are_stable_across_snapshots_so_diffs_join_on_them():
    assert [s.key for s in reach.plan(shop()).sources] == [s.key for s in reach.plan(shop(cart_policy=True)).sources]
    relabelled = {s.key for s in reach.plan(shop(web_labels={"app": "web", "tier": "front"})).sources}
    assert relabelled != {s.key for s in reach.plan(shop()).sources}


@pytest.mark.parametrize("sources, dests, per_chunk, expected", [
    (0, 10, 100, []),
    (5, 10, 100, [(0, 5)]),
    (5, 10, 20, [(0, 2), (2, 4), (4, 5)]),
    (3, 1000, 10, [(0, 1), (1, 2), (2, 3)]),  # never less than one source per chunk
])
def test_chunk_ranges(sources, dests, per_chunk, expected):
    assert reach.chunk_ranges(sources, dests, per_chunk) == expected


def test_chunk_ranges_respect_the_chunk_cap():
    ranges = reach.chunk_ranges(10_000, 10, 1, max_chunks=100)
    assert len(ranges) == 100 and ranges[-1][1] == 10_000


@pytest.mark.parametrize("base, candidate, change", [
    (("delivered", None), ("delivered", None), None),
    (("delivered", None), ("dropped", "policy-ingress-denied"), "closed"),
    (("dropped", "policy-ingress-denied"), ("delivered", None), "opened"),
    (("partial", "no-endpoints"), ("delivered", None), "opened"),
    (("delivered", None), ("partial", "policy-egress-denied"), "closed"),
    (("dropped", "policy-ingress-denied"), ("dropped", "no-endpoints"), "changed"),
    (None, ("delivered", None), "added"),
    (("dropped", "no-endpoints"), None, "removed"),
])
def test_classify_change(base, candidate, change):
    assert reach.classify_change(base, candidate) == change


def test_diff_cells_lists_only_what_changes():
    base = {("a", "x"): ("delivered", None), ("a", "y"): ("dropped", "no-endpoints"), ("b", "x"): ("delivered", None)}
    cand = {("a", "x"): ("delivered", None), ("a", "y"): ("delivered", None), ("c", "x"): ("delivered", None)}
    assert reach.diff_cells(base, cand) == [(("a", "y"), "opened"), (("b", "x"), "removed"), (("c", "x"), "added")]
