"""Response headers every page and API answer carries: a strict Content-Security-Policy, and
`Cache-Control: no-store` on the API and on shared-trace pages.

Why a strict CSP: the UI is one bundled script and one stylesheet served from this origin, with no
inline script or style (the page configuration travels as a JSON data block, which CSP does not run),
so any injected markup can neither run script nor load or send anything elsewhere. Swagger UI is served
by drf-spectacular's split view (its init script is a URL, not inline), so /api/docs/ fits the same policy.

Why no-store: API answers carry a user's clusters, traces and tokens (a token key is shown once), and a
shared page is readable by whoever holds the link until it is revoked — neither belongs in a browser or
proxy cache that outlives the session or the link.
"""
from __future__ import annotations

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",  # the favicon is a data: URL; PNG export draws into a blob
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
NO_STORE_PREFIXES = ("/api/", "/t/")


class SecurityHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        if request.path.startswith(NO_STORE_PREFIXES):
            response["Cache-Control"] = "no-store"
            response["Pragma"] = "no-cache"  # HTTP/1.0 caches
        return response
