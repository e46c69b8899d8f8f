"""Invitations to clusters, from the invitee's side: list, accept, decline (topology.sharing).

Only the invitee sees an invitation (by their username); any other id is a 404, like every object a
user may not see.
"""
from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from topology import sharing
from topology.models import ClusterInvitation


class InvitationSerializer(serializers.ModelSerializer):
    cluster = serializers.SerializerMethodField()
    owner = serializers.CharField(source="cluster.owner.username", default=None, read_only=True)
    invited_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = ClusterInvitation
        fields = ["id", "cluster", "owner", "invited_by", "created"]
        read_only_fields = fields

    def get_cluster(self, obj) -> dict:
        return {"id": obj.cluster_id, "name": obj.cluster.name}


class AcceptedSerializer(serializers.Serializer):
    cluster = serializers.IntegerField(help_text="The cluster you now read as a teammate.")


@extend_schema_view(
    list=extend_schema(summary="Invitations to clusters waiting for your answer"),
    retrieve=extend_schema(summary="One invitation addressed to you"),
)
class InvitationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = InvitationSerializer
    queryset = ClusterInvitation.objects.none()  # the model, for the schema

    def get_queryset(self):
        return sharing.invitations_for(self.request.user).order_by("-created", "-id")

    @extend_schema(summary="Accept: you join the cluster's team", request=None, responses={200: AcceptedSerializer})
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        cluster = sharing.accept(self.get_object(), request.user)
        return Response({"cluster": cluster.pk})

    @extend_schema(summary="Decline: the invitation is deleted", request=None,
                   responses={204: OpenApiResponse(description="Declined")})
    @action(detail=True, methods=["post"])
    def decline(self, request, pk=None):
        sharing.decline(self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
