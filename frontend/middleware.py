"""Local mode: on a zero-install run bound to loopback, treat a visitor from this machine as the local user.

Why: a person trying the demo should not have to sign up. Why so many conditions: "the request comes
from 127.0.0.1" also holds for every request relayed by a same-host reverse proxy, `ssh -L` or
`kubectl port-forward`, so on its own it would sign the whole world in. Local mode therefore needs:

- `settings.TRACER_LOCAL_MODE`, which is only true when the server itself listens on a loopback
  address (`scripts/run.sh` sets TRACER_LOCAL_MODE=1 and TRACER_BIND_ADDRESS; config/settings.py
  turns local mode off for any non-loopback bind, so `make run HOST=0.0.0.0` has none);
- a loopback REMOTE_ADDR and *no* forwarding header (X-Forwarded-For, Forwarded, X-Real-IP, …): a
  proxy announces itself with one, and a relayed request is never local;
- a path outside /admin/ and the token endpoint: a local visitor never gets anything that outlives
  local mode (a token) or administers other users.

The local user is an ordinary user (not staff, not a superuser), and nothing is persisted: the user is
attached to this one request, no session is created, so turning local mode off ends it at once.
"""
from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model

LOCAL_USER = "local-admin"
LOOPBACK_ADDRESSES = frozenset({"127.0.0.1", "::1", "::ffff:127.0.0.1"})

# Headers a proxy or tunnel adds to say "I relay this for someone else" (WSGI META names).
FORWARDING_HEADERS = (
    "HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP", "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_PORT", "HTTP_X_FORWARDED_SERVER", "HTTP_X_FORWARDED_PREFIX",
    "HTTP_VIA", "HTTP_X_CLIENT_IP", "HTTP_CLIENT_IP", "HTTP_TRUE_CLIENT_IP", "HTTP_CF_CONNECTING_IP",
    "HTTP_X_ORIGINAL_FORWARDED_FOR", "HTTP_X_CLUSTER_CLIENT_IP", "HTTP_FASTLY_CLIENT_IP",
    "HTTP_X_ORIGINAL_HOST", "HTTP_X_HOST",
)
# Never in local mode: administration, API tokens (they would outlive local mode), signing in/out.
EXCLUDED_PREFIXES = ("/admin/", "/api/tokens", "/accounts/")


def is_local_request(request) -> bool:
    """Whether this request may be treated as coming from the person at this machine."""
    if request.META.get("REMOTE_ADDR") not in LOOPBACK_ADDRESSES:
        return False
    if any(request.META.get(h) for h in FORWARDING_HEADERS):
        return False
    return not request.path.startswith(EXCLUDED_PREFIXES)


class LocalModeMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.local_mode = False
        if settings.TRACER_LOCAL_MODE and not request.user.is_authenticated and is_local_request(request):
            user = get_user_model().objects.filter(username=LOCAL_USER, is_active=True).first()
            if user is not None and not (user.is_superuser or user.is_staff):
                # This request only: no login(), no session cookie; DRF's SessionAuthentication reads
                # request.user (and still enforces CSRF on writes).
                request.user = user
                request._cached_user = user
                request.local_mode = True
        return self.get_response(request)
