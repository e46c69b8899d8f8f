"""How a matrix result is stored: blocks of destination columns, one byte per cell, compressed.

Why not a row per cell: 10,000 pods give millions of cells and the ORM spent more time writing rows than
the engine computing them (and 861 MB of SQLite). A column — one destination, one byte per source class —
is what the engine produces anyway (`reach_columns`), so a block of consecutive destinations is stored as
one zlib-compressed `uint8` array with:
- `slots`: for each destination of the block, which stored column holds its cells (equal columns are stored
  once — destinations no policy, selector or traffic policy tells apart share one);
- `book`: the block's code book, `[verdict, reason]` per code (the five policy outcomes first, then any
  other outcome a full trace returned; blocks written by different workers may differ past those five);
- `aggregates`: cell counts per (source namespace, destination namespace, code) as packed rows, so the
  namespace × namespace overview never reads a column.

Everything here is pure (numpy, zlib): tracer/matrix_store.py reads and writes the rows.
"""
from __future__ import annotations

import base64
import zlib
from collections.abc import Iterable

import numpy as np

__all__ = ["encode", "decode", "namespace_axes", "block_aggregates", "aggregate_rows", "translate",
           "summarise_pairs", "totals", "code_totals", "VERDICT_ORDER"]

VERDICT_ORDER = ("delivered", "partial", "dropped", "error")


def encode(columns: Iterable[np.ndarray]) -> tuple[bytes, list[int], int]:
    """(compressed unique columns, slot of each destination, how many unique columns)."""
    unique: list[np.ndarray] = []
    seen: dict[bytes, int] = {}
    slots: list[int] = []
    for codes in columns:
        raw = np.ascontiguousarray(codes, dtype=np.uint8).tobytes()
        k = seen.get(raw)
        if k is None:
            k = seen[raw] = len(unique)
            unique.append(codes)
        slots.append(k)
    data = zlib.compress(np.stack(unique).astype(np.uint8).tobytes(), 1) if unique else b""
    return data, slots, len(unique)


def decode(data: bytes, slots: list[int], n_sources: int) -> np.ndarray:
    """The block's cells as an array (destinations of the block, sources)."""
    if not slots:
        return np.zeros((0, n_sources), dtype=np.uint8)
    unique = np.frombuffer(zlib.decompress(bytes(data)), dtype=np.uint8).reshape(-1, n_sources)
    return unique[np.asarray(slots, dtype=np.int64)]


def namespace_axes(plan) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(namespace names, namespace index of each source, of each destination)."""
    names = sorted({s.namespace for s in plan.sources} | {d.namespace for d in plan.destinations})
    pos = {n: i for i, n in enumerate(names)}
    return (names, np.array([pos[s.namespace] for s in plan.sources], dtype=np.int64),
            np.array([pos[d.namespace] for d in plan.destinations], dtype=np.int64))


def block_aggregates(cells: np.ndarray, src_ns: np.ndarray, dst_ns: np.ndarray, n_ns: int) -> dict:
    """Cell counts per (source namespace, destination namespace, code) of one block (`dst_ns`: the block's
    destinations), as {"rows": base64(zlib(int64[k, 4]))}: rows of (source ns, destination ns, code, cells)
    with namespaces indexing `namespace_axes(plan)[0]` and codes the block's book."""
    if cells.size == 0:
        return {"rows": ""}
    keys = ((dst_ns[:, None] * n_ns + src_ns[None, :]) * 256 + cells.astype(np.int64)).ravel()
    uniq, counts = np.unique(keys, return_counts=True)
    code = uniq % 256
    pair = uniq // 256
    rows = np.stack([pair % n_ns, pair // n_ns, code, counts], axis=1).astype(np.int64)
    return {"rows": base64.b64encode(zlib.compress(rows.tobytes(), 1)).decode()}


def _block_rows(agg) -> np.ndarray:
    raw = agg.get("rows") if isinstance(agg, dict) else None
    if not raw:
        return np.zeros((0, 4), dtype=np.int64)
    return np.frombuffer(zlib.decompress(base64.b64decode(raw)), dtype=np.int64).reshape(-1, 4)


def code_totals(blocks: Iterable[tuple[dict, list]]) -> tuple[dict, dict]:
    """(cells per verdict, cells per reason) summed over blocks' aggregates (no merge per pair needed)."""
    verdicts: dict[str, int] = {}
    reasons: dict[str, int] = {}
    for agg, book in blocks:
        rows = _block_rows(agg)
        if not len(rows):
            continue
        per_code = np.bincount(rows[:, 2], weights=rows[:, 3], minlength=len(book)).astype(np.int64)
        for (verdict, reason), n in zip(book, per_code.tolist(), strict=False):
            if n:
                verdicts[verdict] = verdicts.get(verdict, 0) + n
                if reason and verdict != "error":
                    reasons[reason] = reasons.get(reason, 0) + n
    return verdicts, reasons


def aggregate_rows(blocks: Iterable[tuple[dict, list]], n_ns: int) -> tuple[np.ndarray, list]:
    """All blocks' aggregate rows re-coded into one code book: (int64[k, 4] of (src ns, dst ns, code, cells)
    summed per key, entries [(verdict, reason)])."""
    entries: list = []
    into: dict = {}
    parts = []
    for agg, book in blocks:
        rows = _block_rows(agg).copy()
        if not len(rows):
            continue
        table = np.zeros(256, dtype=np.int64)
        for code, (verdict, reason) in enumerate(book):
            key = (verdict, reason or None)
            if key not in into:
                into[key] = len(entries)
                entries.append(key)
            table[code] = into[key]
        rows[:, 2] = table[rows[:, 2]]
        parts.append(rows)
    if not parts:
        return np.zeros((0, 4), dtype=np.int64), entries
    rows = np.concatenate(parts)
    keys = (rows[:, 0] * n_ns + rows[:, 1]) * 256 + rows[:, 2]
    uniq, inverse = np.unique(keys, return_inverse=True)
    sums = np.bincount(inverse, weights=rows[:, 3]).astype(np.int64)
    code = uniq % 256
    pair = uniq // 256
    return np.stack([pair // n_ns, pair % n_ns, code, sums], axis=1), entries


def summarise_pairs(rows: np.ndarray, entries: list, names: list[str]) -> list[dict]:
    """The namespace × namespace overview: one entry per pair with cells, per-verdict and per-reason counts."""
    out: dict[tuple[int, int], dict] = {}
    for s, d, code, n in rows.tolist():
        pair = out.get((s, d))
        if pair is None:
            pair = out[(s, d)] = {"source_namespace": names[s], "destination_namespace": names[d], "cells": 0,
                                  "verdicts": dict.fromkeys(VERDICT_ORDER, 0), "reasons": {}}
        verdict, reason = entries[code]
        pair["cells"] += n
        pair["verdicts"][verdict] = pair["verdicts"].get(verdict, 0) + n
        if reason and verdict != "error":
            pair["reasons"][reason] = pair["reasons"].get(reason, 0) + n
    return [out[k] for k in sorted(out)]


def totals(rows: np.ndarray, entries: list) -> tuple[dict, dict]:
    """(cells per verdict, cells per reason) over aggregate rows."""
    per_code = np.bincount(rows[:, 2], weights=rows[:, 3], minlength=len(entries)).astype(np.int64) \
        if len(rows) else np.zeros(len(entries), dtype=np.int64)
    verdicts: dict[str, int] = {}
    reasons: dict[str, int] = {}
    for (verdict, reason), n in zip(entries, per_code.tolist(), strict=True):
        if n:
            verdicts[verdict] = verdicts.get(verdict, 0) + n
            if reason and verdict != "error":
                reasons[reason] = reasons.get(reason, 0) + n
    return verdicts, reasons


def translate(cells: np.ndarray, book: list, into: dict[tuple, int], entries: list) -> np.ndarray:
    """Re-code a block's cells into a shared code book (`into`: (verdict, reason) → code, grown here)."""
    table = np.zeros(256, dtype=np.uint16)
    for code, (verdict, reason) in enumerate(book):
        key = (verdict, reason or None)
        if key not in into:
            into[key] = len(entries)
            entries.append(key)
        table[code] = into[key]
    return table[cells]
