"""Cluster and snapshot endpoints. Thin: access, parsing and coordination live in topology.services.

Access: querysets only ever contain what the user may read (`visible_clusters`), so another user's
cluster is a plain 404. Managing a cluster (rename, delete, share) is for its owner: a teammate who
can read it gets 403 for those; teammates may upload snapshots and run traces.
"""
from __future__ import annotations

from django.conf import settings
from django.db.models import Count, OuterRef, Prefetch, Subquery
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, parsers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ParseError, PermissionDenied
from rest_framework.response import Response

from topology import services
from topology.compile import load_model
from topology.elements import Filters, topology_elements
from topology.map_layers import LAYERS as MAP_LAYERS
from topology.models import Cluster, Snapshot
from topology.panels import KINDS, object_panel
from topology.trafficmap import MapQuery, traffic_map
from tracer.api.errors import PayloadTooLarge
from tracer.api.parsers import SafeJSONParser, read_limited
from tracer.jobs import import_or_enqueue

from . import serializers as s


class RawManifestParser(parsers.BaseParser):
    """Any non-multipart body is a manifest file: YAML, JSON, or `kubectl get -o yaml` output."""

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):
        # Never more than the limit in memory, also for a chunked body whose length nobody announced.
        return read_limited(stream, settings.TRACER_UPLOAD_LIMIT, "upload")


def _check_size(request) -> None:
    """413 before the body is read, from Content-Length (and again after reading, for chunked bodies)."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    limit = settings.TRACER_UPLOAD_LIMIT
    if length > limit:
        raise PayloadTooLarge(f"The upload is {length} bytes; this server accepts at most {limit} bytes "
                              f"(TRACER_UPLOAD_LIMIT). Split the manifests into several uploads or ask the "
                              f"administrator to raise the limit.")


def _payloads(request, options: dict) -> list[tuple[str, bytes]]:
    """The uploaded manifests as (file name, bytes): multipart files, or the raw body as one file."""
    content_type = (request.content_type or "").split(";")[0].strip().lower()
    if content_type.startswith("multipart/"):
        payloads = [(f.name or key, f.read()) for key in request.FILES for f in request.FILES.getlist(key)]
    else:
        body = request.data if isinstance(request.data, bytes) else b""
        default = "upload.json" if "json" in content_type else "upload.yaml"
        payloads = [(options.get("filename") or default, body)] if body else []
    if not payloads or not any(data.strip() for _n, data in payloads):
        raise ParseError("No manifest in the request: send files as multipart/form-data (field `files`) or "
                         "a YAML/JSON document as the request body.")
    total = services.upload_size(payloads)
    if total > settings.TRACER_UPLOAD_LIMIT:
        raise PayloadTooLarge(f"The upload is {total} bytes; this server accepts at most "
                              f"{settings.TRACER_UPLOAD_LIMIT} bytes (TRACER_UPLOAD_LIMIT).")
    return payloads


def _model(snapshot):
    return load_model(snapshot.pk)


def _split(text: str | None) -> tuple[str, ...]:
    return tuple(t.strip() for t in (text or "").split(",") if t.strip())


def topology_response(request, snapshot) -> Response:
    query = s.TopologyQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    q = query.validated_data
    filters = Filters(namespaces=_split(q.get("namespace")), label=Filters.parse_label(q.get("label", "")),
                      name=(q.get("name") or "").strip(), expand=frozenset(_split(q.get("expand"))),
                      limit=q["limit"])
    data = topology_elements(_model(snapshot), filters)
    data["snapshot"] = snapshot.pk
    return Response(data)


def search_response(request, snapshot) -> Response:
    query = s.SearchQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    q = query.validated_data
    return Response(services.search(snapshot, q["q"], limit=q["limit"], role=q["role"]))


def pod_response(snapshot, namespace: str, pod: str) -> Response:
    details = services.pod_details(_model(snapshot), namespace, pod)
    if details is None:
        raise NotFound(f"Snapshot {snapshot.pk} has no pod {namespace}/{pod}.")
    details["snapshot"] = snapshot.pk
    return Response(details)


def _layers(raw: str | None) -> tuple[str, ...]:
    names = _split(raw)
    unknown = [n for n in names if n not in MAP_LAYERS]
    if unknown:
        raise ParseError(f"Unknown map layer {unknown[0][:60]!r}: use {', '.join(MAP_LAYERS)}.")
    return names


def map_response(request, snapshot) -> Response:
    """The traffic map (topology.trafficmap): namespaces as boxes, allow edges, isolation badges."""
    raw = request.query_params.get("expand")
    if raw is not None and len(raw) > 20_000:
        raise ParseError("`expand` is too long: expand fewer groups at once.")
    query = MapQuery(expand=None if raw is None else frozenset(_split(raw)),
                     namespaces=_split(request.query_params.get("namespace")),
                     layers=frozenset(_layers(request.query_params.get("layers"))))
    data = traffic_map(_model(snapshot), query)
    data["snapshot"] = snapshot.pk
    return Response(data)


def object_response(snapshot, kind: str, key: str) -> Response:
    if kind not in KINDS:
        raise ParseError(f"Unknown object kind {kind!r}: use one of {', '.join(KINDS)}.")
    panel = object_panel(_model(snapshot), kind, key)
    if panel is None:
        raise NotFound(f"Snapshot {snapshot.pk} has no {kind} {key}.")
    panel["snapshot"] = snapshot.pk
    return Response(panel)


MAP_PARAMS = [OpenApiParameter("expand", str, description="Comma-separated groups to open (nsgroup:A..B, ns:NS, "
                                                          "workload:NS/KIND/NAME, all); absent = the default view"),
              OpenApiParameter("namespace", str, description="Only these namespaces (comma-separated)"),
              OpenApiParameter("layers", str, description="Optional layers drawn too (comma-separated): storage "
                               "(claims, mounts, volumes), control-plane (its nodes, components and flows)")]
OBJECT_PARAMS = [OpenApiParameter("kind", str, OpenApiParameter.PATH,
                                  description="svc, node, ingress, netpol, namespace, workload, pod, pvc, pv, "
                                              "storageclass, gateway or route"),
                 OpenApiParameter("key", str, OpenApiParameter.PATH,
                                  description="NS/NAME (node, namespace, pv, storageclass: NAME; workload: "
                                              "NS/KIND/NAME; route: KIND/NS/NAME with KIND lower case, e.g. "
                                              "httproute/shop/storefront)")]
OBJECT_PATH = r"objects/(?P<kind>[a-z]+)/(?P<key>[^?#]+?)"


SNAPSHOT_PARAM = OpenApiParameter("snapshot", int, description="Snapshot id of this cluster (default: the latest).")
POD_PARAMS = [OpenApiParameter("namespace", str, OpenApiParameter.PATH),
              OpenApiParameter("pod", str, OpenApiParameter.PATH)]
POD_PATH = r"pods/(?P<namespace>[^/]+)/(?P<pod>[^/]+)"


@extend_schema_view(
    list=extend_schema(summary="Clusters you own or that are shared with you"),
    create=extend_schema(summary="Create an (empty) cluster; upload manifests to it next"),
    retrieve=extend_schema(summary="One cluster"),
    partial_update=extend_schema(summary="Rename, describe or share a cluster (owner only)"),
    update=extend_schema(summary="Replace a cluster's name, description and sharing (owner only)"),
    destroy=extend_schema(summary="Delete a cluster with its snapshots and traces (owner only)"),
)
class ClusterViewSet(viewsets.ModelViewSet):
    serializer_class = s.ClusterSerializer
    parser_classes = [SafeJSONParser]  # upload() declares its own
    queryset = Cluster.objects.none()  # the model, for the schema; get_queryset() decides what is visible

    def get_queryset(self):
        latest = Snapshot.objects.filter(number=Subquery(
            Snapshot.objects.filter(cluster=OuterRef("cluster")).order_by("-number").values("number")[:1]))
        return services.visible_clusters(self.request.user).select_related("owner")\
            .prefetch_related("shared_with", "invitations", Prefetch("snapshots", queryset=latest, to_attr="latest"))\
            .annotate(snapshot_count=Count("snapshots", distinct=True)).order_by("name", "id")

    def perform_create(self, serializer):
        serializer.save(owner=self.request.user)

    def _require_manager(self, cluster: Cluster) -> None:
        if not services.can_manage(self.request.user, cluster):
            raise PermissionDenied("Only the cluster's owner may rename, delete or share it.")

    def perform_update(self, serializer):
        self._require_manager(serializer.instance)
        serializer.save()

    def perform_destroy(self, instance):
        self._require_manager(instance)
        instance.delete()

    @extend_schema(
        summary="Upload manifests → a new snapshot (201), or a background import job for big uploads (202)",
        description="Multipart files (field `files`, several allowed) or one YAML/JSON document as the raw body "
                    "(`Content-Type: application/yaml`, `application/json` or `application/octet-stream`). "
                    "Uploads larger than TRACER_UPLOAD_LIMIT answer 413; invalid manifests answer 400 with "
                    "`errors` naming the file, document, object and field. Nothing is stored on error.",
        parameters=[s.UploadOptionsSerializer],
        request={"multipart/form-data": s.UploadFormSerializer, "application/octet-stream": OpenApiTypes.BINARY,
                 "application/yaml": OpenApiTypes.STR},
        responses={201: s.UploadResultSerializer, 202: s.UploadQueuedSerializer},
    )
    @action(detail=True, methods=["post"], url_path="upload",
            parser_classes=[parsers.MultiPartParser, RawManifestParser])
    def upload(self, request, pk=None):
        cluster = self.get_object()
        _check_size(request)
        options = s.UploadOptionsSerializer(data=request.query_params)
        options.is_valid(raise_exception=True)
        opts = options.validated_data
        payloads = _payloads(request, opts)
        outcome = import_or_enqueue(cluster, payloads, owner=request.user, materialize=opts["materialize"],
                                    nodes=opts["nodes"], namespace=opts["namespace"])
        if outcome.job is not None:
            job = outcome.job
            body = {"job": {"id": job.pk, "kind": job.kind, "state": job.state, "url": f"/api/jobs/{job.pk}/"},
                    "detail": "The upload is large: it is being imported in the background. Poll the job."}
            return Response(body, status=status.HTTP_202_ACCEPTED)
        body = {"snapshot": s.SnapshotSerializer(outcome.snapshot).data, "counts": outcome.counts or {},
                "skipped": outcome.skipped or {}, "warnings": outcome.warnings or []}
        return Response(body, status=status.HTTP_201_CREATED)

    upload.error_codes = ("413", "503")

    # -- the latest (or ?snapshot=) snapshot of this cluster, for the UI -----------------------------

    def _snapshot(self, cluster):
        raw = self.request.query_params.get("snapshot")
        if raw:
            if not raw.isdigit() or len(raw) > 18:
                raise ParseError("`snapshot` must be a snapshot id")
        try:
            return services.cluster_snapshot(cluster, raw or None)
        except services.UnknownSnapshot as exc:  # the UI asks for a page of it: 404, not a bad request
            raise NotFound(f"{str(exc)[:1].upper()}{str(exc)[1:]}.") from None

    @extend_schema(summary="This cluster's snapshots, newest first", responses=s.SnapshotSerializer(many=True))
    @action(detail=True, methods=["get"], url_path="snapshots")
    def snapshots(self, request, pk=None):
        cluster = self.get_object()
        page = self.paginate_queryset(cluster.snapshots.select_related("cluster").order_by("-number"))
        return self.get_paginated_response(s.SnapshotSerializer(page, many=True).data)

    @extend_schema(summary="The topology graph of this cluster's latest (or ?snapshot=) snapshot",
                   parameters=[s.TopologyQuerySerializer, SNAPSHOT_PARAM], responses=s.TopologySerializer)
    @action(detail=True, methods=["get"])
    def topology(self, request, pk=None):
        return topology_response(request, self._snapshot(self.get_object()))

    topology.error_codes = ("503",)

    @extend_schema(summary="Autocomplete sources/destinations in this cluster's latest (or ?snapshot=) snapshot",
                   parameters=[s.SearchQuerySerializer, SNAPSHOT_PARAM], responses=s.SearchResultSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)
    def search(self, request, pk=None):
        return search_response(request, self._snapshot(self.get_object()))

    @extend_schema(summary="A pod's service env vars, DNS resolver and selecting policies (latest snapshot)",
                   parameters=[*POD_PARAMS, SNAPSHOT_PARAM], responses=s.PodDetailSerializer)
    @action(detail=True, methods=["get"], url_path=POD_PATH)
    def pod(self, request, pk=None, namespace=None, pod=None):
        return pod_response(self._snapshot(self.get_object()), namespace, pod)

    pod.error_codes = ("503",)

    @extend_schema(summary="The traffic map of the latest (or ?snapshot=) snapshot: who may reach whom",
                   parameters=[*MAP_PARAMS, SNAPSHOT_PARAM], responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["get"], url_path="map")
    def traffic_map(self, request, pk=None):
        return map_response(request, self._snapshot(self.get_object()))

    traffic_map.error_codes = ("503",)

    @extend_schema(summary="Side-panel facts of one object (service, node, Ingress, NetworkPolicy, namespace, workload)",
                   parameters=[*OBJECT_PARAMS, SNAPSHOT_PARAM], responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["get"], url_path=OBJECT_PATH)
    def object(self, request, pk=None, kind=None, key=None):
        return object_response(self._snapshot(self.get_object()), kind, key)

    object.error_codes = ("503",)


@extend_schema_view(
    list=extend_schema(summary="Snapshots of the clusters you can read, newest first",
                       parameters=[OpenApiParameter("cluster", int, description="Only this cluster's snapshots")]),
    retrieve=extend_schema(summary="One snapshot: counts, source, skipped kinds, warnings"),
)
class SnapshotViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = s.SnapshotSerializer
    queryset = Snapshot.objects.none()  # the model, for the schema; get_queryset() decides what is visible

    def get_queryset(self):
        qs = services.visible_snapshots(self.request.user).select_related("cluster")\
            .order_by("cluster_id", "-number")
        cluster = self.request.query_params.get("cluster")
        if cluster is not None and self.action == "list":
            if not cluster.isdigit() or len(cluster) > 18:
                raise ParseError("`cluster` must be a cluster id")
            qs = qs.filter(cluster_id=int(cluster))
        return qs

    @extend_schema(summary="What changed between this snapshot and another: objects added, removed, changed",
                   parameters=[s.CompareQuerySerializer], responses=s.CompareSerializer)
    @action(detail=True, methods=["get"])
    def compare(self, request, pk=None):
        snapshot = self.get_object()
        query = s.CompareQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        other = services.visible_snapshots(request.user).filter(pk=query.validated_data["to"]).first()
        if other is None:
            raise NotFound(f"No snapshot {query.validated_data['to']} that you can read.")
        return Response(services.compare_snapshots(snapshot, other, limit=query.validated_data["limit"],
                                                   kinds=query.validated_data.get("kinds")))

    @extend_schema(summary="The graph to draw: cytoscape elements with layered positions, aggregated",
                   parameters=[s.TopologyQuerySerializer], responses=s.TopologySerializer)
    @action(detail=True, methods=["get"])
    def topology(self, request, pk=None):
        return topology_response(request, self.get_object())

    topology.error_codes = ("503",)

    @extend_schema(summary="Autocomplete sources and destinations (pods, services, DNS names, IPs, Ingress URLs)",
                   parameters=[s.SearchQuerySerializer], responses=s.SearchResultSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)
    def search(self, request, pk=None):
        return search_response(request, self.get_object())

    @extend_schema(summary="A pod's service environment variables, DNS resolver and selecting policies",
                   parameters=POD_PARAMS, responses=s.PodDetailSerializer)
    @action(detail=True, methods=["get"], url_path=POD_PATH)
    def pod(self, request, pk=None, namespace=None, pod=None):
        return pod_response(self.get_object(), namespace, pod)

    pod.error_codes = ("503",)

    @extend_schema(summary="The traffic map of this snapshot: namespaces as boxes, allow edges, isolation badges",
                   parameters=MAP_PARAMS, responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["get"], url_path="map")
    def traffic_map(self, request, pk=None):
        return map_response(request, self.get_object())

    traffic_map.error_codes = ("503",)

    @extend_schema(summary="Side-panel facts of one object of this snapshot",
                   parameters=OBJECT_PARAMS, responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["get"], url_path=OBJECT_PATH)
    def object(self, request, pk=None, kind=None, key=None):
        return object_response(self.get_object(), kind, key)

    object.error_codes = ("503",)
