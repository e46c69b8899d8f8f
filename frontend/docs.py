"""The project's reference docs (docs/semantics.md, docs/contract.md) as HTML pages: /docs/semantics/, /docs/contract/.

Why served: hop explanations cite rules by id ("(A13)") and the UI links each id to /docs/semantics/#a13, so a
reader of a trace — also an anonymous reader of a shared one — lands on the rule without leaving the tool or
needing the repository. The Markdown files stay the single source; they carry explicit `<a id>` anchors, which
pass through (the files are the repository's own, trusted content). Rendered once per file version (mtime).
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from markdown_it import MarkdownIt

DOCS = {"semantics": "semantics.md", "contract": "contract.md"}
# Links between the docs (`semantics.md#a13`, `contract.md`) point at their served pages.
_DOC_LINK = re.compile(r'href="(?:docs/)?(' + "|".join(re.escape(f) for f in DOCS.values()) + r')(#[^"]*)?"')
_PAGE_OF = {f: name for name, f in DOCS.items()}


def doc_path(name: str) -> Path:
    return Path(settings.BASE_DIR) / "docs" / DOCS[name]


def render_doc(name: str) -> tuple[str, str]:
    """(title, HTML body) of docs/<name>.md; KeyError for a name that is not served."""
    path = doc_path(name)
    return _render(str(path), path.stat().st_mtime_ns)


@lru_cache(maxsize=8)
def _render(path: str, _mtime: int) -> tuple[str, str]:
    text = Path(path).read_text(encoding="utf-8")
    html = MarkdownIt("commonmark", {"html": True}).enable("table").render(text)
    html = _DOC_LINK.sub(lambda m: f'href="/docs/{_PAGE_OF[m.group(1)]}/{m.group(2) or ""}"', html)
    title = next((line[2:].strip() for line in text.splitlines() if line.startswith("# ")), Path(path).stem)
    return title, html
