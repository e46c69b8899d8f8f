"""Browser UI routes."""
from django.urls import path

from . import views

urlpatterns = [
    path("", views.index, name="index"),
    path("clusters/<int:cluster_id>/", views.cluster, name="cluster"),
    path("clusters/<int:cluster_id>/matrix/", views.matrix, name="matrix"),
    path("traces/<int:trace_id>/", views.trace, name="trace"),
    path("t/<str:slug>", views.shared_trace, name="shared-trace"),
    path("t/<str:slug>/", views.shared_trace),
    path("docs/<str:name>/", views.doc, name="doc"),
]
