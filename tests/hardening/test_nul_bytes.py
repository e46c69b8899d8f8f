"""NUL bytes and other control characters in every kind of input: 4xx, never 500.

PostgreSQL refuses NUL (0x00) in text values ("text fields cannot contain NUL"); SQLite stores it. A query
parameter, path segment or JSON string holding one must be refused as a bad request (or simply not match)
on both backends, before it reaches a query.

    GET /t/%00 · GET /api/traces/?reason=%00 · POST /api/traces/ {"from": "pod:a\\u0000/b"} … → 4xx / 200-empty
"""
from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.test import APIClient

from topology.importers import import_bytes
from topology.models import Cluster
from tracer.tokens import issue_token

from .conftest import CLUSTER_B, row_counts

NUL = "\x00"


@pytest.fixture
def api(db):
    alice = get_user_model().objects.create_user("alice")
    cluster = Cluster.objects.create(name="blog", owner=alice)
    snapshot = import_bytes(cluster, [("cluster-b.yaml", CLUSTER_B.read_bytes())], owner=alice).snapshot
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {issue_token(alice)[1]}")
    client.raise_request_exception = False
    return client, cluster.pk, snapshot.pk, alice


GETS = [
    "/api/traces/?reason={x}", "/api/traces/?verdict={x}", "/api/traces/?object=svc:blog/{x}",
    "/api/jobs/?kind={x}", "/api/jobs/?state={x}", "/api/clusters/{c}/search/?q={x}",
    "/api/snapshots/{s}/search/?q=a{x}b", "/api/clusters/{c}/topology/?namespace={x}",
    "/api/clusters/{c}/topology/?label=app%3D{x}", "/api/clusters/{c}/topology/?name={x}",
    "/api/clusters/{c}/pods/blog/{x}/", "/api/snapshots/{s}/pods/{x}/wordpress-0/", "/api/share/{x}",
    "/api/clusters/{c}/?snapshot={x}",
]
POSTS = [
    ("/api/traces/", {"cluster": "{c}", "from": "pod:blog/word{x}press-0", "to": "svc:blog/mysql", "port": 3306}),
    ("/api/traces/", {"cluster": "{c}", "from": "pod:blog/wordpress-0", "to": "dns:my{x}sql", "port": 3306}),
    ("/api/traces/", {"cluster": "bl{x}og", "from": "pod:blog/wordpress-0", "to": "svc:blog/mysql"}),
    ("/api/traces/", {"cluster": "{c}", "from": "pod:blog/wordpress-0", "to": "svc:blog/mysql", "port": "h{x}"}),
    ("/api/clusters/", {"name": "new{x}cluster"}),
    ("/api/clusters/", {"name": "ok", "description": "a{x}b"}),
    ("/api/jobs/batch", {"cluster": "{c}", "requests": [{"from": "pod:blog/wordpress-0", "to": "svc:{x}"}]}),
    ("/api/intents/check", {"cluster": "{c}", "intents": "- from: pod:blog/a{x}\n  to: svc:blog/mysql\n"}),
]


def _fill(value, c, s):
    if isinstance(value, str):
        out = value.replace("{x}", NUL).replace("{c}", str(c)).replace("{s}", str(s))
        return int(out) if out.isdigit() and value == "{c}" else out
    if isinstance(value, dict):
        return {k: _fill(v, c, s) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, c, s) for v in value]
    return value


@pytest.mark.parametrize("path", GETS)
def test_nul_in_query_and_path_is_not_a_server_error(api, path):
    client, c, s, _ = api
    resp = client.get(path.replace("{x}", "%00").replace("{c}", str(c)).replace("{s}", str(s)))
    assert resp.status_code < 500, (path, resp.status_code, resp.content[:300])


@pytest.mark.parametrize("path,body", POSTS, ids=[f"{p}#{i}" for i, (p, _b) in enumerate(POSTS)])
def test_nul_in_json_bodies_is_not_a_server_error(api, path, body):
    client, c, s, _ = api
    before = row_counts()
    resp = client.post(path, _fill(body, c, s), format="json")
    assert resp.status_code < 500, (path, resp.status_code, resp.content[:300])
    if resp.status_code >= 400:  # refused ⇒ nothing half-written
        assert row_counts() == before, (path, resp.status_code)
    if path == "/api/clusters/":
        assert not Cluster.objects.filter(name__contains="cluster").exists() or resp.status_code < 300


def test_nul_in_page_urls_is_404(api):
    _client, c, _s, alice = api
    browser = Client(raise_request_exception=False)
    assert browser.get("/t/%00").status_code == 404
    assert browser.get("/t/abc%00def/").status_code == 404
    browser.force_login(alice)
    assert browser.get("/t/%00").status_code == 404
