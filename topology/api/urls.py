"""API routes of this app (mounted under /api/)."""
from django.urls import path
from rest_framework.routers import DefaultRouter

from .gateways import SnapshotGatewaysView
from .invitations import InvitationViewSet
from .views import ClusterViewSet, SnapshotViewSet

router = DefaultRouter()
router.include_root_view = False
router.trailing_slash = "/?"  # scripts may omit the final slash (a POST cannot follow a redirect)
router.register("clusters", ClusterViewSet, basename="cluster")
router.register("snapshots", SnapshotViewSet, basename="snapshot")
router.register("invitations", InvitationViewSet, basename="invitation")

urlpatterns = router.urls + [
    path("snapshots/<int:pk>/gateways/", SnapshotGatewaysView.as_view(), name="snapshot-gateways"),
]
