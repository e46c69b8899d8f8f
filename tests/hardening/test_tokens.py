"""Issue 17 item 6 and the auth half of M2, replayed: API tokens and password guessing.

Before: one DRF authtoken per user, stored in clear (a database reader could act as every user), no
expiry, and `curl -u USER:GUESS -X POST /api/tokens/` could be repeated without limit.
"""
from __future__ import annotations

import base64
import hashlib
import importlib
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from tracer.models import ApiToken
from tracer.tokens import issue_token

PASSWORD = "alice-password-1"


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.fixture
def alice(db):
    return get_user_model().objects.create_user("alice", password=PASSWORD)


def with_token(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_the_key_is_shown_once_and_never_stored(alice):
    response = APIClient().post("/api/tokens/", {"name": "ci deploy", "expires_in_days": 30}, format="json",
                                HTTP_AUTHORIZATION=basic("alice", PASSWORD))
    assert response.status_code == 201
    body = response.json()
    key = body["key"]
    assert body["name"] == "ci deploy" and body["expires"] and not body["expired"]
    # Nowhere in the database: not in the token table, nor in any other column of the row.
    row = ApiToken.objects.get(pk=body["id"])
    assert key not in str(list(ApiToken.objects.values_list()))
    assert row.key_hash == hashlib.sha256(key.encode()).hexdigest()
    # Listed afterwards without its key.
    listing = with_token(key).get("/api/tokens/").json()
    assert [t["name"] for t in listing] == ["ci deploy"] and key not in str(listing)
    assert with_token(key).get("/api/me/").json()["username"] == "alice"


def test_several_named_tokens_each_revocable_alone(alice):
    (_t1, k1), (t2, k2) = issue_token(alice, "laptop"), issue_token(alice, "ci")
    assert with_token(k1).get("/api/me/").status_code == 200
    assert with_token(k2).delete(f"/api/tokens/{t2.pk}/").status_code == 204
    assert with_token(k2).get("/api/me/").status_code == 401  # revoked at once
    assert with_token(k1).get("/api/me/").status_code == 200  # the other one lives on


def test_another_users_token_id_is_404(alice):
    bob = get_user_model().objects.create_user("bob", password="bob-password-1")
    bobs, _ = issue_token(bob, "bob's")
    _, key = issue_token(alice)
    assert with_token(key).delete(f"/api/tokens/{bobs.pk}/").status_code == 404
    assert ApiToken.objects.filter(pk=bobs.pk).exists()


def test_an_expired_token_is_refused(alice):
    token, key = issue_token(alice, "old")
    ApiToken.objects.filter(pk=token.pk).update(expires=timezone.now() - timedelta(seconds=1))
    assert with_token(key).get("/api/me/").status_code == 401
    assert with_token("tt_" + "x" * 43).get("/api/me/").status_code == 401


def test_last_used_is_recorded(alice):
    token, key = issue_token(alice)
    assert token.last_used is None
    with_token(key).get("/api/me/")
    token.refresh_from_db()
    assert token.last_used is not None and timezone.now() - token.last_used < timedelta(minutes=1)


def test_a_token_cannot_mint_its_own_successor(alice):
    _, key = issue_token(alice)
    assert with_token(key).post("/api/tokens/", {}, format="json").status_code == 403
    assert ApiToken.objects.filter(user=alice).count() == 1


def test_password_guessing_is_braked_after_a_few_failures(alice, settings):
    """The attack: repeated `curl -u alice:GUESS -X POST /api/tokens/`; after the limit even the right
    password is not checked (429 with Retry-After), so guessing stops paying."""
    settings.TRACER_AUTH_FAILURES = 5
    client = APIClient()
    for i in range(5):
        assert client.post("/api/tokens/", HTTP_AUTHORIZATION=basic("alice", f"guess-{i}")).status_code == 401
    locked = client.post("/api/tokens/", HTTP_AUTHORIZATION=basic("alice", PASSWORD))
    assert locked.status_code == 429
    assert int(locked["Retry-After"]) > 0
    assert "try again" in locked.json()["detail"]
    # The brake is per username too: another address guessing alice's password is refused as well.
    other = APIClient(REMOTE_ADDR="192.0.2.77")
    assert other.post("/api/tokens/", HTTP_AUTHORIZATION=basic("alice", "guess-x")).status_code == 429
    assert not ApiToken.objects.filter(user=alice).exists()


def test_successful_sign_ins_are_never_braked(alice, settings):
    settings.TRACER_AUTH_FAILURES = 3
    for _ in range(6):
        ok = APIClient().post("/api/tokens/", HTTP_AUTHORIZATION=basic("alice", PASSWORD))
        assert ok.status_code == 201
        ApiToken.objects.filter(user=alice).delete()


def test_token_creation_is_rate_limited(alice, monkeypatch):
    from tracer.api.throttling import PostScopedRateThrottle

    monkeypatch.setattr(PostScopedRateThrottle, "THROTTLE_RATES", {"auth": "3/min", "jobs": "30/min"})
    client = APIClient()
    client.force_authenticate(alice)
    codes = [client.post("/api/tokens/", {"name": f"t{i}"}, format="json").status_code for i in range(4)]
    assert codes == [201, 201, 201, 429]


def test_the_login_form_is_braked_too(alice, settings, client):
    settings.TRACER_AUTH_FAILURES = 3
    for i in range(3):
        assert client.post("/accounts/login/", {"username": "alice", "password": f"guess-{i}"}).status_code == 200
    locked = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    assert locked.status_code == 429
    assert b"Too many failed sign-in attempts" in locked.content
    assert "_auth_user_id" not in client.session


def test_existing_authtoken_keys_are_hashed_and_keep_working(alice):
    """The migration from DRF's authtoken: the old key authenticates, and no key is left in clear."""
    old_key = "0123456789abcdef0123456789abcdef01234567"
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, created timestamp, "
                       "user_id integer)")
        cursor.execute("INSERT INTO authtoken_token (key, created, user_id) VALUES (%s, %s, %s)",
                       [old_key, timezone.now(), alice.pk])
    migration = importlib.import_module("tracer.migrations.0006_hash_authtoken_keys")
    # The parts of a schema editor the migration uses (SQLite cannot open one inside the test's transaction).
    editor = SimpleNamespace(connection=connection, quote_name=connection.ops.quote_name)
    migration.hash_keys(apps, editor)
    assert with_token(old_key).get("/api/me/").json()["username"] == "alice"
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM authtoken_token")
        assert cursor.fetchone()[0] == 0
        cursor.execute("DROP TABLE authtoken_token")
    assert ApiToken.objects.get(user=alice).name == "migrated"
