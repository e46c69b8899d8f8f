"""API routes of this app (mounted under /api/)."""
from django.urls import re_path
from rest_framework.routers import DefaultRouter

from .tokens import TokenDetailView, TokenView
from .reasons import ReasonsView
from .views import MeView, SharedTraceView, TraceViewSet

router = DefaultRouter()
router.include_root_view = False
router.trailing_slash = "/?"  # scripts may omit the final slash (a POST cannot follow a redirect)
router.register("traces", TraceViewSet, basename="trace")

urlpatterns = [
    *router.urls,
    re_path(r"^share/(?P<slug>[^/]+)/?$", SharedTraceView.as_view(), name="shared-trace"),
    re_path(r"^tokens/?$", TokenView.as_view(), name="api-token"),
    re_path(r"^tokens/(?P<token_id>[^/]+)/?$", TokenDetailView.as_view(), name="api-token-detail"),
    re_path(r"^me/?$", MeView.as_view(), name="api-me"),
    re_path(r"^reasons/?$", ReasonsView.as_view(), name="api-reasons"),
]

# Jobs (matrix, diff, batch, intents; poll and cancel): tracer/api/jobs.py
from .jobs import urlpatterns as job_urlpatterns  # noqa: E402

urlpatterns += job_urlpatterns
