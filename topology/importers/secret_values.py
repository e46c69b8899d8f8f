"""Telling the user that a dump carried Secret values (which were dropped, never stored).

Why a warning and not silence: the importer has always kept only a Secret's name, type and key names, but a
dump with values has already travelled — from the user's machine to this server, through proxies and logs.
The user should know, and know how to avoid it next time: `scripts/dump-cluster.sh` (or the README's
`kubectl … | jq` pipeline) removes the values before they leave the machine.
"""
from __future__ import annotations

from .load import Document

__all__ = ["secret_value_warning"]

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def _has_values(data: dict) -> bool:
    for section in ("data", "stringData"):
        value = data.get(section)
        if isinstance(value, dict) and any(v not in (None, "") for v in value.values()):
            return True
    meta = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    annotations = meta.get("annotations") if isinstance(meta.get("annotations"), dict) else {}
    return bool(annotations.get(LAST_APPLIED))  # kubectl apply copies the whole Secret, values included, here


def secret_value_warning(docs: list[Document]) -> str | None:
    """A warning naming the Secrets that arrived with values (at most 10 named), or None."""
    names = []
    for doc in docs:
        data = doc.data
        if isinstance(data, dict) and data.get("kind") == "Secret" and _has_values(data):
            meta = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
            names.append(f"{meta.get('namespace') or 'default'}/{meta.get('name')}")
    if not names:
        return None
    shown = ", ".join(str(n)[:120] for n in names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
    return (f"{len(names)} Secret(s) arrived with their values ({shown}): the values were dropped and never "
            "stored — only names, types and key names are kept. They did travel to this server, though: dump with "
            "scripts/dump-cluster.sh, which removes them before they leave your machine.")
