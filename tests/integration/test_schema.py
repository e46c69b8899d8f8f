"""The OpenAPI schema: valid, warning-free, and true of the running API.

schemathesis generates requests from /api/schema/ for every operation and sends them, with a token,
through the WSGI app: no request may get a 5xx, every status code and body must be documented.
"""
from __future__ import annotations

import io

import pytest
import schemathesis
from django.contrib.auth import get_user_model
from django.core import signals
from django.core.management import call_command
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from config.wsgi import application
from topology.importers import import_bytes
from topology.models import Cluster
from tracer.services import mint_share, run_trace
from tracer.tokens import issue_token

from .api_base import cluster_b_bytes

schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
# The examples and fuzzing phases (bounded by max_examples below) keep the run under two minutes; the
# coverage phase enumerates every boundary of every parameter and alone takes many minutes.
schema.config.phases.coverage.enabled = False

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def test_schema_validates_without_warnings():
    out = io.StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=out)
    text = out.getvalue()
    for path in ("/api/clusters/{id}/upload/", "/api/traces/", "/api/share/{slug}/", "/api/tokens/",
                 "/api/snapshots/{id}/compare/", "/api/clusters/{id}/topology/"):
        assert f"  {path}:" in text, path


def test_every_operation_documents_its_errors():
    spec = schema.raw_schema
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            codes = set(op["responses"])
            assert {"400", "404", "503"} <= codes, (method, path, codes)
            public = op.get("security") == [{}]  # no authentication at all (share links, the reason table)
            assert public == (path.startswith(("/api/share/", "/api/reasons/")) or "/api/schema" in path), (
                method, path, "only share links, the reason table and the schema are public")
            if not public:
                assert {"401", "403"} <= codes, (method, path, codes)
    upload = spec["paths"]["/api/clusters/{id}/upload/"]["post"]["responses"]
    assert {"201", "202", "413"} <= set(upload)


@pytest.fixture
def keep_connection():
    """Calling the WSGI app directly fires request_finished, whose handler closes the DB connection —
    and with it the test's transaction. Django's test client disconnects it; do the same here."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def world(db, keep_connection):
    """alice with a token, a cluster with one snapshot, and one stored trace."""
    alice = get_user_model().objects.create_user("alice")
    token = issue_token(alice)[1]
    cluster = Cluster.objects.create(name="blog", owner=alice)
    snapshot = import_bytes(cluster, [("cluster-b.yaml", cluster_b_bytes())]).snapshot
    trace = run_trace(snapshot, {"from": "pod:blog/wordpress-0", "to": "svc:payments/ledger", "port": 443},
                      owner=alice)
    mint_share(trace, alice)
    return {"token": token, "cluster": cluster.pk, "snapshot": snapshot.pk, "trace": trace.pk,
            "slug": trace.share_slug}


def _real_ids(case, world):
    """Point every other generated id at a real object, so both the 404 and the found paths are fuzzed."""
    params = case.path_parameters or {}
    raw = params.get("id")
    if isinstance(raw, int) and raw % 2 == 0:
        path = case.path
        params["id"] = (world["cluster"] if path.startswith("/api/clusters/") else
                        world["snapshot"] if path.startswith("/api/snapshots/") else
                        world["trace"] if path.startswith("/api/traces/") else raw)
    if "slug" in params and isinstance(params["slug"], str) and len(params["slug"]) % 2 == 0:
        params["slug"] = world["slug"]


@schema.parametrize()
@settings(max_examples=12, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_api_fuzz_no_server_errors(case, world):
    if (case.media_type or "").startswith("multipart/") and not isinstance(case.body, dict):
        return  # negative data as a non-object multipart body: werkzeug's test client cannot even encode it
    _real_ids(case, world)
    case.call_and_validate(headers={"Authorization": f"Token {world['token']}"}, checks=CHECKS)


def test_swagger_ui_is_served_from_this_server(client):
    """There is no CDN where this runs: Swagger UI's assets come from the drf-spectacular sidecar."""
    html = client.get("/api/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "cdn." not in html and "unpkg" not in html and "jsdelivr" not in html
