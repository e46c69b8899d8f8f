"""TraceResult / Path / Hop: the contract's JSON shape, round trips, verdict rules, text rendering.

    [pod client] → svc/web:80 → [web-a]:8080 | [web-b]:8080 (policy denies web-b) ⇒ partial
"""
from __future__ import annotations

import json
import pathlib as Path_

import pytest

from tests.unit.conftest import build, eps, node, pod, policy, svc
from tracer.engine.flow import make_flow
from tracer.engine.render import render_text
from tracer.engine.result import SCHEMA_VERSION, Hop, Path, Ref, TraceResult
from tracer.engine.trace import trace


def partial_result() -> TraceResult:
    m = build(node("n1", "172.20.0.1"), node("n2", "172.20.0.2"),
              pod("shop", "client", "10.244.1.5", "n1", {"app": "client"}),
              pod("shop", "web-a", "10.244.1.10", "n1", {"app": "web", "tier": "a"}),
              pod("shop", "web-b", "10.244.2.10", "n2", {"app": "web", "tier": "b"}),
              svc("shop", "web", "10.96.0.50", [(80, 8080, "TCP", "http")], selector={"app": "web"}),
              eps("shop", "web", [("10.244.1.10", "n1", "web-a"), ("10.244.2.10", "n2", "web-b")],
                  [("http", 8080, "TCP")]),
              policy("shop", "lock-b", {"tier": "b"}))
    return trace(m, make_flow("pod:shop/client", "svc:shop/web", 80))


def test_contract_shape():
    d = partial_result().to_dict()
    assert d["schema_version"] == SCHEMA_VERSION
    assert set(d) >= {"verdict", "reason", "paths", "assumptions"}
    assert d["verdict"] == "partial" and d["reason"] == "policy-ingress-denied"
    for p in d["paths"]:
        assert set(p) >= {"source", "verdict", "reason", "probability", "endpoint", "endpoint_port", "hops"}
        for h in p["hops"]:
            assert set(h) == {"kind", "id", "action", "detail", "ref"}
            assert h["id"] == Ref.from_dict(h["ref"]).id  # the version-1 id is derived from the reference
    delivered = [p for p in d["paths"] if p["verdict"] == "delivered"]
    assert delivered[0]["endpoint"] == "pod:shop/web-a" and delivered[0]["endpoint_port"] == 8080
    dropped = [p for p in d["paths"] if p["verdict"] == "dropped"]
    assert dropped[0]["endpoint"] is None and dropped[0]["reason"] == "policy-ingress-denied"
    json.dumps(d)  # serialisable as is


def test_round_trip_and_old_results_without_version():
    r = partial_result()
    assert TraceResult.from_dict(r.to_dict()).to_dict() == r.to_dict()
    old = r.to_dict()
    del old["schema_version"]
    assert TraceResult.from_dict(old).schema_version == 1  # no version: stored before versions existed
    assert TraceResult.from_dict(old).to_dict() == r.to_dict()


V1 = Path_.Path(__file__).resolve().parent.parent / "fixtures" / "traces" / "results-v1.json"


def _strip_v2(d: dict) -> dict:
    """A version-2 result as version 1 wrote it: without the reference fields."""
    out = {**d, "schema_version": 1}
    out["paths"] = [{**{k: v for k, v in p.items() if k not in ("source_ref", "endpoint_ref", "http")},
                     "hops": [{k: v for k, v in h.items() if k != "ref"} for h in p["hops"]]} for p in d["paths"]]
    return out


def test_stored_version_1_results_load_with_typed_references():
    """Results written by schema version 1 (tests/fixtures/traces/results-v1.json) load into references, and
    the same questions traced today give the same story: version 2 only adds the reference fields."""
    from tests.unit.conftest import policy
    from tests.unit.test_trace import shop_model

    stored = json.loads(V1.read_text())
    assert {r["schema_version"] for r in stored} == {1}
    m = shop_model(policy("shop", "lock-web", {"app": "web"}))
    for old, (src, dst, port) in zip(stored, [("external:198.51.100.7", "url:http://shop.example.com/cart", None),
                                              ("pod:shop/front-0", "dns:web", 80),
                                              ("workload:shop/front", "svc:shop/cart", 80)], strict=True):
        loaded = TraceResult.from_dict(old)
        assert loaded.schema_version == 1
        now = trace(m, make_flow(src, dst, port)).to_dict()
        # the upgraded v1 result equals today's v2 result, references included (`http` came later: an addition)
        assert loaded.to_dict() == {**now, "paths": [{k: v for k, v in p.items() if k != "http"} for p in now["paths"]]}
        assert _strip_v2(now) == old
    refs = {r for d in stored for r in TraceResult.from_dict(d).refs()}
    assert Ref("network-policy", "shop", "lock-web") in refs
    assert Ref("load-balancer", "", "198.51.100.80") in refs
    assert Ref("ingress", "shop", "site") in refs and Ref("ingress-controller", "edge", "ingress-nginx") in refs
    assert Ref("kube-proxy", "", "n1") in refs and Ref("dns", "", "web.shop.svc.cluster.local") in refs
    assert Ref("external", "", "198.51.100.7") in refs and Ref("pod", "shop", "front-0") in refs


def test_reason_table_covers_the_contract_codes():
    from tracer.engine.result import REASON_TEXT, REASONS, reason_table

    assert set(REASONS) <= set(REASON_TEXT)
    assert {"no-route", "backend-unavailable", "http-redirect", "pod-not-ready", "no-listener"} <= set(REASON_TEXT)
    assert all(row["meaning"] and row["fix"] for row in reason_table())


@pytest.mark.parametrize("verdicts,expected", [
    (["delivered", "delivered"], ("delivered", None)),
    (["dropped", "dropped"], ("dropped", "no-endpoints")),
    (["delivered", "dropped"], ("partial", "no-endpoints")),
])
def test_verdict_and_reason_of_the_first_dropped_path(verdicts, expected):
    paths = [Path(Ref("pod", "a", "b"), v, None if v == "delivered" else ("no-endpoints" if i < 2 else "x"), 0.5,
                  hops=[Hop("pod", Ref("pod", "a", "b"), "send", "sends")]) for i, v in enumerate(verdicts)]
    r = TraceResult.from_paths(paths, ["a", "a", "b"])
    assert (r.verdict, r.reason) == expected
    assert r.assumptions == ["a", "b"]  # deduplicated, in order


def test_text_rendering_reads_like_a_traceroute():
    text = render_text(partial_result())
    assert text.startswith("PARTIAL (policy-ingress-denied)")
    assert "path 1 (50.0% of new connections): delivered → pod:shop/web-a port 8080" in text
    assert "   1  pod " in text and "   2  service " in text
    assert "✗ dropped:" in text and "NetworkPolicy shop/lock-b" in text
    assert "assumptions:" in text
