"""cyclonus conformance: its probe truth tables and query-traffic verdicts against our policy engine.

Topology (tests/fixtures/cyclonus/examples/probe.json): namespaces x, y, z labelled ns=<name>;
pods a, b, c in each, labelled pod=<name>, serving TCP 80 ("serve-80-tcp") and 81. The seven
simple-example policies all live in namespace y:

    [x/*, z/*] —80,81,82→ [y/b]      (allow-all-for-label)
    [y/c] —→ [y/a]                   (allow-label-to-label), but y/c's egress is denied
    0.0.0.0/24 —→ [y/c]              (allow-by-ip: matches no pod)
    [y/a, y/b] —→ anywhere           (allow-all-egress-by-label); every other y pod: egress denied

`derived-analyze-probe.truth.json` holds, per probe port, three matrices (rows = source): ingress
only, egress only and combined. Cells are "allowed"/"blocked", except on TCP 82, which no pod
serves: cyclonus marks those probes "N" (ConnectivityInvalidPortProtocol: the destination has no
container port for that port/protocol, so the probe is not a policy question) and their egress "?"
(unknown: an invalid probe is not evaluated). We check those against the model's container ports. cyclonus evaluates policies only; it has no E11 exemption, so the
diagonal (a pod reaching itself) is compared with `policy_allowed` — what the policies alone decide —
and our final verdict there is E11's "allowed" (recorded in DISAGREEMENTS.md).
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

CYCLONUS = FIXTURES / "cyclonus"


def _model() -> ClusterModel:
    probe = json.loads((CYCLONUS / "examples" / "probe.json").read_text())
    res = probe["Resources"]
    pods = [Pod(p["Namespace"], p["Name"], dict(p["Labels"]), (p["IP"],), containers=tuple(
        Container(c["Name"], ports=(ContainerPort(c["Port"], c["Protocol"].upper(), c["PortName"]),))
        for c in p["Containers"])) for p in res["Pods"]]
    docs = []
    for f in sorted((CYCLONUS / "networkpolicies" / "simple-example").glob("*.yaml")):
        docs.extend(load_documents(f))
    policies = parse_objects(docs).objects.network_policies
    assert len(policies) == 7
    return ClusterModel.build(ClusterObjects(
        namespaces=[Namespace(n, dict(labels)) for n, labels in res["Namespaces"].items()],
        pods=pods, network_policies=policies))


MODEL = _model()
ENGINE = PolicyEngine(MODEL)
TRUTH = json.loads((CYCLONUS / "derived-analyze-probe.truth.json").read_text())["probes"]


def _cells():
    for probe in TRUTH:
        port, proto = probe["probe"]["Port"], probe["probe"]["Protocol"]
        for table in ("ingress", "egress", "combined"):
            for src, row in probe[table].items():
                for dst, verdict in row.items():
                    yield port, proto, table, src, dst, verdict


def _serves(pod_key: str, port: int, proto: str) -> bool:
    return any(cp.container_port == port and cp.protocol == proto for cp in MODEL.pods[pod_key].container_ports())


def _agrees(port, proto, table, src, dst, verdict) -> bool:
    if verdict in ("allowed", "blocked"):
        return _serves(dst, port, proto) and _ours(port, proto, table, src, dst) == (verdict == "allowed")
    if verdict == "N":  # invalid port/protocol: nothing listens there
        return not _serves(dst, port, proto)
    if verdict == "?":  # egress of an invalid probe is not evaluated by cyclonus
        combined = next(p for p in TRUTH if p["probe"]["Port"] == port)["combined"][src][dst]
        return table == "egress" and combined == "N" and not _serves(dst, port, proto)
    raise AssertionError(f"unknown cyclonus verdict {verdict!r}")


CELLS = list(_cells())


def _ours(port, proto, table, src, dst) -> bool:
    s, d = Peer.of_pod(MODEL.pods[src]), Peer.of_pod(MODEL.pods[dst])
    ing = ENGINE.ingress(s, d, port, proto)
    eg = ENGINE.egress(s, d, port, proto)
    if src == dst:  # cyclonus has no E11 self exemption: compare what the policies alone say
        assert ing.allowed and eg.allowed, "E11: a pod can always reach itself"
        ing_ok, eg_ok = ing.policy_allowed, eg.policy_allowed
    else:
        ing_ok, eg_ok = ing.allowed, eg.allowed
    return {"ingress": ing_ok, "egress": eg_ok, "combined": ing_ok and eg_ok}[table]


def test_cyclonus_truth_tables_summary(capsys):
    """Every cell of the 3 probes × 3 tables × 9 × 9 matrices agrees; prints the count."""
    agree = [c for c in CELLS if _agrees(*c)]
    with capsys.disabled():
        print(f"\ncyclonus: {len(agree)}/{len(CELLS)} truth-table cells agree "
              f"({len(TRUTH)} probes × ingress/egress/combined)")
    assert len(CELLS) == 3 * 3 * 81
    assert len(agree) == len(CELLS), [c for c in CELLS if c not in agree][:10]


@pytest.mark.parametrize("port,proto,table,src,dst,verdict",
                         [c for c in CELLS if c[2] == "combined"],
                         ids=[f"{c[0]}-{c[3]}-to-{c[4]}" for c in CELLS if c[2] == "combined"])
def test_cyclonus_combined_cell(port, proto, table, src, dst, verdict):
    """[src] —TCP port→ [dst]: combined verdict (egress at the source AND ingress at the destination)."""
    assert _agrees(port, proto, table, src, dst, verdict)


def test_cyclonus_examples_named():
    """The story of the README, stated directly (TCP 80):
    [y/c] → [y/a] blocked (y/c's egress denied; y/a's ingress would allow it), [x/a] → [y/b] allowed,
    [z/b] → [y/c] blocked (0.0.0.0/24 matches no pod), [y/b] → [z/c] allowed."""
    def both(s, d):
        a, b = Peer.of_pod(MODEL.pods[s]), Peer.of_pod(MODEL.pods[d])
        return ENGINE.egress(a, b, 80, "TCP"), ENGINE.ingress(a, b, 80, "TCP")

    eg, ing = both("y/c", "y/a")
    assert not eg.allowed and ing.allowed and ing.allowed_by.startswith("y/")
    assert "y/c" in eg.detail and "egress" in eg.detail
    assert all(d.allowed for d in both("x/a", "y/b"))
    eg, ing = both("z/b", "y/c")
    assert eg.allowed and not ing.allowed and not ing.policy_allowed
    assert all(d.allowed for d in both("y/b", "z/c"))


def _traffic_cases():
    flows = json.loads((CYCLONUS / "examples" / "traffic.json").read_text())
    text = (CYCLONUS / "examples" / "cyclonus-output" / "analyze-query-traffic.txt").read_text()
    verdicts = [v == "TRUE" for v in re.findall(r"IS ALLOWED\? \|\s*(TRUE|FALSE)", text)]
    assert len(verdicts) == len(flows)
    return list(zip(flows, verdicts, strict=False))


def _peer(end: dict, name: str) -> Peer:
    internal = end.get("Internal")
    if not internal:
        return Peer(None, end["IP"])
    return Peer(Pod(internal["Namespace"], name, dict(internal["PodLabels"]), (end["IP"],)), end["IP"])


TRAFFIC = _traffic_cases()


@pytest.mark.parametrize("flow,allowed", TRAFFIC, ids=[f"flow{i + 1}" for i in range(len(TRAFFIC))])
def test_cyclonus_query_traffic(flow, allowed):
    """analyze --mode query-traffic: a flow described by IPs and labels (not a probe pod)."""
    src, dst = _peer(flow["Source"], "traffic-src"), _peer(flow["Destination"], "traffic-dst")
    ours = (ENGINE.egress(src, dst, flow["ResolvedPort"], flow["Protocol"]).allowed
            and ENGINE.ingress(src, dst, flow["ResolvedPort"], flow["Protocol"]).allowed)
    assert ours == allowed


def _engine_with(policy_file: str) -> tuple[ClusterModel, PolicyEngine]:
    docs = load_documents(CYCLONUS / "networkpolicies" / policy_file)
    objects = MODEL.objects
    m = ClusterModel.build(ClusterObjects(namespaces=objects.namespaces, pods=objects.pods,
                                          network_policies=parse_objects(docs).objects.network_policies))
    return m, PolicyEngine(m)


FEATURE_CASES = [
    # (policy file, dst, port, protocol, allowed) — from [x/a]; spec answers for cyclonus' feature YAML
    ("features/portrange1.yaml", "y/a", 80, "TCP", True),
    ("features/portrange1.yaml", "y/a", 103, "TCP", True),
    ("features/portrange1.yaml", "y/a", 104, "TCP", False),
    ("features/portrange1.yaml", "y/b", 80, "TCP", False),
    ("features/portrange1.yaml", "z/a", 80, "TCP", False),
    ("features/portrange1.yaml", "z/c", 53, "UDP", True),
    ("features/portrange1.yaml", "z/c", 53, "TCP", False),
    ("upstream_test_cases/allow-to-ns-y-pod-a.yaml", "y/a", 80, "TCP", True),
    ("upstream_test_cases/allow-to-ns-y-pod-a.yaml", "y/a", 81, "TCP", False),
    ("upstream_test_cases/allow-to-ns-y-pod-a.yaml", "x/a", 80, "TCP", True),  # itself (E11)
    ("upstream_test_cases/allow-to-ns-y-pod-a.yaml", "x/b", 80, "TCP", False),
]


@pytest.mark.parametrize("policy_file,dst,port,proto,allowed", FEATURE_CASES,
                         ids=[f"{c[0].split('/')[-1]}-{c[1]}-{c[2]}{c[3]}" for c in FEATURE_CASES])
def test_cyclonus_feature_policies(policy_file, dst, port, proto, allowed):
    """[x/a {pod=a}] egress under cyclonus' endPort example (TCP 80–103 to ns=y AND pod=a; UDP 53
    anywhere) and its AND-peer upstream case (TCP 80 to ns=y AND pod=a; UDP 53 anywhere)."""
    m, eng = _engine_with(policy_file)
    src, d = Peer.of_pod(m.pods["x/a"]), Peer.of_pod(m.pods[dst])
    assert eng.egress(src, d, port, proto).allowed is allowed


def test_cyclonus_yaml_list_wrapper_parses():
    """`kind: List` of policies (yaml-syntax/yaml-list.yaml) yields each policy."""
    docs = load_documents(CYCLONUS / "networkpolicies" / "yaml-syntax" / "yaml-list.yaml")
    pols = parse_objects(docs).objects.network_policies
    assert len(pols) >= 2 and all(p.namespace == "ns-y" for p in pols)
