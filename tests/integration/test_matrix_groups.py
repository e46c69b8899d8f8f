"""The matrix overview of a cluster with many namespaces: group × group (contiguous runs of sorted
namespace names, `first..last`), whose counts are the sums of the namespace pairs they hold, and one group
pair drilled into namespace × namespace. The cluster is generated (bench.generate, 60 namespaces)."""
from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from bench.generate import Size, generate
from topology.importers import import_bytes
from topology.models import Cluster
from tracer import jobs, matrix_store


@pytest.fixture
def many_namespaces(db):
    owner = get_user_model().objects.create(username="groups")
    cluster = Cluster.objects.create(name="many-ns", owner=owner)
    data = json.dumps(generate(Size(nodes=4, pods=150, services=60, namespaces=60, policies=10, seed=5))).encode()
    snapshot = import_bytes(cluster, [("cluster.json", data)], owner=owner).snapshot
    job = jobs.enqueue_matrix(snapshot, owner=owner, inline=True)
    assert job.state == "done", job.error
    api = APIClient()
    api.force_authenticate(owner)
    return job, api


def test_many_namespaces_are_grouped_and_a_group_pair_drills_into_its_namespaces(broker, many_namespaces,
                                                                                 monkeypatch):
    job, api = many_namespaces
    # the namespace-pair counts were merged when the job finished: the first read pays only the sums
    from tracer.models import JobOutput
    assert JobOutput.objects.filter(job_id=job.pk, name="overview_counts").exists()
    body = api.get(f"/api/jobs/{job.pk}/matrix").json()
    names = [n["name"] for n in body["namespaces"]]
    assert len(names) > matrix_store.GROUP_ABOVE and body["grouped"] is True
    groups = body["groups"]
    assert 1 < len(groups) <= matrix_store.MAX_GROUPS
    # the groups cut the sorted names into contiguous runs, each labelled first..last
    covered = []
    for g in groups:
        run = names[names.index(g["first"]):names.index(g["last"]) + 1]
        assert g["name"] == f"{g['first']}..{g['last']}" and g["namespaces"] == len(run)
        covered += run
    assert covered == sorted(names)
    assert len(body["pairs"]) <= len(groups) ** 2
    assert all("source_namespace" not in p for p in body["pairs"])
    assert sum(p["cells"] for p in body["pairs"]) == job.result["cells"] == body["sources"] * body["destinations"]
    for verdict, n in job.result["verdicts"].items():
        assert sum(p["verdicts"].get(verdict, 0) for p in body["pairs"]) == n

    # the same job answered namespace × namespace (grouping off) gives the sums the groups must equal
    monkeypatch.setattr(matrix_store, "GROUP_ABOVE", 10**6)
    flat = api.get(f"/api/jobs/{job.pk}/matrix").json()
    monkeypatch.undo()
    assert "grouped" not in flat and "groups" not in flat
    group_of = {n: g["name"] for g in groups for n in names[names.index(g["first"]):names.index(g["last"]) + 1]}
    summed: dict = {}
    for p in flat["pairs"]:
        s = summed.setdefault((group_of[p["source_namespace"]], group_of[p["destination_namespace"]]),
                              {"cells": 0, "verdicts": {}, "reasons": {}})
        s["cells"] += p["cells"]
        for part in ("verdicts", "reasons"):
            for k, n in p[part].items():
                s[part][k] = s[part].get(k, 0) + n
    grouped = {(p["source_group"], p["destination_group"]): p for p in body["pairs"]}
    assert set(grouped) == set(summed)
    for key, want in summed.items():
        got = grouped[key]
        assert got["cells"] == want["cells"] and got["reasons"] == want["reasons"]
        assert {k: n for k, n in got["verdicts"].items() if n} == {k: n for k, n in want["verdicts"].items() if n}

    # drilling into the busiest group pair gives exactly its namespace pairs, as the flat overview has them
    src_g, dst_g = max(grouped, key=lambda k: grouped[k]["cells"])
    drill = api.get(f"/api/jobs/{job.pk}/matrix", {"source_group": src_g, "destination_group": dst_g}).json()
    assert drill["source_group"] == src_g and drill["destination_group"] == dst_g
    flat_pairs = {(p["source_namespace"], p["destination_namespace"]): p for p in flat["pairs"]
                  if (group_of[p["source_namespace"]], group_of[p["destination_namespace"]]) == (src_g, dst_g)}
    assert {(p["source_namespace"], p["destination_namespace"]): p for p in drill["pairs"]} == flat_pairs
    assert sum(p["cells"] for p in drill["pairs"]) == grouped[(src_g, dst_g)]["cells"] > 0


def test_an_unknown_or_half_group_pair_is_a_clear_400(broker, many_namespaces):
    job, api = many_namespaces
    bad = api.get(f"/api/jobs/{job.pk}/matrix", {"source_group": "nope..none", "destination_group": "x..y"})
    assert bad.status_code == 400 and "source_group" in bad.json()["detail"]
    half = api.get(f"/api/jobs/{job.pk}/matrix", {"source_group": "a..b"})
    assert half.status_code == 400 and "together" in half.json()["detail"]


def test_the_pairs_among_the_namespaces_a_map_shows(broker, many_namespaces, monkeypatch):
    """The traffic map draws a few namespaces of a grouped cluster: `namespaces=` answers exactly the
    namespace × namespace pairs among them (what the ungrouped overview has for them), grouped or not."""
    job, api = many_namespaces
    names = [n["name"] for n in api.get(f"/api/jobs/{job.pk}/matrix").json()["namespaces"]]
    shown = names[::7][:6]
    body = api.get(f"/api/jobs/{job.pk}/matrix", {"namespaces": ",".join([*shown, "no-such-namespace"])}).json()
    assert body["only_namespaces"] == sorted(shown)
    got = {(p["source_namespace"], p["destination_namespace"]): p for p in body["pairs"]}
    monkeypatch.setattr(matrix_store, "GROUP_ABOVE", 10**6)
    flat = api.get(f"/api/jobs/{job.pk}/matrix").json()["pairs"]
    want = {(p["source_namespace"], p["destination_namespace"]): p for p in flat
            if p["source_namespace"] in shown and p["destination_namespace"] in shown}
    assert got == want and want
    assert api.get(f"/api/jobs/{job.pk}/matrix", {"namespaces": "a", "source_group": "x",
                                                   "destination_group": "y"}).status_code == 400
    assert api.get(f"/api/jobs/{job.pk}/matrix", {"namespaces": ",".join(["n"] * 201)}).status_code == 400
