"""Sharing is a decision, and losing a cluster loses its links (issue 16 item 6; issue 17 M1 and the
`shared_with: ["nosuchuser"]` low), replayed over the API.

    alice  owns "blog"; bob is her teammate; carol is an outsider; "nosuchuser" does not exist.
"""
from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from tests.fixtures import CLUSTER_B
from topology.importers import import_bytes
from topology.models import Cluster, ClusterInvitation
from tracer.models import Trace
from tracer.services import mint_share, run_trace
from tracer.tokens import issue_token

ALLOWED = {"from": "pod:blog/wordpress-0", "to": "svc:payments/ledger", "port": 443}


@pytest.fixture
def world(db):
    users = get_user_model().objects
    alice, bob, carol = (users.create_user(n) for n in ("alice", "bob", "carol"))
    cluster = Cluster.objects.create(name="blog", owner=alice)
    cluster.shared_with.add(bob)
    snapshot = import_bytes(cluster, [("cluster-b.yaml", CLUSTER_B.read_bytes())], owner=alice).snapshot
    keys = {u.username: issue_token(u)[1] for u in (alice, bob, carol)}

    def api(name):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {keys[name]}")
        return client

    return {"alice": alice, "bob": bob, "carol": carol, "cluster": cluster, "snapshot": snapshot, "api": api}


def test_a_new_trace_is_not_shared(world):
    body = world["api"]("alice").post("/api/traces/", {"cluster": "blog", **ALLOWED}, format="json").json()
    assert (body["shared"], body["share_slug"], body["share_url"]) == (False, None, None)
    assert Trace.objects.get(pk=body["id"]).share_slug is None
    assert not Trace.objects.exclude(share_slug=None).exists()


def test_share_then_revoke_and_the_list_filters_on_shared(world):
    api = world["api"]("alice")
    one = api.post("/api/traces/", {"cluster": "blog", **ALLOWED}, format="json").json()["id"]
    two = api.post("/api/traces/", {"cluster": "blog", **ALLOWED}, format="json").json()["id"]
    shared = api.post(f"/api/traces/{one}/share/")
    assert shared.status_code == 201
    slug = shared.json()["share_slug"]
    detail = api.get(f"/api/traces/{one}/").json()
    assert (detail["shared"], detail["shared_by"]) == (True, "alice") and detail["shared_at"]
    assert [t["id"] for t in api.get("/api/traces/?shared=true").json()["results"]] == [one]
    assert [t["id"] for t in api.get("/api/traces/?shared=false").json()["results"]] == [two]
    assert api.get("/api/traces/?shared=maybe").status_code == 400
    assert APIClient().get(f"/api/share/{slug}").status_code == 200
    assert api.delete(f"/api/traces/{one}/share/").status_code == 204
    assert APIClient().get(f"/api/share/{slug}").status_code == 404
    assert APIClient().get(f"/t/{slug}").status_code == 404
    assert api.get("/api/traces/?shared=true").json()["results"] == []


def test_the_share_page_shows_the_snapshot_pin_and_nothing_else_of_the_cluster(world):
    Cluster.objects.filter(pk=world["cluster"].pk).update(name="acme-prod-7")
    trace = mint_share(run_trace(world["snapshot"], ALLOWED, owner=world["alice"]), world["alice"])
    body = APIClient().get(f"/api/share/{trace.share_slug}").json()
    assert body["snapshot"] == {"number": 1, "created": body["snapshot"]["created"]}
    text = str(body)
    for leak in ("acme-prod-7", "alice", "'cluster'", "'owner'", "shared_by"):
        assert leak not in text, leak
    assert set(body) == {"slug", "source", "destination", "request", "verdict", "reason", "result", "created",
                         "snapshot", "objects"}


def test_existing_slugs_are_withdrawn_by_the_migration(world):
    trace = run_trace(world["snapshot"], ALLOWED, owner=world["alice"])
    Trace.objects.filter(pk=trace.pk).update(share_slug="minted-at-creation-before-the-fix")
    migration = importlib.import_module("tracer.migrations.0008_trace_sharing_is_a_decision")
    migration.withdraw_unchosen_links(apps, None)
    assert Trace.objects.get(pk=trace.pk).share_slug is None
    assert APIClient().get("/api/share/minted-at-creation-before-the-fix").status_code == 404


def test_removing_a_teammate_kills_the_links_they_shared_at_once(world):
    """M1: bob shared his trace of alice's cluster; alice removes bob; the link dies with his access."""
    bob = world["api"]("bob")
    trace = bob.post("/api/traces/", {"cluster": "blog", **ALLOWED}, format="json").json()["id"]
    slug = bob.post(f"/api/traces/{trace}/share/").json()["share_slug"]
    alices = mint_share(run_trace(world["snapshot"], ALLOWED, owner=world["alice"]), world["alice"]).share_slug
    assert APIClient().get(f"/api/share/{slug}").status_code == 200
    patch = world["api"]("alice").patch(f"/api/clusters/{world['cluster'].pk}/", {"shared_with": []}, format="json")
    assert patch.status_code == 200
    assert APIClient().get(f"/api/share/{slug}").status_code == 404
    assert APIClient().get(f"/t/{slug}").status_code == 404
    assert bob.get(f"/api/traces/{trace}/").status_code == 404
    assert APIClient().get(f"/api/share/{alices}").status_code == 200  # the owner's own decision stands


def test_a_link_dies_with_its_sharers_access_even_without_the_api(world):
    """The check is made when the link is read, not only when the team is edited through the API."""
    trace = mint_share(run_trace(world["snapshot"], ALLOWED, owner=world["bob"]), world["bob"])
    world["cluster"].shared_with.remove(world["bob"])
    assert APIClient().get(f"/api/share/{trace.share_slug}").status_code == 404


def test_sharing_with_a_name_reveals_nothing_and_needs_consent(world):
    """The attack: PATCH shared_with ["nosuchuser"] used to answer 400 (so names could be enumerated) and
    ["carol"] made carol a teammate without asking her."""
    api = world["api"]("alice")
    url = f"/api/clusters/{world['cluster'].pk}/"
    known = api.patch(url, {"shared_with": ["bob", "carol"]}, format="json")
    unknown = api.patch(url, {"shared_with": ["bob", "carol", "nosuchuser"]}, format="json")
    assert (known.status_code, unknown.status_code) == (200, 200)
    assert known.json()["shared_with"] == unknown.json()["shared_with"] == ["bob"]  # nobody added by the owner
    assert unknown.json()["invited"] == ["carol", "nosuchuser"]  # what alice typed, existing or not
    carol = world["api"]("carol")
    assert carol.get(url).status_code == 404  # not before she accepts
    [invitation] = carol.get("/api/invitations/").json()["results"]
    assert (invitation["cluster"]["name"], invitation["owner"], invitation["invited_by"]) == ("blog", "alice", "alice")
    # Only the invitee sees or answers it.
    assert world["api"]("bob").post(f"/api/invitations/{invitation['id']}/accept/").status_code == 404
    assert carol.post(f"/api/invitations/{invitation['id']}/accept/").json() == {"cluster": world["cluster"].pk}
    assert carol.get(url).status_code == 200
    assert api.get(url).json()["invited"] == ["nosuchuser"]


def test_a_declined_invitation_gives_nothing(world):
    world["api"]("alice").patch(f"/api/clusters/{world['cluster'].pk}/", {"shared_with": ["bob", "carol"]},
                                format="json")
    carol = world["api"]("carol")
    [invitation] = carol.get("/api/invitations/").json()["results"]
    assert carol.post(f"/api/invitations/{invitation['id']}/decline/").status_code == 204
    assert carol.get(f"/api/clusters/{world['cluster'].pk}/").status_code == 404
    assert not ClusterInvitation.objects.exists()


def test_a_teammate_cannot_invite(world):
    response = world["api"]("bob").patch(f"/api/clusters/{world['cluster'].pk}/", {"shared_with": ["bob", "carol"]},
                                         format="json")
    assert response.status_code == 403
    assert not ClusterInvitation.objects.exists()


def test_removing_a_teammate_revokes_their_own_jobs_at_once(world):
    """M1: bob ran a matrix and a batch on alice's cluster; once alice removes him, his own jobs, plans,
    cells, cell traces and results answer 404 like everything else of the cluster (before, `visible_jobs`
    also matched the job's owner)."""
    from tracer import jobs

    matrix = jobs.enqueue_matrix(world["snapshot"], owner=world["bob"], inline=True)
    batch = jobs.enqueue_batch(world["snapshot"], [ALLOWED], owner=world["bob"], inline=True)
    assert (matrix.state, batch.state) == ("done", "done")
    bob = world["api"]("bob")
    cell = bob.get(f"/api/jobs/{matrix.pk}/cells/?limit=1").json()["results"][0]
    paths = [f"/api/jobs/{matrix.pk}/", f"/api/jobs/{matrix.pk}/plan", f"/api/jobs/{matrix.pk}/cells/",
             cell["links"]["trace"], f"/api/jobs/{batch.pk}/", f"/api/jobs/{batch.pk}/results"]
    assert [bob.get(p).status_code for p in paths] == [200] * len(paths)
    world["api"]("alice").patch(f"/api/clusters/{world['cluster'].pk}/", {"shared_with": []}, format="json")
    assert [bob.get(p).status_code for p in paths] == [404] * len(paths)
    assert [j["id"] for j in bob.get("/api/jobs/").json()["results"]] == []
    assert bob.post(f"/api/jobs/{matrix.pk}/cancel").status_code == 404
