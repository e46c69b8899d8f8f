"""The reference docs as pages: /docs/semantics/ and /docs/contract/ render the repository's Markdown with every
rule anchor, need no login (shared traces link to them too), and link to each other as pages."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def anchors(markdown: str) -> set[str]:
    return set(re.findall(r'<a id="([^"]+)"></a>', markdown))


@pytest.mark.parametrize("name", ["semantics", "contract"])
def test_doc_page_has_every_anchor_without_login(client, db, name):
    source = (REPO / "docs" / f"{name}.md").read_text()
    response = client.get(f"/docs/{name}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert anchors(source) and anchors(source) <= set(re.findall(r'<a id="([^"]+)"></a>', html))
    title = source.splitlines()[0].removeprefix("# ")
    assert f"<h1>{title}</h1>" in html.replace("&quot;", '"')
    assert "<table>" in html  # Markdown rendered, not shown raw
    assert "**" not in html.split('<article class="doc">')[1]


def test_semantics_page_rule_text_and_source():
    """#a13 lands on the rule itself: its title, its text and its source."""
    from django.test import Client

    html = Client().get("/docs/semantics/").content.decode()
    rule = html[html.index('<a id="a13"></a>'):]
    rule = rule[:rule.index("</p>")]
    assert "<strong>A13 SNAT.</strong>" in rule and "masqueraded" in rule and "Source:" in rule


def test_links_between_docs_point_at_the_pages(client, db):
    html = client.get("/docs/contract/").content.decode()
    assert 'href="/docs/semantics/#a20"' in html
    assert 'href="semantics.md' not in html


def test_unknown_doc_is_404(client, db):
    assert client.get("/docs/performance/").status_code == 404
    assert client.get("/docs/..%2Fsettings/").status_code == 404
