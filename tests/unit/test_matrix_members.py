"""A matrix cell stands for EVERY member of its source class sending to every member of its destination.

The contract: `delivered` only if all (member, member) pairs are delivered, `dropped` if none is, else
`partial`; a pod never counts as its own peer. The oracle below computes exactly that from full traces,
one per source member (and per destination member for pod classes), with no shortcut of the engine:
it is what a user running `manage.py trace` for each pod would see.

The WRONG CELL bug this guards: two replicas of one isolated workload (one class) under a deny-all
policy; the representative used to be traced to its own IP (always allowed, E11) so the cell said
`delivered`, although every sibling pair is dropped.
"""
from __future__ import annotations

import pytest

from tracer.engine import reach
from tracer.engine.flow import make_flow
from tracer.engine.result import DELIVERED, DROPPED, PARTIAL
from tracer.engine.trace import trace

from .conftest import build, eps, node, pod, policy, svc


def _member_paths(model, member: str, dest):
    """(endpoint order key, path verdict, reason) of `member`'s traces to `dest`, self excluded."""
    targets = [dest.to] if dest.kind == "service" else [
        f"ip:{model.pods[d].ip}" for d in dest.pods if d != member]
    out = []
    for to in targets:
        result = trace(model, make_flow(f"pod:{member}", to, dest.port, dest.protocol))
        for k, p in enumerate(result.paths):
            if p.verdict == DELIVERED and p.endpoint is not None and p.endpoint.id == f"pod:{member}":
                continue  # a pod never counts as its own peer
            out.append(((to, k), p.verdict, p.reason))
    return out


def oracle_cell(model, source, dest) -> tuple[str, str | None] | None:
    """(verdict, reason) over every member pair, or None when the class has no pair but itself."""
    paths = []
    for member in source.pods:
        paths.extend(_member_paths(model, member, dest))
    if not paths:
        return None
    verdicts = {v for _, v, _ in paths}
    if verdicts == {DELIVERED}:
        return DELIVERED, None
    dropped = [p for p in paths if p[1] == DROPPED]
    verdict = DROPPED if DELIVERED not in verdicts else PARTIAL
    return verdict, (dropped[0][2] if dropped else None)


def assert_every_member(model, *, project=False):
    p = reach.plan(model, project=project)
    cells = {(c.source, c.destination): (c.verdict, c.reason) for c in reach.compute_cells(
        model, p, (0, len(p.sources)))}
    wrong = []
    for i, s in enumerate(p.sources):
        for j, d in enumerate(p.destinations):
            want = oracle_cell(model, s, d)
            if want is None:
                continue  # a single pod and only itself: no pair to stand for (E11 self-reach)
            got = cells[(i, j)]
            if got[0] != want[0] or (want[0] != DELIVERED and got[1] != want[1]):
                wrong.append((s.label, d.label, got, want))
    assert not wrong, wrong[:10]
    return p


def replicas_under_deny_all():
    """[api-0, api-1 (app=api)] in `locked`, a deny-all ingress policy; svc/locked/api → both."""
    return build(
        node("n1", "172.18.0.2"),
        pod("locked", "api-0", "10.244.1.10", "n1", {"app": "api"}, ports=[(8080, "TCP", "http")]),
        pod("locked", "api-1", "10.244.1.11", "n1", {"app": "api"}, ports=[(8080, "TCP", "http")]),
        svc("locked", "api", "10.96.0.40", [(80, "http", "TCP", "http")], selector={"app": "api"}),
        eps("locked", "api", [("10.244.1.10", "n1", "api-0"), ("10.244.1.11", "n1", "api-1")],
            [("http", 8080, "TCP")]),
        policy("locked", "deny-all", {}, types=("Ingress",)))


def test_two_replicas_of_an_isolated_workload_are_dropped_between_each_other():
    model = replicas_under_deny_all()
    p = reach.plan(model)
    cells = {(p.sources[c.source].label.split(" ·")[0], p.destinations[c.destination].key): c
             for c in reach.compute_cells(model, p, (0, len(p.sources)))}
    api = next(s for s in p.sources if s.labels == {"app": "api"})
    assert api.size == 2
    pod_dest = next(d for d in p.destinations if d.kind == "pod" and d.namespace == "locked")
    svc_dest = next(d for d in p.destinations if d.kind == "service" and d.name == "api")
    key = api.label.split(" ·")[0]
    assert (cells[(key, pod_dest.key)].verdict, cells[(key, pod_dest.key)].reason) == (
        "dropped", "policy-ingress-denied")
    assert (cells[(key, svc_dest.key)].verdict, cells[(key, svc_dest.key)].reason) == (
        "dropped", "policy-ingress-denied")
    # the drill-down is a real sibling pair, not the pod to itself
    req = cells[(key, pod_dest.key)].request
    assert req["to"] != f"ip:{model.pods[req['from'][4:]].ip}"
    assert_every_member(model)


def test_a_lone_pod_reaching_itself_stays_delivered():
    """One pod, one class: the only pair is itself, which E11 always allows (what `trace` answers)."""
    model = build(node("n1", "172.18.0.2"),
                  pod("solo", "only", "10.244.1.30", "n1", {"app": "solo"}, ports=[(8080, "TCP", "http")]),
                  policy("solo", "deny-all", {}, types=("Ingress",)))
    p = reach.plan(model)
    src = next(i for i, s in enumerate(p.sources) if s.namespace == "solo")
    dst = next(j for j, d in enumerate(p.destinations) if d.namespace == "solo")
    cell = next(c for c in reach.compute_cells(model, p, (src, src + 1)) if c.destination == dst)
    assert cell.verdict == "delivered"


def test_a_backend_in_a_bigger_class_counts_its_siblings_not_itself():
    """[api-0 backend, api-1 not a backend, same class] → svc with api-0 only, deny-all: dropped for both."""
    model = build(
        node("n1", "172.18.0.2"),
        pod("locked", "api-0", "10.244.1.10", "n1", {"app": "api"}, ports=[(8080, "TCP", "http")]),
        pod("locked", "api-1", "10.244.1.11", "n1", {"app": "api"}, ports=[(8080, "TCP", "http")]),
        svc("locked", "api", "10.96.0.40", [(80, "http", "TCP", "http")], selector={"app": "api"}),
        eps("locked", "api", [("10.244.1.10", "n1", "api-0")], [("http", 8080, "TCP")]),
        policy("locked", "deny-all", {}, types=("Ingress",)))
    assert_every_member(model)


@pytest.mark.parametrize("project", [False, True])
def test_every_cell_equals_its_members_traces_on_the_replicas_case(project):
    assert_every_member(replicas_under_deny_all(), project=project)


# -- the suite's clusters: every cell against every member's traces ------------------------------------------


def _live(docs_bytes: bytes, name: str):
    from topology.importers import build_objects
    from topology.importers.load import load_documents
    from tracer.engine.cluster import ClusterModel

    return ClusterModel(build_objects(load_documents(docs_bytes, name=name)).objects)


@pytest.mark.parametrize("project", [False, True])
def test_every_cell_equals_its_members_traces_on_the_example_cluster(project):
    from tests.fixtures import CLUSTER_B

    p = assert_every_member(_live(CLUSTER_B.read_bytes(), "cluster-b.yaml"), project=project)
    assert p.cell_count > 50


@pytest.mark.parametrize("seed", [3, 11])
def test_every_cell_equals_its_members_traces_on_the_second_generator(seed):
    """bench/generate_alt.py: skewed namespaces, named ports everywhere, deny-all + allow lists, and replicas
    (classes of several pods under deny-all: the WRONG CELL shape at scale)."""
    import json

    from bench.generate_alt import generate

    model = _live(json.dumps(generate(60, seed)).encode(), f"alt-{seed}.json")
    p = assert_every_member(model, project=True)
    assert any(s.size > 1 for s in p.sources)
