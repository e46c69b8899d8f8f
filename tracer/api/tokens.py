"""API token endpoints: /api/tokens/ (list, create, revoke all) and /api/tokens/ID/ (show, revoke one).

Several tokens per user, each named, stored only as a hash (tracer.models.ApiToken, tracer.tokens).
"""
from __future__ import annotations

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from tracer.models import ApiToken
from tracer.tokens import issue_token

from . import serializers as s
from .authentication import HashedTokenAuthentication, ThrottledBasicAuthentication
from .parsers import SafeJSONParser
from .throttling import PostScopedRateThrottle


def _token_info(token: ApiToken) -> dict:
    now = timezone.now()
    return {"id": token.pk, "name": token.name, "prefix": token.prefix, "created": token.created,
            "last_used": token.last_used, "expires": token.expires,
            "expired": token.expires is not None and token.expires <= now}


class TokenView(APIView):
    """Your API tokens: list them, create one (the key is shown once), revoke them all.

    Several per user, each named, stored only as a hash (tracer.models.ApiToken). Creating a token
    needs your password (basic auth: `curl -u USER:PASSWORD -X POST /api/tokens/`, the only endpoint
    that accepts it, with a brake on failed attempts) or a browser session — never a token, so a
    leaked token cannot mint itself a successor — and never local mode (frontend/middleware.py).
    """

    authentication_classes = [HashedTokenAuthentication, SessionAuthentication, ThrottledBasicAuthentication]
    parser_classes = [SafeJSONParser]
    permission_classes = [IsAuthenticated]
    throttle_classes = [PostScopedRateThrottle]
    throttle_scope = "auth"

    @extend_schema(summary="Your API tokens (never their keys), newest first",
                   responses=s.TokenInfoSerializer(many=True))
    def get(self, request):
        return Response([_token_info(t) for t in ApiToken.objects.filter(user=request.user)])

    @extend_schema(summary="Create a named token → its key, shown only this once (password or session needed)",
                   request=s.TokenCreateSerializer, responses={201: s.TokenSerializer})
    def post(self, request):
        if isinstance(request.successful_authenticator, HashedTokenAuthentication):
            raise PermissionDenied("A token cannot create tokens: use your password "
                                   "(curl -u USER:PASSWORD -X POST …/api/tokens/) or the browser.")
        body = s.TokenCreateSerializer(data=request.data if isinstance(request.data, dict) else {})
        body.is_valid(raise_exception=True)
        limit = settings.TRACER_TOKENS_PER_USER
        if ApiToken.objects.filter(user=request.user).count() >= limit:
            raise ValidationError({"detail": f"You already have {limit} tokens (TRACER_TOKENS_PER_USER): "
                                             "revoke one first (DELETE /api/tokens/ID/)."})
        token, key = issue_token(request.user, body.validated_data["name"],
                                 body.validated_data.get("expires_in_days"))
        return Response({**_token_info(token), "key": key}, status=status.HTTP_201_CREATED)

    post.error_codes = ("429",)

    @extend_schema(summary="Revoke all your tokens", request=None, operation_id="tokens_revoke_all",
                   responses={204: OpenApiResponse(description="Revoked")})
    def delete(self, request):
        ApiToken.objects.filter(user=request.user).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class TokenDetailView(APIView):
    authentication_classes = [HashedTokenAuthentication, SessionAuthentication]

    def _token(self, request, token_id: str) -> ApiToken:
        token = ApiToken.objects.filter(user=request.user, pk=int(token_id)).first() \
            if token_id.isdigit() and len(token_id) <= 18 else None
        if token is None:
            raise NotFound("You have no token with this id.")
        return token

    @extend_schema(summary="One of your tokens (never its key)", responses=s.TokenInfoSerializer,
                   parameters=[OpenApiParameter("token_id", int, OpenApiParameter.PATH)])
    def get(self, request, token_id: str):
        return Response(_token_info(self._token(request, token_id)))

    @extend_schema(summary="Revoke one token: it stops working at once", request=None, operation_id="tokens_revoke",
                   parameters=[OpenApiParameter("token_id", int, OpenApiParameter.PATH)],
                   responses={204: OpenApiResponse(description="Revoked")})
    def delete(self, request, token_id: str):
        self._token(request, token_id).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)
