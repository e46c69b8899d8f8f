"""network-config-analyzer (nca) conformance: our NetworkPolicy evaluation vs nca's allowed connections.

For every (case, networkConfig) of tests/fixtures/nca/cases.json that has a pairwise list
(`nca_generated/…txt_no_fw_rules.txt.gz`, nca 2.1.0's output) — and for the two upstream expected
outputs in that same pairwise format — we build a ClusterModel from the case's own namespace list,
pod list / workload manifests and policy YAML (through the importer's parser), compute which
connections policy allows between every pair of owner groups and between groups and external
addresses, and compare semantically with nca (see nca_oracle.py for the format and nca's
conventions: owner grouping, LiveSim kube-dns, its Ingress-controller model, ipBlock never
matching pods, hostNetwork pods treated as pods).

    [default/frontend[Deployment]] —TCP 7070→ [default/cartservice[Deployment]]   (allowed by both sides)
    [0.0.0.0-9.255.255.255] —All→ [kube-system/calico-node[DaemonSet]]            (ipBlock except …)
"""
from __future__ import annotations

import pytest

from tests.conformance import nca_oracle as nca
from tests.fixtures import FIXTURES

CONFIGS = nca.all_configs()
UPSTREAM = nca.upstream_pairwise_expectations()


def _diff(cfg: nca.NcaConfig, expected_path) -> list[str]:
    model = nca.build_model(cfg)
    return nca.compare(model, nca.parse_pairwise(expected_path), nca.service_entry_hosts(cfg),
                       nca.ingress_layer(cfg, model))


@pytest.fixture(scope="module")
def results() -> dict[str, list[str]]:
    return {cfg.id: _diff(cfg, cfg.expected) for cfg in CONFIGS}


def test_every_pairwise_expectation_is_used():
    """No nca-generated pairwise file is left out: each one maps to a config we build."""
    generated = sorted(p.relative_to(nca.NCA_DIR).as_posix() for p in (nca.NCA_DIR / "nca_generated").rglob("*.gz"))
    used = sorted({cfg.expected.relative_to(nca.NCA_DIR).as_posix() for cfg in CONFIGS})
    assert used == generated
    assert len(UPSTREAM) >= 2


def test_nca_summary(results, capsys):
    """All cases agree; prints `nca: N/N cases agree`."""
    by_case: dict[str, bool] = {}
    for cfg in CONFIGS:
        by_case[cfg.case] = by_case.get(cfg.case, True) and not results[cfg.id]
    upstream_ok = 0
    for case, path, config in UPSTREAM:
        cfg = next(c for c in CONFIGS if c.case == case and c.name == config)
        upstream_ok += not _diff(cfg, path)
    agree_cfg = sum(1 for v in results.values() if not v)
    agree_case = sum(by_case.values())
    with capsys.disabled():
        print(f"\nnca: {agree_case}/{len(by_case)} cases agree "
              f"({agree_cfg}/{len(results)} pairwise configs; {upstream_ok}/{len(UPSTREAM)} upstream pairwise outputs)")
    failing = {k: v[:5] for k, v in results.items() if v}
    assert not failing, failing
    assert upstream_ok == len(UPSTREAM)


@pytest.mark.parametrize("cfg", CONFIGS, ids=[c.id for c in CONFIGS])
def test_nca_config_agrees(cfg, results):
    """One networkConfig: every allowed connection nca lists, and no other, is allowed by us."""
    assert results[cfg.id] == [], "\n".join(results[cfg.id][:20])


@pytest.mark.parametrize("case,path,config", UPSTREAM, ids=[f"{c}-{p.name}" for c, p, _ in UPSTREAM])
def test_upstream_pairwise_expected_output(case, path, config):
    """The upstream expected files in pairwise format (ipblocks, online boutique) agree too."""
    cfg = next(c for c in CONFIGS if c.case == case and c.name == config)
    assert _diff(cfg, path) == []


def test_online_boutique_agrees_with_nca():
    """tests/fixtures/online-boutique: release manifests + the 13 kustomize NetworkPolicies (deny-all
    plus one per service) against nca's pairwise list (`nca --connectivity -r … -r …`):

        [frontend] —TCP 7070→ [cartservice] —TCP 6379→ [redis-cart];  internet —all→ [frontend] only
    """
    ob = FIXTURES / "online-boutique"
    cfg = nca.NcaConfig("online-boutique", "kubernetes-manifests+network-policies", [], [], [],
                        [ob / "release" / "kubernetes-manifests.yaml", ob / "kustomize" / "components" / "network-policies"],
                        ob / "nca_generated" / "kubernetes-manifests+network-policies.txt_no_fw_rules.txt")
    model = nca.build_model(cfg)
    assert (len(model.objects.pods), len(model.objects.network_policies)) == (12, 13)
    assert _diff(cfg, cfg.expected) == []


def test_comparison_detects_a_difference():
    """Guard against a vacuous comparison: dropping one policy of a config must produce a diff.

    [cognetive-agents] —?→ [calico-node] : test2's policy restricts kube-system-new ingress; without
    it everything is allowed, which nca's list contradicts.
    """
    cfg = next(c for c in CONFIGS if c.id == "test2/np2")
    empty = nca.NcaConfig(cfg.case, cfg.name, cfg.namespace_paths, cfg.pod_paths, [], [], cfg.expected)
    assert nca.compare(nca.build_model(empty), nca.parse_pairwise(cfg.expected)) != []


@pytest.mark.parametrize("text,expected", [
    ("All connections", nca.Connections.everything()),
    ("{protocols:TCP,dst_ports:53}", nca.Connections.of({"TCP": [(53, 53)]})),
    ("{protocols:TCP, UDP,dst_ports:53}", nca.Connections.of({"TCP": [(53, 53)], "UDP": [(53, 53)]})),
    ("{protocols:TCP,dst_ports:80-90,8080}", nca.Connections.of({"TCP": [(80, 90), (8080, 8080)]})),
    ("{protocols:TCP,dst_ports:80,hosts:demo.localdev.me}", nca.Connections.of({"TCP": [(80, 80)]})),
    ("{protocols:SCTP}", nca.Connections.of({"SCTP": [(1, 65535)]})),
    ("{protocols:TCP,dst_ports:80;protocols:UDP,dst_ports:53}",
     nca.Connections.of({"TCP": [(80, 80)], "UDP": [(53, 53)]})),
])
def test_reader_parses_nca_connection_text(text, expected):
    """The reader understands every connection form nca prints (and the multi-item form)."""
    assert nca.parse_connections(text) == expected


@pytest.mark.parametrize("text,expected", [
    ("default/frontend[Deployment]", "default/frontend[Deployment]"),
    ("0.0.0.0-9.255.255.255", ("ip", 0, 9 * 2**24 + 2**24 - 1)),
    ("49.50.0.10", ("ip", nca._ip_int("49.50.0.10"), nca._ip_int("49.50.0.10"))),
    ("10.0.0.0/8", ("ip", 10 * 2**24, 11 * 2**24 - 1)),
    ("::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", ("ip", nca.V6_BASE, nca.V6_END - 1)),
    ("*.googleapis.com", ("dns", "*.googleapis.com")),
])
def test_reader_parses_nca_endpoints(text, expected):
    assert nca.parse_endpoint(text) == expected
