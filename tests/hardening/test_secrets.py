"""Secret values never leave the manifest: not stored, not logged, not shown.

    Secret blog/db-creds {data.password: b64(VALUE), stringData.token: VALUE, last-applied annotation: both}
      ──► upload (API), CLI import, a broken upload, a second snapshot + compare, traces, share link,
          every page and the admin
      ──► scan: every response body, every captured log record, CLI output, every row of every table

Both the plain value and its base64 form are searched for, anywhere.
"""
from __future__ import annotations

import base64
import io
import json
import logging

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from topology.models import Cluster
from tracer.tokens import issue_token

PASSWORD = "hunter2-Zq8vX3-password-value"
TOKEN = "tok-9f8e7d6c-stringdata-value"
BROKEN = "broken-secret-value-77aa"
PASSWORD2 = "second-snapshot-password-42"
VALUES = [PASSWORD, TOKEN, BROKEN, PASSWORD2]
NEEDLES = VALUES + [base64.b64encode(v.encode()).decode() for v in VALUES] + \
    [base64.b64encode(v.encode()).decode().rstrip("=")[:-2] for v in VALUES]


def secret_yaml(password: str = PASSWORD) -> bytes:
    b64 = base64.b64encode(password.encode()).decode()
    applied = json.dumps({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db-creds", "namespace": "blog"},
                          "data": {"password": b64}, "stringData": {"token": TOKEN}})
    return f"""apiVersion: v1
kind: Secret
metadata:
  name: db-creds
  namespace: blog
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{applied}'
    note: password is {password}
type: Opaque
data:
  password: {b64}
stringData:
  token: {TOKEN}
""".encode()


def _scan(label: str, text: str) -> None:
    for needle in NEEDLES:
        assert needle not in text, f"secret value {needle!r} found in {label}"


@pytest.fixture
def logs(caplog):
    caplog.set_level(logging.DEBUG)
    return caplog


def test_secret_values_appear_nowhere(db, cluster_b_bytes, logs, capsys):
    alice = get_user_model().objects.create_superuser("alice", "alice@example.org", "pw")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {issue_token(alice)[1]}")
    cluster = Cluster.objects.create(name="blog", owner=alice)
    seen: list[tuple[str, str]] = []

    def call(method, path, *args, **kw):
        resp = getattr(api, method)(path, *args, **kw)
        body = resp.content.decode(errors="replace") if not getattr(resp, "streaming", False) else ""
        seen.append((f"{method.upper()} {path}", body))
        return resp

    # 1) upload: the example cluster plus the Secret (multipart), then a Secret-only raw upload
    from django.core.files.uploadedfile import SimpleUploadedFile

    up = call("post", f"/api/clusters/{cluster.pk}/upload/", {"files": [
        SimpleUploadedFile("cluster-b.yaml", cluster_b_bytes), SimpleUploadedFile("secret.yaml", secret_yaml())]},
        format="multipart")
    assert up.status_code == 201, up.content[:500]
    assert up.json()["counts"]["Secret"] >= 1
    snap1 = up.json()["snapshot"]["id"]
    # 2) a broken Secret (value in the wrong type; a YAML error on the value's own line) → 400, value not echoed
    bad = b"apiVersion: v1\nkind: Secret\nmetadata: {name: bad, namespace: blog}\ndata: " + BROKEN.encode() + b"\n"
    assert call("post", f"/api/clusters/{cluster.pk}/upload/", bad, content_type="application/yaml").status_code == 400
    unclosed = b'apiVersion: v1\nkind: Secret\nmetadata: {name: bad, namespace: blog}\nstringData:\n  p: "' + \
        BROKEN.encode() + b'\n  q: [\n'
    assert call("post", f"/api/clusters/{cluster.pk}/upload/", unclosed, content_type="application/yaml").status_code == 400
    # 3) a second snapshot where the value changed, and the comparison between the two
    up2 = call("post", f"/api/clusters/{cluster.pk}/upload/", cluster_b_bytes + b"\n---\n" + secret_yaml(PASSWORD2),
               content_type="application/yaml")
    assert up2.status_code == 201, up2.content[:300]
    snap2 = up2.json()["snapshot"]["id"]
    call("get", f"/api/snapshots/{snap1}/compare/?to={snap2}")
    # 4) everything a user can read
    for path in ("/api/clusters/", f"/api/clusters/{cluster.pk}/", f"/api/clusters/{cluster.pk}/snapshots/",
                 f"/api/clusters/{cluster.pk}/topology/", f"/api/clusters/{cluster.pk}/topology/?expand=blog",
                 f"/api/clusters/{cluster.pk}/search/?q=db-creds", f"/api/clusters/{cluster.pk}/search/?q=hunter2",
                 f"/api/snapshots/{snap1}/", f"/api/snapshots/{snap1}/topology/",
                 f"/api/clusters/{cluster.pk}/pods/blog/wordpress-0/", f"/api/snapshots/{snap1}/pods/blog/wordpress-0/"):
        assert call("get", path).status_code == 200, path
    tr = call("post", "/api/traces/", {"cluster": cluster.pk, "from": "pod:blog/wordpress-0", "to": "svc:blog/mysql",
                                       "port": 3306}, format="json")
    assert tr.status_code == 201
    trace = tr.json()
    call("get", f"/api/traces/{trace['id']}/")
    call("post", f"/api/traces/{trace['id']}/rerun/")
    call("get", "/api/traces/")
    slug = call("post", f"/api/traces/{trace['id']}/share/").json()["share_slug"]
    call("get", f"/api/share/{slug}")
    # 5) pages, logged in, and the admin (superuser: every registered model)
    browser = Client()
    browser.force_login(alice)
    for path in ("/", f"/clusters/{cluster.pk}/", f"/traces/{trace['id']}/", f"/t/{slug}", "/admin/",
                 "/admin/topology/secret/", "/admin/topology/snapshot/", "/api/docs/", "/api/schema/"):
        resp = browser.get(path)
        assert resp.status_code == 200, (path, resp.status_code)
        seen.append((path, resp.content.decode(errors="replace")))
    from topology.models import Secret

    for pk in Secret.objects.values_list("pk", flat=True):
        resp = browser.get(f"/admin/topology/secret/{pk}/change/")
        assert resp.status_code == 200
        seen.append((f"admin secret {pk}", resp.content.decode(errors="replace")))
    # 6) the command line
    out, err = io.StringIO(), io.StringIO()
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "secret.yaml"
        path.write_bytes(cluster_b_bytes + b"\n---\n" + secret_yaml())
        call_command("import_manifests", "--cluster", "cli", str(path), stdout=out, stderr=err)
        broken = Path(tmp) / "broken.yaml"
        broken.write_bytes(bad)
        with pytest.raises(CommandError) as failure:
            call_command("import_manifests", "--cluster", "cli", str(broken), stdout=out, stderr=err)
        seen.append(("cli error", str(failure.value)))
        call_command("import_manifests", "--cluster", "cli2", "--materialize", str(path),
                     stdout=out, stderr=err)
    seen.append(("cli stdout", out.getvalue() + err.getvalue()))

    assert len(seen) > 30
    with pytest.raises(AssertionError):  # the scanner does find the values where they are
        _scan("the manifest itself", secret_yaml().decode())
    for label, body in seen:
        _scan(label, body)
    for record in logs.records:
        _scan(f"log {record.name}", record.getMessage() + str(record.args or ""))
    captured = capsys.readouterr()
    _scan("stdout/stderr", captured.out + captured.err)
    # 7) the database: every row of every table, as text
    rows = 0
    with connection.cursor() as cur:
        for table in connection.introspection.table_names():
            cur.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            for row in cur.fetchall():
                rows += 1
                _scan(f"table {table}", " ".join(str(v) for v in row))
    assert rows > 100
    # The key names are kept (they are not secret): the import did read the Secret.
    assert Secret.objects.filter(name="db-creds").exists()
    assert "password" in json.dumps(list(Secret.objects.values()), default=str)
