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
    """Read-only, no login: the page fetches /api/share/<slug>, which exposes only that trace.

    The share payload carries no trace id (an anonymous reader needs none); when the visitor is the
    trace's owner, the page gets the id so it can offer "re-run on latest snapshot" through the API.
    """
    from tracer.models import Trace

    config = {"slug": slug}
    valid = len(slug) <= 64 and all(c.isascii() and (c.isalnum() or c in "-_") for c in slug)  # as the API checks
    shared = Trace.objects.filter(share_slug=slug).values_list("pk", "owner_id").first() if valid else None
    if shared and request.user.is_authenticated and shared[1] == request.user.pk:
        config["trace_id"] = shared[0]
    # An unknown or revoked slug is a 404 (the page still explains it): a guess learns nothing from a 200.
    response = render(request, "frontend/trace.html", {"shared": True, "page_config": config},
                      status=200 if shared else 404)
    response["Referrer-Policy"] = "no-referrer"  # the slug is the credential: never leak it to other sites
    return response
