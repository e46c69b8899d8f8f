"""DRF authentication classes: hashed API tokens, and basic auth with a brute-force brake.

`HashedTokenAuthentication` reads `Authorization: Token KEY` like DRF's TokenAuthentication (same
header, same 401 + `WWW-Authenticate: Token`), but looks the key up by its SHA-256 in
tracer.models.ApiToken, refuses expired tokens and records when a token was last used.
"""
from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BasicAuthentication, TokenAuthentication

from tracer.tokens import authenticate_key

from . import throttling


class HashedTokenAuthentication(TokenAuthentication):
    keyword = "Token"

    def authenticate_credentials(self, key):
        token = authenticate_key(key)
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid or expired token.")
        return (token.user, token)


class ThrottledBasicAuthentication(BasicAuthentication):
    """Basic auth (only POST /api/tokens/ accepts it) that stops answering password guesses."""

    def authenticate_credentials(self, userid, password, request=None):
        wait = throttling.locked_for(request, userid) if request is not None else 0
        if wait:
            raise exceptions.Throttled(wait, detail="Too many failed sign-in attempts from this address or for "
                                                    f"this user; try again in {wait} s.")
        try:
            return super().authenticate_credentials(userid, password, request)
        except exceptions.AuthenticationFailed:
            if request is not None:
                throttling.record_failure(request, userid)
            raise


class ThrottledBasicScheme(OpenApiAuthenticationExtension):
    """Schema: the throttled basic auth is plain HTTP basic auth to a client."""

    target_class = ThrottledBasicAuthentication
    name = "basicAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "basic"}
