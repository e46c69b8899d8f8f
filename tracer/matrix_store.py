"""Matrix results in the database as blocks of columns (`MatrixBlock`; format: tracer/matrix_blocks.py).

Writes: `compute_block` runs the engine for a range of destinations and stores one row. Reads: the
namespace × namespace overview from the blocks' precomputed aggregates, filtered and paged cells (only
the blocks holding the asked destinations are read and decompressed), one cell, and every cell as a
stream (`iter_cells`) for the CLI. A job stored before columns (one `MatrixCell` row per cell) has no
blocks; `has_blocks` tells the callers to read its rows instead.
"""
from __future__ import annotations

import base64
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from tracer import matrix_blocks as mb
from tracer.engine.reach import MatrixPlan, cell_request
from tracer.engine.reach_columns import column_evaluator
from tracer.models import JobOutput, MatrixBlock

__all__ = ["compute_block", "has_blocks", "overview", "prepare_overview", "Filters", "query_cells", "get_cell", "iter_cells",
           "totals", "stored_bytes", "pair_grid", "DEFAULT_PAGE_SIZE",
           "namespace_groups", "GROUP_ABOVE"]

DEFAULT_PAGE_SIZE = 100


def compute_block(model, plan: MatrixPlan, job_id: int, index: int, start: int, end: int,
                  assumptions=None, tick=None) -> int:
    """Compute destinations [start, end) for every source class and store them as one block. → cells.
    `tick` is called after each column (the job's heartbeat; it raises when the job was cancelled)."""
    ev = column_evaluator(model, assumptions, plan)
    cols = []
    for _, col in ev.columns(start, min(end, len(plan.destinations))):
        cols.append(col)
        if tick is not None:
            tick()
    data, slots, _ = mb.encode(c.codes for c in cols)
    names, src_ns, dst_ns = _axes(plan)
    book = ev.book.to_list()
    cells = mb.decode(data, slots, len(plan.sources)) if cols else np.zeros((0, len(plan.sources)), np.uint8)
    aggregates = mb.block_aggregates(cells, src_ns, dst_ns[start:end], len(names))
    MatrixBlock.objects.bulk_create([MatrixBlock(
        job_id=job_id, index=index, start=start, end=end, sources=len(plan.sources), data=data, slots=slots,
        book=book, aggregates=aggregates, traced=sum(c.traced for c in cols))], ignore_conflicts=True)
    return len(cols) * len(plan.sources)


_AXES: dict[int, tuple] = {}


def _axes(plan: MatrixPlan):
    got = _AXES.get(id(plan))
    if got is None or got[0] is not plan:
        if len(_AXES) > 8:
            _AXES.clear()
        got = _AXES[id(plan)] = (plan, *mb.namespace_axes(plan))
    return got[1:]


def has_blocks(job) -> bool:
    return MatrixBlock.objects.filter(job_id=job.pk).exists()


def stored_bytes(job) -> int:
    from django.db.models import Sum
    from django.db.models.functions import Length

    return int(MatrixBlock.objects.filter(job_id=job.pk).aggregate(n=Sum(Length("data")))["n"] or 0)


def _aggregate_rows(job, plan: MatrixPlan):
    names = _axes(plan)[0]
    blocks = MatrixBlock.objects.filter(job_id=job.pk).values_list("aggregates", "book")
    return (*mb.aggregate_rows(blocks, len(names)), names)


def totals(job, plan: MatrixPlan) -> tuple[dict, dict, int, int]:
    """(cells per verdict, cells per reason, traced cells, stored bytes) over the whole matrix."""
    verdicts, reasons = mb.code_totals(MatrixBlock.objects.filter(job_id=job.pk).values_list("aggregates", "book"))
    traced = sum(MatrixBlock.objects.filter(job_id=job.pk).values_list("traced", flat=True))
    return verdicts, reasons, traced, stored_bytes(job)


GROUP_ABOVE = 40  # namespaces: past this the overview answers group × group (contiguous runs of sorted names)
MAX_GROUPS = 40


def namespace_groups(names: list[str]) -> list[tuple[str, int, int]]:
    """[(label "first..last", start, end)] over the sorted `names`: at most MAX_GROUPS contiguous runs of
    equal size; none when there are GROUP_ABOVE namespaces or fewer (the overview stays namespace × namespace)."""
    if len(names) <= GROUP_ABOVE:
        return []
    size = -(-len(names) // MAX_GROUPS)
    return [(f"{names[i]}..{names[min(i + size, len(names)) - 1]}", i, min(i + size, len(names)))
            for i in range(0, len(names), size)]


def prepare_overview(job, plan: MatrixPlan) -> None:
    """Merge the blocks' namespace-pair counts when the job finishes (kept with the job), so the first read
    of the overview pays only the numpy sums, not the merge over every block."""
    _counts(job, plan)


def _pack(rows: np.ndarray) -> str:
    return base64.b64encode(zlib.compress(rows.astype(np.int64).tobytes(), 1)).decode()


def _unpack(raw: str) -> np.ndarray:
    if not raw:
        return np.zeros((0, 4), dtype=np.int64)
    return np.frombuffer(zlib.decompress(base64.b64decode(raw)), dtype=np.int64).reshape(-1, 4)


_COUNTS: dict[int, tuple] = {}


def _counts(job, plan: MatrixPlan) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, list]:
    """(namespace names, source classes per namespace, destinations per namespace, rows int64[k, 4] of
    (src ns, dst ns, code, cells), entries [(verdict, reason)]). Merged from the blocks once and kept with
    the job as packed arrays (JobOutput "overview_counts", a few bytes per pair instead of a JSON entry)."""
    got = _COUNTS.get(job.pk)
    if got is not None and got[0] is plan:
        return got[1:]
    names, src_ns, dst_ns = _axes(plan)
    stored = JobOutput.objects.filter(job_id=job.pk, name="overview_counts").values_list("data", flat=True).first()
    if stored is not None:
        rows, entries = _unpack(stored["rows"]), [tuple(e) for e in stored["entries"]]
    else:
        rows, entries, _ = _aggregate_rows(job, plan)
        JobOutput.objects.bulk_create([JobOutput(job_id=job.pk, name="overview_counts", data={
            "rows": _pack(rows), "entries": [list(e) for e in entries]})], ignore_conflicts=True)
    got = (names, np.bincount(src_ns, minlength=len(names)), np.bincount(dst_ns, minlength=len(names)), rows, entries)
    if len(_COUNTS) > 4:
        _COUNTS.clear()
    _COUNTS[job.pk] = (plan, *got)
    return got


def _merge(rows: np.ndarray, n_codes: int, to_s: np.ndarray, to_d: np.ndarray, n_d: int) -> np.ndarray:
    """Rows re-keyed through index maps `to_s`/`to_d` (−1 drops a row) and summed per (s, d, code)."""
    s, d = to_s[rows[:, 0]], to_d[rows[:, 1]]
    keep = (s >= 0) & (d >= 0)
    if not keep.any():
        return np.zeros((0, 4), dtype=np.int64)
    keys = (s[keep] * n_d + d[keep]) * max(1, n_codes) + rows[keep, 2]
    uniq, inverse = np.unique(keys, return_inverse=True)
    sums = np.bincount(inverse, weights=rows[keep, 3]).astype(np.int64)
    code, pair = uniq % max(1, n_codes), uniq // max(1, n_codes)
    return np.stack([pair // n_d, pair % n_d, code, sums], axis=1)


def _group_of(groups, label: str, axis: str) -> tuple[int, int]:
    for name, start, end in groups:
        if name == label:
            return start, end
    raise LookupError(f"`{axis}_group` {label!r} is not one of the overview's groups")


MAX_NAMESPACES_ASKED = 200  # `namespaces=`: at most 40,000 pairs in one answer


def overview(job, plan: MatrixPlan, source_group: str = "", destination_group: str = "",
             namespaces: list[str] | None = None) -> dict:
    """Namespace × namespace: per pair the cell counts per verdict and reason, plus the namespaces' sizes.
    Past GROUP_ABOVE namespaces the pairs are group × group (`groups`, `grouped: true`); naming a
    `source_group` and `destination_group` answers that group pair's namespace × namespace instead, and
    `namespaces` the pairs among those namespaces (what a map that shows them draws), grouped or not.
    Raises LookupError for a group that is not one of the overview's."""
    names, src_k, dst_m, rows, entries = _counts(job, plan)
    groups = namespace_groups(names)
    data: dict = {"namespaces": [{"name": n, "source_classes": int(k), "destinations": int(m)}
                                 for n, k, m in zip(names, src_k.tolist(), dst_m.tolist(), strict=True)]}
    if namespaces:
        index = {n: i for i, n in enumerate(names)}
        keep = np.full(len(names), -1, dtype=np.int64)
        for n in namespaces[:MAX_NAMESPACES_ASKED]:
            if n in index:  # a namespace with neither sources nor destinations has no pairs: not an error
                keep[index[n]] = index[n]
        data.update(only_namespaces=sorted(n for n in namespaces[:MAX_NAMESPACES_ASKED] if n in index),
                    pairs=mb.summarise_pairs(_merge(rows, len(entries), keep, keep, len(names)), entries, names))
        return data
    if not groups:
        if source_group or destination_group:
            raise LookupError("this overview has no groups (it is namespace × namespace)")
        data["pairs"] = mb.summarise_pairs(rows, entries, names)
        return data
    data["grouped"] = True
    data["groups"] = [{"name": g, "first": names[a], "last": names[b - 1], "namespaces": b - a,
                       "source_classes": int(src_k[a:b].sum()), "destinations": int(dst_m[a:b].sum())}
                      for g, a, b in groups]
    if source_group or destination_group:
        (sa, sb), (da, db) = _group_of(groups, source_group, "source"), _group_of(groups, destination_group,
                                                                                 "destination")
        to_s = np.full(len(names), -1, dtype=np.int64)
        to_s[sa:sb] = np.arange(sb - sa)
        to_d = np.full(len(names), -1, dtype=np.int64)
        to_d[da:db] = np.arange(db - da)
        merged = _merge(rows, len(entries), to_s, to_d, db - da)
        merged[:, 0] += sa
        merged[:, 1] += da
        data.update(source_group=source_group, destination_group=destination_group,
                    pairs=mb.summarise_pairs(merged, entries, names))
        return data
    of = np.zeros(len(names), dtype=np.int64)
    for k, (_, a, b) in enumerate(groups):
        of[a:b] = k
    merged = _merge(rows, len(entries), of, of, len(groups))
    labels = [g for g, _, _ in groups]
    data["pairs"] = [{"source_group": p.pop("source_namespace"), "destination_group": p.pop("destination_namespace"),
                      **p} for p in mb.summarise_pairs(merged, entries, labels)]
    return data


@dataclass
class Filters:
    """What the cell list may be narrowed to; empty means no restriction."""

    verdicts: set[str] = field(default_factory=set)
    reasons: set[str] = field(default_factory=set)
    source_namespace: str = ""
    destination_namespace: str = ""
    source: str = ""  # substring of the source class's label or of a member pod name
    destination: str = ""  # substring of the destination's key, label or trace target

    def sources(self, plan: MatrixPlan) -> np.ndarray:
        text = self.source.lower()
        return np.array([i for i, s in enumerate(plan.sources)
                         if (not self.source_namespace or s.namespace == self.source_namespace)
                         and (not text or text in s.label.lower() or any(text in p.lower() for p in s.pods))],
                        dtype=np.int64)

    def destinations(self, plan: MatrixPlan) -> np.ndarray:
        text = self.destination.lower()
        return np.array([j for j, d in enumerate(plan.destinations)
                         if (not self.destination_namespace or d.namespace == self.destination_namespace)
                         and (not text or text in d.key.lower() or text in d.label.lower() or text in d.to.lower())],
                        dtype=np.int64)

    def allowed(self, entries: list) -> np.ndarray:
        return np.array([(not self.verdicts or v in self.verdicts) and (not self.reasons or (r or "") in self.reasons)
                         for v, r in entries], dtype=bool)


def _columns(job, dests: np.ndarray, n_sources: int) -> tuple[np.ndarray, list]:
    """Cells of the destinations `dests` (sorted): array (len(dests), sources) of codes into `entries`."""
    out = np.zeros((len(dests), n_sources), dtype=np.uint16)
    entries: list = []
    into: dict = {}
    if len(dests) == 0:
        return out, entries
    lo, hi = int(dests[0]), int(dests[-1])
    for b in MatrixBlock.objects.filter(job_id=job.pk, start__lte=hi, end__gt=lo).order_by("start"):
        sel = np.flatnonzero((dests >= b.start) & (dests < b.end))
        if len(sel) == 0:
            continue
        slots = [b.slots[int(dests[k]) - b.start] for k in sel]
        cells = mb.decode(b.data, slots, b.sources)
        out[sel] = mb.translate(cells, b.book, into, entries)
    return out, entries


def _cell(plan: MatrixPlan, i: int, j: int, entry) -> dict:
    verdict, reason = entry
    return {"id": i * len(plan.destinations) + j, "source": i, "destination": j, "verdict": verdict,
            "reason": reason, "request": cell_request(plan.sources[i], plan.destinations[j])}


def query_cells(job, plan: MatrixPlan, filters: Filters, offset: int = 0, limit: int = DEFAULT_PAGE_SIZE, *,
                sources: list[int] | None = None, destinations: list[int] | None = None) -> tuple[int, list[dict]]:
    """(how many cells match, the page [offset, offset+limit)) in (source, destination) order.
    `sources`/`destinations` restrict to those indexes (on top of the filters)."""
    src, dst = filters.sources(plan), filters.destinations(plan)
    if sources is not None:
        src = np.intersect1d(src, np.asarray(sources, dtype=np.int64))
    if destinations is not None:
        dst = np.intersect1d(dst, np.asarray(destinations, dtype=np.int64))
    limit = max(1, limit)
    if len(src) == 0 or len(dst) == 0:
        return 0, []
    codes, entries = _columns(job, dst, len(plan.sources))
    allowed = filters.allowed(entries)
    mask = allowed[codes[:, src]].T if len(entries) else np.zeros((len(src), len(dst)), dtype=bool)
    per_row = mask.sum(axis=1)
    total = int(per_row.sum())
    out: list[dict] = []
    if offset >= total:
        return total, out
    ends = np.cumsum(per_row)
    row = int(np.searchsorted(ends, offset, side="right"))
    skip = offset - (int(ends[row - 1]) if row else 0)
    while row < len(src) and len(out) < limit:
        hits = np.flatnonzero(mask[row])[skip:]
        for k in hits[:limit - len(out)]:
            out.append(_cell(plan, int(src[row]), int(dst[k]), entries[codes[k, src[row]]]))
        row, skip = row + 1, 0
    return total, out


def pair_grid(job, plan: MatrixPlan, source_namespace: str, destination_namespace: str, offset: int = 0,
              limit: int = 0, max_cells: int = 200_000) -> dict:
    """One namespace pair as a grid: its source classes (rows [offset, offset+limit)) × its destinations,
    each cell a code into `codes` ([verdict, reason]). Rows are capped so a grid stays under `max_cells`."""
    src = Filters(source_namespace=source_namespace).sources(plan)
    dst = Filters(destination_namespace=destination_namespace).destinations(plan)
    per = max(1, max_cells // max(1, len(dst)))
    limit = min(limit or per, per)
    rows = src[offset:offset + limit]
    codes, entries = _columns(job, dst, len(plan.sources))
    return {
        "total_sources": int(len(src)), "offset": offset, "limit": limit,
        "sources": [{"index": int(i), "key": plan.sources[i].key, "label": plan.sources[i].label,
                     "size": plan.sources[i].size, "representative": plan.sources[i].representative} for i in rows],
        "destinations": [{"index": int(j), "key": plan.destinations[j].key, "label": plan.destinations[j].label,
                          "kind": plan.destinations[j].kind, "size": plan.destinations[j].size} for j in dst],
        "codes": [[v, r] for v, r in entries],
        "cells": codes[:, rows].T.tolist() if len(rows) and len(dst) else [[] for _ in rows],
    }


def get_cell(job, plan: MatrixPlan, cell_id: int) -> dict | None:
    n_dest = len(plan.destinations)
    if cell_id < 0 or n_dest == 0 or cell_id >= len(plan.sources) * n_dest:
        return None
    i, j = divmod(cell_id, n_dest)
    codes, entries = _columns(job, np.array([j], dtype=np.int64), len(plan.sources))
    if not entries:
        return None
    return _cell(plan, i, j, entries[codes[0, i]])


ORDERED_UP_TO = 5_000_000  # cells: up to this many, `iter_cells` keeps (source, destination) order


def iter_cells(job, plan: MatrixPlan) -> Iterator[dict]:
    """Every cell as the contract's cell dict. Up to ORDERED_UP_TO cells in (source, destination) order
    (all columns decoded at once, a byte per cell); past that block after block, destination-major within a
    block, so memory stays one block however large the matrix."""
    n_src, n_dst = len(plan.sources), len(plan.destinations)
    if n_src * n_dst <= ORDERED_UP_TO:
        codes, entries = _columns(job, np.arange(n_dst, dtype=np.int64), n_src)
        for i in range(n_src):
            row = codes[:, i].tolist()
            for j in range(n_dst):
                yield _cell(plan, i, j, entries[row[j]])
        return
    for b in MatrixBlock.objects.filter(job_id=job.pk).order_by("start").iterator(chunk_size=1):
        cells = mb.decode(b.data, b.slots, b.sources)
        book = [tuple(e) for e in b.book]
        for k in range(b.end - b.start):
            col = cells[k].tolist()
            for i in range(b.sources):
                yield _cell(plan, i, b.start + k, book[col[i]])
