"""API routes of this app (mounted under /api/)."""
from django.urls import re_path
from rest_framework.routers import DefaultRouter

from .matrix import MatrixOverviewView, MatrixPairView
from .reasons import ReasonsView
from .savedtests import SavedTestDetailView, SavedTestListView, SavedTestRunView
from .tokens import TokenDetailView, TokenView
from .views import (
    BatchStartView,
    DiffStartView,
    IntentCheckView,
    IntentJobView,
    JobCellViewSet,
    JobViewSet,
    MatrixStartView,
    MeView,
    SharedTraceView,
    TraceViewSet,
)

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
    re_path(r"^clusters/(?P<cluster_id>\d+)/saved-tests/?$", SavedTestListView.as_view(), name="saved-tests"),
    re_path(r"^clusters/(?P<cluster_id>\d+)/saved-tests/run/?$", SavedTestRunView.as_view(), name="saved-tests-run"),
    re_path(r"^clusters/(?P<cluster_id>\d+)/saved-tests/(?P<pk>\d+)/?$", SavedTestDetailView.as_view(),
            name="saved-test"),
]

# Jobs (matrix, diff, batch, intents; poll and cancel). A trailing slash is optional on actions, so that
# both `POST /api/jobs/7/cancel` and `…/cancel/` work.
job_list = JobViewSet.as_view({"get": "list"})
job_detail = JobViewSet.as_view({"get": "retrieve", "delete": "destroy"})
urlpatterns += [
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
    re_path(r"^jobs/(?P<pk>\d+)/matrix/?$", MatrixOverviewView.as_view(), name="job-matrix-overview"),
    re_path(r"^jobs/(?P<pk>\d+)/matrix/pair/?$", MatrixPairView.as_view(), name="job-matrix-pair"),
    re_path(r"^jobs/(?P<job_pk>\d+)/cells/$", JobCellViewSet.as_view({"get": "list"}), name="job-cells"),
    re_path(r"^jobs/(?P<job_pk>\d+)/cells/(?P<pk>\d+)/$", JobCellViewSet.as_view({"get": "retrieve"}),
            name="job-cell"),
    re_path(r"^jobs/(?P<job_pk>\d+)/cells/(?P<pk>\d+)/trace/?$", JobCellViewSet.as_view({"get": "trace"}),
            name="job-cell-trace"),
]
