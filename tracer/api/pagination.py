"""Paging for every list endpoint: `?limit=&offset=`, with a ceiling.

Why a ceiling: DRF's LimitOffsetPagination serves whatever `limit` asks for, so
`GET /api/jobs/ID/cells/?limit=100000000` built a 99 MB answer in one worker. Past `TRACER_MAX_PAGE_SIZE`
(default 5,000 — the UI's own page of matrix cells) the limit is lowered to it; the answer's `next` link
leads to the rest, so a client that follows `next` never notices.
"""
from __future__ import annotations

from django.conf import settings
from rest_framework.pagination import LimitOffsetPagination


class CappedLimitOffsetPagination(LimitOffsetPagination):
    """LimitOffsetPagination whose `limit` never exceeds TRACER_MAX_PAGE_SIZE."""

    @property
    def max_limit(self) -> int:  # read per request, so a test (or an operator) can change the setting
        return settings.TRACER_MAX_PAGE_SIZE
