"""GET /api/reasons/: the one table of drop reasons (tracer.engine.result.REASON_TEXT).

The UI reads its reason texts from here instead of keeping a copy. Public, like a share link (which shows
reasons too): it holds no cluster data.
"""
from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import fields
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from tracer.engine.result import reason_table


class ReasonsView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(summary="What each drop reason code means and what to change",
                   responses=inline_serializer("Reason", {"code": fields.CharField(), "meaning": fields.CharField(),
                                                          "fix": fields.CharField()}, many=True))
    def get(self, request):
        return Response(reason_table())
