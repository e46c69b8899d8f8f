"""Every rule id the product prints is explained in docs/semantics.md, and the text output says where.

The engine cites rules by id in hop details and assumptions ("… masqueraded (A13)"). A reader follows the id to
docs/semantics.md#a13 (the text output's `rules:` block) or /docs/semantics/#a13 (the UI's links), so each id
the engine's strings contain must have that anchor.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.fixtures import CLUSTER_B
from topology.importers import build_objects
from topology.importers.load import load_documents
from tracer.engine.cluster import ClusterModel
from tracer.engine.flow import make_flow
from tracer.engine.render import render_text
from tracer.engine.rules import cited_rules, rule_anchor, rule_ids
from tracer.engine.trace import trace

REPO = Path(__file__).resolve().parents[2]
SEMANTICS = REPO / "docs" / "semantics.md"
ANCHORS = set(re.findall(r'<a id="([^"]+)"></a>', SEMANTICS.read_text()))
# Where explanation strings are written: the engine, the importer's warnings, the API and the pages.
SOURCES = sorted(p for app in ("tracer", "topology", "frontend") for p in (REPO / app).rglob("*.py")
                 if "migrations" not in p.parts)
ANY_ID = re.compile(r"(?<![\w.:-])([A-K][1-9]\d?)(?![\w.:-])")


def printable_strings(path: Path) -> list[str]:
    """String literals of a module, f-string pieces included, docstrings and comments excluded."""
    tree = ast.parse(path.read_text())
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    return [node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings]


def engine_rule_ids() -> dict[str, set[str]]:
    """rule id → the modules whose strings cite it."""
    found: dict[str, set[str]] = {}
    for path in SOURCES:
        for text in printable_strings(path):
            for rule in ANY_ID.findall(text):
                found.setdefault(rule, set()).add(path.name)
    return found


def test_every_rule_id_the_engine_prints_has_an_anchor():
    cited = engine_rule_ids()
    assert len(cited) >= 20, sorted(cited)  # the scan does see the engine's citations (25 ids today)
    missing = {rule: sorted(mods) for rule, mods in cited.items() if rule.lower() not in ANCHORS}
    assert not missing, f"rule ids printed but not explained in docs/semantics.md: {missing}"


def test_every_anchor_is_unique_and_every_rule_heading_has_one():
    text = SEMANTICS.read_text()
    ids = re.findall(r'<a id="([^"]+)"></a>', text)
    assert len(ids) == len(set(ids))
    headed = re.findall(r'<a id="([^"]+)"></a>\*\*([A-K]\d+) ', text)
    assert headed and all(anchor == rule.lower() for anchor, rule in headed)
    assert {"a1", "a22", "b9", "d11", "e11", "h6", "i3", "j3", "k7"} <= ANCHORS


@pytest.mark.parametrize(("text", "ids"), [
    ("the backend sees the node IP (A13)", ["A13"]),
    ("kube-proxy mode (A12 / A20); controller (D9, impl)", ["A12", "A20", "D9"]),
    ("first ready endpoint (pod blog/mysql-0; B2/B5)", ["B2", "B5"]),
    ("equal weight per healthy node (A15; impl: cloud LB)", ["A15"]),
    ("node A1 at (10.0.0.1) or (fd00::A1) and (v1.B2)", []),  # ids count only when cited in parentheses
])
def test_rule_ids_are_read_only_where_cited(text, ids):
    assert rule_ids(text) == ids


def test_cited_rules_are_unique_in_document_order():
    assert cited_rules(["(E11) (A13)", "(A2) (A13)"]) == ["A2", "A13", "E11"]
    assert rule_anchor("A13") == "docs/semantics.md#a13"


def test_text_output_lists_each_cited_rule_with_its_anchor():
    """An Ingress request on the example cluster: the hops cite SNAT (A13) and policy isolation (E2)."""
    model = ClusterModel(build_objects(load_documents(CLUSTER_B)).objects)
    result = trace(model, make_flow("external:198.51.100.7", "url:http://blog.example.org/hello"))
    text = render_text(result)
    body, footer = text.split("\nrules:\n")
    cited = cited_rules([h.detail for p in result.paths for h in p.hops] + list(result.assumptions))
    assert {"A13", "E2"} <= set(cited)
    assert footer.splitlines() == [f"  {r:<4} docs/semantics.md#{r.lower()}" for r in cited]
    assert all(f"({r})" in body or r in body for r in cited)
    assert all(r.lower() in ANCHORS for r in cited)
