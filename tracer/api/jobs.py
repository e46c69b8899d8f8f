"""Job endpoints: start matrix / diff / batch / intent jobs, poll them, cancel them, read their cells.

Thin: the work and its state transitions live in tracer.jobs. Access follows the cluster
(topology.services.visible_clusters): whoever may read a job's cluster may read the job; other users
get 404. Cancelling is for the job's owner or the cluster's owner (403 for a teammate who only reads).
A broker that cannot be reached answers 503 with a message saying so (synchronous traces still work).
"""
from __future__ import annotations

import json

from django.conf import settings
from django.db.models import Count, Q
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import exceptions, mixins, parsers, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from topology.services import can_manage, find_cluster, visible_clusters
from tracer import jobs
from tracer.engine.errors import BadRequest
from tracer.models import Job, JobOutput, MatrixCell

from .errors import PayloadTooLarge

SYNC_INTENT_LIMIT = 500  # more than this: use the job (POST /api/jobs/intents)


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The job is not active."
    default_code = "conflict"


# ---------------------------------------------------------------------------------------------
# Serializers


class ProgressSerializer(serializers.Serializer):
    current = serializers.IntegerField(help_text="Units done: chunks (matrix, diff), traces (batch), intents")
    total = serializers.IntegerField()
    percent = serializers.FloatField(allow_null=True)
    message = serializers.CharField()
    chunks = serializers.DictField(child=serializers.IntegerField(), required=False,
                                   help_text="Matrix/diff, on GET /api/jobs/<id>/: chunks pending, running and done")


class JobSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username", default=None, read_only=True)
    progress = serializers.SerializerMethodField()
    params = serializers.SerializerMethodField()

    links = serializers.SerializerMethodField()

    class Meta:
        model = Job
        fields = ["id", "kind", "state", "owner", "cluster", "snapshot", "params", "progress", "result", "error",
                  "attempts", "created", "started", "finished", "heartbeat", "links"]
        read_only_fields = fields

    @extend_schema_field(ProgressSerializer)
    def get_progress(self, job) -> dict:
        pct = round(100.0 * job.progress_current / job.progress_total, 1) if job.progress_total else None
        if job.state == "done":
            pct = 100.0
        out = {"current": job.progress_current, "total": job.progress_total, "percent": pct,
               "message": job.progress_message}
        if job.kind in ("matrix", "diff") and self.context.get("detail"):
            # Chunks by state: several workers share a matrix, so more than one may be running.
            counts = dict(job.chunks.values_list("state").annotate(n=Count("id")).order_by())
            out["chunks"] = {state: counts.get(state, 0) for state in ("pending", "running", "done")}
        return out

    def get_params(self, job) -> dict:
        """Parameters, with long lists (batch requests, intents, file names) summarised."""
        out = {}
        for key, value in (job.params or {}).items():
            if isinstance(value, list) and len(value) > 20:
                out[key] = {"count": len(value), "first": value[:3]}
            else:
                out[key] = value
        return out

    def get_links(self, job) -> dict:
        base = f"/api/jobs/{job.pk}/"
        links = {"self": base, "cancel": base + "cancel"}
        if job.kind in ("matrix", "diff"):
            links.update({"plan": base + "plan", "cells": base + "cells/"})
        if job.kind == "batch":
            links["results"] = base + "results"
        if job.kind == "import" and job.snapshot_id:
            links["snapshot"] = f"/api/snapshots/{job.snapshot_id}/"
        return links


class CellSerializer(serializers.ModelSerializer):
    links = serializers.SerializerMethodField()

    class Meta:
        model = MatrixCell
        fields = ["id", "source", "destination", "verdict", "reason", "request", "change", "base_verdict",
                  "base_reason", "base_request", "links"]
        read_only_fields = fields

    def get_links(self, cell) -> dict:
        return {"trace": f"/api/jobs/{cell.job_id}/cells/{cell.pk}/trace"}


class SnapshotRefSerializer(serializers.Serializer):
    cluster = serializers.CharField(max_length=200, help_text="Cluster id or name")
    snapshot = serializers.IntegerField(required=False, min_value=1, help_text="Snapshot id (default: the latest)")
    time_limit = serializers.IntegerField(required=False, min_value=1, max_value=10**7,
                                          help_text="Stop the job after this many seconds (capped by the server)")


class MatrixRequestSerializer(SnapshotRefSerializer):
    services = serializers.BooleanField(default=True, help_text="Columns for every service port")
    pods = serializers.BooleanField(default=True, help_text="Columns for every pod class × declared port")
    cells_per_chunk = serializers.IntegerField(required=False, min_value=1, max_value=1_000_000)


class DiffRequestSerializer(serializers.Serializer):
    cluster = serializers.CharField(max_length=200)
    base = serializers.IntegerField(required=False, min_value=1,
                                    help_text="Base snapshot id (default: the latest before the candidate)")
    candidate = serializers.IntegerField(required=False, min_value=1,
                                         help_text="Candidate snapshot id; omit it and upload files instead")
    materialize = serializers.BooleanField(default=False)
    nodes = serializers.IntegerField(default=3, min_value=1, max_value=5000)
    namespace = serializers.CharField(default="default", max_length=253)
    cells_per_chunk = serializers.IntegerField(required=False, min_value=1, max_value=1_000_000)
    time_limit = serializers.IntegerField(required=False, min_value=1, max_value=10**7)


class BatchRequestSerializer(SnapshotRefSerializer):
    requests = serializers.ListField(child=serializers.DictField(), required=False, allow_empty=False,
                                     max_length=jobs.MAX_BATCH_REQUESTS,
                                     help_text="Trace requests {from, to, port, protocol, via}")
    lines = serializers.CharField(required=False, allow_blank=False, trim_whitespace=False,
                                  help_text="Or: the text of a `manage.py trace --batch` file (one JSON request a line)")

    def validate(self, data):
        if ("requests" in data) == ("lines" in data):
            raise serializers.ValidationError({"requests": "give either `requests` (a list) or `lines` (JSON lines)"})
        if "lines" in data:
            data["requests"] = parse_json_lines(data.pop("lines"))
        return data


def parse_json_lines(text: str) -> list[dict]:
    """The --batch format: one JSON object a line; blank lines are skipped. 400 names the bad line."""
    out = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError as exc:
            raise serializers.ValidationError({"lines": f"line {n}: not JSON: {exc}"}) from None
        if not isinstance(item, dict):
            raise serializers.ValidationError({"lines": f"line {n}: expected a JSON object with from/to"})
        out.append(item)
        if len(out) > jobs.MAX_BATCH_REQUESTS:
            raise serializers.ValidationError({"lines": f"more than {jobs.MAX_BATCH_REQUESTS} requests"})
    if not out:
        raise serializers.ValidationError({"lines": "no request in the text"})
    return out


class IntentRequestSerializer(SnapshotRefSerializer):
    intents = serializers.JSONField(help_text="A list of {from, to, port, protocol, via, expect, reason, name}, "
                                              "or the YAML text of an intents file")


class JobCreatedSerializer(serializers.Serializer):
    job = JobSerializer()
    detail = serializers.CharField()


# ---------------------------------------------------------------------------------------------
# Helpers


def visible_jobs(user):
    if user is None or not user.is_authenticated:
        return Job.objects.none()
    return Job.objects.filter(Q(cluster__in=visible_clusters(user).values("pk")) | Q(owner_id=user.pk))


def _snapshot(user, data: dict):
    cluster = find_cluster(user, data["cluster"])
    if cluster is None:
        raise exceptions.ValidationError({"cluster": f"unknown cluster {data['cluster']!r}: give the id or name of "
                                                     "a cluster you can read (GET /api/clusters/)"})
    if data.get("snapshot"):
        snap = cluster.snapshots.filter(pk=data["snapshot"]).first()
        if snap is None:
            raise exceptions.ValidationError({"snapshot": f"cluster {cluster.name!r} has no snapshot {data['snapshot']}"})
        return snap
    snap = cluster.latest_snapshot()
    if snap is None:
        raise exceptions.ValidationError({"cluster": f"cluster {cluster.name!r} has no snapshot yet: upload manifests"})
    return snap


def _created(job: Job, detail: str) -> Response:
    job.refresh_from_db()
    return Response({"job": JobSerializer(job).data, "detail": detail}, status=status.HTTP_202_ACCEPTED)


def _parse_intents(raw):
    from tracer.intents import parse_intent, parse_intents

    if isinstance(raw, str):
        return parse_intents(raw, "intents")
    if isinstance(raw, list):
        return [parse_intent(item, i, "intents") for i, item in enumerate(raw, start=1)]
    raise BadRequest("intents: give a list of {from, to, port, expect} objects or the YAML text of an intents file")


# ---------------------------------------------------------------------------------------------
# Views


@extend_schema_view(
    list=extend_schema(summary="Jobs on the clusters you can read, newest first", parameters=[
        OpenApiParameter("kind", str, enum=[k for k, _ in Job.KINDS]),
        OpenApiParameter("state", str, enum=[k for k, _ in Job.STATES]), OpenApiParameter("cluster", int)]),
    retrieve=extend_schema(summary="One job: state, progress (current/total/percent/message), result, error"),
)
class JobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = JobSerializer

    def get_queryset(self):
        qs = visible_jobs(self.request.user).select_related("owner")
        params = self.request.query_params
        for key in ("kind", "state"):
            if params.get(key):
                qs = qs.filter(**{key: params[key]})
        if params.get("cluster"):
            if not params["cluster"].isdigit() or len(params["cluster"]) > 18:
                raise exceptions.ParseError("`cluster` must be a cluster id")
            qs = qs.filter(cluster_id=int(params["cluster"]))
        return qs.order_by("-created", "-id")

    def get_object(self):
        raw = self.kwargs.get("pk", "")
        if not str(raw).isdigit() or len(str(raw)) > 18:
            raise exceptions.NotFound("No such job.")
        job = visible_jobs(self.request.user).select_related("owner").filter(pk=int(raw)).first()
        if job is None:
            raise exceptions.NotFound("No such job.")
        return jobs.reap_if_stale(job)

    def retrieve(self, request, *args, **kwargs):
        return Response(JobSerializer(self.get_object(), context={"detail": True}).data)

    def _require_manager(self, job: Job) -> None:
        user = self.request.user
        if job.owner_id != user.pk and not (job.cluster and can_manage(user, job.cluster)):
            raise exceptions.PermissionDenied("Only the job's owner or the cluster's owner may change it.")

    @extend_schema(summary="Delete a finished job and its cells (409 while it is queued or running: cancel it first)",
                   responses={204: None})
    def destroy(self, request, *args, **kwargs):
        job = self.get_object()
        self._require_manager(job)
        if job.state in Job.ACTIVE_STATES:
            raise Conflict(f"job {job.pk} is {job.state}: cancel it first")
        job.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)

    destroy.error_codes = ("409",)

    @extend_schema(summary="Cancel a queued or running job (409 when it already finished)", request=None,
                   responses={200: JobSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        job = self.get_object()
        self._require_manager(job)
        try:
            job = jobs.cancel(job)
        except jobs.JobNotActive as exc:
            raise Conflict(str(exc)) from None
        return Response(JobSerializer(job).data)

    cancel.error_codes = ("409",)

    @extend_schema(summary="The matrix's axes: source classes and destinations (cells index into these lists)",
                   responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get"])
    def plan(self, request, pk=None):
        job = self.get_object()
        if job.kind not in ("matrix", "diff"):
            raise exceptions.NotFound("Only matrix and diff jobs have a plan.")
        out = JobOutput.objects.filter(job=job, name="plan").first()
        if out is None:
            raise exceptions.NotFound("The job has not been planned yet: poll the job until it is running.")
        return Response({"job": job.pk, "state": job.state, **out.data})

    @extend_schema(summary="Batch results, in request order (JSON list; `?output=jsonl` for JSON lines)",
                   parameters=[OpenApiParameter("output", str, enum=["json", "jsonl"])],
                   responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get"], url_path="results")
    def results(self, request, pk=None):
        job = self.get_object()
        if job.kind != "batch":
            raise exceptions.NotFound("Only batch jobs have results; see the job's `result`.")
        out = JobOutput.objects.filter(job=job, name="results").first()
        if out is None:
            raise exceptions.NotFound(f"The batch is {job.state}: results appear when it is done.")
        if request.query_params.get("output") == "jsonl":
            from django.http import HttpResponse

            body = "".join(json.dumps(r, sort_keys=True) + "\n" for r in out.data)
            return HttpResponse(body, content_type="application/x-ndjson")
        return Response({"job": job.pk, "results": out.data})


class JobCellViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Cells of a matrix (every cell) or a diff (only the cells that change)."""

    serializer_class = CellSerializer

    def _job(self) -> Job:
        raw = str(self.kwargs.get("job_pk", ""))
        if not raw.isdigit() or len(raw) > 18:
            raise exceptions.NotFound("No such job.")
        job = visible_jobs(self.request.user).filter(pk=int(raw)).first()
        if job is None:
            raise exceptions.NotFound("No such job.")
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
                    raise exceptions.ParseError(f"`{key}` must be an index into the plan's {key}s")
                qs = qs.filter(**{key: int(params[key])})
        return qs.order_by("source", "destination")

    def get_object(self):
        raw = str(self.kwargs.get("pk", ""))
        if not raw.isdigit() or len(raw) > 18:
            raise exceptions.NotFound("No such cell.")
        cell = MatrixCell.objects.filter(job=self._job(), pk=int(raw)).first()
        if cell is None:
            raise exceptions.NotFound("No such cell.")
        return cell

    @extend_schema(summary="List cells", parameters=[
        OpenApiParameter("verdict", str, enum=["delivered", "dropped", "partial", "error"]),
        OpenApiParameter("reason", str), OpenApiParameter("change", str,
                                                          enum=["opened", "closed", "changed", "added", "removed"]),
        OpenApiParameter("source", int), OpenApiParameter("destination", int)])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(summary="The full trace behind a cell: the same flow `manage.py trace` would run",
                   responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get"])
    def trace(self, request, job_pk=None, pk=None):
        cell = self.get_object()
        job = cell.job
        if job.kind == "diff":
            return Response({"cell": CellSerializer(cell).data, "change": cell.change,
                             "base": {"snapshot": job.params.get("base"), "request": cell.base_request,
                                      "result": cell.base_trace},
                             "candidate": {"snapshot": job.snapshot_id, "request": cell.request,
                                           "result": cell.trace}})
        from topology.compile import load_model
        from tracer.engine.flow import make_flow
        from tracer.engine.trace import trace

        req = cell.request
        result = trace(load_model(job.snapshot_id),
                       make_flow(req["from"], req["to"], req.get("port"), req.get("protocol"))).to_dict()
        return Response({"cell": CellSerializer(cell).data, "snapshot": job.snapshot_id, "request": req,
                         "result": result})

    trace.error_codes = ("503",)


class _StartView(APIView):
    error_codes = ("503",)


class MatrixStartView(_StartView):
    @extend_schema(summary="Start a reachability matrix job (202); poll GET /api/jobs/<id>/",
                   request=MatrixRequestSerializer, responses={202: JobCreatedSerializer})
    def post(self, request):
        body = MatrixRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        d = body.validated_data
        job = jobs.enqueue_matrix(_snapshot(request.user, d), owner=request.user, services=d["services"],
                                  pods=d["pods"], cells_per_chunk=d.get("cells_per_chunk"),
                                  time_limit=d.get("time_limit"))
        return _created(job, "Matrix queued: poll the job for progress; its cells appear under links.cells.")


class DiffStartView(_StartView):
    error_codes = ("413", "503")
    parser_classes = [parsers.JSONParser, parsers.MultiPartParser, parsers.FormParser]

    @extend_schema(summary="Start a snapshot diff / what-if job (202): the matrix cells that change",
                   description="JSON: {cluster, base?, candidate} compares two snapshots. Multipart: upload the "
                               "changed manifests (field `files`) with `cluster` (and `materialize`, `base`): the "
                               "worker imports them as a new candidate snapshot first.",
                   request={"application/json": DiffRequestSerializer, "multipart/form-data": DiffRequestSerializer},
                   responses={202: JobCreatedSerializer})
    def post(self, request):
        body = DiffRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        d = body.validated_data
        cluster = find_cluster(request.user, d["cluster"])
        if cluster is None:
            raise exceptions.ValidationError({"cluster": f"unknown cluster {d['cluster']!r}"})
        files = [f for key in request.FILES for f in request.FILES.getlist(key)]
        total = sum(f.size or 0 for f in files)
        if total > settings.TRACER_UPLOAD_LIMIT:
            raise PayloadTooLarge(f"The upload is {total} bytes; this server accepts at most "
                                  f"{settings.TRACER_UPLOAD_LIMIT} bytes (TRACER_UPLOAD_LIMIT).")
        uploads = [(f.name or "upload.yaml", f.read()) for f in files]
        candidate = None
        if d.get("candidate"):
            candidate = cluster.snapshots.filter(pk=d["candidate"]).first()
            if candidate is None:
                raise exceptions.ValidationError({"candidate": f"cluster {cluster.name!r} has no snapshot "
                                                               f"{d['candidate']}"})
        elif not uploads:
            raise exceptions.ValidationError({"candidate": "give a candidate snapshot id, or upload the changed "
                                                           "manifests as multipart files"})
        if d.get("base"):
            base = cluster.snapshots.filter(pk=d["base"]).first()
            if base is None:
                raise exceptions.ValidationError({"base": f"cluster {cluster.name!r} has no snapshot {d['base']}"})
        else:
            older = cluster.snapshots.order_by("-number")
            if candidate is not None:
                older = older.filter(number__lt=candidate.number)
            base = older.first()
            if base is None:
                raise exceptions.ValidationError({"base": "no base snapshot to compare with"})
        job = jobs.enqueue_diff(base, candidate, owner=request.user, uploads=uploads or None,
                                materialize=d["materialize"], nodes=d["nodes"], namespace=d["namespace"],
                                cells_per_chunk=d.get("cells_per_chunk"), time_limit=d.get("time_limit"))
        return _created(job, "Diff queued: its cells are the matrix cells that change, each with both traces.")


class BatchStartView(_StartView):
    @extend_schema(summary="Start a batch of traces (202); results at links.results in request order",
                   request=BatchRequestSerializer, responses={202: JobCreatedSerializer})
    def post(self, request):
        body = BatchRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        d = body.validated_data
        job = jobs.enqueue_batch(_snapshot(request.user, d), d["requests"], owner=request.user,
                                 time_limit=d.get("time_limit"))
        return _created(job, f"Batch of {len(d['requests'])} traces queued.")


class IntentJobView(_StartView):
    @extend_schema(summary="Check intents in the background (202); the result lists violations with traces",
                   request=IntentRequestSerializer, responses={202: JobCreatedSerializer})
    def post(self, request):
        body = IntentRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        d = body.validated_data
        intents = _parse_intents(d["intents"])
        job = jobs.enqueue_intents(_snapshot(request.user, d), intents, owner=request.user,
                                   time_limit=d.get("time_limit"))
        return _created(job, f"{len(intents)} intents queued.")


class IntentCheckView(APIView):
    @extend_schema(summary=f"Check intents now (≤ {SYNC_INTENT_LIMIT}): passed, violations with their traces",
                   request=IntentRequestSerializer, responses={200: OpenApiTypes.OBJECT})
    def post(self, request):
        from topology.compile import load_model
        from tracer.intents import check

        body = IntentRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        d = body.validated_data
        intents = _parse_intents(d["intents"])
        if not intents:
            raise BadRequest("no intents to check")
        if len(intents) > SYNC_INTENT_LIMIT:
            raise BadRequest(f"{len(intents)} intents: check more than {SYNC_INTENT_LIMIT} with POST /api/jobs/intents")
        snap = _snapshot(request.user, d)
        report = check(load_model(snap.pk), intents)
        return Response({"snapshot": snap.pk, "ok": not report["violations"], **report})


# ---------------------------------------------------------------------------------------------
# Routes (mounted under /api/ by tracer/api/urls.py). A trailing slash is optional on actions, so that
# both `POST /api/jobs/7/cancel` and `…/cancel/` work.

def _routes():
    from django.urls import re_path

    job_list = JobViewSet.as_view({"get": "list"})
    job_detail = JobViewSet.as_view({"get": "retrieve", "delete": "destroy"})
    return [
        re_path(r"^jobs/matrix/?$", MatrixStartView.as_view(), name="job-matrix"),
        re_path(r"^jobs/diff/?$", DiffStartView.as_view(), name="job-diff"),
        re_path(r"^jobs/batch/?$", BatchStartView.as_view(), name="job-batch"),
        re_path(r"^jobs/intents/?$", IntentJobView.as_view(), name="job-intents"),
        re_path(r"^intents/check/?$", IntentCheckView.as_view(), name="intents-check"),
        re_path(r"^jobs/$", job_list, name="job-list"),
        re_path(r"^jobs/(?P<pk>\d+)/$", job_detail, name="job-detail"),
        re_path(r"^jobs/(?P<pk>\d+)/cancel/?$", JobViewSet.as_view({"post": "cancel"}), name="job-cancel"),
        re_path(r"^jobs/(?P<pk>\d+)/plan/?$", JobViewSet.as_view({"get": "plan"}), name="job-plan"),
        re_path(r"^jobs/(?P<pk>\d+)/results/?$", JobViewSet.as_view({"get": "results"}), name="job-results"),
        re_path(r"^jobs/(?P<job_pk>\d+)/cells/$", JobCellViewSet.as_view({"get": "list"}), name="job-cells"),
        re_path(r"^jobs/(?P<job_pk>\d+)/cells/(?P<pk>\d+)/$", JobCellViewSet.as_view({"get": "retrieve"}),
                name="job-cell"),
        re_path(r"^jobs/(?P<job_pk>\d+)/cells/(?P<pk>\d+)/trace/?$", JobCellViewSet.as_view({"get": "trace"}),
                name="job-cell-trace"),
    ]


urlpatterns = _routes()
