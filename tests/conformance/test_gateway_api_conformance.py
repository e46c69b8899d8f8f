"""The upstream Gateway API conformance suite (tests/fixtures/gateway-api-conformance/, 41 tests), through the CLI.

For each conformance test, as a user would run it:

    manage.py import_manifests --cluster <test> --materialize <base> <suite setup> <the test's YAML>
    manage.py trace --cluster <test> --from external:203.0.113.9 --to url:SCHEME://HOST/PATH?QUERY \
        --via gateway:NS/NAME:LISTENER_PORT [--method M] [--header 'Name: value' …] --format json
    manage.py gateway_status --cluster <test> --format json          (route_status / attached_routes cases)

and every case of cases/<Test>.json is compared with the result: the backend Service (`http.backend` of every
path, and the share of paths per backend for weighted cases), the status (`http.status`; 404 → reason no-route,
500 → backend-unavailable, 30x → http-redirect with `http.location`), the request the backend sees
(`http.backend_request`), a raw TLS stream's backend port and whether it is still encrypted, and the route
conditions / attached route counts. A case with `state.delete` is run on a second import without those objects.
A request without a host (`host: null`) is sent to an IP address, so no listener or route hostname can match it.
"""
from __future__ import annotations

import io
import json
from urllib.parse import urlencode

import pytest
import yaml
from django.core.management import call_command

from tests.fixtures import FIXTURES

CORPUS = FIXTURES / "gateway-api-conformance"
TESTS = sorted(p.stem for p in (CORPUS / "cases").glob("*.json"))
CLIENT = "external:203.0.113.9"
NO_HOST = "192.0.2.200"  # a request without a Host name: the Gateway's address

pytestmark = pytest.mark.django_db


def _load(test: str) -> dict:
    return json.loads((CORPUS / "cases" / f"{test}.json").read_text())


def _import(cluster: str, manifests: list[str], delete: list[str], tmp_path) -> None:
    files = [str(CORPUS / m) for m in manifests]
    if delete:  # the test deleted these objects before the request: import the rest
        gone = {tuple(ref.replace("/", " ").split()) for ref in delete}  # (Kind, ns, name)
        last = CORPUS / manifests[-1]
        docs = [d for d in yaml.safe_load_all(last.read_text()) if isinstance(d, dict) and
                (d.get("kind"), d["metadata"].get("namespace", "default"), d["metadata"]["name"]) not in gone]
        out = tmp_path / f"{cluster}.yaml"
        out.write_text(yaml.safe_dump_all(docs))
        files[-1] = str(out)
    call_command("import_manifests", "--cluster", cluster, "--materialize", *files, stdout=io.StringIO())


def _trace(cluster: str, case: dict) -> tuple[dict, str]:
    req = case["request"]
    scheme = req["scheme"]
    host = req.get("sni") if scheme == "tls" else req.get("host")
    host = host or NO_HOST
    if scheme == "tls":
        url = f"tls://{host}"
    elif req.get("protocol") == "grpc":
        url = f"grpc://{host}/{req['grpc']['service']}/{req['grpc']['method']}"
    else:
        url = f"{scheme}://{host}{req['path']}"
        if req.get("query"):
            url += "?" + urlencode(req["query"])
    args = ["--cluster", cluster, "--from", CLIENT, "--to", f"url:{url}",
            "--via", f"gateway:{case['gateway']}:{case['listener_port']}", "--format", "json"]
    if req.get("method") and req.get("protocol") != "grpc":
        args += ["--method", req["method"]]
    for name, value in (req.get("headers") or {}).items():
        args += ["--header", f"{name}: {value}"]
    out = io.StringIO()
    call_command("trace", *args, stdout=out)
    return json.loads(out.getvalue()), host.split(":")[0]


def check_request(result: dict, case: dict, host: str) -> list[str]:
    """Differences between a trace result and a request case ([] = pass)."""
    exp, paths = case["expect"], result["paths"]
    problems = []
    if not paths:
        return ["no path"]
    https = [p.get("http") for p in paths]
    if exp.get("outcome") == "connection-rejected":
        if result["verdict"] != "dropped" or any(h is not None for h in https):
            problems.append(f"expected the TLS connection rejected, got {result['verdict']} {https}")
        return problems
    if case["request"]["scheme"] == "tls":
        backend = exp["backend"]
        for p, h in zip(paths, https, strict=True):
            if p["verdict"] != "delivered" or h is None or h["backend"] != backend:
                problems.append(f"expected TLS delivered to {backend}, got {p['verdict']} {p['reason']} {h}")
            elif p["endpoint_port"] != exp["backend_port"] or h["tls_passthrough"] != exp["tls_at_backend"]:
                problems.append(f"expected port {exp['backend_port']} tls {exp['tls_at_backend']}, got "
                                f"{p['endpoint_port']} {h['tls_passthrough']}")
        return problems
    status = exp["status"]
    for p, h in zip(paths, https, strict=True):
        if h is None:
            problems.append(f"path without http object: {p['verdict']} {p['reason']}")
            continue
        if h["status"] != status:
            problems.append(f"expected status {status}, got {h['status']} ({p['reason']})")
    if problems:
        return problems
    if "weights" in exp:
        shares: dict[str, float] = {}
        for p, h in zip(paths, https, strict=True):
            shares[h["backend"]] = shares.get(h["backend"], 0.0) + p["probability"]
        for backend, want in exp["weights"].items():
            if abs(shares.get(backend, 0.0) - want) > 0.05:
                problems.append(f"backend {backend}: share {shares.get(backend, 0.0):.3f}, expected {want}")
        return problems
    want_reason = {200: None, 404: "no-route", 500: "backend-unavailable"}.get(status, "http-redirect")
    for p, h in zip(paths, https, strict=True):
        if p["reason"] != want_reason:
            problems.append(f"expected reason {want_reason}, got {p['reason']}")
        if h["backend"] != exp.get("backend"):
            problems.append(f"expected backend {exp.get('backend')}, got {h['backend']}")
        if status == 200 and (p["verdict"] != "delivered" or not p["endpoint"]):
            problems.append(f"expected delivery to a pod of {exp.get('backend')}, got {p['verdict']}")
        if "location" in exp:
            want = exp["location"].replace("{request-host}", host)
            if h["location"] != want:
                problems.append(f"expected Location {want}, got {h['location']}")
        for key, want in (exp.get("backend_request") or {}).items():
            seen = (h.get("backend_request") or {})
            if key == "headers":
                got = {k.lower(): v for k, v in (seen.get("headers") or {}).items()}
                bad = {k: v for k, v in want.items() if got.get(k.lower()) != v}
                if bad:
                    problems.append(f"backend headers {got} lack {bad}")
            elif key == "absent_headers":
                got = {k.lower() for k in seen.get("headers") or {}}
                if any(k.lower() in got for k in want):
                    problems.append(f"backend headers {got} still hold one of {want}")
            elif seen.get(key) != want:
                problems.append(f"backend request {key} {seen.get(key)!r}, expected {want!r}")
    if exp.get("backend") and status == 200:
        workload = case.get("workload") or exp["backend"].split("/")[1]
        for p in paths:
            if not p["endpoint"].startswith(f"pod:{exp['backend'].split('/')[0]}/{workload}-"):
                problems.append(f"endpoint {p['endpoint']} is not a pod of {workload}")
    return problems


def _parent_match(ref: str, parent: str) -> bool:
    return ref == parent


def check_status(status: dict, case: dict) -> list[str]:
    exp = case["expect"]
    if case["type"] == "route_status":
        found = [r for r in status["routes"] if r["route"] == case["route"] and _parent_match(r["parent"],
                                                                                              case["parent"])]
        if not found:
            return [f"no status for {case['route']} → {case['parent']}"]
        r = found[0]
        problems = []
        if "accepted" in exp and (r["accepted"] != exp["accepted"] or
                                  ("reason" in exp and "resolved_refs" not in exp and r["reason"] != exp["reason"])):
            problems.append(f"Accepted {r['accepted']} ({r['reason']}), expected {exp}")
        if "resolved_refs" in exp and (r["resolved_refs"] != exp["resolved_refs"] or
                                       ("reason" in exp and r["refs_reason"] != exp["reason"])):
            problems.append(f"ResolvedRefs {r['resolved_refs']} ({r['refs_reason']}), expected {exp}")
        return problems
    gw_key = case.get("gateway") or case["parent"].split(" ", 1)[1]
    kind = case.get("parent", "Gateway x").split(" ", 1)[0]
    if case["type"] == "attached_listener_sets":
        gw = next(g for g in status["gateways"] if g["gateway"] == gw_key)
        got = gw["attached_listener_sets"]
        return [] if got == exp["attached_listener_sets"] else [f"{got} ListenerSets, expected {exp}"]
    listeners = [x for g in status["gateways"] for x in g["listeners"] if x["owner"] == f"{kind} {gw_key}"]
    if case.get("listener"):
        listeners = [x for x in listeners if x["name"] == case["listener"]]
        if not listeners:
            return [f"no listener {case['listener']} on {kind} {gw_key}"]
        got = listeners[0]["attached_routes"]
    else:  # the whole Gateway: distinct routes attached to any of its listeners
        got = len({r for x in listeners for r in x["routes"]})
    return [] if got == exp["attached_routes"] else [f"{got} attached routes, expected {exp['attached_routes']}"]


def run_test(test: str, tmp_path) -> tuple[int, list[str]]:
    """Import and run every case of one conformance test; (cases, failures)."""
    data = _load(test)
    clusters: dict[tuple, str] = {}
    failures = []
    for case in data["cases"]:
        delete = tuple((case.get("state") or {}).get("delete", []))
        if delete not in clusters:
            clusters[delete] = f"{test.lower()}-{len(clusters)}"
            _import(clusters[delete], data["manifests"], list(delete), tmp_path)
        cluster = clusters[delete]
        if case["type"] == "request":
            result, host = _trace(cluster, case)
            problems = check_request(result, case, host)
        else:
            out = io.StringIO()
            call_command("gateway_status", "--cluster", cluster, "--format", "json", stdout=out)
            problems = check_status(json.loads(out.getvalue()), case)
        failures += [f"{case['id']} ({case['note']}): {p}" for p in problems]
    return len(data["cases"]), failures


def test_corpus_is_complete():
    cases = sum(len(_load(t)["cases"]) for t in TESTS)
    assert (len(TESTS), cases) == (41, 292)


@pytest.mark.parametrize("test", TESTS)
def test_conformance(test, tmp_path):
    _n, failures = run_test(test, tmp_path)
    assert failures == [], "\n".join(failures)
