"""One safe YAML/JSON loader for every input, and limits on every field (issue 17 H2, M2 and the lows).

Replays of the probe's findings, each through the door it used:
- a 390-byte YAML alias bomb posted as intents → a 312 MB 400 after 13 s (the message repeated the value);
- 100,000 `[` in a JSON body (every JSON endpoint) or an intents file → 500 RecursionError;
- `metadata: {name: a, name: b}` accepted silently (kubectl's strict decoding refuses it);
- a 20,000,000-character `port` → 201, 80 MB stored; `?limit=100000000` → 99 MB;
- a body sent with `Transfer-Encoding: chunked` read as empty.

    any YAML/JSON ─► topology.importers.load (aliases, depth, size, duplicate keys) ─► 400 (bounded message)
"""
from __future__ import annotations

import io
import json

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from tests.fixtures import CLUSTER_B
from topology.importers import ManifestError, import_bytes
from topology.importers.load import load_json, load_value, parse_bytes
from topology.models import Cluster
from tracer.engine.errors import BadRequest
from tracer.intents import parse_intents

from .conftest import row_counts
from .test_bad_input import billion_laughs


def intents_bomb(levels: int = 9) -> str:
    """The probe's intents alias bomb: ~390 bytes, 9**9 strings once expanded."""
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(lines) + f"\nintents: [{{from: pod:a/b, to: svc:a/b, expect: *a{levels - 1}}}]\n"


@pytest.fixture
def api(db):
    alice = get_user_model().objects.create_user("alice")
    client = APIClient()
    client.force_authenticate(alice)
    cluster = Cluster.objects.create(name="blog", owner=alice)
    snap = import_bytes(cluster, [("cluster-b.yaml", CLUSTER_B.read_bytes())], owner=alice).snapshot
    return client, cluster, snap


# -- the one loader ---------------------------------------------------------------------------------


def test_intents_alias_bomb_is_refused_with_a_short_message():
    text = intents_bomb()
    assert len(text) < 500  # the probe's was 390 bytes
    with pytest.raises(BadRequest) as err:
        parse_intents(text, "intents.yaml")
    assert "alias" in str(err.value) and len(str(err.value)) < 400


@pytest.mark.parametrize("path", ["/api/intents/check", "/api/jobs/intents"])
def test_intents_bomb_through_the_api_is_a_small_400_and_no_job(api, path):
    client, cluster, _snap = api
    before = row_counts()
    resp = client.post(path, {"cluster": cluster.pk, "intents": intents_bomb()}, format="json")
    assert resp.status_code == 400, resp.content[:300]
    assert len(resp.content) < 2000 and "alias" in resp.json()["detail"]
    assert row_counts() == before


@pytest.mark.parametrize("text", ["[" * 100_000, "x: " + "[" * 100_000, "- " * 50_000 + "a"],
                         ids=["flow-json-like", "flow-yaml", "block-yaml"])
def test_deep_intents_file_is_a_400(api, text):
    client, cluster, _snap = api
    with pytest.raises(BadRequest):
        parse_intents(text)
    resp = client.post("/api/intents/check", {"cluster": cluster.pk, "intents": text}, format="json")
    assert resp.status_code == 400 and "deep" in resp.json()["detail"]


@pytest.mark.parametrize("data,name", [
    (b"apiVersion: v1\nkind: Pod\nmetadata: {name: a, name: b}\n", "pod.yaml"),
    (b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  namespace: x\n  name: b\n", "pod.yaml"),
    (b'{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a", "name": "b"}}', "pod.json"),
], ids=["yaml-flow", "yaml-block", "json"])
def test_duplicate_keys_in_manifests_are_refused(data, name):
    with pytest.raises(ManifestError) as err:
        parse_bytes(data, name)
    assert "duplicate key 'name'" in str(err.value) and err.value.file == name


def test_duplicate_keys_through_upload_store_nothing(api):
    client, cluster, _snap = api
    before = row_counts()
    resp = client.post(f"/api/clusters/{cluster.pk}/upload/?filename=pod.yaml",
                       data=b"apiVersion: v1\nkind: Pod\nmetadata: {name: a, name: b}\n",
                       content_type="application/yaml")
    assert resp.status_code == 400 and "duplicate key 'name'" in resp.json()["detail"]
    assert "line 3" in resp.json()["detail"]
    assert row_counts() == before


def test_merge_keys_may_still_be_overridden():
    """`<<: *base` then an explicit key is YAML's override, not a duplicate."""
    docs = parse_bytes(b"x: &b {a: 1, c: 2}\napiVersion: v1\nkind: Namespace\nmetadata: {<<: *b, a: 3, name: n}\n",
                       "m.yaml")
    assert docs[0].data["metadata"] == {"a": 3, "c": 2, "name": "n"}


def test_duplicate_keys_in_intents_and_bodies_are_refused(api):
    with pytest.raises(BadRequest, match="duplicate key 'expect'"):
        parse_intents("- {from: pod:a/b, to: svc:a/b, expect: delivered, expect: dropped}\n")
    client, cluster, _snap = api
    resp = client.post("/api/traces/", data=b'{"cluster": "blog", "from": "pod:a/b", "from": "pod:c/d", "to": "svc:x/y"}',
                       content_type="application/json")
    assert resp.status_code == 400 and "duplicate key 'from'" in resp.json()["detail"]


def test_loader_functions_bound_what_they_accept():
    with pytest.raises(ManifestError, match="nested more than 100"):
        load_json("[" * 101 + "]" * 101)
    assert load_json("[" * 100 + "]" * 100) is not None
    with pytest.raises(ManifestError, match="at most 10 are accepted"):
        load_value(b"a: 12345678", "x", max_bytes=10)
    with pytest.raises(ManifestError, match="one is expected"):
        load_value("a: 1\n---\nb: 2\n", "x")
    with pytest.raises(ManifestError, match="alias"):
        load_value(billion_laughs().decode(), "x")


# -- every JSON endpoint: deep nesting, duplicate keys, size ---------------------------------------------

JSON_POSTS = ["/api/traces/", "/api/clusters/", "/api/jobs/matrix", "/api/jobs/diff", "/api/jobs/batch",
              "/api/jobs/intents", "/api/intents/check", "/api/tokens/"]


@pytest.mark.parametrize("path", JSON_POSTS)
def test_100000_brackets_are_a_400_on_every_json_endpoint(api, path):
    client, _cluster, _snap = api
    before = row_counts()
    resp = client.post(path, data=b"[" * 100_000, content_type="application/json")
    assert resp.status_code == 400, (path, resp.status_code, resp.content[:300])
    assert resp.json()["code"] == "parse_error" and len(resp.content) < 1000
    assert row_counts() == before


def test_deep_json_in_patch_is_a_400(api):
    client, cluster, _snap = api
    resp = client.patch(f"/api/clusters/{cluster.pk}/", data=b'{"name": ' + b"[" * 5000 + b"]" * 5000 + b"}",
                        content_type="application/json")
    assert resp.status_code == 400 and "nested" in resp.json()["detail"]


def test_json_body_over_the_limit_is_413(api, settings):
    client, cluster, _snap = api
    settings.TRACER_JSON_BODY_LIMIT = 2048
    resp = client.post("/api/traces/", data=b'{"cluster": "blog", "from": "' + b"x" * 4096 + b'"}',
                       content_type="application/json")
    assert resp.status_code == 413 and resp.json()["code"] == "payload_too_large"
    assert "TRACER_JSON_BODY_LIMIT" in resp.json()["detail"]


# -- field lengths (Kubernetes' own validation) ----------------------------------------------------------


@pytest.mark.parametrize("field,value,says", [
    ("port", "a" * 20_000, "at most 63 characters"),
    ("port", "a" * 64, "at most 63 characters"),
    ("port", 70000, "out of range 1-65535"),
    ("from", "pod:" + "n" * 64 + "/x", "a namespace has at most 63"),
    ("to", "svc:shop/" + "s" * 254, "a name has at most 253"),
    ("to", "dns:" + "a" * 64 + ".example.com", "a DNS label has at most 63"),
    ("from", "node:" + "n" * 254, "a node name has at most 253"),
    ("to", "url:http://x/" + "p" * 3000, "no more than 1024"),
], ids=["port-20k", "port-64", "port-number", "namespace", "service-name", "dns-label", "node", "url"])
def test_trace_request_fields_follow_kubernetes_lengths(api, field, value, says):
    client, cluster, _snap = api
    before = row_counts()
    body = {"cluster": cluster.pk, "from": "pod:blog/wordpress-0", "to": "svc:payments/ledger", field: value}
    resp = client.post("/api/traces/", body, format="json")
    assert resp.status_code == 400, resp.content[:300]
    assert says in resp.json()["detail"]
    assert len(resp.content) < 1000  # the value is never echoed whole
    assert row_counts() == before


def test_the_probes_20_million_character_port_is_refused_whole(api):
    """The probe's body (20 MB) is past TRACER_JSON_BODY_LIMIT: 413 before it is even parsed; nothing stored."""
    client, cluster, _snap = api
    before = row_counts()
    resp = client.post("/api/traces/", {"cluster": cluster.pk, "from": "pod:blog/wordpress-0",
                                        "to": "svc:payments/ledger", "port": "a" * 20_000_000}, format="json")
    assert resp.status_code == 413 and len(resp.content) < 1000
    assert row_counts() == before


def test_a_long_but_valid_port_name_is_still_a_port_name(api):
    client, cluster, _snap = api
    resp = client.post("/api/traces/", {"cluster": cluster.pk, "from": "pod:blog/wordpress-0",
                                        "to": "svc:payments/ledger", "port": "p" * 63}, format="json")
    assert resp.status_code in (201, 400) and b"at most 63" not in resp.content  # traced (or unknown port)


# -- page sizes ----------------------------------------------------------------------------------------


def test_page_size_is_capped_on_list_endpoints(api, settings):
    client, cluster, _snap = api
    settings.TRACER_MAX_PAGE_SIZE = 10
    for _ in range(12):
        client.post("/api/traces/", {"cluster": cluster.pk, "from": "pod:blog/wordpress-0",
                                     "to": "svc:payments/ledger", "port": 443}, format="json")
    body = client.get("/api/traces/?limit=100000000").json()
    assert len(body["results"]) == 10 and body["count"] == 12 and "offset=10" in body["next"]
    assert len(client.get("/api/snapshots/?limit=100000000").json()["results"]) <= 10


# -- chunked bodies ------------------------------------------------------------------------------------


def _chunked_request(client, path: str, body: bytes, content_type: str):
    """A request as gunicorn hands it over for `Transfer-Encoding: chunked`: no CONTENT_LENGTH, the decoded
    body in wsgi.input (Django's test client always sets CONTENT_LENGTH, so the environ is built here)."""
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": path, "CONTENT_TYPE": content_type,
               "HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input": io.BytesIO(body)}
    return client.request(**environ)


def test_chunked_upload_is_read_not_empty(api):
    client, cluster, _snap = api
    body = b"apiVersion: v1\nkind: Namespace\nmetadata: {name: chunked}\n"
    resp = _chunked_request(client, f"/api/clusters/{cluster.pk}/upload/", body, "application/yaml")
    assert resp.status_code == 201, resp.content[:300]
    assert resp.json()["counts"]["Namespace"] >= 1


def test_chunked_body_over_the_limit_is_413(api, settings):
    client, cluster, _snap = api
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 4096
    before = row_counts()
    resp = _chunked_request(client, f"/api/clusters/{cluster.pk}/upload/", b"# pad\n" * 2000, "application/yaml")
    assert resp.status_code == 413 and resp.json()["code"] == "payload_too_large"
    assert row_counts() == before


def test_chunked_middleware_leaves_sized_bodies_alone():
    from django.test import RequestFactory

    from config.chunked import ChunkedBodyMiddleware

    request = RequestFactory().post("/x", data=b"abc", content_type="text/plain")
    request.META["wsgi.input"] = io.BytesIO(b"should not be read")
    seen = ChunkedBodyMiddleware(lambda r: r.body)(request)
    assert seen == b"abc"


# -- batch lines, database loss ---------------------------------------------------------------------------


def test_batch_lines_go_through_the_safe_loader(api, tmp_path):
    """`manage.py trace --batch`: a 100,000-deep line and a line with a duplicate key are errors of their own
    line; the good line after them is still traced."""
    from django.core.management import call_command

    good = '{"from": "pod:blog/wordpress-0", "to": "svc:payments/ledger", "port": 443}'
    batch = tmp_path / "batch.jsonl"
    batch.write_text("[" * 100_000 + "\n" + '{"from": "pod:a/b", "from": "pod:c/d", "to": "svc:x/y"}\n' + good + "\n")
    out = io.StringIO()
    call_command("trace", "--cluster", "blog", "--batch", str(batch), "--format", "json", stdout=out)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert "nested too deeply" in lines[0]["error"] and lines[0]["line"] == 1
    assert "duplicate key 'from'" in lines[1]["error"]
    assert lines[2]["verdict"] in ("delivered", "dropped", "partial")


def test_database_lost_mid_upload_is_503_with_retry_after(api, monkeypatch):
    """The connection drops while the snapshot's rows are written: 503 + Retry-After (the client retries), and
    the import's transaction leaves nothing behind."""
    import importlib

    from django.db import OperationalError

    persist = importlib.import_module("topology.importers.persist")
    client, cluster, _snap = api

    def lost(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(persist, "insert_rows", lost)
    before = row_counts()
    resp = client.post(f"/api/clusters/{cluster.pk}/upload/", data=CLUSTER_B.read_bytes(),
                       content_type="application/yaml")
    assert resp.status_code == 503 and resp["Retry-After"]
    assert resp.json()["code"] == "unavailable"
    assert row_counts() == before


def test_batch_job_lines_go_through_the_safe_loader(api):
    client, cluster, _snap = api
    before = row_counts()
    for line, says in (("[" * 100_000, "nested too deeply"), ('{"from": "pod:a/b", "from": "pod:c/d"}', "duplicate key")):
        resp = client.post("/api/jobs/batch", {"cluster": cluster.pk, "lines": line}, format="json")
        assert resp.status_code == 400 and says in resp.json()["detail"] and "line 1" in resp.json()["detail"]
        assert len(resp.content) < 1000
    assert row_counts() == before


def test_a_hostile_neg_annotation_is_ignored_not_a_crash():
    """The one JSON the engine parses itself (a Service's cloud.google.com/neg annotation): nested 100,000 deep
    or huge, it reads as "not set" instead of raising RecursionError in the middle of a trace."""
    from types import SimpleNamespace

    from tracer.engine.ingress_controllers import _neg_ingress

    for raw in ("[" * 100_000, '{"ingress": true}' + " " * 2000):
        assert _neg_ingress(SimpleNamespace(annotations={"cloud.google.com/neg": raw})) is None
    assert _neg_ingress(SimpleNamespace(annotations={"cloud.google.com/neg": '{"ingress": true}'})) is True


@pytest.mark.parametrize("manifest", [
    "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: i, namespace: shop}\n"
    "spec: {rules: [{host: '" + "h" * 200_000 + "'}]}\n",
    "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop, labels: {app: '" + "v" * 200_000 + "'}}\n"
    "spec: {containers: [{name: c, image: i}]}\n",
    "apiVersion: v1\nkind: Service\nmetadata: {name: '" + "n" * 200_000 + "', namespace: shop}\nspec: {ports: [{port: 80}]}\n",
], ids=["ingress-host", "label-value", "name"])
def test_an_error_about_a_huge_value_quotes_only_an_excerpt(api, manifest):
    """A 200,000-character host, label value or name is refused with a message of bounded size."""
    client, cluster, _snap = api
    resp = client.post(f"/api/clusters/{cluster.pk}/upload/?filename=big.yaml", data=manifest.encode(),
                       content_type="application/yaml")
    assert resp.status_code == 400, resp.content[:300]
    assert len(resp.content) < 6000


def test_validation_errors_never_repeat_a_huge_value(api):
    """DRF's own messages quote the input (`"…" is not a valid choice.`): the error body is bounded anyway."""
    client, cluster, _snap = api
    resp = client.post("/api/traces/", {"cluster": cluster.pk, "from": "pod:blog/wordpress-0",
                                        "to": "svc:payments/ledger", "assumptions": {"proxy_mode": "x" * 1_000_000}},
                       format="json")
    assert resp.status_code == 400 and "proxy_mode" in resp.content.decode()
    assert len(resp.content) < 5000


def test_cluster_description_is_bounded(api):
    client, cluster, _snap = api
    resp = client.patch(f"/api/clusters/{cluster.pk}/", {"description": "d" * 2001}, format="json")
    assert resp.status_code == 400 and "description" in resp.json()["errors"]
    assert client.patch(f"/api/clusters/{cluster.pk}/", {"description": "d" * 2000}, format="json").status_code == 200
