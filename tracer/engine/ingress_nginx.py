"""ingress-nginx annotations that change which backend answers (semantics D12, D13).

D12 Canary (`nginx.ingress.kubernetes.io/canary: "true"`): a canary Ingress is never a route of its own; it
shadows the primary Ingress with the same host and path and takes requests from it: by header
(`canary-by-header`: the value "always" sends to the canary, "never" to the primary; with
`canary-by-header-value` only that value, with `canary-by-header-pattern` a matching value, sends to the
canary), else by cookie (`canary-by-cookie`: "always" / "never"), else by weight (`canary-weight` out of
`canary-weight-total`, default 100). Header beats cookie beats weight. A canary without a primary for its
host/path is ignored. Source: ingress-nginx docs user-guide/nginx-configuration/annotations.md#canary.

D13 Regular-expression paths (`use-regex: "true"`, implied by `rewrite-target`): on a host where any Ingress
sets it, every path of that host (across Ingresses) is a case-insensitive regular expression anchored at the
start (`location ~* "^PATH"`); Exact paths stay exact and are tried first; the regex paths are tried longest
first and the first match wins. `rewrite-target` replaces the path the backend sees, `$1`… taken from the
match's groups. Source: ingress-nginx docs user-guide/ingress-path-matching.md and
examples/rewrite/README.md.
"""
from __future__ import annotations

import dataclasses
import re

from .ingress_routing import normalize_host, resolve_backend
from .model import Ingress

A = "nginx.ingress.kubernetes.io/"


def _ann(ing: Ingress, name: str) -> str:
    return (ing.annotations or {}).get(A + name, "")


def is_canary(ing: Ingress) -> bool:
    return _ann(ing, "canary").lower() == "true"


def uses_regex(ing: Ingress) -> bool:
    return _ann(ing, "use-regex").lower() == "true" or bool(_ann(ing, "rewrite-target"))


def _header(headers: dict, name: str) -> str | None:
    low = name.lower()
    return next((v for k, v in (headers or {}).items() if k.lower() == low), None)


def _cookie(headers: dict, name: str) -> str | None:
    for part in (_header(headers, "Cookie") or "").split(";"):
        k, _, v = part.strip().partition("=")
        if k == name:
            return v
    return None


def canary_choice(canary: Ingress, headers: dict) -> tuple[float, str]:
    """The share of requests the canary takes (0..1) and why."""
    name = _ann(canary, "canary-by-header")
    if name:
        got = _header(headers, name)
        want, pattern = _ann(canary, "canary-by-header-value"), _ann(canary, "canary-by-header-pattern")
        if got is not None:
            if want:
                if got == want:
                    return 1.0, f"header {name}: {got} equals canary-by-header-value"
            elif pattern:
                try:
                    if re.search(pattern, got):
                        return 1.0, f"header {name}: {got} matches canary-by-header-pattern {pattern!r}"
                except re.error:
                    pass
            elif got == "always":
                return 1.0, f"header {name}: always"
            elif got == "never":
                return 0.0, f"header {name}: never"
    cookie = _ann(canary, "canary-by-cookie")
    if cookie:
        got = _cookie(headers, cookie)
        if got == "always":
            return 1.0, f"cookie {cookie}=always"
        if got == "never":
            return 0.0, f"cookie {cookie}=never"
    weight = _ann(canary, "canary-weight")
    if weight:
        try:
            total = float(_ann(canary, "canary-weight-total") or 100) or 100.0
            share = max(0.0, min(1.0, float(weight) / total))
            return share, f"canary-weight {weight} of {total:g}"
        except ValueError:
            return 0.0, f"canary-weight {weight!r} is not a number"
    return 0.0, "no canary header, cookie or weight applies"


def apply_canary(model, d, canaries: list[Ingress], headers: dict) -> None:
    """Attach the canary decision to a matched primary decision `d` (D12): d.canary, d.canary_share."""
    if not d.matched or d.via_default_backend or d.ingress is None:
        return
    for can in canaries:
        for rule in can.rules:
            if normalize_host(rule.host) != normalize_host(d.rule_host or ""):
                continue
            for p in rule.paths:
                if (p.path or "/") != d.rule_path:
                    continue
                share, why = canary_choice(can, headers)
                cd = dataclasses.replace(d, ingress=can, backend=p.backend, path_type=p.path_type, warnings=[],
                                         assumptions=[], competitors=[], service=None, service_port=None,
                                         backend_problem=None, backend_detail="", canary=None, canary_share=0.0)
                cd.why = (f"canary Ingress {can.key} shadows {d.ingress.key} for {d.rule_host or '*'}{d.rule_path} "
                          f"and takes {share:.0%} of its requests ({why}) (D12)")
                resolve_backend(model, cd)
                d.canary, d.canary_share = cd, share
                d.warnings.append(f"canary Ingress {can.key} takes {share:.0%} of these requests ({why}) (D12)")
                return


def canary_split(d) -> list[tuple[float, object]]:
    """[(share, decision)]: the primary and its canary (D12); just [(1, d)] without a canary."""
    cd = getattr(d, "canary", None)
    share = getattr(d, "canary_share", 0.0)
    if cd is None or share <= 0:
        return [(1.0, d)]
    if share >= 1:
        return [(1.0, cd)]
    return [(1.0 - share, dataclasses.replace(d, canary=None, canary_share=0.0)), (share, cd)]


def regex_route(model, table, d) -> None:
    """D13: re-match `d` on a host whose Ingresses use regular-expression paths; sets d.rewritten_path."""
    server = d.server if d.server != "_" else ""
    candidates = table.servers.get(server, [])
    if not any(uses_regex(c.ingress) for c in candidates):
        return
    path = d.path
    exact = [c for c in candidates if c.path_type == "Exact" and c.path == path]
    regexes = sorted((c for c in candidates if c.path_type != "Exact"), key=lambda c: -len(c.path))
    chosen, found = (exact[0], None) if exact else (None, None)
    if chosen is None:
        for c in regexes:
            try:
                found = re.match(c.path, path, re.IGNORECASE)
            except re.error:
                continue
            if found:
                chosen = c
                break
    if chosen is None:
        return  # no regex location matches either: the pathType decision (default backend or 404) stands
    others = [c for c in regexes if c is not chosen]
    d.matched, d.reason = True, None
    d.ingress, d.rule_host, d.rule_path = chosen.ingress, chosen.host, chosen.path
    d.path_type, d.backend, d.via_default_backend = chosen.path_type, chosen.backend, False
    d.service = d.service_port = None
    d.backend_problem, d.backend_detail = None, ""
    target = _ann(chosen.ingress, "rewrite-target")
    rewritten = None
    if target and found is not None:
        def group(g: re.Match) -> str:
            n = int(g.group(1))
            return (found.group(n) or "") if n <= found.re.groups else ""

        rewritten = re.sub(r"\$(\d+)", group, target)
    d.rewritten_path = rewritten
    d.why = (f"host {normalize_host(d.host)!r} uses regular-expression paths (use-regex/rewrite-target on one of "
             f"its Ingresses): {path!r} matches {'Exact ' if exact else 'the regex '}{chosen.path!r} of Ingress "
             f"{chosen.ingress.key}" + (" (tried longest first; also on this host: "
                                        + ", ".join(repr(c.path) for c in others[:5]) + ")" if others else "")
             + (f"; rewrite-target {target!r} → the backend sees {rewritten!r}" if rewritten is not None else "")
             + f" → service {chosen.backend.service_name} (D13).")
    resolve_backend(model, d)
