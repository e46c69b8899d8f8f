"""GET /api/snapshots/ID/gateways/ — the Gateway API status of a snapshot (for the map and the object panels).

Why its own view: the map draws Gateways, their listeners and attached routes, and a panel shows why a route is
not accepted; both need what a Gateway API controller would write in status (attachedRoutes per listener,
Accepted / ResolvedRefs per route parentRef), which the engine computes (`tracer.engine.gateway.gateway_status`).
Visibility is that of the snapshot: 404 for one you cannot read.
"""
from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from topology import services
from topology.compile import load_model
from tracer.engine.gateway import gateway_status


class SnapshotGatewaysView(APIView):
    @extend_schema(summary="Gateway API status of a snapshot: Gateways, listeners with attached routes, route "
                           "conditions (Accepted / ResolvedRefs with reasons)", responses=OpenApiTypes.OBJECT)
    def get(self, request, pk: int):
        snapshot = services.visible_snapshots(request.user).filter(pk=pk).first()
        if snapshot is None:
            raise NotFound(f"No snapshot {pk} that you can read.")
        return Response(gateway_status(load_model(snapshot.pk)))
