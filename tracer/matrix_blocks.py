"""How a matrix result is stored: blocks of destination columns, one byte per cell, compressed.

Why not a row per cell: 10,000 pods give millions of cells and the ORM spent more time writing rows than
the engine computing them (and 861 MB of SQLite). A column — one destination, one byte per source class —
is what the engine produces anyway (`reach_columns`), so a block of consecutive destinations is stored as
one zlib-compressed `uint8` array with:
- `slots`: for each destination of the block, which stored column holds its cells (equal columns are stored
  once — destinations no policy, selector or traffic policy tells apart share one);
- `book`: the block's code book, `[verdict, reason]` per code (the five policy outcomes first, then any
  other outcome a full trace returned; blocks written by different workers may differ past those five);
- `aggregates`: cell counts per (source namespace, destination namespace, code), so the namespace ×
  namespace overview never reads a column.

Everything here is pure (numpy, zlib): tracer/matrix_store.py reads and writes the rows.
"""
from __future__ import annotations

import zlib
from collections.abc import Iterable

import numpy as np

__all__ = ["encode", "decode", "namespace_axes", "block_aggregates", "merge_aggregates", "translate",
           "summarise_pairs", "VERDICT_ORDER"]

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


def block_aggregates(cells: np.ndarray, src_ns: np.ndarray, dst_ns: np.ndarray, names: list[str],
                     book: list) -> dict[str, dict[str, int]]:
    """{"SRC_NS\\tDST_NS": {"verdict\\treason": cells}} for one block (`dst_ns`: the block's destinations)."""
    out: dict[str, dict[str, int]] = {}
    n = len(names)
    for d in np.unique(dst_ns):
        sub = cells[dst_ns == d]
        keys = (src_ns[None, :] * 256 + sub.astype(np.int64)).ravel()
        counts = np.bincount(keys, minlength=n * 256).reshape(n, 256)
        for s, code in zip(*np.nonzero(counts), strict=True):
            verdict, reason = book[code]
            pair = out.setdefault(f"{names[s]}\t{names[d]}", {})
            k = f"{verdict}\t{reason or ''}"
            pair[k] = pair.get(k, 0) + int(counts[s, code])
    return out


def merge_aggregates(parts: Iterable[dict]) -> dict[str, dict[str, int]]:
    total: dict[str, dict[str, int]] = {}
    for part in parts:
        for pair, counts in part.items():
            into = total.setdefault(pair, {})
            for k, v in counts.items():
                into[k] = into.get(k, 0) + v
    return total


def summarise_pairs(aggregates: dict[str, dict[str, int]]) -> list[dict]:
    """The namespace × namespace overview: one entry per pair with cells, per-verdict and per-reason counts."""
    out = []
    for pair in sorted(aggregates):
        src, dst = pair.split("\t")
        verdicts = dict.fromkeys(VERDICT_ORDER, 0)
        reasons: dict[str, int] = {}
        for k, v in aggregates[pair].items():
            verdict, reason = k.split("\t", 1)
            verdicts[verdict] = verdicts.get(verdict, 0) + v
            if reason and verdict != "error":
                reasons[reason] = reasons.get(reason, 0) + v
        out.append({"source_namespace": src, "destination_namespace": dst, "cells": sum(verdicts.values()),
                    "verdicts": verdicts, "reasons": dict(sorted(reasons.items()))})
    return out


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
