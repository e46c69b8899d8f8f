"""Browsing a matrix stored as columns: overview, one namespace pair as a grid, filtered cell pages, one cell.

Why separate views: a 10,000-pod matrix has tens of millions of cells, so a client never asks for "all
cells". It starts with the namespace × namespace overview (counts precomputed when the job ran), opens
one pair as a grid of source classes × destinations (codes, a few bytes per cell), and lists cells with
filters and pages (`limit` capped by TRACER_MAX_PAGE_SIZE). A cell's `id` is `source × destinations +
destination`, so `/api/jobs/<id>/cells/<cell id>/trace` is stable for as long as the job is kept.
"""
from __future__ import annotations

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import NotFound, ParseError
from rest_framework.response import Response
from rest_framework.views import APIView

from tracer import matrix_store
from tracer.choices import JobKind, JobState
from tracer.jobs.access import visible_jobs
from tracer.jobs.chunks import stored_plan

__all__ = ["MatrixOverviewView", "MatrixPairView", "cell_page", "cell_by_id", "FILTER_PARAMETERS"]

MAX_GRID_CELLS = 200_000  # one pair's grid per request; `offset`/`limit` page its source rows

FILTER_PARAMETERS = [
    OpenApiParameter("verdict", str, description="delivered, partial, dropped or error (comma-separated: any)"),
    OpenApiParameter("reason", str, description="a reason code (comma-separated: any)"),
    OpenApiParameter("source_namespace", str), OpenApiParameter("destination_namespace", str),
    OpenApiParameter("source", str, description="an index into the plan's sources, or text in a source "
                                                "class's label or member pod names"),
    OpenApiParameter("destination", str, description="an index into the plan's destinations, or text in a "
                                                     "destination's key, label or target"),
    OpenApiParameter("limit", int), OpenApiParameter("offset", int),
]


def _int(params, name: str, default: int, lo: int, hi: int) -> int:
    raw = params.get(name)
    if raw in (None, ""):
        return default
    if not str(raw).isdigit() or len(str(raw)) > 12:
        raise ParseError(f"`{name}` must be a whole number from {lo} to {hi}")
    return max(lo, min(int(raw), hi))


def _namespaces(params) -> list[str]:
    """`namespaces=a,b,c`: at most MAX_NAMESPACES_ASKED names, each a DNS label (≤ 63 characters)."""
    raw = params.get("namespaces") or ""
    limit = matrix_store.MAX_NAMESPACES_ASKED
    if len(raw) > limit * 64:
        raise ParseError(f"`namespaces`: at most {limit} namespace names")
    names = [n for n in raw.split(",") if n]
    if len(names) > limit or any(len(n) > 63 for n in names):
        raise ParseError(f"`namespaces`: at most {limit} names of at most 63 characters each")
    return names


def _text(params, name: str) -> str:
    value = params.get(name) or ""
    if len(value) > 253:
        raise ParseError(f"`{name}` is longer than 253 characters")
    return value


def filters_from(params, plan) -> tuple[matrix_store.Filters, list[int] | None, list[int] | None]:
    """Filters from query parameters; `source`/`destination` that are digits select that index."""
    f = matrix_store.Filters(
        verdicts={v for v in _text(params, "verdict").split(",") if v},
        reasons={r for r in _text(params, "reason").split(",") if r},
        source_namespace=_text(params, "source_namespace"),
        destination_namespace=_text(params, "destination_namespace"))
    only: dict[str, list[int] | None] = {"source": None, "destination": None}
    for key, axis in (("source", plan.sources), ("destination", plan.destinations)):
        value = _text(params, key)
        if value.isdigit():
            if int(value) >= len(axis):
                raise ParseError(f"`{key}` {value} is past the plan's {len(axis)} {key}s")
            only[key] = [int(value)]
        else:
            setattr(f, key, value)
    return f, only["source"], only["destination"]


def _links(job_id: int, cell: dict) -> dict:
    cell.update({"change": "", "base_verdict": "", "base_reason": "", "base_request": None,
                 "links": {"trace": f"/api/jobs/{job_id}/cells/{cell['id']}/trace"}})
    cell["reason"] = cell["reason"] or ""
    return cell


def _page_url(request, offset: int, limit: int) -> str:
    q = request.query_params.copy()
    q["offset"], q["limit"] = str(offset), str(limit)
    return request.build_absolute_uri(request.path) + "?" + q.urlencode()


def cell_page(request, job) -> dict:
    """The `/cells/` answer for a job stored as columns: count, next/previous and the page's cells."""
    plan = stored_plan(job, "plan")
    params = request.query_params
    limit = _int(params, "limit", settings.REST_FRAMEWORK.get("PAGE_SIZE", 100), 1, settings.TRACER_MAX_PAGE_SIZE)
    offset = _int(params, "offset", 0, 0, 10**12)
    f, only_src, only_dst = filters_from(params, plan)
    total, cells = matrix_store.query_cells(job, plan, f, offset, limit, sources=only_src, destinations=only_dst)
    return {"count": total,
            "next": _page_url(request, offset + limit, limit) if offset + limit < total else None,
            "previous": _page_url(request, max(0, offset - limit), limit) if offset > 0 else None,
            "results": [_links(job.pk, c) for c in cells]}


def cell_by_id(job, raw) -> dict:
    plan = stored_plan(job, "plan")
    if not str(raw).isdigit() or len(str(raw)) > 15:
        raise NotFound("No such cell.")
    cell = matrix_store.get_cell(job, plan, int(raw))
    if cell is None:
        raise NotFound("No such cell.")
    return _links(job.pk, cell)


class _MatrixJobView(APIView):
    def job(self, pk):
        if not str(pk).isdigit() or len(str(pk)) > 12:
            raise NotFound("No such job.")
        job = visible_jobs(self.request.user).filter(pk=int(pk)).first()
        if job is None or job.kind != JobKind.MATRIX:
            raise NotFound("No such matrix job.")
        if job.state != JobState.DONE or not matrix_store.has_blocks(job):
            raise NotFound(f"The matrix is {job.state}: its overview appears when it is done"
                           + ("" if job.state != JobState.DONE else " (this job was stored as rows: use /cells/)"))
        return job


class MatrixOverviewView(_MatrixJobView):
    @extend_schema(summary="Namespace × namespace overview of a matrix job (cell counts per verdict and reason); "
                           "past 40 namespaces group × group, and one group pair's namespaces on request",
                   parameters=[OpenApiParameter("source_group", str, description="a group's name (`first..last`): "
                                                "with destination_group, that group pair's namespace × namespace"),
                               OpenApiParameter("destination_group", str),
                               OpenApiParameter("namespaces", str, description="comma-separated namespace names "
                                                "(at most 200): the namespace × namespace pairs among them, "
                                                "grouped overview or not")],
                   responses={200: OpenApiTypes.OBJECT})
    def get(self, request, pk=None):
        job = self.job(pk)
        plan = stored_plan(job, "plan")
        src_g, dst_g = _text(request.query_params, "source_group"), _text(request.query_params, "destination_group")
        if bool(src_g) != bool(dst_g):
            raise ParseError("`source_group` and `destination_group` go together")
        only = _namespaces(request.query_params)
        if only and src_g:
            raise ParseError("`namespaces` and a group pair are two different questions: ask one")
        try:
            body = matrix_store.overview(job, plan, src_g, dst_g, only)
        except LookupError as e:
            raise ParseError(str(e.args[0])) from None
        return Response({"job": job.pk, "snapshot": job.snapshot_id, "sources": len(plan.sources),
                         "destinations": len(plan.destinations), "assumptions": list(plan.assumptions),
                         **body,
                         "links": {"pair": f"/api/jobs/{job.pk}/matrix/pair", "cells": f"/api/jobs/{job.pk}/cells/"}})


class MatrixPairView(_MatrixJobView):
    @extend_schema(summary="One namespace pair of a matrix job as a grid: source classes × destinations, a code per cell",
                   parameters=[OpenApiParameter("source_namespace", str, required=True),
                               OpenApiParameter("destination_namespace", str, required=True),
                               OpenApiParameter("offset", int), OpenApiParameter("limit", int)],
                   responses={200: OpenApiTypes.OBJECT})
    def get(self, request, pk=None):
        job = self.job(pk)
        plan = stored_plan(job, "plan")
        params = request.query_params
        src_ns, dst_ns = _text(params, "source_namespace"), _text(params, "destination_namespace")
        if not src_ns or not dst_ns:
            raise ParseError("`source_namespace` and `destination_namespace` are required")
        grid = matrix_store.pair_grid(job, plan, src_ns, dst_ns, _int(params, "offset", 0, 0, 10**9),
                                      _int(params, "limit", 0, 0, 10**9), MAX_GRID_CELLS)
        return Response({"job": job.pk, "source_namespace": src_ns, "destination_namespace": dst_ns, **grid})
