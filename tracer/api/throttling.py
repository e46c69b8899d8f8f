"""Brute-force brakes for password checks (basic auth on POST /api/tokens/, the login form).

Why failures and not requests: a script that fetches a token with its password once per run must
never be slowed down, while every guess of an attacker is a failure. Failures are counted per client
address and per username over a sliding window (TRACER_AUTH_FAILURES within TRACER_AUTH_WINDOW
seconds); past the limit the password is not even checked and the answer is 429 with Retry-After.
Counters live in Django's cache (per process by default; point CACHES at Redis to share them).
"""
from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import ScopedRateThrottle


def _keys(request, username: str) -> list[str]:
    ident = request.META.get("REMOTE_ADDR") or "unknown"
    keys = [f"authfail:ip:{ident}"]
    if username:
        keys.append(f"authfail:user:{username[:150].lower()}")
    return keys


def _recent(key: str, now: float) -> list[float]:
    window = settings.TRACER_AUTH_WINDOW
    return [t for t in cache.get(key, []) if t > now - window]


def locked_for(request, username: str) -> int:
    """Seconds until another password attempt is allowed for this address or username (0: allowed now)."""
    now = time.time()
    wait = 0
    for key in _keys(request, username):
        recent = _recent(key, now)
        if len(recent) >= settings.TRACER_AUTH_FAILURES:
            wait = max(wait, int(recent[0] + settings.TRACER_AUTH_WINDOW - now) + 1)
    return wait


def record_failure(request, username: str) -> None:
    now = time.time()
    for key in _keys(request, username):
        cache.set(key, [*_recent(key, now), now][-settings.TRACER_AUTH_FAILURES:], settings.TRACER_AUTH_WINDOW)


class PostScopedRateThrottle(ScopedRateThrottle):
    """A view's `throttle_scope` rate, counted per user, on POST only (creating, not reading).

    Scopes: "auth" (token creation, env TRACER_THROTTLE_AUTH) and "jobs" (job creation, env
    TRACER_THROTTLE_JOBS); an exceeded rate answers 429 with Retry-After.
    """

    def get_cache_key(self, request, view):
        if request.method != "POST":
            return None
        return super().get_cache_key(request, view)
