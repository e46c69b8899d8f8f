"""Chunked uploads through the real server (issue 17: `Transfer-Encoding: chunked` was read as an empty body).

    curl -T - / a streaming client ──chunked──► gunicorn (decodes chunks) ──► ChunkedBodyMiddleware ──► upload

gunicorn decodes the chunks but announces no Content-Length, so Django saw an empty body. The middleware
reads it (up to the limit) and sizes the request: the upload is imported; past the limit the answer is 413.
"""
from __future__ import annotations

import http.client
import json

from bench.load import Gunicorn, prepare, server_env

NAMESPACE = b"apiVersion: v1\nkind: Namespace\nmetadata: {name: chunked}\n"


def _chunked_post(server: Gunicorn, path: str, token: str, parts: list[bytes]) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        conn.request("POST", path, body=iter(parts), encode_chunked=True,
                     headers={"Authorization": f"Token {token}", "Content-Type": "application/yaml",
                              "Transfer-Encoding": "chunked"})
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read() or b"{}")
    finally:
        conn.close()


def test_a_chunked_upload_is_imported_and_an_oversized_one_is_413(tmp_path):
    env = server_env(f"sqlite:///{tmp_path}/chunked.sqlite3", tmp_path, {"TRACER_UPLOAD_LIMIT": "65536"})
    ids = prepare(env)
    with Gunicorn(env, workers=1) as server:
        path = f"/api/clusters/{ids['cluster']}/upload/?filename=ns.yaml"
        status, body = _chunked_post(server, path, ids["token"], [NAMESPACE[:20], NAMESPACE[20:]])
        assert status == 201, body
        assert body["counts"]["Namespace"] >= 1 and body["snapshot"]["number"] == 2
        status, body = _chunked_post(server, path, ids["token"], [b"# padding line\n" * 1000] * 10)  # 150 KB
        assert status == 413, body
        assert body["code"] == "payload_too_large"
