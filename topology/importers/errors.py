"""The one error the importer raises for bad input.

Why a structured error: a user importing 40 files with 3,000 documents needs to know exactly
where to look — which file, which document (1-based, counting `---` separators, and the item
of a `kind: List`), which object, which field, and what is wrong with it.

Messages never contain a Secret's data: the Secret parser only ever looks at key names.
"""
from __future__ import annotations

from tracer.engine.errors import TracerError

__all__ = ["ManifestError"]

# Every part of a message is bounded, whatever a parser quoted into it: a 10 MB host name or label in a
# manifest must not come back as a 10 MB error (the 400 would be a resource bomb of its own).
MAX_PROBLEM = 600
MAX_PART = 300


def _bounded(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class ManifestError(TracerError):
    """Invalid manifest input. `str()` = "FILE document N (Kind ns/name): field: problem"."""

    def __init__(self, problem: str, *, file: str = "", document: int | None = None, item: int | None = None,
                 kind: str = "", namespace: str = "", name: str = "", field: str = ""):
        self.problem = _bounded(str(problem), MAX_PROBLEM)
        self.file = _bounded(str(file), MAX_PART)
        self.document = document
        self.item = item
        self.kind = _bounded(str(kind), MAX_PART)
        self.namespace = _bounded(str(namespace), MAX_PART)
        self.name = _bounded(str(name), MAX_PART)
        self.field = _bounded(str(field), MAX_PART)
        super().__init__(self._format())

    @property
    def object(self) -> str:
        """"Kind ns/name", "Kind name" (cluster-scoped) or "" when the kind is not known yet."""
        if not self.kind:
            return ""
        if not self.name:
            return self.kind
        return f"{self.kind} {self.namespace}/{self.name}" if self.namespace else f"{self.kind} {self.name}"

    def _format(self) -> str:
        where = self.file or "<input>"
        if self.document is not None:
            where += f" document {self.document}"
            if self.item is not None:
                where += f" items[{self.item}]"
        if self.object:
            where += f" ({self.object})"
        parts = [where]
        if self.field:
            parts.append(self.field)
        parts.append(self.problem)
        return ": ".join(parts)

    def to_dict(self) -> dict:
        return {"file": self.file, "document": self.document, "item": self.item, "kind": self.kind,
                "namespace": self.namespace, "name": self.name, "field": self.field, "problem": self.problem,
                "message": str(self)}
