"""Trace, share-link, token and job endpoints. Thin: coordination lives in tracer.services and tracer.jobs.

Access: a trace is readable by whoever can read its cluster (404 for everyone else); its share link
may be minted/revoked by the trace's owner or the cluster's owner (403 for a teammate who only
reads). `GET /api/share/<slug>` needs no login and returns only that trace and its objects.
"""
from __future__ import annotations

from django.conf import settings
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, parsers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ParseError, PermissionDenied, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from topology.services import cluster_snapshot, find_cluster, snapshot_for, visible_clusters
from topology.warm import warm_if_new
from tracer import jobs, matrix_store, services
from tracer.choices import CHUNKED_KINDS, JobKind, JobState
from tracer.engine.errors import BadRequest
from tracer.intents import check_snapshot, parse_intents_input
from tracer.jobs import batch as batch_job
from tracer.jobs import chunks as job_chunks
from tracer.jobs import diff as diff_job
from tracer.jobs import matrix as matrix_job
from tracer.jobs.access import can_change as can_change_job
from tracer.jobs.access import visible_jobs
from tracer.models import Job, MatrixCell, Trace

from . import matrix as matrix_api
from . import serializers as s
from .errors import PayloadTooLarge
from .parsers import SafeJSONParser
from .throttling import PostScopedRateThrottle

OBJECT_FILTER = OpenApiParameter(
    "object", str, description="Only traces that passed through this object: KIND:NS/NAME or KIND:NAME, "
    f"KIND one of {', '.join(services.OBJECT_KINDS)} (svc = service), e.g. `svc:shop/cart`, `node:worker-1`.")


@extend_schema_view(
    list=extend_schema(summary="Traces on the clusters you can read, newest first", parameters=[
        OpenApiParameter("verdict", str, enum=["delivered", "dropped", "partial"]),
        OpenApiParameter("reason", str, description="Drop reason code, e.g. policy-ingress-denied"),
        OpenApiParameter("cluster", int), OpenApiParameter("snapshot", int), OBJECT_FILTER,
        OpenApiParameter("shared", str, enum=["true", "false"], description="Only traces with (true) or without "
                         "(false) a live share link.")]),
    retrieve=extend_schema(summary="One stored trace, with its full result, pinned to its snapshot"),
)
class TraceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    parser_classes = [SafeJSONParser]
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
        if params.get("shared"):
            if params["shared"] not in ("true", "false"):
                raise ParseError("`shared` must be true or false")
            qs = qs.filter(share_slug__isnull=params["shared"] == "false")
        for key, field in (("cluster", "snapshot__cluster_id"), ("snapshot", "snapshot_id")):
            if params.get(key):
                if not params[key].isdigit() or len(params[key]) > 18:
                    raise ParseError(f"`{key}` must be an id")
                qs = qs.filter(**{field: int(params[key])})
        if params.get("object"):
            kind, ns, name = _object_ref(params["object"])
            qs = qs.filter(passed_through__kind=kind, passed_through__namespace=ns, passed_through__name=name)
        return qs.select_related("snapshot", "owner").order_by("-created", "-id")

    @extend_schema(summary="Trace a packet → 201 with the full result, stored and pinned to the snapshot",
                   request=s.TraceRequestSerializer, responses={201: s.TraceSerializer})
    def create(self, request):
        body = s.TraceRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        snapshot = snapshot_for(request.user, body.validated_data.get("cluster"), body.validated_data.get("snapshot"))
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

    @extend_schema(methods=["POST"], summary="Share: mint a link (nothing is shared before; a previous link dies)",
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
        services.mint_share(trace, request.user)
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
        trace = services.find_shared(slug)
        if trace is None:
            raise NotFound("No shared trace with this link: it never existed or was revoked.")
        return Response(services.share_payload(trace))


class MeView(APIView):
    @extend_schema(summary="Who you are logged in as", responses=s.MeSerializer)
    def get(self, request):
        return Response({"username": request.user.get_username(), "is_superuser": request.user.is_superuser})


# ---------------------------------------------------------------------------------------------
# Jobs: start matrix / diff / batch / intent jobs, poll them, cancel them, read their cells.
# The work and its state transitions live in tracer.jobs; access in tracer.jobs.access (whoever may
# read a job's cluster may read the job, others get 404; cancelling is for the job's owner or the
# cluster's owner, 403 for a teammate who only reads). A broker that cannot be reached answers 503
# with a message saying so (synchronous traces still work).

SYNC_INTENT_LIMIT = 500  # more than this: use the job (POST /api/jobs/intents)


def _job_snapshot(user, data: dict):
    return snapshot_for(user, data["cluster"], data.get("snapshot"))


def _created(job: Job, detail: str) -> Response:
    job.refresh_from_db()
    return Response({"job": s.JobSerializer(job).data, "detail": detail}, status=status.HTTP_202_ACCEPTED)


def _id_or_404(raw, what: str) -> int:
    raw = str(raw or "")
    if not raw.isdigit() or len(raw) > 18:
        raise NotFound(f"No such {what}.")
    return int(raw)


@extend_schema_view(
    list=extend_schema(summary="Jobs on the clusters you can read, newest first", parameters=[
        OpenApiParameter("kind", str, enum=JobKind.values),
        OpenApiParameter("state", str, enum=JobState.values), OpenApiParameter("cluster", int)]),
    retrieve=extend_schema(summary="One job: state, progress (current/total/percent/message), result, error"),
)
class JobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = s.JobSerializer

    def get_queryset(self):
        qs = visible_jobs(self.request.user).select_related("owner")
        params = self.request.query_params
        for key in ("kind", "state"):
            if params.get(key):
                qs = qs.filter(**{key: params[key]})
        if params.get("cluster"):
            if not params["cluster"].isdigit() or len(params["cluster"]) > 18:
                raise ParseError("`cluster` must be a cluster id")
            qs = qs.filter(cluster_id=int(params["cluster"]))
        return qs.order_by("-created", "-id")

    def get_object(self):
        pk = _id_or_404(self.kwargs.get("pk"), "job")
        job = visible_jobs(self.request.user).select_related("owner").filter(pk=pk).first()
        if job is None:
            raise NotFound("No such job.")
        return jobs.reap_if_stale(job)

    def retrieve(self, request, *args, **kwargs):
        job = self.get_object()
        if job.kind == JobKind.IMPORT and job.state == JobState.DONE and isinstance(job.result, dict) \
                and isinstance(job.result.get("snapshot"), int):
            warm_if_new(job.result["snapshot"])  # a worker imported it: compile it here before the map asks
        return Response(s.JobSerializer(job, context={"detail": True}).data)

    def _require_manager(self, job: Job) -> None:
        if not can_change_job(self.request.user, job):
            raise PermissionDenied("Only the job's owner or the cluster's owner may change it.")

    @extend_schema(summary="Delete a finished job and its cells (409 while it is queued or running: cancel it first)",
                   responses={204: None})
    def destroy(self, request, *args, **kwargs):
        job = self.get_object()
        self._require_manager(job)
        jobs.delete(job)
        return Response(status=status.HTTP_204_NO_CONTENT)

    destroy.error_codes = ("409",)

    @extend_schema(summary="Cancel a queued or running job (409 when it already finished)", request=None,
                   responses={200: s.JobSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        job = self.get_object()
        self._require_manager(job)
        return Response(s.JobSerializer(jobs.cancel(job)).data)

    cancel.error_codes = ("409",)

    @extend_schema(summary="The matrix's axes: source classes and destinations (cells index into these lists)",
                   responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get"])
    def plan(self, request, pk=None):
        job = self.get_object()
        if job.kind not in CHUNKED_KINDS:
            raise NotFound("Only matrix and diff jobs have a plan.")
        data = job_chunks.plan_data(job)
        if data is None:
            raise NotFound("The job has not been planned yet: poll the job until it is running.")
        return Response({"job": job.pk, "state": job.state, **data})

    @extend_schema(summary="Batch results in request order, streamed (a JSON document, or `?output=jsonl` for JSON "
                           "lines); `offset`/`limit` page through them", parameters=[s.BatchResultsQuerySerializer],
                   responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get"], url_path="results")
    def results(self, request, pk=None):
        job = self.get_object()
        if job.kind != JobKind.BATCH:
            raise NotFound("Only batch jobs have results; see the job's `result`.")
        if job.state != JobState.DONE:
            raise NotFound(f"The batch is {job.state}: results appear when it is done.")
        query = s.BatchResultsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        q = query.validated_data
        offset, limit, total = q["offset"], q.get("limit"), batch_job.result_count(job)
        next_url = None
        if limit is not None and offset + limit < total:
            params = request.query_params.copy()
            params["offset"] = str(offset + limit)
            next_url = f"{request.path}?{params.urlencode()}"
        if q["output"] == "jsonl":
            response = StreamingHttpResponse(batch_job.iter_lines(job, offset, limit),
                                             content_type="application/x-ndjson")
            if next_url:
                response["Link"] = f'<{next_url}>; rel="next"'
        else:
            response = StreamingHttpResponse(batch_job.iter_json(job, offset, limit, next_url),
                                             content_type="application/json")
        response["X-Result-Count"] = str(total)
        return response


class JobCellViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Cells of a matrix (every cell) or a diff (only the cells that change)."""

    serializer_class = s.CellSerializer

    def _job(self) -> Job:
        job = visible_jobs(self.request.user).filter(pk=_id_or_404(self.kwargs.get("job_pk"), "job")).first()
        if job is None:
            raise NotFound("No such job.")
        return job

    def get_queryset(self):
        job = self._job()
        qs = MatrixCell.objects.filter(job=job)
        params = self.request.query_params
        for key in ("verdict", "reason", "change"):
            if params.get(key):
                qs = qs.filter(**{key: params[key]})
        for key in ("source", "destination"):
            if params.get(key):
                if not params[key].isdigit() or len(params[key]) > 9:
                    raise ParseError(f"`{key}` must be an index into the plan's {key}s")
                qs = qs.filter(**{key: int(params[key])})
        return qs.order_by("source", "destination")

    def get_object(self):
        job = self._job()
        if matrix_store.has_blocks(job):  # stored as columns: the id is source × destinations + destination
            return matrix_api.cell_by_id(job, self.kwargs.get("pk"))
        cell = MatrixCell.objects.filter(job=job, pk=_id_or_404(self.kwargs.get("pk"), "cell")).first()
        if cell is None:
            raise NotFound("No such cell.")
        return cell

    @extend_schema(summary="List cells", parameters=[
        OpenApiParameter("verdict", str, enum=["delivered", "dropped", "partial", "error"]),
        OpenApiParameter("reason", str), OpenApiParameter("change", str,
                                                          enum=["opened", "closed", "changed", "added", "removed"]),
        *matrix_api.FILTER_PARAMETERS])
    def list(self, request, *args, **kwargs):
        job = self._job()
        if matrix_store.has_blocks(job):
            return Response(matrix_api.cell_page(request, job))
        return super().list(request, *args, **kwargs)

    def retrieve(self, request, *args, **kwargs):
        cell = self.get_object()
        return Response(cell if isinstance(cell, dict) else self.get_serializer(cell).data)

    @extend_schema(summary="The full trace behind a cell: the same flow `manage.py trace` would run",
                   responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get"])
    def trace(self, request, job_pk=None, pk=None):
        cell = self.get_object()
        if isinstance(cell, dict):  # a matrix stored as columns
            return Response({"cell": cell, **matrix_job.cell_trace(self._job(), cell)})
        job = cell.job
        body = diff_job.cell_traces(job, cell) if job.kind == JobKind.DIFF else matrix_job.cell_trace(job, cell)
        return Response({"cell": s.CellSerializer(cell).data, **body})

    trace.error_codes = ("503",)


class _StartView(APIView):
    """Every job start: throttled per user (DEFAULT_THROTTLE_RATES["jobs"], 429) and under the active-jobs
    quota (tracer.jobs.quotas, 429)."""

    error_codes = ("503", "429")
    throttle_classes = [PostScopedRateThrottle]
    throttle_scope = "jobs"


class MatrixStartView(_StartView):
    @extend_schema(summary="Start a reachability matrix job (202); poll GET /api/jobs/<id>/",
                   request=s.MatrixRequestSerializer, responses={202: s.JobCreatedSerializer})
    def post(self, request):
        body = s.MatrixRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        d = body.validated_data
        job = jobs.enqueue_matrix(_job_snapshot(request.user, d), owner=request.user, services=d["services"],
                                  pods=d["pods"], cells_per_chunk=d.get("cells_per_chunk"),
                                  time_limit=d.get("time_limit"))
        return _created(job, "Matrix queued: poll the job for progress; its cells appear under links.cells.")


class DiffStartView(_StartView):
    error_codes = ("413", "503")
    parser_classes = [SafeJSONParser, parsers.MultiPartParser, parsers.FormParser]

    @extend_schema(summary="Start a snapshot diff / what-if job (202): the matrix cells that change",
                   description="JSON: {cluster, base?, candidate} compares two snapshots. Multipart: upload the "
                               "changed manifests (field `files`) with `cluster` (and `materialize`, `base`): the "
                               "worker imports them as a new candidate snapshot first.",
                   request={"application/json": s.DiffRequestSerializer,
                            "multipart/form-data": s.DiffRequestSerializer},
                   responses={202: s.JobCreatedSerializer})
    def post(self, request):
        body = s.DiffRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        d = body.validated_data
        cluster = find_cluster(request.user, d["cluster"])
        if cluster is None:
            raise ValidationError({"cluster": f"unknown cluster {d['cluster']!r}"})
        files = [f for key in request.FILES for f in request.FILES.getlist(key)]
        total = sum(f.size or 0 for f in files)
        if total > settings.TRACER_UPLOAD_LIMIT:
            raise PayloadTooLarge(f"The upload is {total} bytes; this server accepts at most "
                                  f"{settings.TRACER_UPLOAD_LIMIT} bytes (TRACER_UPLOAD_LIMIT).")
        uploads = [(f.name or "upload.yaml", f.read()) for f in files]
        candidate = None
        if d.get("candidate"):
            candidate = cluster_snapshot(cluster, d["candidate"], field="candidate")
        elif not uploads:
            raise ValidationError({"candidate": "give a candidate snapshot id, or upload the changed "
                                                "manifests as multipart files"})
        if d.get("base"):
            base = cluster_snapshot(cluster, d["base"], field="base")
        else:
            older = cluster.snapshots.order_by("-number")
            if candidate is not None:
                older = older.filter(number__lt=candidate.number)
            base = older.first()
            if base is None:
                raise ValidationError({"base": "no base snapshot to compare with"})
        job = jobs.enqueue_diff(base, candidate, owner=request.user, uploads=uploads or None,
                                materialize=d["materialize"], nodes=d["nodes"], namespace=d["namespace"],
                                cells_per_chunk=d.get("cells_per_chunk"), time_limit=d.get("time_limit"))
        return _created(job, "Diff queued: its cells are the matrix cells that change, each with both traces.")


class BatchStartView(_StartView):
    @extend_schema(summary="Start a batch of traces (202); results at links.results in request order",
                   request=s.BatchRequestSerializer, responses={202: s.JobCreatedSerializer})
    def post(self, request):
        body = s.BatchRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        d = body.validated_data
        job = jobs.enqueue_batch(_job_snapshot(request.user, d), d["requests"], owner=request.user,
                                 time_limit=d.get("time_limit"))
        return _created(job, f"Batch of {len(d['requests'])} traces queued.")


class IntentJobView(_StartView):
    @extend_schema(summary="Check intents in the background (202); the result lists violations with traces",
                   request=s.IntentRequestSerializer, responses={202: s.JobCreatedSerializer})
    def post(self, request):
        body = s.IntentRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        d = body.validated_data
        intents = parse_intents_input(d["intents"])
        job = jobs.enqueue_intents(_job_snapshot(request.user, d), intents, owner=request.user,
                                   time_limit=d.get("time_limit"))
        return _created(job, f"{len(intents)} intents queued.")


class IntentCheckView(APIView):
    @extend_schema(summary=f"Check intents now (≤ {SYNC_INTENT_LIMIT}): passed, violations with their traces",
                   request=s.IntentRequestSerializer, responses={200: OpenApiTypes.OBJECT})
    def post(self, request):
        body = s.IntentRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        d = body.validated_data
        intents = parse_intents_input(d["intents"])
        if not intents:
            raise BadRequest("no intents to check")
        if len(intents) > SYNC_INTENT_LIMIT:
            raise BadRequest(f"{len(intents)} intents: check more than {SYNC_INTENT_LIMIT} with POST /api/jobs/intents")
        snap = _job_snapshot(request.user, d)
        report = check_snapshot(snap, intents)
        return Response({"snapshot": snap.pk, "ok": not report["violations"], **report})


__all__ = ["TraceViewSet", "SharedTraceView", "MeView", "JobViewSet",
           "JobCellViewSet", "MatrixStartView", "DiffStartView", "BatchStartView", "IntentJobView",
           "IntentCheckView"]
