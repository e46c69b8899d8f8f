"""Saved tests of a cluster (GCP Connectivity Tests): list, save, delete, and run all on the latest snapshot.

Thin: the rules (access, replace-by-name, what changed) live in tracer.savedtests. The cluster is found
among those the user may read, so an outsider gets 404 for the cluster and everything in it.
"""
from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from topology.services import find_cluster
from tracer import savedtests
from tracer.models import SavedTest, Trace

from .parsers import SafeJSONParser
from .throttling import PostScopedRateThrottle


class SavedTestSerializer(serializers.ModelSerializer):
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True)
    last_verdict = serializers.CharField(source="last_trace.verdict", read_only=True, default=None)
    last_reason = serializers.CharField(source="last_trace.reason", read_only=True, default=None)
    last_snapshot = serializers.IntegerField(source="last_trace.snapshot_id", read_only=True, default=None)
    can_delete = serializers.SerializerMethodField()

    def get_can_delete(self, obj) -> bool:
        return savedtests.can_delete(self.context["request"].user, obj)

    class Meta:
        model = SavedTest
        fields = ["id", "name", "owner", "request", "last_trace", "last_verdict", "last_reason", "last_snapshot",
                  "created", "can_delete"]


class SaveTestSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, trim_whitespace=True)
    trace = serializers.IntegerField(required=False, min_value=1, help_text="Save this trace's request (and "
                                     "remember the trace as the test's last run).")
    request = serializers.JSONField(required=False, help_text="Or a trace request {from, to, port, protocol, "
                                    "via, assumptions}: traced now on the latest snapshot.")

    def validate(self, attrs):
        if ("trace" in attrs) == ("request" in attrs):
            raise serializers.ValidationError("give exactly one of `trace` and `request`")
        if "request" in attrs and not isinstance(attrs["request"], dict):
            raise serializers.ValidationError({"request": "must be an object"})
        return attrs


class TestRunSerializer(serializers.Serializer):
    """One test's run: the new trace, its verdict now, the last run's, and what changed (null on a first run)."""

    test = serializers.IntegerField()
    name = serializers.CharField()
    trace = serializers.IntegerField(allow_null=True)
    verdict = serializers.CharField(allow_null=True)
    reason = serializers.CharField(allow_null=True)
    snapshot = serializers.IntegerField()
    previous = serializers.JSONField(allow_null=True, help_text="{trace, verdict, reason, snapshot} of the last run.")
    changes = serializers.JSONField(allow_null=True, help_text="As a trace's re-run: verdict, reason, endpoints, hops.")
    error = serializers.CharField(allow_null=True, help_text="Why the request no longer traces (e.g. its pod is gone).")


class TestRunListSerializer(serializers.Serializer):
    results = TestRunSerializer(many=True)


def _cluster(request, cluster_id):
    cluster = find_cluster(request.user, int(cluster_id))
    if cluster is None:
        raise NotFound("No such cluster.")
    return cluster


class SavedTestListView(APIView):
    parser_classes = [SafeJSONParser]

    @extend_schema(summary="The cluster's saved tests, with each one's last verdict",
                   responses={200: SavedTestSerializer(many=True)})
    def get(self, request, cluster_id):
        tests = savedtests.tests_of(_cluster(request, cluster_id))
        return Response(SavedTestSerializer(tests, many=True, context={"request": request}).data)

    @extend_schema(summary="Save a test (a trace's request, or a new request); an existing name is replaced",
                   request=SaveTestSerializer, responses={201: SavedTestSerializer, 200: SavedTestSerializer})
    def post(self, request, cluster_id):
        cluster = _cluster(request, cluster_id)
        body = SaveTestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        trace = None
        if "trace" in body.validated_data:
            trace = Trace.objects.filter(pk=body.validated_data["trace"], snapshot__cluster=cluster) \
                .select_related("snapshot").first()
            if trace is None:
                raise NotFound(f"No trace {body.validated_data['trace']} on this cluster.")
        test, created = savedtests.save_test(cluster, request.user, body.validated_data["name"], trace=trace,
                                             request=body.validated_data.get("request"))
        return Response(SavedTestSerializer(test, context={"request": request}).data,
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class SavedTestDetailView(APIView):
    @extend_schema(summary="Delete a saved test (its owner or the cluster's owner)", request=None,
                   responses={204: None})
    def delete(self, request, cluster_id, pk):
        cluster = _cluster(request, cluster_id)
        test = SavedTest.objects.filter(cluster=cluster, pk=int(pk)).first()
        if test is None:
            raise NotFound("No such saved test.")
        if not savedtests.can_delete(request.user, test):
            raise PermissionDenied("Only the test's owner or the cluster's owner may delete it.")
        test.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class SavedTestRunView(APIView):
    throttle_classes = [PostScopedRateThrottle]
    throttle_scope = "jobs"  # traces every test of the cluster: counted like starting a job

    @extend_schema(summary="Run every saved test on the latest snapshot → each one's verdict now, its verdict "
                   "at the last run and what changed", request=None,
                   responses={200: TestRunListSerializer})
    def post(self, request, cluster_id):
        rows = savedtests.run_all(_cluster(request, cluster_id), request.user)
        return Response({"results": rows}, status=status.HTTP_200_OK)


__all__ = ["SavedTestListView", "SavedTestDetailView", "SavedTestRunView"]
