"""The browser UI's page shells (no browser here: tests/e2e drives chromium).

    anonymous → /            → the login page (everything but shared links needs an account)
    anonymous → /t/<slug>    → the shared trace shell, no login, slug never leaked as a referrer
    owner     → /t/<slug>    → the same shell, plus the trace id (for "re-run on latest snapshot")
    local mode, 127.0.0.1    → logged in as local-admin; from any other address → not
"""
from __future__ import annotations

import json
import re

import pytest
from django.contrib.auth import get_user_model

from topology.importers import import_bytes
from topology.models import Cluster
from tracer.services import mint_share, run_trace

from .api_base import cluster_b_bytes


def page_config(response) -> dict:
    match = re.search(r'<script id="page-config" type="application/json">(.*?)</script>', response.content.decode(), re.S)
    assert match, "the page hands its configuration to the script"
    return json.loads(match.group(1))


@pytest.fixture
def shared_trace(db):
    users = get_user_model().objects
    alice = users.create_user("alice", password="alice-password-1")
    bob = users.create_user("bob", password="bob-password-1")
    cluster = Cluster.objects.create(name="blog", owner=alice)
    snapshot = import_bytes(cluster, [("cluster-b.yaml", cluster_b_bytes())], owner=alice).snapshot
    trace = run_trace(snapshot, {"from": "pod:monitoring/prometheus-0", "to": "svc:payments/ledger", "port": 443},
                      owner=alice)
    mint_share(trace, alice)  # alice pressed Share
    return {"alice": alice, "bob": bob, "cluster": cluster, "trace": trace}


@pytest.mark.parametrize("path", ["/", "/clusters/1/", "/clusters/1/matrix/", "/traces/1/"])
def test_pages_other_than_shared_links_need_a_login(client, db, path):
    response = client.get(path)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_login_page_renders_the_form(client, db):
    response = client.get("/accounts/login/?next=/")
    assert response.status_code == 200
    assert b'name="username"' in response.content and b'name="password"' in response.content


def test_shared_page_needs_no_login_and_sends_no_referrer(client, shared_trace):
    slug = shared_trace["trace"].share_slug
    response = client.get(f"/t/{slug}")
    assert response.status_code == 200
    assert response["Referrer-Policy"] == "no-referrer"
    assert page_config(response) == {"slug": slug}  # no trace id for an anonymous reader
    assert b'data-page="shared"' in response.content


def test_shared_page_gives_the_owner_the_trace_id_for_a_rerun(client, shared_trace):
    slug = shared_trace["trace"].share_slug
    client.force_login(shared_trace["alice"])
    assert page_config(client.get(f"/t/{slug}")) == {"slug": slug, "trace_id": shared_trace["trace"].pk}
    client.force_login(shared_trace["bob"])  # not the owner: read-only
    assert page_config(client.get(f"/t/{slug}")) == {"slug": slug}


@pytest.mark.parametrize(("remote_addr", "logged_in"), [("127.0.0.1", True), ("::1", True), ("192.0.2.10", False)])
def test_local_mode_logs_in_only_a_visitor_from_this_machine(client, db, settings, remote_addr, logged_in):
    settings.TRACER_LOCAL_MODE = True
    get_user_model().objects.create_user("local-admin", password="x-local-password")
    response = client.get("/", REMOTE_ADDR=remote_addr)
    assert (response.status_code == 200) is logged_in
    if logged_in:
        assert b"local-admin" in response.content


def test_local_mode_off_means_a_login_even_from_this_machine(client, db, settings):
    settings.TRACER_LOCAL_MODE = False
    get_user_model().objects.create_user("local-admin", password="x-local-password")
    assert client.get("/", REMOTE_ADDR="127.0.0.1").status_code == 302
