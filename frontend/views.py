"""Browser UI pages. Thin on purpose: each view renders a shell; the page's script reads everything
through the public REST API (the same one scripts use), so the UI can never see more than the API
allows. The shared page /t/<slug> needs no login; everything else does (local mode logs a 127.0.0.1
visitor in, see middleware.py)."""
from django.contrib.auth.decorators import login_required
from django.shortcuts import render


def _page(request, template, **config):
    return render(request, template, {"page_config": config})


@login_required
def index(request):
    return _page(request, "frontend/clusters.html")


@login_required
def cluster(request, cluster_id: int):
    return render(request, "frontend/cluster.html", {"cluster_id": cluster_id, "page_config": {"cluster_id": cluster_id}})


@login_required
def matrix(request, cluster_id: int):
    return render(request, "frontend/matrix.html", {"cluster_id": cluster_id, "page_config": {"cluster_id": cluster_id}})


@login_required
def trace(request, trace_id: int):
    return _page(request, "frontend/trace.html", trace_id=trace_id)


def shared_trace(request, slug: str):
    """Read-only, no login: the page fetches /api/share/<slug>, which exposes only that trace."""
    response = render(request, "frontend/trace.html", {"shared": True, "page_config": {"slug": slug}})
    response["Referrer-Policy"] = "no-referrer"  # the slug is the credential: never leak it to other sites
    return response
