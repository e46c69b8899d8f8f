"""Browser UI pages. Thin on purpose: each view renders a shell; the page's script reads everything
through the public REST API (the same one scripts use), so the UI can never see more than the API
allows. The shared page /t/<slug> needs no login; everything else does (local mode logs a 127.0.0.1
visitor in, see middleware.py). The reference docs /docs/<name>/ need no login either: they are the
repository's own documentation, linked from every trace (also a shared one)."""
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render

from tracer.services import find_shared

from .docs import DOCS, render_doc


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
    config = {"slug": slug}
    shared = find_shared(slug)  # as the API decides: unknown, revoked, or its sharer lost the cluster → 404
    if shared and request.user.is_authenticated and shared.owner_id == request.user.pk:
        config["trace_id"] = shared.pk
    # An unknown or revoked slug is a 404 (the page still explains it): a guess learns nothing from a 200.
    response = render(request, "frontend/trace.html", {"shared": True, "page_config": config},
                      status=200 if shared else 404)
    response["Referrer-Policy"] = "no-referrer"  # the slug is the credential: never leak it to other sites
    return response


def doc(request, name: str):
    """docs/semantics.md or docs/contract.md as a page (frontend/docs.py); anchors such as #a13 work."""
    if name not in DOCS:
        raise Http404("No such document.")
    title, html = render_doc(name)
    return render(request, "frontend/doc.html", {"doc_title": title, "doc_html": html})
