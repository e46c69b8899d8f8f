"""Issuing and checking API tokens (the model is tracer.models.ApiToken).

`issue_token` is the only place a key exists in clear: it is returned to the caller once and never
stored. `authenticate_key` is what the DRF authentication class (tracer.api.authentication) calls.
"""
from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from tracer.models import ApiToken, hash_token_key

KEY_PREFIX = "tt_"  # recognisable in logs and by secret scanners
MAX_KEY_LENGTH = 128
LAST_USED_RESOLUTION = timedelta(seconds=60)  # at most one write per token per minute


def issue_token(user, name: str = "token", expires_in_days: int | None = None) -> tuple[ApiToken, str]:
    """A new token for `user` → (row, key). The key is shown once; only its hash is stored."""
    days = settings.TRACER_TOKEN_DAYS if expires_in_days is None else expires_in_days
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name[:100], key_hash=hash_token_key(key), prefix=key[:10],
                                    expires=timezone.now() + timedelta(days=days))
    return token, key


def authenticate_key(key: str) -> ApiToken | None:
    """The live token for `key` (with its user), or None: unknown, expired, or its user inactive."""
    if not key or len(key) > MAX_KEY_LENGTH:
        return None
    token = ApiToken.objects.select_related("user").filter(key_hash=hash_token_key(key)).first()
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.expires is not None and token.expires <= now:
        return None
    if token.last_used is None or now - token.last_used >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used=now)
        token.last_used = now
    return token
