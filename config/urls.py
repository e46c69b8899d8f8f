"""URL map: /api/ (REST + OpenAPI), /admin/, /accounts/, and the browser UI at /."""
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from frontend.login import ThrottledLoginView

from .health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/login/", ThrottledLoginView.as_view(), name="login"),  # before the include: it wins
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's init script as a URL (no inline script: the CSP forbids it).
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema", template_name="frontend/api_docs.html"),
         name="api-docs"),
    path("api/", include("topology.api.urls")),
    path("api/", include("tracer.api.urls")),
    path("", include("frontend.urls")),
]

# Unknown URLs under /api/ answer JSON like every other API error (HTML elsewhere).
handler404 = "tracer.api.errors.api_not_found"
