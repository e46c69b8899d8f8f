"""Trace, share-link and token endpoints. Thin: coordination lives in tracer.services.

Access: a trace is readable by whoever can read its cluster (404 for everyone else); its share link
may be minted/revoked by the trace's owner or the cluster's owner (403 for a teammate who only
reads). `GET /api/share/<slug>` needs no login and returns only that trace and its objects.
"""
from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ParseError, PermissionDenied, ValidationError
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from topology.services import find_cluster, visible_clusters, visible_snapshots
from tracer import services
from tracer.models import Trace

from . import serializers as s

OBJECT_FILTER = OpenApiParameter(
    "object", str, description="Only traces that passed through this object: KIND:NS/NAME or KIND:NAME, "
    f"KIND one of {', '.join(services.OBJECT_KINDS)} (svc = service), e.g. `svc:shop/cart`, `node:worker-1`.")


@extend_schema_view(
    list=extend_schema(summary="Traces on the clusters you can read, newest first", parameters=[
        OpenApiParameter("verdict", str, enum=["delivered", "dropped", "partial"]),
        OpenApiParameter("reason", str, description="Drop reason code, e.g. policy-ingress-denied"),
        OpenApiParameter("cluster", int), OpenApiParameter("snapshot", int), OBJECT_FILTER]),
    retrieve=extend_schema(summary="One stored trace, with its full result, pinned to its snapshot"),
)
class TraceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    parser_classes = [JSONParser]
    queryset = Trace.objects.none()  # the model, for the schema; get_queryset() decides what is visible
    def get_serializer_class(self):
        return s.TraceListSerializer if self.action == "list" else s.TraceSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no real request
            return Trace.objects.none()
        qs = Trace.objects.filter(snapshot__cluster__in=visible_clusters(self.request.user).values("pk"))
        if self.action != "list":
            return qs.select_related("snapshot__cluster", "owner").prefetch_related("passed_through", "reruns")
        params = self.request.query_params
        for key, field in (("verdict", "verdict"), ("reason", "reason")):
            if params.get(key):
                qs = qs.filter(**{field: params[key]})
        for key, field in (("cluster", "snapshot__cluster_id"), ("snapshot", "snapshot_id")):
            if params.get(key):
                if not params[key].isdigit() or len(params[key]) > 18:
                    raise ParseError(f"`{key}` must be an id")
                qs = qs.filter(**{field: int(params[key])})
        if params.get("object"):
            kind, ns, name = _object_ref(params["object"])
            qs = qs.filter(passed_through__kind=kind, passed_through__namespace=ns, passed_through__name=name)
        return qs.select_related("snapshot", "owner").order_by("-created", "-id")

    def _snapshot_for(self, data: dict):
        """The snapshot a trace request names; 400 for an unknown cluster (it says what to fix)."""
        user = self.request.user
        cluster = None
        if data.get("cluster"):
            cluster = find_cluster(user, data["cluster"])
            if cluster is None:
                raise ValidationError({"cluster": f"unknown cluster {data['cluster']!r}: give the id or name of a "
                                                  "cluster you can read (GET /api/clusters/)"})
        if data.get("snapshot"):
            snap = visible_snapshots(user).select_related("cluster").filter(pk=data["snapshot"]).first()
            if snap is None or (cluster is not None and snap.cluster_id != cluster.pk):
                raise ValidationError({"snapshot": f"unknown snapshot {data['snapshot']}"
                                       + (f" of cluster {cluster.name!r}" if cluster else "")})
            return snap
        snap = cluster.latest_snapshot()
        if snap is None:
            raise ValidationError({"cluster": f"cluster {cluster.name!r} has no snapshot yet: upload manifests first"})
        return snap

    @extend_schema(summary="Trace a packet → 201 with the full result, stored and pinned to the snapshot",
                   request=s.TraceRequestSerializer, responses={201: s.TraceSerializer})
    def create(self, request):
        body = s.TraceRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        snapshot = self._snapshot_for(body.validated_data)
        trace = services.run_trace(snapshot, body.engine_request(), owner=request.user)
        return Response(s.TraceSerializer(trace, context={"request": request}).data, status=status.HTTP_201_CREATED)

    create.error_codes = ("503",)

    @extend_schema(summary="Re-run this trace's request on the cluster's latest snapshot → both, and what changed",
                   request=None, responses={201: s.RerunSerializer})
    @action(detail=True, methods=["post"])
    def rerun(self, request, pk=None):
        original = self.get_object()
        new, changes = services.rerun_trace(original, owner=request.user)
        ctx = {"request": request}
        return Response({"trace": s.TraceSerializer(new, context=ctx).data,
                         "previous": s.TraceSerializer(original, context=ctx).data, "changes": changes},
                        status=status.HTTP_201_CREATED)

    rerun.error_codes = ("503",)

    @extend_schema(methods=["POST"], summary="Mint a new share link (the previous one stops working)",
                   request=None, responses={201: s.ShareSerializer})
    @extend_schema(methods=["DELETE"], summary="Revoke the share link (it then answers 404)", request=None,
                   responses={204: OpenApiResponse(description="Revoked")})
    @action(detail=True, methods=["post", "delete"])
    def share(self, request, pk=None):
        trace = self.get_object()
        if not services.can_change_share(request.user, trace):
            raise PermissionDenied("Only the trace's owner or the cluster's owner may change its share link.")
        if request.method == "DELETE":
            services.revoke_share(trace)
            return Response(status=status.HTTP_204_NO_CONTENT)
        services.mint_share(trace)
        data = s.TraceSerializer(trace, context={"request": request}).data
        return Response({k: data[k] for k in ("share_slug", "share_url", "share_api_url")},
                        status=status.HTTP_201_CREATED)


def _object_ref(text: str) -> tuple[str, str, str]:
    kind, sep, rest = text.partition(":")
    kind = {"svc": "service", "netpol": "network-policy"}.get(kind.strip().lower(), kind.strip().lower())
    if not sep or kind not in services.OBJECT_KINDS or not rest.strip():
        raise ParseError(f"`object` must be KIND:NS/NAME or KIND:NAME with KIND one of "
                         f"{', '.join(services.OBJECT_KINDS)}, not {text!r}")
    ns, _, name = rest.strip().rpartition("/")
    return kind, ns, name


class SharedTraceView(APIView):
    """The anonymous view of a shared trace."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(summary="A shared trace (no login): the trace and the objects it passed through, nothing else",
                   responses=s.SharedTraceSerializer, parameters=[OpenApiParameter("slug", str, OpenApiParameter.PATH)])
    def get(self, request, slug: str):
        valid = slug and len(slug) <= 64 and all(c.isascii() and (c.isalnum() or c in "-_") for c in slug)
        trace = Trace.objects.select_related("snapshot").filter(share_slug=slug).first() if valid else None
        if trace is None:
            raise NotFound("No shared trace with this link: it never existed or was revoked.")
        return Response(services.share_payload(trace))


class MeView(APIView):
    @extend_schema(summary="Who you are logged in as", responses=s.MeSerializer)
    def get(self, request):
        return Response({"username": request.user.get_username(), "is_superuser": request.user.is_superuser})


__all__ = ["TraceViewSet", "SharedTraceView", "MeView"]
