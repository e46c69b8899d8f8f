"""Matrix cells assembled per column (tracer/engine/reach_columns.py) equal one full trace() per cell.

Property: for every (source class, destination) of a plan, the fast cell's (verdict, reason) is what
`compute_cell` — one `trace()` from the class's representative, as `manage.py trace` runs it — answers.
Checked on the demo cluster (materialised), Online Boutique with its NetworkPolicies, generated
clusters (several seeds) and hand-made topologies for each rule the fast path must reproduce.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fixtures import FIXTURES
from tracer.engine import reach

from .conftest import build, eps, node, pod, policy, rule, svc
from .test_matrix_members import assert_every_member

REPO = Path(__file__).resolve().parents[2]
BOUTIQUE = FIXTURES / "online-boutique"


def _materialized(docs):
    from topology.importers import build_objects
    from tracer.engine.cluster import ClusterModel

    return ClusterModel(build_objects(docs, materialize=True).objects)


def demo_model():
    from topology.importers.load import load_documents

    return _materialized(load_documents(REPO / "demo"))


def boutique_model():
    from topology.importers.load import load_documents

    docs = load_documents(BOUTIQUE / "release" / "kubernetes-manifests.yaml")
    for f in sorted((BOUTIQUE / "kustomize" / "components" / "network-policies").glob("network-policy-*.yaml")):
        docs += load_documents(f)
    return _materialized(docs)


def generated_model(seed: int, pods: int = 120, services: int = 30, policies: int = 25):
    from bench.generate import Size, generate
    from topology.importers import build_objects
    from topology.importers.load import load_documents
    from tracer.engine.cluster import ClusterModel

    cluster = generate(Size(nodes=4, pods=pods, services=services, policies=policies, seed=seed))
    docs = load_documents(json.dumps(cluster).encode(), name=f"generated-{seed}.json")
    return ClusterModel(build_objects(docs).objects)


def assert_cells_match_traces(model, *, min_fast: float = 0.0, project=False):
    """Every cell of the plan: column cell == per-cell trace (`compute_cell`, self pairs left out) == every
    member's traces (the contract's oracle). Returns (cells answered without a trace, all cells)."""
    p = reach.plan(model, project=project)
    assert p.cell_count > 0
    fast = list(reach.compute_cells(model, p, (0, len(p.sources))))
    slow = list(reach.compute_cells(model, p, (0, len(p.sources)), fast_cells=False))
    assert [(c.source, c.destination) for c in fast] == [(c.source, c.destination) for c in slow]
    mismatches = [(p.sources[a.source].representative, p.destinations[a.destination].key,
                   (a.verdict, a.reason), (b.verdict, b.reason))
                  for a, b in zip(fast, slow, strict=True) if (a.verdict, a.reason) != (b.verdict, b.reason)]
    assert not mismatches, mismatches[:10]
    assert [c.request for c in fast] == [c.request for c in slow]  # the drill-down is the same flow
    assert_every_member(model, project=project)
    ev, cols = reach.compute_columns(model, p)
    n_fast = p.cell_count - sum(c.traced for c in cols)
    assert n_fast >= min_fast * p.cell_count, (n_fast, p.cell_count)
    return n_fast, p.cell_count


def cell_of(model, p, src, dst) -> tuple[str, str | None]:
    i, j = p.sources.index(src), p.destinations.index(dst)
    ev, cols = reach.compute_columns(model, p, (j, j + 1))
    return ev.book.entries[int(cols[0].codes[i])]


def traced(model, p, src, dst) -> bool:
    """Whether the cell needed a full trace (its column, or its source, is outside the class decisions)."""
    i, j = p.sources.index(src), p.destinations.index(dst)
    ev, _ = reach.compute_columns(model, p, (j, j + 1))
    return ev.plan_of(dst) is None or not ev.eligible[i]


def test_demo_cluster_cells_equal_traces():
    n_fast, total = assert_cells_match_traces(demo_model(), min_fast=0.5)
    assert total > 100


def test_online_boutique_with_network_policies_cells_equal_traces():
    """e.g. [pod frontend] → svc/cartservice:7070 ✓ ; [pod loadgenerator] → svc/cartservice:7070 ✗ ingress"""
    model = boutique_model()
    assert model.objects.network_policies, "the network-policies component must be loaded"
    assert_cells_match_traces(model, min_fast=0.5)
    p = reach.plan(model)
    verdicts = {c.verdict for c in reach.compute_cells(model, p, (0, len(p.sources)))}
    assert {"delivered", "dropped"} <= verdicts  # the policies really cut something


@pytest.mark.parametrize("seed", [1, 2, 3, 7])
def test_generated_cluster_cells_equal_traces(seed):
    assert_cells_match_traces(generated_model(seed), min_fast=0.3)


# -- hand-made: each rule the fast path reproduces ---------------------------------------------------------

N1, N2 = node("n1", "172.18.0.2", zone="a"), node("n2", "172.18.0.3", zone="b")


def two_backends(*objs):
    """[pod web-1 @n1] → svc/shop/cart:80 → [cart-1 (tier=a) @n1]:7070 | [cart-2 (tier=b) @n2]:7070"""
    return build(
        N1, N2,
        pod("shop", "web-1", "10.244.1.10", "n1", {"app": "web"}),
        pod("shop", "cart-1", "10.244.1.20", "n1", {"app": "cart", "tier": "a"}, ports=[(7070, "TCP", "http")]),
        pod("shop", "cart-2", "10.244.2.20", "n2", {"app": "cart", "tier": "b"}, ports=[(7070, "TCP", "http")]),
        svc("shop", "cart", "10.96.0.20", [(80, "http", "TCP", "http")], selector={"app": "cart"}),
        eps("shop", "cart", [("10.244.1.20", "n1", "cart-1"), ("10.244.2.20", "n2", "cart-2")],
            [("http", 7070, "TCP")]),
        *objs)


CASES = {
    "open": [],
    "one backend refuses → partial, ingress": [
        policy("shop", "b-closed", {"tier": "b"}, ingress=[rule(pods={"app": "nobody"})])],
    "first backend refuses → partial, reason of the first": [
        policy("shop", "a-closed", {"tier": "a"}, ingress=[rule(pods={"app": "nobody"})])],
    "both refuse → dropped": [policy("shop", "all-closed", {"app": "cart"}, ingress=[rule(pods={"app": "x"})])],
    "named port allowed": [policy("shop", "http-only", {"app": "cart"}, ingress=[rule(ports=["http"])])],
    "named port other number": [policy("shop", "wrong", {"app": "cart"}, ingress=[rule(ports=[8080])])],
    "egress default deny": [policy("shop", "web-egress", {"app": "web"}, types=("Egress",))],
    "egress allows only tier a": [policy("shop", "web-to-a", {"app": "web"}, types=("Egress",),
                                         egress=[rule(pods={"tier": "a"})])],
    "egress + ingress both deny": [
        policy("shop", "web-egress", {"app": "web"}, types=("Egress",)),
        policy("shop", "all-closed", {"app": "cart"}, ingress=[rule(pods={"app": "x"})])],
    "no endpoints": [svc("shop", "empty", "10.96.0.30", [(80, 80, "TCP", "")], selector={"app": "none"})],
    "udp port of a tcp service → no-service-port": [
        svc("shop", "dns-ish", "10.96.0.31", [(53, 53, "UDP", "dns")], selector={"app": "cart"})],
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_hand_made_rules_cells_equal_traces(case):
    assert_cells_match_traces(two_backends(*CASES[case]))


def test_partial_cell_keeps_the_first_dropped_reason_like_trace():
    """[web-1] → svc/cart:80 → cart-1 ✗ (ingress closed) | cart-2 ✓ ⇒ partial, policy-ingress-denied."""
    model = two_backends(*CASES["first backend refuses → partial, reason of the first"])
    p = reach.plan(model)
    src = next(s for s in p.sources if s.representative == "pod:shop/web-1")
    dst = next(d for d in p.destinations if d.key == "svc:shop/cart:80/TCP")
    assert cell_of(model, p, src, dst) == ("partial", "policy-ingress-denied")


def test_source_node_dependent_destinations_fall_back_to_the_trace():
    """internalTrafficPolicy Local, a hostNetwork sender and a pod reaching itself are traced per cell."""
    model = two_backends(
        pod("shop", "agent", "172.18.0.2", "n1", {"app": "agent"}, host_network=True, host_ip="172.18.0.2"),
        svc("shop", "local", "10.96.0.40", [(80, "http", "TCP", "http")], selector={"app": "cart"},
            internal_traffic_policy="Local"),
        eps("shop", "local", [("10.244.1.20", "n1", "cart-1")], [("http", 7070, "TCP")]))
    p = reach.plan(model)
    web = next(s for s in p.sources if s.representative == "pod:shop/web-1")
    agent = next(s for s in p.sources if s.representative == "pod:shop/agent")
    cart1 = next(s for s in p.sources if s.representative == "pod:shop/cart-1")
    local = next(d for d in p.destinations if d.key == "svc:shop/local:80/TCP")
    cart_svc = next(d for d in p.destinations if d.key == "svc:shop/cart:80/TCP")
    assert traced(model, p, web, local)
    assert traced(model, p, agent, cart_svc)
    assert not traced(model, p, cart1, cart_svc)  # cart-1 is a backend of svc/cart: its sibling pairs count
    assert cell_of(model, p, web, cart_svc) == ("delivered", None)
    assert_cells_match_traces(model)


# -- projected senders (plan(project=True), what matrix jobs use) ------------------------------------------


def assert_every_member_agrees(model):
    """Each projected cell equals every member's traces (sources AND destination members)."""
    p = assert_every_member(model, project=True)
    return p, p.cell_count


def test_projection_merges_senders_that_differ_only_in_unselected_labels():
    """[web-1 (app=web, version=1)] and [web-2 (app=web, version=2)]: no policy reads `version` → one sender;
    a policy reading `version` splits them again."""
    base = [N1, N2,
            pod("shop", "web-1", "10.244.1.10", "n1", {"app": "web", "version": "1"}),
            pod("shop", "web-2", "10.244.2.10", "n2", {"app": "web", "version": "2"}),
            pod("shop", "cart-1", "10.244.1.20", "n1", {"app": "cart"}, ports=[(7070, "TCP", "http")]),
            svc("shop", "cart", "10.96.0.20", [(80, "http", "TCP", "http")], selector={"app": "cart"}),
            eps("shop", "cart", [("10.244.1.20", "n1", "cart-1")], [("http", 7070, "TCP")])]
    cart_from_web = policy("shop", "cart-from-web", {"app": "cart"}, ingress=[rule(pods={"app": "web"})])
    m = build(*base, cart_from_web)
    merged = [s for s in reach.plan(m, project=True).sources if s.namespace == "shop" and "web" in s.label]
    assert [(s.pods, s.labels) for s in merged] == [(("shop/web-1", "shop/web-2"), {"app": "web"})]  # shared labels
    assert len([s for s in reach.plan(m).sources if "web" in s.label]) == 2  # unprojected: unchanged
    v1_only = policy("shop", "cart-from-v1", {"app": "cart"}, ingress=[rule(pods={"version": "1"})])
    split = build(*base, v1_only)
    webs = [s for s in reach.plan(split, project=True).sources if s.namespace == "shop" and "version" in s.labels]
    assert sorted(s.labels["version"] for s in webs) == ["1", "2"]
    assert_every_member_agrees(split)


def test_projected_cells_equal_traces_of_every_member_on_online_boutique():
    model = boutique_model()
    p, checked = assert_every_member_agrees(model)
    assert len(p.sources) <= len(reach.plan(model).sources) and checked > 100


@pytest.mark.parametrize("seed", [1, 2, 5])
def test_projected_cells_equal_traces_of_every_member_on_generated_clusters(seed):
    model = generated_model(seed)
    p, checked = assert_every_member_agrees(model)
    assert len(p.sources) < len(reach.plan(model).sources)  # the generator's selectors read one key
    assert checked > 500  # cells, each checked against every member pair


def test_projected_demo_cells_equal_traces():
    p, checked = assert_every_member_agrees(demo_model())
    assert checked > 100


@pytest.mark.parametrize("which", ["boutique", "generated-1", "generated-4", "demo"])
def test_projected_pod_destinations_answer_for_every_member(which):
    """A projected pod column stands for all its pods: the oracle traces to every member's IP."""
    model = {"boutique": boutique_model, "demo": demo_model}.get(which) or (
        lambda: generated_model(int(which.split("-")[1])))
    model = model()
    p = reach.plan(model, project=True)
    assert_cells_match_traces_plan(model, p)
    assert_every_member(model, project=True)
    assert len([d for d in p.destinations if d.kind == "pod"]) <= len(
        [d for d in reach.plan(model).destinations if d.kind == "pod"])


def assert_cells_match_traces_plan(model, p):
    fast = list(reach.compute_cells(model, p, (0, len(p.sources))))
    slow = list(reach.compute_cells(model, p, (0, len(p.sources)), fast_cells=False))
    assert [(c.verdict, c.reason) for c in fast] == [(c.verdict, c.reason) for c in slow]


def test_auto_projection_only_past_the_size_limit(monkeypatch):
    """Matrix jobs plan with project=None: a small cluster keeps one row per label set (the reader's view);
    past PROJECT_ABOVE_CELLS cells the classes are merged and the plan says so in its assumptions."""
    model = generated_model(1)
    exact, projected = reach.plan(model), reach.plan(model, project=True)
    assert len(projected.sources) < len(exact.sources)
    auto = reach.plan(model, project=None)
    assert [s.key for s in auto.sources] == [s.key for s in exact.sources]
    assert reach.PROJECTED_ASSUMPTION not in auto.assumptions
    monkeypatch.setattr(reach, "PROJECT_ABOVE_CELLS", exact.cell_count - 1)
    auto = reach.plan(model, project=None)
    assert [s.key for s in auto.sources] == [s.key for s in projected.sources]
    assert [d.key for d in auto.destinations] == [d.key for d in projected.destinations]
    assert reach.PROJECTED_ASSUMPTION in auto.assumptions
    assert reach.MatrixPlan.from_dict(auto.to_dict()).assumptions == auto.assumptions
