"""Browsing a matrix stored as columns: overview, one namespace pair as a grid, filtered and paged cells,
one cell and its trace — what the heatmap UI and scripts use at any matrix size."""
from __future__ import annotations

import io
import json

from django.core.management import call_command
from rest_framework.test import APIClient

from tracer import jobs
from tracer.models import MatrixBlock, MatrixCell

from .test_jobs import people, snapshot  # noqa: F401  (fixtures)


def _done_matrix(snapshot, owner):  # noqa: F811
    job = jobs.enqueue_matrix(snapshot, owner=owner, inline=True)
    assert job.state == "done"
    assert MatrixBlock.objects.filter(job=job).exists() and not MatrixCell.objects.filter(job=job).exists()
    return job


def _api(user) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api


def test_overview_counts_every_cell_once_per_namespace_pair(broker, snapshot, people):  # noqa: F811
    job = _done_matrix(snapshot, people["alice"])
    body = _api(people["alice"]).get(f"/api/jobs/{job.pk}/matrix").json()
    assert body["sources"] * body["destinations"] == job.result["cells"] == sum(p["cells"] for p in body["pairs"])
    delivered = sum(p["verdicts"]["delivered"] for p in body["pairs"])
    assert delivered == job.result["verdicts"]["delivered"]
    pairs = {(p["source_namespace"], p["destination_namespace"]): p for p in body["pairs"]}
    # prometheus (monitoring) → payments: ledger admits only team=shop namespaces
    assert pairs[("monitoring", "payments")]["reasons"].get("policy-ingress-denied", 0) > 0
    assert {n["name"] for n in body["namespaces"]} >= {"blog", "monitoring", "payments"}


def test_pair_grid_holds_the_cells_of_the_filtered_list(broker, snapshot, people):  # noqa: F811
    job = _done_matrix(snapshot, people["alice"])
    api = _api(people["alice"])
    grid = api.get(f"/api/jobs/{job.pk}/matrix/pair?source_namespace=monitoring&destination_namespace=payments").json()
    listed = api.get(f"/api/jobs/{job.pk}/cells/?source_namespace=monitoring&destination_namespace=payments"
                     "&limit=1000").json()
    assert listed["count"] == len(grid["sources"]) * len(grid["destinations"]) > 0
    from_grid = {(s["index"], d["index"]): tuple(grid["codes"][grid["cells"][r][c]])
                 for r, s in enumerate(grid["sources"]) for c, d in enumerate(grid["destinations"])}
    from_list = {(c["source"], c["destination"]): (c["verdict"], c["reason"] or None) for c in listed["results"]}
    assert from_grid == from_list


def test_cells_filter_page_and_drill_down(broker, snapshot, people, settings):  # noqa: F811
    job = _done_matrix(snapshot, people["alice"])
    api = _api(people["alice"])
    dropped = api.get(f"/api/jobs/{job.pk}/cells/?verdict=dropped&limit=5").json()
    assert dropped["count"] == job.result["verdicts"]["dropped"]
    assert len(dropped["results"]) == 5 and all(c["verdict"] == "dropped" for c in dropped["results"])
    rest = api.get(dropped["next"]).json()
    assert {c["id"] for c in rest["results"]}.isdisjoint({c["id"] for c in dropped["results"]})
    text = api.get(f"/api/jobs/{job.pk}/cells/?source=prometheus&destination=ledger").json()
    assert text["count"] > 0 and all("prometheus" in c["request"]["from"] for c in text["results"])
    settings.TRACER_MAX_PAGE_SIZE = 10
    capped = api.get(f"/api/jobs/{job.pk}/cells/?limit=100000").json()
    assert len(capped["results"]) == 10 and capped["count"] == job.result["cells"]
    cell = dropped["results"][0]
    again = api.get(f"/api/jobs/{job.pk}/cells/{cell['id']}/").json()
    assert (again["source"], again["destination"], again["verdict"]) == (cell["source"], cell["destination"], "dropped")
    drill = api.get(cell["links"]["trace"]).json()
    assert drill["request"] == cell["request"] and drill["result"]["verdict"] in ("dropped", "partial", "delivered")
    assert api.get(f"/api/jobs/{job.pk}/cells/?source=99999").status_code == 400
    assert api.get(f"/api/jobs/{job.pk}/cells/{10**9}/").status_code == 404


def test_a_stranger_sees_no_matrix(broker, snapshot, people):  # noqa: F811
    job = _done_matrix(snapshot, people["alice"])
    assert _api(people["charlie"]).get(f"/api/jobs/{job.pk}/matrix").status_code == 404
    assert _api(people["charlie"]).get(f"/api/jobs/{job.pk}/matrix/pair?source_namespace=a&"
                                       "destination_namespace=b").status_code == 404


def test_cli_json_streams_the_contract_shape(broker, snapshot):  # noqa: F811
    out = io.StringIO()
    call_command("matrix", "--cluster", "blog", "--no-worker", "--format", "json", stdout=out)
    data = json.loads(out.getvalue())
    assert {"job", "snapshot", "result", "sources", "destinations", "assumptions", "cells"} <= set(data)
    assert len(data["cells"]) == len(data["sources"]) * len(data["destinations"])
    assert set(data["cells"][0]) == {"source", "destination", "verdict", "reason", "request"}
    assert data["result"]["storage"]["format"] == "columns"
    counts = {}
    for c in data["cells"]:
        counts[c["verdict"]] = counts.get(c["verdict"], 0) + 1
    assert counts == data["result"]["verdicts"]
