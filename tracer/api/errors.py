"""One error shape for the whole API, and the exception handler that produces it.

Why: a client mistake (a bad SOURCE, an unknown cluster, a manifest with a wrong field) must come
back as a 4xx whose message says what to fix — never as a 500. Every error body is
`{"detail": str, "code": str, "errors": …}`; `errors` carries field-level detail when there is some
(serializer field errors, or the importer's file/document/object/field list).
"""
from __future__ import annotations

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError as DatabaseDataError
from django.db import InterfaceError as DatabaseInterfaceError
from django.db import OperationalError as DatabaseOperationalError
from django.http import Http404
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from topology.services import UnknownSnapshot
from tracer.engine.errors import BadRequest, TracerError


class ErrorSerializer(serializers.Serializer):
    """The body of every 4xx/5xx response."""

    detail = serializers.CharField(help_text="What went wrong and what to change.")
    code = serializers.CharField(help_text="Machine-readable error code, e.g. `invalid`, `not_found`, "
                                           "`manifest_error`, `payload_too_large`.")
    errors = serializers.JSONField(required=False, help_text="Field-level detail: {field: [messages]} for "
                                   "request validation, or a list of {file, document, kind, name, field, "
                                   "problem} for manifest errors.")


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The upload is larger than this server accepts."
    default_code = "payload_too_large"


class ServiceUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "This feature is not available on this server right now."
    default_code = "unavailable"


def manifest_error_entry(exc) -> dict:
    """The importer's ManifestError as a JSON object: file, document, item, kind, namespace, name, field,
    problem, message."""
    if hasattr(exc, "to_dict"):
        return exc.to_dict()
    return {key: getattr(exc, key, None) for key in ("file", "document", "kind", "name", "field", "problem")}


def _flatten(data, prefix="") -> list[str]:
    """DRF's nested error dict → "field: message" lines, for a one-line `detail`."""
    if isinstance(data, dict):
        out = []
        for key, value in data.items():
            name = key if key != "non_field_errors" else ""
            out.extend(_flatten(value, f"{prefix}.{name}" if prefix and name else (name or prefix)))
        return out
    if isinstance(data, list):
        out = []
        for i, value in enumerate(data):
            if isinstance(value, dict | list):
                out.extend(_flatten(value, f"{prefix}[{i}]"))
            else:
                out.extend(_flatten(value, prefix))
        return out
    return [f"{prefix}: {data}" if prefix else str(data)]


# An error body never repeats a huge input: DRF's own messages quote it (`"…" is not a valid choice.`), so a
# 5 MB `proxy_mode` came back twice. Every text of an error body is cut to these lengths.
MAX_DETAIL = 2000
MAX_ERROR_TEXT = 500


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _bounded(value):
    if isinstance(value, str):
        return type(value)(_cut(value, MAX_ERROR_TEXT)) if len(value) > MAX_ERROR_TEXT else value
    if isinstance(value, dict):
        return {key: _bounded(v) for key, v in value.items()}
    if isinstance(value, list):
        return [_bounded(v) for v in value]
    return value


def _body(detail: str, code: str, errors=None) -> dict:
    body = {"detail": _cut(str(detail), MAX_DETAIL), "code": code}
    if errors is not None:
        body["errors"] = _bounded(errors)
    return body


def exception_handler(exc, context):
    """Map our domain errors to 4xx, then let DRF handle its own and reshape the body."""
    if hasattr(exc, "problem") and isinstance(exc, TracerError):  # the importer's ManifestError
        return Response(_body(f"Invalid manifest: {exc}", "manifest_error", [manifest_error_entry(exc)]),
                        status=status.HTTP_400_BAD_REQUEST)
    http_status = getattr(exc, "http_status", None) if isinstance(exc, TracerError) else None
    if http_status:  # a domain error that says its own status (503 engine/broker down, 409 conflict)
        code = {503: "unavailable", 409: "conflict", 429: "quota_exceeded", 413: "too_large"}.get(http_status, "error")
        return Response(_body(str(exc), code), status=http_status)
    if isinstance(exc, BadRequest | TracerError) and not isinstance(exc, UnknownSnapshot):
        return Response(_body(str(exc) or "Bad request.", "bad_request"), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, DatabaseDataError):
        # A value the database refuses (PostgreSQL: a NUL character in text or JSON, a too-long string) came
        # from the request: the client's mistake, not a server error.
        return Response(_body("The request holds a value that cannot be stored or searched for (a NUL character, "
                              "or a text longer than the field allows); remove it and retry.", "invalid"),
                        status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, DatabaseOperationalError | DatabaseInterfaceError):
        # The database went away mid-request (restart, failover, terminated backend): the client may retry;
        # Django drops the broken connection at the end of this request, so the next one reconnects.
        response = Response(_body("The database is unavailable right now; retry in a moment.", "unavailable"),
                            status=status.HTTP_503_SERVICE_UNAVAILABLE)
        response["Retry-After"] = "1"
        return response
    if isinstance(exc, UnknownSnapshot):  # a reference in the request: 400 under the field that holds it
        exc = exceptions.ValidationError({exc.field: [str(exc)]})
    elif isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge(f"The upload is larger than this server accepts: {exc}")
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    elif isinstance(exc, ObjectDoesNotExist):
        exc = exceptions.NotFound()
    elif isinstance(exc, SuspiciousOperation):
        exc = exceptions.ParseError(str(exc) or "Malformed request.")

    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a real bug: let Django log it and answer 500
    if isinstance(exc, Http404 | PermissionDenied):
        code = "not_found" if isinstance(exc, Http404) else "permission_denied"
        response.data = _body(str(response.data.get("detail", "")), code)
        return response
    data = response.data
    if isinstance(exc, exceptions.ValidationError):
        lines = _flatten(data)
        response.data = _body("Invalid request: " + "; ".join(lines), "invalid", data)
    elif isinstance(data, dict) and "detail" in data:
        detail = data["detail"]
        code = getattr(detail, "code", None) or getattr(exc, "default_code", "error")
        response.data = _body(str(detail), str(code))
    else:
        response.data = _body("; ".join(_flatten(data)), getattr(exc, "default_code", "error"), data)
    return response


def api_not_found(request, exception=None):
    """handler404: under /api/ an unknown URL answers the API's JSON error, not an HTML page."""
    from django.http import JsonResponse
    from django.views.defaults import page_not_found

    if request.path.startswith("/api/"):
        return JsonResponse(_body(f"No API endpoint at {request.path}; see /api/docs/.", "not_found"), status=404)
    return page_not_found(request, exception)
