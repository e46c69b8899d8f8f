"""Request bodies sent with `Transfer-Encoding: chunked` (no Content-Length): read them, within the limit.

Why: Django sizes the request stream from CONTENT_LENGTH, so a chunked upload (`curl -T -`, many HTTP
libraries streaming a file) was read as an empty body and answered "no manifest in the request". gunicorn
decodes the chunks in `wsgi.input`; this middleware reads at most the largest body the server accepts
(`DATA_UPLOAD_MAX_MEMORY_SIZE`) plus one byte, answers 413 with the API's JSON error when there is more, and
otherwise hands Django the body with its length, so every view and parser sees it as a normal request.
"""
from __future__ import annotations

import io

from django.conf import settings
from django.core.handlers.wsgi import LimitedStream
from django.http import JsonResponse


class ChunkedBodyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        chunked = "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()
        stream = request.META.get("wsgi.input")
        if chunked and not request.META.get("CONTENT_LENGTH") and stream is not None:
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            data = stream.read(limit + 1)
            if len(data) > limit:
                return JsonResponse({"detail": f"The request body is larger than {limit} bytes, the most this "
                                               "server accepts (TRACER_UPLOAD_LIMIT).",
                                     "code": "payload_too_large"}, status=413)
            request.META["CONTENT_LENGTH"] = str(len(data))
            request._stream = LimitedStream(io.BytesIO(data), len(data))
        return self.get_response(request)
