"""OpenAPI generation: every operation documents the errors it can answer with.

Why a schema class rather than `@extend_schema` on each view: the error contract is the same for
the whole API (one body shape, see `errors.ErrorSerializer`), so it is declared once here. Views only
add the unusual codes (413 on upload, 202 on an asynchronous import) through `extend_schema`.
"""
from __future__ import annotations

from drf_spectacular.openapi import AutoSchema
from rest_framework.permissions import AllowAny

from .errors import ErrorSerializer

ERROR_DESCRIPTIONS = {
    "400": "Bad request: the body or a query parameter is invalid; `detail` says what to fix.",
    "401": "Not authenticated: send `Authorization: Token <key>` (or log in for the browser UI).",
    "403": "Authenticated, but not allowed to change this object (e.g. only the owner may delete a cluster).",
    "404": "Not found — or not visible to you: other users' clusters, snapshots and traces answer 404.",
    "413": "The upload exceeds TRACER_UPLOAD_LIMIT.",
    "415": "Unsupported content type for the request body.",
    "503": "Temporarily unavailable (the database or the job queue is down, or an engine part is missing); "
           "retry later — `Retry-After` says when.",
}


class TracerAutoSchema(AutoSchema):
    """AutoSchema that adds the shared error responses to every operation."""

    extra_error_codes: tuple[str, ...] = ()

    def _anonymous(self) -> bool:
        return all(isinstance(p, AllowAny) for p in self.view.get_permissions())

    def _error_codes(self) -> list[str]:
        codes = ["400", "404", "503"]  # 503: any operation may meet a database outage (errors.py)
        if not self._anonymous():
            codes += ["401", "403"]
        if self.method in ("POST", "PUT", "PATCH"):
            codes.append("415")
        codes += list(getattr(self.view, "error_codes", ()))
        handler = getattr(self.view, getattr(self.view, "action", None) or "", None)
        codes += list(getattr(handler, "error_codes", ()))
        return codes

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for code in self._error_codes():
            if code not in responses:
                body = self._get_response_for_code(ErrorSerializer, code, direction=direction)
                body["description"] = ERROR_DESCRIPTIONS.get(code, "Error")
                responses[code] = body
        return responses
