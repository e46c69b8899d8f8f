"""Hostile and broken manifests: every one is refused with a message that says where, and nothing is stored.

Three doors, one rule: `import_bytes` (the library), `POST /api/clusters/{id}/upload/` (400/413 with the
importer's file/document/object/field list) and `manage.py import_manifests` (exit status 1, message on
stderr). After each refusal every table of the topology and tracer apps has exactly the rows it had before.

    bad file ──► importer ──► ManifestError("FILE document N (Kind ns/name): field: problem")
                                 └─► 400 / exit 1, and 0 rows written
"""
from __future__ import annotations

import json
import resource
import subprocess
import sys
import time

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from topology.importers import ManifestError, import_bytes
from topology.models import Cluster
from tracer.tokens import issue_token

from .conftest import REPO, row_counts

POD = """apiVersion: v1
kind: Pod
metadata: {{name: {name}, namespace: shop, labels: {{app: web}}}}
spec: {{nodeName: n1, containers: [{{name: c, image: i}}]}}
status: {{phase: Running, podIP: {ip}}}
"""
SVC = """apiVersion: v1
kind: Service
metadata: {{name: {name}, namespace: shop}}
spec: {{clusterIP: {ip}, selector: {{app: web}}, ports: [{{port: 80}}]}}
"""
NETPOL = """apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: np, namespace: shop}}
spec: {spec}
"""


def billion_laughs(levels: int = 9, fan: int = 9) -> bytes:
    """The classic alias bomb: 9 aliases of 9 aliases … — ~100 bytes a level, 9**levels nodes expanded."""
    lines = ['apiVersion: v1\nkind: ConfigMap\nmetadata: {name: lol}\ndata:\n  a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        lines.append(f"  a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * fan) + "]")
    return ("\n".join(lines) + "\n").encode()


def deep_yaml(depth: int) -> bytes:
    return b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: deep}\ndata: " + b"[" * depth + b"]" * depth + b"\n"


def deep_block_yaml(depth: int) -> bytes:
    """Block style nesting without a single bracket: `- - - - …` on one line."""
    return b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: deep}\ndata:\n  x:\n  " + b"- " * depth + b"end\n"


def deep_json(depth: int) -> bytes:
    return b'{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "deep"}, "data": ' + \
        b"[" * depth + b"]" * depth + b"}"


# id, file name, bytes, substrings the message must contain (file, document, object, field, problem)
CASES = [
    ("invalid-yaml", "shop.yaml", b"apiVersion: v1\nkind: Pod\nmetadata: {name: [a\n",
     ["shop.yaml", "document 1", "invalid YAML at line"]),
    ("invalid-yaml-second-doc", "shop.yaml", (POD.format(name="a", ip="10.1.0.5") + "---\nkind: : :\n").encode(),
     ["shop.yaml", "document 2", "invalid YAML"]),
    ("invalid-json", "dump.json", b'{"apiVersion": "v1", "kind": "Pod",, }',
     ["dump.json", "invalid JSON at line 1"]),
    ("not-a-mapping", "list.yaml", b"- just\n- a list\n", ["list.yaml", "document 1", "must be a mapping"]),
    ("wrong-type-port", "svc.yaml",
     b"apiVersion: v1\nkind: Service\nmetadata: {name: cart, namespace: shop}\nspec: {ports: [{port: http}]}\n",
     ["svc.yaml", "document 1", "Service shop/cart", "spec.ports[0].port", "must be an integer"]),
    ("wrong-type-labels", "pod.yaml",
     b"apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop, labels: [a, b]}\nspec: {containers: [{name: c}]}\n",
     ["pod.yaml", "Pod shop/p", "metadata.labels", "must be a mapping"]),
    ("missing-name", "pod.yaml", b"apiVersion: v1\nkind: Pod\nmetadata: {namespace: shop}\nspec: {containers: [{name: c}]}\n",
     ["pod.yaml", "document 1", "metadata.name", "required"]),
    ("missing-kind", "x.yaml", b"apiVersion: v1\nmetadata: {name: x}\n", ["x.yaml", "document 1", "kind", "required"]),
    ("missing-spec", "pod.yaml", b"apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\n",
     ["Pod shop/p", "spec", "required"]),
    ("duplicate-object", "dump.yaml", (POD.format(name="a", ip="10.1.0.5") + "---\n" + POD.format(name="a", ip="10.1.0.6")).encode(),
     ["dump.yaml", "document 2", "Pod shop/a", "metadata.name", "duplicate object"]),
    ("cluster-ip-twice", "svc.yaml", (SVC.format(name="a", ip="10.96.0.10") + "---\n" + SVC.format(name="b", ip="10.96.0.10")).encode(),
     ["svc.yaml", "document 2", "Service shop/b", "spec.clusterIPs[0]", "already allocated to service shop/a"]),
    ("bad-pod-ip", "pod.yaml", POD.format(name="a", ip="10.1.0.500").encode(),
     ["Pod shop/a", "status.podIP", "not an IP address"]),
    ("selector-operator", "np.yaml",
     NETPOL.format(spec="{podSelector: {matchExpressions: [{key: app, operator: Like, values: [x]}]}}").encode(),
     ["np.yaml", "NetworkPolicy shop/np", "spec.podSelector.matchExpressions[0].operator", "'Like'"]),
    ("selector-in-without-values", "np.yaml",
     NETPOL.format(spec="{podSelector: {matchExpressions: [{key: app, operator: In}]}}").encode(),
     ["NetworkPolicy shop/np", "spec.podSelector.matchExpressions[0]"]),
    ("selector-unknown-field", "np.yaml", NETPOL.format(spec="{podSelector: {matchLabel: {app: x}}}").encode(),
     ["NetworkPolicy shop/np", "spec.podSelector.matchLabel", "unknown field"]),
    ("selector-label-key", "np.yaml", NETPOL.format(spec="{podSelector: {matchLabels: {'bad key!': x}}}").encode(),
     ["NetworkPolicy shop/np", "spec.podSelector.matchLabels", "label key 'bad key!' is not a valid name"]),
    ("selector-label-value", "svc.yaml",
     b"apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: shop}\nspec: {selector: {app: 'a b'}, ports: [{port: 80}]}\n",
     ["Service shop/s", "spec.selector.app", "'a b' is not a valid label value"]),
    ("selector-expression-key", "np.yaml",
     NETPOL.format(spec="{podSelector: {matchExpressions: [{key: 'x/', operator: Exists}]}}").encode(),
     ["NetworkPolicy shop/np", "spec.podSelector.matchExpressions[0].key", "not a valid name"]),
    ("pod-label-value", "pod.yaml",
     b"apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop, labels: {app: '-web'}}\nspec: {containers: [{name: c}]}\n",
     ["Pod shop/p", "metadata.labels.app", "not a valid label value"]),
    ("selector-value-bool", "svc.yaml",
     b"apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: shop}\nspec: {selector: {on: true}, ports: [{port: 80}]}\n",
     ["Service shop/s", "spec.selector", "must be a string"]),
    ("bad-cidr-prefix", "np.yaml",
     NETPOL.format(spec="{podSelector: {}, ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/33}}]}]}").encode(),
     ["NetworkPolicy shop/np", "spec.ingress[0].from[0].ipBlock.cidr", "not a valid CIDR"]),
    ("bad-cidr-text", "np.yaml",
     NETPOL.format(spec="{podSelector: {}, egress: [{to: [{ipBlock: {cidr: internet}}]}]}").encode(),
     ["NetworkPolicy shop/np", "spec.egress[0].to[0].ipBlock.cidr", "not a CIDR"]),
    ("cidr-except-outside", "np.yaml",
     NETPOL.format(spec="{podSelector: {}, ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8, except: [192.168.0.0/16]}}]}]}").encode(),
     ["spec.ingress[0].from[0].ipBlock.except[0]", "subset"]),
    ("non-utf8", "latin1.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: café}\n".encode("latin-1"),
     ["latin1.yaml", "not UTF-8"]),
    ("binary", "image.yaml", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, ["image.yaml", "not UTF-8"]),
    ("nul-bytes", "nul.yaml", b"apiVersion: v1\x00\nkind: Pod\n", ["nul.yaml", "document 1", "invalid YAML"]),
    ("nul-escape-json", "svc.json",
     b'{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "annotations": {"note": "a\\u0000b"}}}',
     ["svc.json", "document 1", "metadata.annotations.note", "NUL character"]),
    ("nul-escape-yaml", "svc.yaml", b'apiVersion: v1\nkind: Service\nmetadata:\n  name: s\n  labels: {app: "we\\0b"}\n',
     ["svc.yaml", "document 1", "metadata.labels.app", "NUL character"]),
    ("utf16", "win.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n".encode("utf-16"),
     ["win.yaml", "not UTF-8"]),
    ("billion-laughs", "lol.yaml", billion_laughs(), ["lol.yaml", "document 1", "alias"]),
    ("billion-laughs-json-flow", "lol.yml", b'{"a": &a ["x","x","x","x","x","x","x","x"], "b": &b [*a,*a,*a,*a,*a,*a,*a,*a], '
     b'"c": &c [*b,*b,*b,*b,*b,*b,*b,*b], "d": &d [*c,*c,*c,*c,*c,*c,*c,*c], "e": &e [*d,*d,*d,*d,*d,*d,*d,*d], '
     b'"f": &f [*e,*e,*e,*e,*e,*e,*e,*e], "g": [*f,*f,*f,*f,*f,*f,*f,*f]}', ["lol.yml", "alias"]),
    ("recursive-alias", "loop.yaml", b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: &x [1, *x]\n",
     ["loop.yaml", "document 1", "alias *x refers to a node that contains it"]),
    ("recursive-document", "loop.yaml",
     b"&d\napiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {containers: [{name: c}], x: *d}\n",
     ["loop.yaml", "document 1", "alias *d", "recursive"]),
    ("deep-flow-yaml", "deep.yaml", deep_yaml(200_000), ["deep.yaml", "document 1", "nested more than"]),
    ("deep-block-yaml", "deep.yaml", deep_block_yaml(50_000), ["deep.yaml", "document 1", "nested more than"]),
    ("deep-json", "deep.json", deep_json(200_000), ["deep.json", "nested too deeply"]),
]
IDS = [c[0] for c in CASES]


def _assert_message(message: str, expected: list[str]) -> None:
    for part in expected:
        assert part in message, f"{part!r} not in {message!r}"


@pytest.mark.parametrize("case_id,name,data,expected", CASES, ids=IDS)
def test_import_bytes_refuses_and_stores_nothing(db, case_id, name, data, expected):
    """import_bytes → ManifestError naming file/document/object/field; every table unchanged."""
    cluster = Cluster.objects.create(name="shop")
    before = row_counts()
    started = time.monotonic()
    with pytest.raises(ManifestError) as err:
        import_bytes(cluster, [(name, data)])
    assert time.monotonic() - started < 5, "hostile input must be refused quickly"
    _assert_message(str(err.value), expected)
    assert err.value.file == name
    assert row_counts() == before


def test_second_file_error_names_that_file(db, cluster_b_bytes):
    """[cluster-b.yaml ✓, broken.yaml ✗] → the error names broken.yaml, and cluster-b's objects are not kept."""
    before = row_counts()
    with pytest.raises(ManifestError) as err:
        import_bytes("two-files", [("cluster-b.yaml", cluster_b_bytes), ("broken.yaml", b"kind: [\n")])
    assert err.value.file == "broken.yaml"
    assert row_counts() == before


def test_alias_bomb_is_refused_with_bounded_memory(db):
    """9 levels × 9 aliases (387 M nodes expanded, < 1 KB on disk): refused in well under a second, no memory
    growth worth the name (the expansion is counted, never built)."""
    data = billion_laughs(levels=10)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    with pytest.raises(ManifestError, match="alias"):
        import_bytes("lol", [("lol.yaml", data)])
    assert time.monotonic() - started < 1.0
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before < 50_000  # KiB


def test_modest_aliases_still_import(db):
    """Anchors used the way people write them (one shared label map) are fine: only bombs are refused."""
    text = b"""apiVersion: v1
kind: Service
metadata: {name: cart, namespace: shop, labels: &l {app: cart, tier: backend}}
spec: {clusterIP: 10.96.0.20, selector: *l, ports: [{port: 80}]}
"""
    res = import_bytes("aliases", [("svc.yaml", text)])
    assert res.counts["Service"] == 1


def test_two_live_pods_with_one_ip_is_a_warning_naming_both(db):
    """[pod shop/a 10.1.0.5] + [pod shop/b 10.1.0.5], both Running: a dump taken mid-replacement (or edited
    by hand, as in the nca corpus) — imported, with a warning that names both pods, the file, the document and
    the field, and says which one a trace to 10.1.0.5 reaches."""
    text = POD.format(name="a", ip="10.1.0.5") + "---\n" + POD.format(name="b", ip="10.1.0.5")
    res = import_bytes("ips", [("dump.yaml", text.encode())])
    (warning,) = [w for w in res.warnings if "share an IP" in w]
    for part in ("dump.yaml document 2", "Pod shop/b", "status.podIPs[0]", "10.1.0.5 is also the IP of pod shop/a",
                 "first pod in input order"):
        assert part in warning, warning


def test_pod_ips_may_repeat_where_kubernetes_allows_it(db):
    """Same IP on a finished pod and its live successor, and on hostNetwork pods (the node's IP): real in every
    dump — accepted without a warning."""
    done = POD.format(name="old", ip="10.1.0.5").replace("phase: Running", "phase: Succeeded")
    live = POD.format(name="new", ip="10.1.0.5")
    host = [POD.format(name=n, ip="172.20.0.10").replace("spec: {", "spec: {hostNetwork: true, ") for n in ("h1", "h2")]
    res = import_bytes("ips", [("dump.yaml", "---\n".join([done, live, *host]).encode())])
    assert res.counts["Pod"] == 4
    assert not [w for w in res.warnings if "share an IP" in w]


@pytest.mark.parametrize("text", [
    "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {containers: [{name: c}]}\nstatus:\n",
    "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {type: LoadBalancer, ports: [{port: 80}]}\nstatus:\n",
    "apiVersion: v1\nkind: Node\nmetadata: {name: n}\nspec:\nstatus:\n",
], ids=["pod-status", "service-status", "node-spec-status"])
def test_empty_sections_read_as_absent_with_materialize(db, text):
    """`status:` left empty is null, i.e. absent (it used to crash --materialize with AttributeError/TypeError)."""
    res = import_bytes("nulls", [("n.yaml", text.encode())], materialize=True)
    assert res.snapshot.pk


@pytest.mark.parametrize("depth", [20, 90])
def test_reasonable_nesting_is_accepted(db, depth):
    """CRD schemas nest a few dozen levels: that depth must still load (the guard is at 100)."""
    res = import_bytes("nest", [("n.yaml", deep_yaml(depth))])
    assert res.skipped == {"ConfigMap": 1}


# -- the upload API -----------------------------------------------------------------------------


@pytest.fixture
def api(db):
    alice = get_user_model().objects.create_user("alice")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {issue_token(alice)[1]}")
    cluster = Cluster.objects.create(name="shop", owner=alice)
    return client, cluster


@pytest.mark.parametrize("case_id,name,data,expected", CASES, ids=IDS)
def test_upload_answers_400_and_stores_nothing(api, case_id, name, data, expected):
    """POST …/upload/?filename=NAME (raw body) → 400 manifest_error with file/document/kind/field; 0 rows."""
    client, cluster = api
    before = row_counts()
    ctype = "application/json" if name.endswith(".json") else "application/yaml"
    resp = client.post(f"/api/clusters/{cluster.pk}/upload/?filename={name}", data=data, content_type=ctype)
    assert resp.status_code == 400, resp.content[:500]
    body = resp.json()
    assert body["code"] == "manifest_error"
    _assert_message(body["detail"], expected)
    assert body["errors"][0]["file"] == name
    assert row_counts() == before


@pytest.mark.parametrize("case_id,name,data,expected", [c for c in CASES if c[0] in
                                                        ("binary", "billion-laughs", "deep-flow-yaml", "duplicate-object")],
                         ids=["binary", "billion-laughs", "deep-flow-yaml", "duplicate-object"])
def test_multipart_upload_names_the_uploaded_file(api, case_id, name, data, expected):
    """multipart files=[good.yaml, NAME] → 400 naming NAME (the second file); nothing stored."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    client, cluster = api
    before = row_counts()
    good = SimpleUploadedFile("good.yaml", b"apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n")
    bad = SimpleUploadedFile(name, data)
    resp = client.post(f"/api/clusters/{cluster.pk}/upload/", {"files": [good, bad]}, format="multipart")
    assert resp.status_code == 400, resp.content[:500]
    assert resp.json()["errors"][0]["file"] == name
    _assert_message(resp.json()["detail"], expected)
    assert row_counts() == before


def test_upload_over_the_limit_is_413(api, settings):
    """A body over TRACER_UPLOAD_LIMIT → 413 naming the limit, before anything is parsed or stored."""
    client, cluster = api
    settings.TRACER_UPLOAD_LIMIT = 4096
    before = row_counts()
    body = b"# padding\n" * 500  # 5,000 bytes
    resp = client.post(f"/api/clusters/{cluster.pk}/upload/", data=body, content_type="application/yaml")
    assert resp.status_code == 413
    assert resp.json()["code"] == "payload_too_large"
    assert "TRACER_UPLOAD_LIMIT" in resp.json()["detail"]
    multi = client.post(f"/api/clusters/{cluster.pk}/upload/", format="multipart",
                        data={"files": [_file("a.yaml", 3000), _file("b.yaml", 3000)]})
    assert multi.status_code == 413, multi.content[:300]
    assert row_counts() == before


def _file(name: str, size: int):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, b"#" * (size - 1) + b"\n")


def test_empty_and_whitespace_uploads_are_400(api):
    client, cluster = api
    for body in (b"", b"   \n\n", b"---\n---\n"):
        resp = client.post(f"/api/clusters/{cluster.pk}/upload/", data=body, content_type="application/yaml")
        assert resp.status_code == 400, (body, resp.content[:300])
    assert cluster.snapshots.count() == 0


# -- the command line ---------------------------------------------------------------------------


@pytest.mark.parametrize("case_id", ["billion-laughs", "deep-flow-yaml", "cluster-ip-twice"])
def test_import_manifests_exits_1_with_the_message(db, tmp_path, case_id):
    """`manage.py import_manifests --cluster x FILE` in a real process: exit status 1 (never a crash by
    signal: the C parser used to overflow its stack on deep nesting), the message on stderr naming the file,
    nothing stored."""
    from tests.integration.workers import database_url

    _id, name, data, expected = next(c for c in CASES if c[0] == case_id)
    path = tmp_path / name
    path.write_bytes(data)
    before = row_counts()
    env = {**_env(), "DATABASE_URL": database_url()}
    proc = subprocess.run([sys.executable, "manage.py", "import_manifests", "--cluster", "cli", str(path)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1, (proc.returncode, proc.stderr[-2000:])
    # The message names the file by its name only (never the server's directory: messages and the snapshot's
    # source list are shown to every reader of the cluster).
    _assert_message(proc.stderr, expected)
    assert str(tmp_path) not in proc.stderr
    assert "Nothing was imported" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert row_counts() == before


def _env() -> dict:
    import os

    return {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}


def test_error_body_is_json_serialisable_for_every_case():
    """ManifestError.to_dict() (the API's `errors` entry) is plain JSON for every refused input."""
    from topology.importers.load import parse_bytes

    for _id, name, data, _exp in CASES:
        try:
            from topology.importers import build_objects

            build_objects(parse_bytes(data, name))
        except ManifestError as exc:
            json.dumps(exc.to_dict())
        else:  # pragma: no cover - every case must fail
            raise AssertionError(f"{_id} was accepted")
