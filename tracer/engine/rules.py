"""Rule ids cited in a trace ("(A13)") and where each is explained: docs/semantics.md#<id>.

Why one place: the text output, the UI and the tests must agree on what counts as a citation. Hop details
and assumptions cite the rule they applied by its id inside parentheses, alone or with others —
"(A13)", "(A12 / A20)", "(D9, impl)", "(A15; impl: …)" — so an id is recognised only inside a
parenthesised group, never in object names or addresses elsewhere in the text.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

SEMANTICS_DOC = "docs/semantics.md"
_GROUP = re.compile(r"\(([^()]*)\)")
_ID = re.compile(r"(?<![\w.:-])([A-K][1-9]\d?)(?![\w.:-])")


def rule_ids(text: str) -> list[str]:
    """The rule ids `text` cites, in order of first appearance."""
    seen: dict[str, None] = {}
    for group in _GROUP.findall(text or ""):
        for rule in _ID.findall(group):
            seen.setdefault(rule, None)
    return list(seen)


def cited_rules(texts: Iterable[str]) -> list[str]:
    """Every rule id cited in `texts`, once each, in the document's order (A1, A2, …, A13, B1, …)."""
    found = {rule for text in texts for rule in rule_ids(text)}
    return sorted(found, key=lambda r: (r[0], int(r[1:])))


def rule_anchor(rule: str) -> str:
    """Where rule `rule` is explained, relative to the repository root: docs/semantics.md#a13."""
    return f"{SEMANTICS_DOC}#{rule.lower()}"
