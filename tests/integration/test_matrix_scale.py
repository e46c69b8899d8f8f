"""A matrix job past reach.PROJECT_ABOVE_CELLS: classes merged on what NetworkPolicy reads, cells assembled
per destination column — and still every cell is what one trace of its flow answers.

The cluster is a generated one (bench.generate: 6 nodes, 200 pods, 40 services, 30 policies, seed 3),
imported as a live dump; the limit is lowered so that this small cluster counts as large:

    [first pod of a merged class] → svc/NS/NAME:PORT → [endpoint pods]   delivered / dropped / partial
"""
from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model

from bench.generate import Size, generate
from tests.unit.test_matrix_members import oracle_cell
from topology.compile import load_model
from topology.importers import import_bytes
from topology.models import Cluster
from tracer import jobs, matrix_store
from tracer.engine import reach
from tracer.engine.flow import make_flow
from tracer.engine.trace import trace
from tracer.models import JobChunk, JobOutput


@pytest.fixture
def generated_snapshot(db):
    owner = get_user_model().objects.create(username="scale")
    cluster = Cluster.objects.create(name="generated", owner=owner)
    data = json.dumps(generate(Size(nodes=6, pods=200, services=40, policies=30, seed=3))).encode()
    return import_bytes(cluster, [("cluster.json", data)], owner=owner).snapshot


def test_a_large_matrix_job_is_projected_and_every_cell_agrees_with_its_trace(broker, generated_snapshot,
                                                                              monkeypatch):
    model = load_model(generated_snapshot.pk)
    exact = reach.plan(model)
    monkeypatch.setattr(reach, "PROJECT_ABOVE_CELLS", exact.cell_count - 1)
    job = jobs.enqueue_matrix(generated_snapshot, cells_per_chunk=500)
    jobs.run_job(job.pk)
    for index in JobChunk.objects.filter(job=job).order_by("index").values_list("index", flat=True):
        jobs.run_chunk(job.pk, index)
    job.refresh_from_db()
    assert job.state == "done", job.error
    plan = JobOutput.objects.get(job=job, name="plan").data
    assert reach.PROJECTED_ASSUMPTION in plan["assumptions"]
    assert len(plan["sources"]) < len(exact.sources)
    n = len(plan["sources"]) * len(plan["destinations"])
    cells = list(matrix_store.iter_cells(job, reach.MatrixPlan.from_dict(plan)))
    assert job.result["cells"] == n == len(cells)
    assert {"delivered", "dropped"} <= set(job.result["verdicts"])
    stored = reach.MatrixPlan.from_dict(plan)
    for cell in cells:
        # every member of the source class to every member of the destination, traced one by one
        want = oracle_cell(model, stored.sources[cell["source"]], stored.destinations[cell["destination"]])
        if want is None:  # a lone pod whose only peer is itself: its own trace (E11)
            req = cell["request"]
            want = reach.peer_verdict(trace(model, make_flow(req["from"], req["to"], req["port"], req["protocol"])),
                                      req["from"])
        assert (cell["verdict"], cell["reason"] if want[0] != "delivered" else None) == want, cell["request"]
