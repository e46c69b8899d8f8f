"""API fuzzing beyond tests/integration/test_schema.py (which sends schema-valid requests as alice):

1. **Invalid input** (schemathesis' negative mode): bodies, query and path parameters that violate the
   schema — wrong types, missing required fields, out-of-range numbers — for every operation, with a token.
   Never a 5xx; every status code and body is documented.
2. **Another user's ids**: carol (an outsider, with her own token) fuzzes every operation with alice's real
   cluster/snapshot/trace/job ids and share slug. Never a 5xx, and nothing of alice's — her cluster's
   distinctive name, her trace's share slug, her username — ever appears in what carol gets back (except the
   share slug's own public endpoint, which is the point of a share link).
"""
from __future__ import annotations

import pytest
import schemathesis
from django.contrib.auth import get_user_model
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from config.wsgi import application
from topology.importers import import_bytes
from topology.models import Cluster
from tracer.models import Job
from tracer.services import mint_share, run_trace
from tracer.tokens import issue_token

from .conftest import CLUSTER_B

SECRET_NAME = "alice-private-cluster-7c1e"

def _definition(ctx) -> dict:
    op = ctx.operation
    return getattr(getattr(op, "definition", None), "raw", None) or getattr(op, "definition", {}) or {}


def _no_input_to_break(ctx) -> bool:
    """Operations without any parameter or body (nothing can be made invalid), and the share link (any string
    is a valid slug: the only wrong slug is an unknown one, which test_access.py covers)."""
    d = _definition(ctx)
    return ctx.operation.path.startswith("/api/share/") or not (d.get("parameters") or d.get("requestBody"))


def _no_id_to_borrow(ctx) -> bool:
    """Operations with neither a path parameter nor a body: there is no id of alice's to put in them."""
    d = _definition(ctx)
    return "{" not in ctx.operation.path and not d.get("requestBody") and not d.get("parameters")


negative = schemathesis.openapi.from_wsgi("/api/schema/", application).exclude(func=_no_input_to_break)
negative.config.phases.coverage.enabled = False
negative.config.generation.modes = [GenerationMode.NEGATIVE]

outsider = schemathesis.openapi.from_wsgi("/api/schema/", application).exclude(func=_no_id_to_borrow)
outsider.config.phases.coverage.enabled = False

SUPPRESS = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much]


@pytest.fixture
def keep_connection():
    """Calling the WSGI app directly fires request_finished, which would close the test's DB connection."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def world(db, keep_connection):
    users = get_user_model().objects
    alice, carol = users.create_user("alice-owner-3f9a"), users.create_user("carol")
    cluster = Cluster.objects.create(name=SECRET_NAME, owner=alice)
    snapshot = import_bytes(cluster, [("cluster-b.yaml", CLUSTER_B.read_bytes())], owner=alice).snapshot
    trace = mint_share(run_trace(snapshot, {"from": "pod:blog/wordpress-0", "to": "svc:payments/ledger", "port": 443},
                                 owner=alice), alice)
    job = Job.objects.create(kind="batch", owner=alice, cluster=cluster, snapshot=snapshot, state="running")
    return {"alice": issue_token(alice)[1], "carol": issue_token(carol)[1],
            "cluster": cluster.pk, "snapshot": snapshot.pk, "trace": trace.pk, "job": job.pk, "slug": trace.share_slug}


def _alices_ids(case, world) -> None:
    """Every integer id → one of alice's real ids for that path; `cluster` fields in bodies → her cluster."""
    params = case.path_parameters or {}
    path = case.path
    if "id" in params or "pk" in params:
        key = "id" if "id" in params else "pk"
        params[key] = (world["cluster"] if path.startswith("/api/clusters/") else
                       world["snapshot"] if path.startswith("/api/snapshots/") else
                       world["trace"] if path.startswith("/api/traces/") else
                       world["job"] if path.startswith("/api/jobs/") else params[key])
    for key in ("job_pk",):
        if key in params:
            params[key] = world["job"]
    if "slug" in params:
        params["slug"] = world["slug"]
    if isinstance(case.body, dict):
        if "cluster" in case.body:
            # by id: a name carol typed herself may be echoed back ("unknown cluster 'x'"), which is no leak
            case.body["cluster"] = str(world["cluster"]) if isinstance(case.body["cluster"], str) else world["cluster"]
        if "snapshot" in case.body:
            case.body["snapshot"] = world["snapshot"]
    if isinstance(case.query, dict):
        for key in ("cluster", "snapshot"):
            if key in case.query:
                case.query[key] = world[key]


@negative.parametrize()
@settings(max_examples=4, deadline=None, derandomize=True, suppress_health_check=SUPPRESS)
def test_invalid_requests_never_get_a_server_error(case, world):
    if (case.media_type or "").startswith("multipart/") and not isinstance(case.body, dict):
        # schemathesis cannot encode a non-object as multipart (a client-side error): send it as JSON instead
        case.media_type = "application/json"
    case.call_and_validate(headers={"Authorization": f"Token {world['alice']}"},
                           checks=[not_a_server_error, status_code_conformance, content_type_conformance,
                                   response_schema_conformance])


@outsider.parametrize()
@settings(max_examples=4, deadline=None, derandomize=True, suppress_health_check=SUPPRESS)
def test_outsider_with_alices_ids_learns_nothing(case, world):
    if (case.media_type or "").startswith("multipart/") and not isinstance(case.body, dict):
        # schemathesis cannot encode a non-object as multipart (a client-side error): send it as JSON instead
        case.media_type = "application/json"
    _alices_ids(case, world)
    response = case.call(headers={"Authorization": f"Token {world['carol']}"})
    case.validate_response(response, checks=[not_a_server_error, status_code_conformance, content_type_conformance,
                                             response_schema_conformance])
    text = response.text or ""
    assert SECRET_NAME not in text, (case.method, case.formatted_path, response.status_code)
    assert "alice-owner-3f9a" not in text, (case.method, case.formatted_path, response.status_code)
    if not case.path.startswith("/api/share/"):
        assert world["slug"] not in text, (case.method, case.formatted_path)
    if case.method.upper() in ("PATCH", "PUT", "DELETE") or case.path.endswith(("/share/", "/rerun/", "/cancel")):
        assert response.status_code >= 400, (case.method, case.formatted_path, response.status_code)
    assert Cluster.objects.filter(pk=world["cluster"], name=SECRET_NAME).exists()
