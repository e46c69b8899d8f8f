"""Access boundaries: what is alice's stays alice's.

    alice  owns cluster "blog" (snapshot #1, a trace with a share link, a finished batch job)
    bob    is a teammate ("blog" is shared with him): may read, may not manage
    carol  is an outsider: every id of alice's answers exactly what a non-existent id answers (404, or
           the same 400 text for an id in a request body) — she cannot even learn that "blog" exists

Also: share slugs are unguessable and a revoked one dies at once; session writes need the CSRF token;
the production settings pass `manage.py check --deploy`.
"""
from __future__ import annotations

import math
import os
import secrets
import subprocess
import sys

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.test import APIClient

from topology.importers import import_bytes
from topology.models import Cluster
from tracer.models import Job, Trace
from tracer.services import mint_share, run_trace
from tracer.tokens import issue_token

from .conftest import REPO, row_counts

MISSING = 987654321  # an id nobody has


@pytest.fixture
def world(db, cluster_b_bytes):
    users = get_user_model().objects
    alice, bob, carol = (users.create_user(n) for n in ("alice", "bob", "carol"))
    tokens = {u.username: issue_token(u)[1] for u in (alice, bob, carol)}
    cluster = Cluster.objects.create(name="blog", owner=alice)
    cluster.shared_with.add(bob)
    snapshot = import_bytes(cluster, [("cluster-b.yaml", cluster_b_bytes)], owner=alice).snapshot
    trace = run_trace(snapshot, {"from": "pod:blog/wordpress-0", "to": "svc:payments/ledger", "port": 443}, owner=alice)
    mint_share(trace, alice)  # alice pressed Share
    job = Job.objects.create(kind="batch", owner=alice, cluster=cluster, snapshot=snapshot, state="done",
                             params={"requests": [{"from": "pod:blog/wordpress-0", "to": "svc:blog/mysql"}]},
                             result={"total": 1})
    running = Job.objects.create(kind="matrix", owner=alice, cluster=cluster, snapshot=snapshot, state="running")

    def api(name):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {tokens[name]}")
        return client

    return {"alice": alice, "bob": bob, "carol": carol, "api": api, "cluster": cluster, "snapshot": snapshot,
            "trace": trace, "job": job, "running": running}


def _requests(w, ids):
    """(method, path, body) per operation on an object, with the ids in `ids` (real or missing)."""
    c, s, t, j, r = ids["cluster"], ids["snapshot"], ids["trace"], ids["job"], ids["running"]
    return [
        ("get", f"/api/clusters/{c}/", None),
        ("patch", f"/api/clusters/{c}/", {"name": "mine-now"}),
        ("put", f"/api/clusters/{c}/", {"name": "mine-now"}),
        ("delete", f"/api/clusters/{c}/", None),
        ("get", f"/api/clusters/{c}/snapshots/", None),
        ("get", f"/api/clusters/{c}/topology/", None),
        ("get", f"/api/clusters/{c}/search/?q=wordpress", None),
        ("get", f"/api/clusters/{c}/pods/blog/wordpress-0/", None),
        ("post", f"/api/clusters/{c}/upload/", None),
        ("get", f"/api/snapshots/{s}/", None),
        ("get", f"/api/snapshots/{s}/topology/", None),
        ("get", f"/api/snapshots/{s}/search/?q=wordpress", None),
        ("get", f"/api/snapshots/{s}/pods/blog/wordpress-0/", None),
        ("get", f"/api/snapshots/{s}/compare/?to={s}", None),
        ("get", f"/api/traces/{t}/", None),
        ("post", f"/api/traces/{t}/rerun/", None),
        ("post", f"/api/traces/{t}/share/", None),
        ("delete", f"/api/traces/{t}/share/", None),
        ("get", f"/api/jobs/{j}/", None),
        ("get", f"/api/jobs/{j}/results", None),
        ("post", f"/api/jobs/{r}/cancel", None),
        ("get", f"/api/jobs/{r}/plan", None),
        ("get", f"/api/jobs/{r}/cells/", None),
    ]


def test_outsider_gets_the_same_404_as_for_a_missing_id(world):
    """carol × every operation on alice's objects → 404, byte-for-byte the answer for an id that does not exist;
    afterwards not a single row changed."""
    w = world
    real = {"cluster": w["cluster"].pk, "snapshot": w["snapshot"].pk, "trace": w["trace"].pk, "job": w["job"].pk,
            "running": w["running"].pk}
    missing = dict.fromkeys(real, MISSING)
    before = row_counts()
    carol = w["api"]("carol")
    for (method, path, body), (_m, missing_path, _b) in zip(_requests(w, real), _requests(w, missing), strict=True):
        resp = getattr(carol, method)(path, body, format="json")
        assert resp.status_code == 404, (method, path, resp.status_code, resp.content[:200])
        other = getattr(carol, method)(missing_path, body, format="json")
        assert other.status_code == 404
        assert resp.json()["code"] == other.json()["code"] == "not_found"
        assert str(w["cluster"].name) not in resp.content.decode() or method == "get" and "search" in path
    assert row_counts() == before
    w["trace"].refresh_from_db()
    assert w["trace"].share_slug  # carol could neither revoke nor re-mint it


def test_outsider_lists_are_empty(world):
    carol = world["api"]("carol")
    for path in ("/api/clusters/", "/api/snapshots/", "/api/traces/", "/api/jobs/",
                 f"/api/snapshots/?cluster={world['cluster'].pk}", f"/api/traces/?cluster={world['cluster'].pk}",
                 f"/api/jobs/?cluster={world['cluster'].pk}"):
        body = carol.get(path).json()
        rows = body["results"] if isinstance(body, dict) else body
        assert rows == [], (path, rows)
    assert world["api"]("alice").get("/api/traces/").json()["count"] == 1  # the data is there


@pytest.mark.parametrize("path,key,body", [
    ("/api/traces/", "cluster", {"from": "pod:blog/wordpress-0", "to": "svc:blog/mysql", "port": 3306}),
    ("/api/traces/", "snapshot", {"from": "pod:blog/wordpress-0", "to": "svc:blog/mysql", "port": 3306}),
    ("/api/jobs/batch", "cluster", {"requests": [{"from": "pod:blog/wordpress-0", "to": "svc:blog/mysql"}]}),
    ("/api/jobs/matrix", "cluster", {}),
    ("/api/jobs/diff", "cluster", {}),
    ("/api/intents/check", "cluster", {"intents": [{"from": "pod:blog/wordpress-0", "to": "svc:blog/mysql",
                                                    "port": 3306, "expect": "delivered"}]}),
], ids=["trace-cluster", "trace-snapshot", "batch", "matrix", "diff", "intents"])
def test_outsider_cannot_trace_on_anothers_cluster(world, path, key, body):
    """Naming alice's cluster (by id or by name) or snapshot in a request body → 400 with the same text as
    for one that does not exist; no trace, job or row is created."""
    carol = world["api"]("carol")
    before = row_counts()
    values = ((world["cluster"].pk, "blog", MISSING, "no-such-cluster") if key == "cluster"
              else (world["snapshot"].pk, MISSING))
    answers = []
    for value in values:
        resp = carol.post(path, {key: value, **body}, format="json")
        assert resp.status_code == 400, (path, value, resp.status_code, resp.content[:300])
        answers.append(resp.json()["detail"].replace(str(value), "X"))
    assert len(set(answers)) == 1, answers  # no difference between "exists, not yours" and "does not exist"
    assert row_counts() == before


def test_teammate_reads_but_cannot_manage(world):
    """bob (shared with): reads everything (200) but rename/delete/share → 403, and nothing changes."""
    bob = world["api"]("bob")
    c, t = world["cluster"].pk, world["trace"].pk
    assert bob.get(f"/api/clusters/{c}/").status_code == 200
    assert bob.get(f"/api/traces/{t}/").status_code == 200
    before = row_counts()
    assert bob.patch(f"/api/clusters/{c}/", {"name": "x"}, format="json").status_code == 403
    assert bob.delete(f"/api/clusters/{c}/").status_code == 403
    assert bob.delete(f"/api/traces/{t}/share/").status_code == 403
    assert bob.post(f"/api/jobs/{world['running'].pk}/cancel").status_code == 403
    assert row_counts() == before


def test_anonymous_gets_401_everywhere_but_the_share_link(world):
    anon = APIClient()
    for method, path, body in _requests(world, {"cluster": world["cluster"].pk, "snapshot": world["snapshot"].pk,
                                                 "trace": world["trace"].pk, "job": world["job"].pk,
                                                 "running": world["running"].pk}):
        resp = getattr(anon, method)(path, body, format="json")
        assert resp.status_code == 401, (method, path, resp.status_code)
    assert anon.get(f"/api/share/{world['trace'].share_slug}").status_code == 200


# -- share links -------------------------------------------------------------------------------------


def test_share_slugs_are_long_random_and_unguessable(world):
    """Slugs: ≥ 43 URL-safe characters (256 bits), all distinct; 300 guesses in the same alphabet and length,
    prefixes of the real slug and the real slug in another case → 404 from the API and from the page."""
    alice = world["api"]("alice")
    t = world["trace"].pk
    slugs = {alice.post(f"/api/traces/{t}/share/").json()["share_slug"] for _ in range(40)}
    assert len(slugs) == 40
    for slug in slugs:
        assert len(slug) >= 43 and all(ch.isalnum() or ch in "-_" for ch in slug)
    alphabet = set("".join(slugs))
    assert len(alphabet) > 40  # the whole URL-safe alphabet is in use: ~6 bits per character
    bits = len(next(iter(slugs))) * math.log2(64)
    assert bits >= 256
    current = Trace._default_manager.get(pk=t).share_slug
    guesses = [secrets.token_urlsafe(32) for _ in range(300)] + [current[:-1], current[:20], current.swapcase(),
                                                                 current + "x", "1", "../1", "%00", "' OR 1=1 --"]
    anon, page = APIClient(), Client()
    for guess in guesses:
        if guess == current:
            continue
        assert anon.get(f"/api/share/{guess}").status_code == 404, guess
    for guess in guesses[:20] + guesses[-8:]:
        assert page.get(f"/t/{guess}").status_code == 404, guess
    assert anon.get(f"/api/share/{current}").status_code == 200
    assert page.get(f"/t/{current}").status_code == 200


def test_revoked_link_stops_working_at_once(world):
    """alice revokes → the very next request (API and page) is 404; minting again gives a new slug and the old
    one stays dead."""
    alice, anon = world["api"]("alice"), APIClient()
    t = world["trace"].pk
    slug = world["trace"].share_slug
    assert anon.get(f"/api/share/{slug}").status_code == 200
    assert alice.delete(f"/api/traces/{t}/share/").status_code == 204
    assert anon.get(f"/api/share/{slug}").status_code == 404
    assert Client().get(f"/t/{slug}").status_code == 404
    new = alice.post(f"/api/traces/{t}/share/").json()["share_slug"]
    assert new != slug
    assert anon.get(f"/api/share/{slug}").status_code == 404
    assert anon.get(f"/api/share/{new}").status_code == 200


def test_share_payload_exposes_only_that_trace(world):
    """The anonymous payload carries the trace and its objects — no cluster id, owner, or other trace."""
    body = APIClient().get(f"/api/share/{world['trace'].share_slug}").json()
    text = str(body)
    assert "alice" not in text
    assert "owner" not in body
    assert body.get("id") is None


# -- CSRF -------------------------------------------------------------------------------------------


def test_session_writes_need_the_csrf_token(world):
    """A logged-in browser session: POST/PATCH/DELETE without the CSRF token → 403 and nothing changes;
    with the token from the cookie → the write goes through."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(world["alice"])
    c, t = world["cluster"].pk, world["trace"].pk
    body = {"cluster": c, "from": "pod:blog/wordpress-0", "to": "svc:blog/mysql", "port": 3306}
    before = row_counts()
    attempts = [
        client.post("/api/traces/", body, content_type="application/json"),
        client.patch(f"/api/clusters/{c}/", {"name": "pwned"}, content_type="application/json"),
        client.delete(f"/api/clusters/{c}/"),
        client.delete(f"/api/traces/{t}/share/"),
        client.post(f"/api/traces/{t}/rerun/"),
        client.post("/api/tokens/"),
        client.post(f"/api/clusters/{c}/upload/", b"apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n",
                    content_type="application/yaml"),
        client.post(f"/api/jobs/{world['running'].pk}/cancel"),
    ]
    for resp in attempts:
        assert resp.status_code == 403, (resp.request["PATH_INFO"], resp.status_code, resp.content[:200])
        assert "CSRF" in resp.content.decode()
    assert row_counts() == before
    client.get("/")  # the page sets the csrftoken cookie
    token = client.cookies["csrftoken"].value
    ok = client.post("/api/traces/", body, content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert ok.status_code == 201, ok.content[:300]
    # A token client (a script) needs no CSRF token: it is not a browser with ambient credentials.
    assert world["api"]("alice").post("/api/traces/", body, format="json").status_code == 201


def test_login_form_needs_the_csrf_token(world):
    world["alice"].set_password("alice-password-1")
    world["alice"].save()
    client = Client(enforce_csrf_checks=True)
    resp = client.post("/accounts/login/", {"username": "alice", "password": "alice-password-1"})
    assert resp.status_code == 403


# -- production settings -----------------------------------------------------------------------------


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    """`manage.py check --deploy --fail-level WARNING` with DEBUG=0, TRACER_SECURE=1, a real SECRET_KEY and
    ALLOWED_HOSTS: no warning at all (HSTS, secure cookies, SSL redirect, nosniff, X-Frame-Options…)."""
    # A production process's environment: nothing of this test process's Django set-up (the browser
    # tests export DJANGO_ALLOW_ASYNC_UNSAFE, which check --deploy rightly rejects).
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL" and not k.startswith("DJANGO_")}
    env.update({"DEBUG": "0", "TRACER_SECURE": "1", "SECRET_KEY": secrets.token_urlsafe(50),
                "ALLOWED_HOSTS": "tracer.example.org", "CSRF_TRUSTED_ORIGINS": "https://tracer.example.org",
                "TRACER_VAR_DIR": str(tmp_path)})
    proc = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "System check identified no issues" in proc.stdout, proc.stdout + proc.stderr


def test_production_responses_carry_the_security_headers(world, settings):
    """With the production switches on, an HTTPS response has HSTS, nosniff, DENY framing, and secure cookies."""
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True
    client = Client()
    assert client.get("/api/me/").status_code == 301  # plain HTTP is redirected to HTTPS
    client.force_login(world["alice"])
    resp = client.get("/", HTTP_X_FORWARDED_PROTO="https")
    assert resp.status_code == 200
    assert resp["Strict-Transport-Security"].startswith("max-age=31536000")
    assert resp["X-Content-Type-Options"] == "nosniff"
    assert resp["X-Frame-Options"] == "DENY"
    assert resp.cookies["csrftoken"]["secure"]
