"""Job logic in one process (no worker): chunking, idempotency, reaping, diff, batch, intents, API, commands.

The cluster is tests/fixtures/examples/cluster-b.yaml (6 source classes × 16 destinations = 96 cells):

    [pod blog/wordpress-0]        → svc/payments/ledger:443 → [pod payments/ledger-1]:9000   delivered
    [pod monitoring/prometheus-0] → svc/payments/ledger:443 ✗ policy payments/ledger-from-blog  dropped
    [pod payments/ledger-1]       → svc/monitoring/prometheus:9090 ✗ payments/deny-all egress  dropped

Messages are published to a filesystem broker in a temporary folder (fixture `broker`) and the tasks
run here, by calling tracer.jobs directly — the worker tests (test_workers.py) do the same through
real Celery worker processes.
"""
from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
import yaml
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from tests.unit.test_matrix_members import oracle_cell
from topology.compile import load_model
from topology.importers import import_bytes
from topology.models import Cluster
from tracer import jobs, matrix_store
from tracer.engine.errors import BadRequest
from tracer.engine.flow import make_flow
from tracer.engine.reach import MatrixPlan, peer_verdict
from tracer.engine.trace import trace
from tracer.jobs import batch as batch_job
from tracer.jobs import matrix as matrix_job
from tracer.jobs import queue as job_queue
from tracer.models import Job, JobChunk, JobOutput, MatrixBlock, MatrixCell
from tracer.tokens import issue_token

from .api_base import cluster_b_bytes

PROMETHEUS_ONLY_FROM_MONITORING = {
    "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
    "metadata": {"name": "prometheus-only-from-monitoring", "namespace": "monitoring"},
    "spec": {"podSelector": {"matchLabels": {"app": "prometheus"}}, "policyTypes": ["Ingress"],
             "ingress": [{"from": [{"namespaceSelector": {
                 "matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}]}]},
}


def with_prometheus_policy() -> bytes:
    doc = yaml.safe_load(cluster_b_bytes())
    doc["items"].append(PROMETHEUS_ONLY_FROM_MONITORING)
    return yaml.safe_dump(doc).encode()


@pytest.fixture
def people(db):
    users = get_user_model().objects  # token-authenticated: no password hashing needed
    alice, bob, charlie = (users.create(username=name) for name in ("alice", "bob", "charlie"))
    cluster = Cluster.objects.create(name="blog", owner=alice)
    cluster.shared_with.add(bob)
    return {"alice": alice, "bob": bob, "charlie": charlie, "cluster": cluster}


@pytest.fixture
def snapshot(people):
    return import_bytes(people["cluster"], [("cluster-b.yaml", cluster_b_bytes())], owner=people["alice"]).snapshot


def client(user) -> APIClient:
    c = APIClient()
    c.credentials(HTTP_AUTHORIZATION=f"Token {issue_token(user)[1]}")
    return c


def run_all_chunks(job: Job) -> None:
    for index in JobChunk.objects.filter(job=job).order_by("index").values_list("index", flat=True):
        jobs.run_chunk(job.pk, index)


def single_trace(snapshot_id: int, request: dict) -> dict:
    flow = make_flow(request["from"], request["to"], request["port"], request["protocol"])
    return trace(load_model(snapshot_id), flow).to_dict()


# ---------------------------------------------------------------------------------------------
# Matrix


def stored_cells(job) -> int:
    """Cells a matrix job stored: blocks of whole columns (destinations × source classes each)."""
    return sum((b.end - b.start) * b.sources for b in MatrixBlock.objects.filter(job=job))


def cells_of(job) -> list[dict]:
    plan = MatrixPlan.from_dict(JobOutput.objects.get(job=job, name="plan").data)
    return list(matrix_store.iter_cells(job, plan))


def test_matrix_job_is_chunked_counts_progress_per_chunk_and_every_cell_agrees_with_a_single_trace(
        broker, snapshot, people):
    job = jobs.enqueue_matrix(snapshot, owner=people["alice"], cells_per_chunk=36)
    assert (job.state, job.kind) == ("queued", "matrix")
    jobs.run_job(job.pk)  # plans, then publishes one message per chunk
    job.refresh_from_db()
    assert job.state == "running"
    plan = JobOutput.objects.get(job=job, name="plan").data
    assert (len(plan["sources"]), len(plan["destinations"])) == (6, 16)
    assert (job.progress_current, job.progress_total) == (0, 3)  # 96 cells, 36 per chunk: 6 columns of 6 each

    seen = []
    for index in range(3):
        jobs.run_chunk(job.pk, index)
        job.refresh_from_db()
        seen.append((job.state, job.progress_current))
    assert seen == [("running", 1), ("running", 2), ("done", 3)]
    assert job.result["cells"] == 96
    assert job.result["verdicts"] == {"delivered": 68, "dropped": 28}  # two replicas are never their own peers

    assert not MatrixCell.objects.filter(job=job).exists()  # no row per cell: blocks of columns
    assert MatrixBlock.objects.filter(job=job).count() == 3
    cells = cells_of(job)
    assert len(cells) == 96
    model = load_model(snapshot.pk)
    plan = MatrixPlan.from_dict(plan)
    for cell in cells:
        # every member of the source class to every member of the destination, traced one by one
        src, dst = plan.sources[cell["source"]], plan.destinations[cell["destination"]]
        want = oracle_cell(model, src, dst)
        if want is None:  # a lone pod whose only peer is itself: its own trace (E11)
            req = cell["request"]
            want = peer_verdict(trace(model, make_flow(req["from"], req["to"], req["port"], req["protocol"])),
                                req["from"])
        assert (cell["verdict"], cell["reason"] if want[0] != "delivered" else None) == want, cell["request"]


def test_matrix_cells_name_the_flows_of_the_contract_cases(broker, snapshot):
    """[pod monitoring/prometheus-0] → svc/payments/ledger:443 ✗ ingress; [pod blog/wordpress-0] → same ✓."""
    job = jobs.enqueue_matrix(snapshot, inline=True)
    assert job.state == "done"
    plan = JobOutput.objects.get(job=job, name="plan").data
    src = {s["representative"]: i for i, s in enumerate(plan["sources"])}
    dst = {d["key"]: i for i, d in enumerate(plan["destinations"])}
    ledger = dst["svc:payments/ledger:443/TCP"]
    cells = {(c["source"], c["destination"]): c for c in cells_of(job)}
    denied = cells[(src["pod:monitoring/prometheus-0"], ledger)]
    allowed = cells[(src["pod:blog/wordpress-0"], ledger)]
    assert (denied["verdict"], denied["reason"]) == ("dropped", "policy-ingress-denied")
    assert (allowed["verdict"], allowed["reason"]) == ("delivered", None)
    assert denied["request"] == {"from": "pod:monitoring/prometheus-0", "to": "svc:payments/ledger", "port": 443,
                              "protocol": "TCP"}


def test_a_redelivered_chunk_adds_no_rows_and_counts_once(broker, snapshot):
    job = jobs.enqueue_matrix(snapshot, cells_per_chunk=36)
    jobs.run_job(job.pk)
    jobs.run_chunk(job.pk, 0)
    jobs.run_chunk(job.pk, 0)  # the broker delivered it again
    job.refresh_from_db()
    assert stored_cells(job) == 36
    assert job.progress_current == 1

    # A worker that wrote chunk 1's cells and died before marking it done: the rerun adds nothing twice.
    chunk = JobChunk.objects.get(job=job, index=1)
    matrix_job.compute_chunk(job, chunk)
    assert stored_cells(job) == 72
    jobs.run_chunk(job.pk, 1)
    jobs.run_chunk(job.pk, 2)
    job.refresh_from_db()
    assert (job.state, job.progress_current, stored_cells(job)) == ("done", 3, 96)
    assert job.result["cells"] == 96
    assert JobChunk.objects.get(job=job, index=1).attempts == 1


def test_a_duplicate_job_message_is_ignored_and_a_late_redelivery_does_not_plan_twice(broker, snapshot, settings):
    job = jobs.enqueue_matrix(snapshot, cells_per_chunk=36)
    jobs.run_job(job.pk)
    jobs.run_chunk(job.pk, 0)
    jobs.run_job(job.pk)  # a duplicate while the job is alive (fresh heartbeat): ignored
    job.refresh_from_db()
    assert (job.attempts, job.state) == (1, "running")
    _age(job, settings.TRACER_JOB_STALE_SECONDS // 2 + 1)
    jobs.run_job(job.pk)  # redelivered after its worker went quiet: a second attempt, same plan
    job.refresh_from_db()
    assert (job.attempts, JobChunk.objects.filter(job=job).count(), job.progress_current) == (2, 3, 1)
    run_all_chunks(job)
    job.refresh_from_db()
    assert job.state == "done"


def test_a_queued_job_whose_message_was_lost_is_published_again(broker, snapshot, settings):
    """Filesystem broker: a worker killed between reading a message and claiming the job loses it."""
    job = jobs.create("matrix", snapshot=snapshot, params={"services": True, "pods": True})  # never published
    waiting = jobs.enqueue_matrix(snapshot)  # published: waits for a worker, must be left alone
    old = timezone.now() - timedelta(seconds=settings.TRACER_JOB_STALE_SECONDS + 1)
    Job.objects.update(created=old)
    actions = jobs.reap()
    if broker.kind == "redis":
        assert actions == []  # Redis gives unacknowledged messages back by itself
        return
    assert actions == [{"job": job.pk, "action": "republished"}]
    assert job_queue.filesystem_queued_jobs() == {job.pk, waiting.pk}
    assert jobs.reap() == []  # the new message is there now


# ---------------------------------------------------------------------------------------------
# Reaper


def _age(job: Job, seconds: int) -> None:
    Job.objects.filter(pk=job.pk).update(heartbeat=timezone.now() - timedelta(seconds=seconds))


def test_reaper_requeues_a_silent_job_once_then_fails_it_with_a_reason(broker, snapshot, settings):
    job = jobs.enqueue_matrix(snapshot, cells_per_chunk=36)
    jobs.run_job(job.pk)
    jobs.run_chunk(job.pk, 0)
    JobChunk.objects.filter(job=job, index=1).update(state="running")  # its worker was killed mid-chunk
    _age(job, settings.TRACER_JOB_STALE_SECONDS + 1)

    assert jobs.reap() == [{"job": job.pk, "action": "requeued"}]
    job.refresh_from_db()
    assert job.state == "queued" and "requeued" in job.progress_message
    assert JobChunk.objects.get(job=job, index=1).state == "pending"
    assert jobs.reap() == []  # fresh heartbeat: nothing more to do

    jobs.run_job(job.pk)  # the requeued message: attempt 2 dispatches the unfinished chunks
    _age(job, settings.TRACER_JOB_STALE_SECONDS + 1)  # ... and that worker dies too
    [action] = jobs.reap()
    job.refresh_from_db()
    assert action["action"] == "failed"
    assert job.state == "failed"
    assert "worker lost" in job.error and "attempt 2 of 2" in job.error
    jobs.run_chunk(job.pk, 1)  # a late chunk of a failed job writes nothing
    assert stored_cells(job) == 36


def test_fresh_running_jobs_are_not_reaped(broker, snapshot):
    job = jobs.enqueue_matrix(snapshot)
    jobs.run_job(job.pk)
    assert jobs.reap() == []
    job.refresh_from_db()
    assert job.state == "running"


def test_reading_a_stale_job_over_the_api_reaps_it(broker, snapshot, people, settings):
    job = jobs.enqueue_matrix(snapshot, owner=people["alice"])
    jobs.run_job(job.pk)
    Job.objects.filter(pk=job.pk).update(attempts=2)
    _age(job, settings.TRACER_JOB_STALE_SECONDS + 5)
    body = client(people["alice"]).get(f"/api/jobs/{job.pk}/").json()
    assert body["state"] == "failed"
    assert "no heartbeat" in body["error"]


def test_reap_jobs_command_reports_what_it_did(broker, snapshot, settings):
    job = jobs.enqueue_matrix(snapshot)
    jobs.run_job(job.pk)
    _age(job, settings.TRACER_JOB_STALE_SECONDS + 1)
    out = io.StringIO()
    call_command("reap_jobs", stdout=out)
    assert out.getvalue().strip() == f"job {job.pk}: requeued"


# ---------------------------------------------------------------------------------------------
# Diff / what-if


def test_diff_lists_exactly_the_cells_a_new_policy_closes(broker, snapshot, people):
    """New policy: monitoring/prometheus accepts only namespace monitoring.

    Closed: [blog mysql, blog wordpress, kube-system coredns, traefik] → {svc/prometheus:9090, prometheus pods:9090}
    Unchanged: prometheus → itself (own namespace), payments/ledger → prometheus (its egress was already denied).
    """
    candidate = import_bytes(people["cluster"], [("candidate.yaml", with_prometheus_policy())]).snapshot
    job = jobs.enqueue_diff(snapshot, candidate, cells_per_chunk=40, inline=True)
    assert job.state == "done", job.error
    plan = JobOutput.objects.get(job=job, name="plan").data
    changed = {(plan["sources"][c.source]["representative"], plan["destinations"][c.destination]["label"]):
               (c.change, c.base_verdict, c.verdict, c.reason) for c in MatrixCell.objects.filter(job=job)}
    expected_sources = ["pod:blog/mysql-0", "pod:blog/wordpress-0", "pod:kube-system/coredns-a",
                        "pod:traefik/traefik-5f7c-q2"]
    expected_dests = ["svc/monitoring/prometheus:9090/TCP (web)",
                      "pods monitoring: app=prometheus :9090/TCP · 1 pod(s)"]
    assert set(changed) == {(s, d) for s in expected_sources for d in expected_dests}
    assert set(changed.values()) == {("closed", "delivered", "dropped", "policy-ingress-denied")}
    assert job.result["changed"] == 8 and job.result["changes"] == {"closed": 8}
    assert job.result["compared"] == 96

    cell = MatrixCell.objects.filter(job=job).first()
    assert cell.base_trace["verdict"] == "delivered" and cell.trace["verdict"] == "dropped"
    hops = [h for p in cell.trace["paths"] for h in p["hops"]]
    assert any("prometheus-only-from-monitoring" in (h["id"] + h["detail"]) for h in hops)


def test_diff_of_a_snapshot_with_itself_is_refused(broker, snapshot):
    with pytest.raises(BadRequest, match="same snapshot"):
        jobs.enqueue_diff(snapshot, snapshot)


def test_diff_from_uploaded_manifests_imports_the_candidate_in_the_job(broker, snapshot, people):
    job = jobs.enqueue_diff(snapshot, uploads=[("what-if.yaml", with_prometheus_policy())], owner=people["alice"],
                            inline=True)
    assert job.state == "done", job.error
    assert job.snapshot.number == 2 and job.snapshot.cluster_id == people["cluster"].pk
    assert job.result["changed"] == 8


# ---------------------------------------------------------------------------------------------
# Batch and intents


def test_batch_job_returns_one_result_per_request_in_order(broker, snapshot, people):
    requests = [{"from": "pod:blog/wordpress-0", "to": "svc:payments/ledger", "port": 443},
                {"from": "pod:blog/nosuchpod", "to": "svc:payments/ledger", "port": 443},
                {"from": "pod:monitoring/prometheus-0", "to": "svc:payments/ledger", "port": 443}]
    job = jobs.enqueue_batch(snapshot, requests, owner=people["alice"], inline=True)
    assert job.state == "done"
    results = [json.loads(line) for line in "".join(batch_job.iter_lines(job)).splitlines()]
    assert [r.get("verdict") for r in results] == ["delivered", None, "dropped"]
    assert results[1]["line"] == 2 and "nosuchpod" in results[1]["error"]
    assert job.result == {"count": 3, "verdicts": {"delivered": 1, "error": 1, "dropped": 1}}
    resp = client(people["alice"]).get(f"/api/jobs/{job.pk}/results?output=jsonl")
    lines = b"".join(resp.streaming_content).decode().splitlines()
    assert [json.loads(line).get("verdict") for line in lines] == ["delivered", None, "dropped"]


INTENTS = """
- name: wordpress reaches the ledger
  from: pod:blog/wordpress-0
  to: svc:payments/ledger
  port: 443
  expect: delivered
- name: monitoring must not reach the ledger
  from: pod:monitoring/prometheus-0
  to: svc:payments/ledger
  port: 443
  expect: dropped
  reason: policy-ingress-denied
"""

VIOLATED = INTENTS + """
- name: the ledger can scrape prometheus
  from: pod:payments/ledger-1
  to: svc:monitoring/prometheus
  port: 9090
  expect: delivered
"""


def test_intent_job_reports_violations_with_their_traces(broker, snapshot):
    from tracer.intents import parse_intents

    job = jobs.enqueue_intents(snapshot, parse_intents(VIOLATED), inline=True)
    assert job.state == "done"
    assert (job.result["checked"], job.result["passed"]) == (3, 2)
    [v] = job.result["violations"]
    assert v["intent"]["name"] == "the ledger can scrape prometheus"
    assert v["problem"] == "expected delivered, got dropped (policy-egress-denied)"
    assert v["trace"]["paths"][0]["hops"]


def _intents_file(tmp_path, text):
    path = tmp_path / "intents.yaml"
    path.write_text(text)
    return str(path)


def test_check_intents_exits_0_when_every_intent_holds(snapshot, tmp_path):
    out = io.StringIO()
    call_command("check_intents", "--cluster", "blog", _intents_file(tmp_path, INTENTS), stdout=out)
    assert "2 of 2 intents hold, 0 violated" in out.getvalue()


def test_check_intents_exits_1_and_prints_each_violation_with_its_trace(snapshot, tmp_path):
    out = io.StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("check_intents", "--cluster", "blog", _intents_file(tmp_path, VIOLATED), stdout=out)
    assert exit_.value.code == 1
    text = out.getvalue()
    assert "FAIL #3 the ledger can scrape prometheus" in text
    assert "VIOLATION #3: expected delivered, got dropped (policy-egress-denied)" in text
    assert "deny-all" in text  # the trace names the policy to change
    assert "2 of 3 intents hold, 1 violated" in text


@pytest.mark.parametrize("text, message", [
    ("- {from: pod:blog/wordpress-0, to: svc:payments/ledger}", "item 1: field 'expect' is required"),
    ("- {from: pod:blog/wordpress-0, to: svc:payments/ledger, expect: maybe}", "'maybe' is not one of"),
    ("- {from: wordpress, to: svc:payments/ledger, expect: delivered}", "item 1: unparsable SOURCE"),
    ("- {from: pod:a/b, to: svc:c/d, expect: dropped, colour: red}", "unknown field(s) colour"),
    ("- {from: pod:a/b, to: svc:c/d, expect: delivered, reason: no-endpoints}", "only makes sense with expect: dropped"),
    ("from: pod:a/b", "expected a YAML list"),
    ("- [unclosed", "not valid YAML"),
])
def test_bad_intent_files_exit_2_naming_file_item_and_field(snapshot, tmp_path, text, message):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError) as err:
        call_command("check_intents", "--cluster", "blog", _intents_file(tmp_path, text))
    assert err.value.returncode == 2
    assert message in str(err.value) and "intents.yaml" in str(err.value)


def test_intent_check_api_answers_now_with_violations(snapshot, people):
    body = client(people["bob"]).post("/api/intents/check", {"cluster": "blog", "intents": VIOLATED},
                                      format="json").json()
    assert body["ok"] is False and body["passed"] == 2
    assert body["violations"][0]["intent"]["index"] == 3


# ---------------------------------------------------------------------------------------------
# API: access, cancel, 503


def test_job_api_progress_cells_and_drill_down(broker, snapshot, people):
    api = client(people["alice"])
    resp = api.post("/api/jobs/matrix", {"cluster": "blog", "cells_per_chunk": 48}, format="json")  # 8 columns
    assert resp.status_code == 202, resp.content
    job_id = resp.json()["job"]["id"]
    assert resp.json()["job"]["state"] == "queued"
    jobs.run_job(job_id)
    body = api.get(f"/api/jobs/{job_id}/").json()
    assert (body["state"], body["progress"]["current"], body["progress"]["total"]) == ("running", 0, 2)
    jobs.run_chunk(job_id, 0)
    body = api.get(f"/api/jobs/{job_id}/").json()
    assert (body["progress"]["current"], body["progress"]["percent"]) == (1, 50.0)
    assert body["progress"]["chunks"] == {"pending": 1, "running": 0, "done": 1}
    jobs.run_chunk(job_id, 1)
    body = api.get(f"/api/jobs/{job_id}/").json()
    assert body["state"] == "done" and body["result"]["cells"] == 96

    dropped = api.get(f"/api/jobs/{job_id}/cells/?verdict=dropped&limit=100").json()
    assert dropped["count"] == 28
    cell = dropped["results"][0]
    drill = api.get(cell["links"]["trace"]).json()
    assert drill["result"]["verdict"] == "dropped" and drill["result"]["reason"] == cell["reason"]
    # The drill-down is what `manage.py trace` prints for the same flow.
    out = io.StringIO()
    req = cell["request"]
    call_command("trace", "--cluster", "blog", "--from", req["from"], "--to", req["to"], "--port", str(req["port"]),
                 "--protocol", req["protocol"], "--format", "json", stdout=out)
    cli = json.loads(out.getvalue())
    assert (cli["verdict"], cli["reason"], len(cli["paths"])) == (
        drill["result"]["verdict"], drill["result"]["reason"], len(drill["result"]["paths"]))
    plan = api.get(f"/api/jobs/{job_id}/plan").json()
    assert len(plan["sources"]) == 6 and len(plan["destinations"]) == 16


def test_jobs_follow_cluster_access_and_only_owners_cancel(broker, snapshot, people):
    job = jobs.enqueue_matrix(snapshot, owner=people["alice"])
    assert client(people["charlie"]).get(f"/api/jobs/{job.pk}/").status_code == 404
    assert client(people["charlie"]).post(f"/api/jobs/{job.pk}/cancel").status_code == 404
    assert client(people["charlie"]).get(f"/api/jobs/{job.pk}/cells/").status_code == 404
    assert [j["id"] for j in client(people["charlie"]).get("/api/jobs/").json()["results"]] == []
    assert client(people["bob"]).get(f"/api/jobs/{job.pk}/").status_code == 200
    assert client(people["bob"]).post(f"/api/jobs/{job.pk}/cancel").status_code == 403
    resp = client(people["alice"]).post(f"/api/jobs/{job.pk}/cancel")
    assert resp.status_code == 200 and resp.json()["state"] == "cancelled"
    assert client(people["alice"]).post(f"/api/jobs/{job.pk}/cancel").status_code == 409
    assert client(people["charlie"]).delete(f"/api/jobs/{job.pk}/").status_code == 404
    assert client(people["bob"]).delete(f"/api/jobs/{job.pk}/").status_code == 403
    jobs.run_job(job.pk)  # the message still in the queue: a cancelled job never starts
    job.refresh_from_db()
    assert (job.state, JobChunk.objects.filter(job=job).count()) == ("cancelled", 0)
    assert client(people["charlie"]).post("/api/jobs/matrix", {"cluster": "blog"}, format="json").status_code == 400
    assert client(people["alice"]).delete(f"/api/jobs/{job.pk}/").status_code == 204
    assert not Job.objects.filter(pk=job.pk).exists()


def test_an_active_job_cannot_be_deleted(broker, snapshot, people):
    job = jobs.enqueue_matrix(snapshot, owner=people["alice"])
    resp = client(people["alice"]).delete(f"/api/jobs/{job.pk}/")
    assert resp.status_code == 409 and "cancel it first" in resp.json()["detail"]


def test_cancel_stops_a_running_matrix_between_chunks(broker, snapshot, people):
    job = jobs.enqueue_matrix(snapshot, owner=people["alice"], cells_per_chunk=18)
    jobs.run_job(job.pk)
    jobs.run_chunk(job.pk, 0)
    jobs.cancel(job)
    run_all_chunks(job)
    job.refresh_from_db()
    assert (job.state, job.progress_current, stored_cells(job)) == ("cancelled", 1, 18)


def test_broker_down_async_endpoints_answer_503_and_traces_still_work(snapshot, people):
    from django.conf import settings

    from config.celery import use_broker

    use_broker("redis://127.0.0.1:9/0")  # nothing listens on port 9
    try:
        api = client(people["alice"])
        resp = api.post("/api/jobs/matrix", {"cluster": "blog"}, format="json")
        assert resp.status_code == 503
        assert "job queue is unavailable" in resp.json()["detail"]
        assert "single traces still work" in resp.json()["detail"]
        assert not Job.objects.exists()  # nothing half-started is left behind
        resp = api.post("/api/traces/", {"cluster": "blog", "from": "pod:blog/wordpress-0",
                                         "to": "svc:payments/ledger", "port": 443}, format="json")
        assert resp.status_code == 201 and resp.json()["verdict"] == "delivered"
    finally:
        use_broker(settings.CELERY_BROKER_URL)


@pytest.mark.parametrize("body, field", [
    ({"cluster": "nope"}, "unknown cluster 'nope'"),
    ({"cluster": "blog", "snapshot": 999999}, "has no snapshot 999999"),
    ({"cluster": "blog", "cells_per_chunk": 0}, "cells_per_chunk"),
    ({"cluster": "blog", "services": False, "pods": False}, "needs destinations"),
])
def test_matrix_request_mistakes_are_400(broker, snapshot, people, body, field):
    resp = client(people["alice"]).post("/api/jobs/matrix", body, format="json")
    assert resp.status_code == 400
    assert field in resp.json()["detail"]


# ---------------------------------------------------------------------------------------------
# Commands


def test_matrix_command_without_a_worker_prints_the_summary(snapshot):
    out = io.StringIO()
    call_command("matrix", "--cluster", "blog", "--no-worker", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0].endswith("6 source classes × 16 destinations = 96 cells")
    assert "  delivered  68" in lines and "  dropped    28" in lines


def test_matrix_command_json_has_every_cell(snapshot):
    out = io.StringIO()
    call_command("matrix", "--cluster", "blog", "--no-worker", "--format", "json", stdout=out)
    data = json.loads(out.getvalue())
    assert len(data["cells"]) == len(data["sources"]) * len(data["destinations"]) == 96


# ---------------------------------------------------------------------------------------------
# Background imports and async intents over the API


def test_a_large_upload_is_imported_by_a_job(broker, snapshot, people, settings):
    settings.TRACER_ASYNC_IMPORT_THRESHOLD = 1024  # cluster-b is bigger than this: it goes to a job
    api = client(people["alice"])
    resp = api.post(f"/api/clusters/{people['cluster'].pk}/upload/", data=with_prometheus_policy(),
                    content_type="application/yaml")
    assert resp.status_code == 202, resp.content
    job_id = resp.json()["job"]["id"]
    assert api.get(f"/api/jobs/{job_id}/").json()["state"] == "queued"
    jobs.run_job(job_id)
    body = api.get(f"/api/jobs/{job_id}/").json()
    assert body["state"] == "done", body
    assert body["result"]["number"] == 2 and body["result"]["counts"]["NetworkPolicy"] == 4
    assert body["links"]["snapshot"] == f"/api/snapshots/{body['result']['snapshot']}/"
    assert people["cluster"].latest_snapshot().pk == body["result"]["snapshot"]


def test_an_invalid_background_import_fails_naming_the_file_and_imports_nothing(broker, snapshot, people):
    job = jobs.enqueue_import(people["cluster"], [("broken.yaml", b"kind: Service\nmetadata: {name: x}\nspec: {ports: [{port: http}]}\n")],
                              owner=people["alice"])
    jobs.run_job(job.pk)
    job.refresh_from_db()
    assert job.state == "failed"
    assert "broken.yaml" in job.error
    assert people["cluster"].snapshots.count() == 1
    assert not job.uploads.exists()  # the uploaded bytes are not kept once nothing will read them


def test_intent_job_over_the_api(broker, snapshot, people):
    api = client(people["alice"])
    resp = api.post("/api/jobs/intents", {"cluster": people["cluster"].pk, "intents": VIOLATED}, format="json")
    assert resp.status_code == 202, resp.content
    job_id = resp.json()["job"]["id"]
    assert resp.json()["job"]["progress"]["total"] == 3
    jobs.run_job(job_id)
    body = api.get(f"/api/jobs/{job_id}/").json()
    assert body["state"] == "done" and body["progress"]["current"] == 3
    assert [v["intent"]["index"] for v in body["result"]["violations"]] == [3]
    bad = api.post("/api/jobs/intents", {"cluster": "blog", "intents": [{"from": "pod:a/b", "to": "svc:c/d"}]},
                   format="json")
    assert bad.status_code == 400 and "field 'expect' is required" in bad.json()["detail"]


def test_matrix_command_says_when_the_broker_is_down(snapshot):
    from django.conf import settings
    from django.core.management.base import CommandError

    from config.celery import use_broker

    use_broker("redis://127.0.0.1:9/0")
    try:
        with pytest.raises(CommandError) as err:
            call_command("matrix", "--cluster", "blog", "--wait")
    finally:
        use_broker(settings.CELERY_BROKER_URL)
    assert err.value.returncode == 3
    assert "job queue is unavailable" in str(err.value) and "--no-worker" in str(err.value)


def test_diff_api_between_two_snapshots_defaults_base_to_the_previous_one(broker, snapshot, people):
    candidate = import_bytes(people["cluster"], [("candidate.yaml", with_prometheus_policy())]).snapshot
    api = client(people["bob"])
    resp = api.post("/api/jobs/diff", {"cluster": "blog", "candidate": candidate.pk}, format="json")
    assert resp.status_code == 202, resp.content
    job = resp.json()["job"]
    assert (job["params"]["base"], job["snapshot"]) == (snapshot.pk, candidate.pk)
    jobs.run_job(job["id"])
    run_all_chunks(Job.objects.get(pk=job["id"]))
    closed = api.get(f"/api/jobs/{job['id']}/cells/?change=closed").json()
    assert closed["count"] == 8
    assert api.get(f"/api/jobs/{job['id']}/cells/?change=opened").json()["count"] == 0
    wrong = api.post("/api/jobs/diff", {"cluster": "blog"}, format="json")
    assert wrong.status_code == 400 and "candidate" in wrong.json()["detail"]


def test_batch_api_takes_the_cli_batch_format(broker, snapshot, people):
    api = client(people["alice"])
    lines = ('{"from": "pod:blog/wordpress-0", "to": "svc:payments/ledger", "port": 443}\n\n'
             '{"from": "pod:monitoring/prometheus-0", "to": "svc:payments/ledger", "port": 443}\n')
    resp = api.post("/api/jobs/batch", {"cluster": "blog", "lines": lines}, format="json")
    assert resp.status_code == 202, resp.content
    job_id = resp.json()["job"]["id"]
    jobs.run_job(job_id)
    results = json.loads(b"".join(api.get(f"/api/jobs/{job_id}/results").streaming_content))["results"]
    assert [r["verdict"] for r in results] == ["delivered", "dropped"]
    bad = api.post("/api/jobs/batch", {"cluster": "blog", "lines": '{"from": "pod:a/b"}\nnot json\n'}, format="json")
    assert bad.status_code == 400 and "line 2: not JSON" in bad.json()["detail"]
    neither = api.post("/api/jobs/batch", {"cluster": "blog"}, format="json")
    assert neither.status_code == 400 and "either `requests`" in neither.json()["detail"]


def test_what_if_upload_over_the_limit_is_413(broker, snapshot, people, settings):
    settings.TRACER_UPLOAD_LIMIT = 2048
    upload = io.BytesIO(with_prometheus_policy())
    upload.name = "what-if.yaml"
    resp = client(people["alice"]).post("/api/jobs/diff", {"cluster": "blog", "files": upload}, format="multipart")
    assert resp.status_code == 413
    assert "TRACER_UPLOAD_LIMIT" in resp.json()["detail"]
    assert not Job.objects.exists()


def test_a_matrix_of_a_cluster_without_pods_is_done_and_empty(broker, people):
    """A bare Service and no pods: nothing can send, so there is nothing to trace — done, 0 cells."""
    snap = import_bytes(people["cluster"], [("svc.yaml", b"apiVersion: v1\nkind: Service\nmetadata: {name: lonely}\n"
                                                         b"spec: {clusterIP: 10.96.0.9, ports: [{port: 80}]}\n")]).snapshot
    job = jobs.enqueue_matrix(snap)
    jobs.run_job(job.pk)
    job.refresh_from_db()
    assert (job.state, job.result["cells"], job.result["sources"], job.result["destinations"]) == ("done", 0, 0, 1)
