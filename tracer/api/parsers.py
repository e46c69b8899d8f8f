"""Request-body parsing for the API: every JSON body goes through the project's one safe loader.

Why not DRF's JSONParser: it calls `json.load` on whatever arrives, so 100,000 `[` raised RecursionError
(a 500), a body of any size was read into memory, duplicate keys were silently merged, and its error text
quoted the input. Here a body is read up to `TRACER_JSON_BODY_LIMIT` bytes (one more byte → 413 with a
JSON error saying the limit), then parsed by `topology.importers.load.load_json`: nesting at most
MAX_DEPTH levels, duplicate keys refused (kubectl's strict decoding), errors that name the line and column
but never echo the body.
"""
from __future__ import annotations

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError

from topology.importers.errors import ManifestError
from topology.importers.load import load_json

from .errors import PayloadTooLarge


def read_limited(stream, limit: int, what: str) -> bytes:
    """At most `limit` bytes of `stream`; PayloadTooLarge (413) when there are more."""
    if stream is None:
        return b""
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLarge(f"The {what} is larger than {limit} bytes, the most this server accepts "
                              f"(TRACER_JSON_BODY_LIMIT for JSON bodies, TRACER_UPLOAD_LIMIT for manifests).")
    return data


class SafeJSONParser(parsers.JSONParser):
    """application/json bodies: size-capped, depth-capped, duplicate keys refused; 400/413, never 500."""

    def parse(self, stream, media_type=None, parser_context=None):
        data = read_limited(stream, settings.TRACER_JSON_BODY_LIMIT, "JSON request body")
        try:
            return load_json(data, "request body")
        except ManifestError as exc:
            raise ParseError(f"JSON parse error: {exc.problem}") from None
