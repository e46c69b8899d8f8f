"""Local mode behind a proxy, a tunnel or a public bind: none of them signs a visitor in as an administrator.

The attack: `make run` with local mode, reached through a same-host reverse proxy, `ssh -L` or
`kubectl port-forward` — every request then comes from 127.0.0.1 — or started with HOST=0.0.0.0.
Before the fix every visitor became `local-admin`, a superuser: `/api/me/` said is_superuser, /admin/
opened, and `POST /api/tokens/` gave a permanent token that outlived local mode.
"""
from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.test import Client

from frontend.middleware import FORWARDING_HEADERS, LOCAL_USER

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def local_mode(db, settings):
    settings.TRACER_LOCAL_MODE = True
    return get_user_model().objects.create_user(LOCAL_USER, password="local-password-1")


def local_client() -> Client:
    return Client(REMOTE_ADDR="127.0.0.1")


def test_a_direct_visitor_on_this_machine_is_the_local_user_but_no_superuser(local_mode):
    me = local_client().get("/api/me/")
    assert me.status_code == 200
    assert me.json() == {"username": LOCAL_USER, "is_superuser": False}


def test_local_mode_persists_nothing_that_outlives_it(local_mode, settings):
    """No session is created: once local mode is off, the same browser is anonymous again."""
    client = local_client()
    response = client.get("/")
    assert response.status_code == 200
    assert "sessionid" not in response.cookies
    settings.TRACER_LOCAL_MODE = False
    assert client.get("/api/me/").status_code == 401
    assert client.get("/").status_code == 302


@pytest.mark.parametrize("header", FORWARDING_HEADERS)
def test_a_relayed_request_is_never_local(local_mode, header):
    """A proxy or tunnel on this host makes REMOTE_ADDR 127.0.0.1 but announces itself with a header."""
    client = local_client()
    extra = {header: "203.0.113.9"}
    assert client.get("/api/me/", **extra).status_code == 401
    assert client.get("/", **extra).status_code == 302  # to the login page


def test_admin_and_token_creation_are_never_local(local_mode):
    client = local_client()
    assert client.get("/admin/").status_code == 302  # the admin's own login page
    assert client.get("/admin/auth/user/").status_code == 302
    response = client.post("/api/tokens/", {"name": "kept"}, content_type="application/json")
    assert response.status_code == 401
    assert client.get("/api/tokens/").status_code == 401


def test_a_request_from_another_address_is_not_local(local_mode):
    assert Client(REMOTE_ADDR="192.0.2.10").get("/api/me/").status_code == 401


def test_a_superuser_named_local_admin_is_never_signed_in_by_local_mode(db, settings):
    """Defence in depth for a database whose migration has not run yet."""
    settings.TRACER_LOCAL_MODE = True
    get_user_model().objects.create_superuser(LOCAL_USER, password="local-password-1")
    assert local_client().get("/api/me/").status_code == 401


def test_the_migration_demotes_an_existing_local_admin_superuser(db):
    get_user_model().objects.create_superuser(LOCAL_USER, password="local-password-1")
    other = get_user_model().objects.create_superuser("root", password="root-password-1")
    migration = importlib.import_module("frontend.migrations.0001_local_user_not_superuser")
    migration.demote(apps, None)
    local = get_user_model().objects.get(username=LOCAL_USER)
    assert (local.is_superuser, local.is_staff) == (False, False)
    other.refresh_from_db()
    assert other.is_superuser  # only the local user is touched


def test_setup_local_creates_an_ordinary_user(db):
    from django.core.management import call_command

    call_command("setup_local", verbosity=0, stdout=open(os.devnull, "w"))
    user = get_user_model().objects.get(username=LOCAL_USER)
    assert (user.is_superuser, user.is_staff) == (False, False)


def _local_mode_setting(bind: str | None, flag: str = "1") -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("TRACER_BIND_ADDRESS", "TRACER_LOCAL_MODE")}
    env.update({"DJANGO_SETTINGS_MODULE": "config.settings", "TRACER_LOCAL_MODE": flag})
    if bind is not None:
        env["TRACER_BIND_ADDRESS"] = bind
    code = "from django.conf import settings; print(settings.TRACER_LOCAL_MODE)"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip()


@pytest.mark.parametrize(("bind", "expected"), [
    ("127.0.0.1", "True"), ("::1", "True"), ("[::1]", "True"), ("localhost", "True"),
    ("0.0.0.0", "False"), ("::", "False"), ("192.0.2.10", "False"), (None, "False"),
])
def test_local_mode_is_decided_at_startup_from_the_bind_address(bind, expected):
    """`make run HOST=0.0.0.0` (run.sh exports TRACER_BIND_ADDRESS=$HOST) starts with local mode off."""
    assert _local_mode_setting(bind) == expected


def test_run_sh_turns_local_mode_off_for_a_public_bind():
    """The shell side: run.sh exports TRACER_BIND_ADDRESS and forces TRACER_LOCAL_MODE=0 off loopback."""
    script = (REPO / "scripts" / "run.sh").read_text()
    start = script.index('export TRACER_BIND_ADDRESS="$HOST"')
    block = script[start:script.index("esac", start) + 4]
    for host, expected in (("0.0.0.0", "0"), ("127.0.0.1", "1"), ("192.0.2.10", "0"), ("localhost", "1")):
        env = {k: v for k, v in os.environ.items() if k != "TRACER_LOCAL_MODE"}
        out = subprocess.run(["bash", "-c", f'HOST="{host}"\n{block}\necho "$TRACER_LOCAL_MODE $TRACER_BIND_ADDRESS"'],
                             env=env, capture_output=True, text=True, check=True).stdout.split()
        assert out == [expected, host], host
