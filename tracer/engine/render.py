"""`render_text(result)`: a trace for a person, like a good traceroute.

    delivered — 2 paths from pod:shop/front
    path 1 (50.0%) delivered → pod:shop/cart-1:7070
       1  pod            pod:shop/front          send      pod shop/front (10.244.0.5) …
       2  kube-proxy     kube-proxy:n1           dnat      …
"""
from __future__ import annotations

import textwrap

from .result import DROPPED, TraceResult
from .rules import cited_rules, rule_anchor


def _pct(p: float) -> str:
    return f"{p * 100:.1f}%" if p * 100 >= 0.1 or p == 0 else f"{p:.2g}"


def _fix_lines(fix: dict, shown: dict[str, int], path_no: int) -> list[str]:
    """A path's verified fix (fixes.py): the summary, the YAML once per result, what else it changes."""
    first = shown.setdefault(fix.get("yaml", ""), path_no)
    out = [f"      ✓ fix (verified by re-tracing): {fix.get('summary', '')}"]
    if first != path_no:
        return [*out, f"        (the same YAML as path {first})"]
    out.append(f"        {fix.get('command') or 'kubectl apply -f -'} <<'EOF'")
    out.extend("        " + line for line in fix.get("yaml", "").rstrip("\n").splitlines())
    out.append("        EOF")
    opens = fix.get("opens") or []
    count = fix.get("opens_count", len(opens))
    more = " (sampled: more may change)" if fix.get("opens_bounded") else ""
    out.append(f"        it also changes {count} other source → destination verdict{'s' if count != 1 else ''}{more}"
               + (":" if opens else ""))
    out.extend(f"          {o['source']} → {o['destination']} {o.get('protocol', '')} {o.get('port', '')}: "
               f"{o['before']} → {o['after']}" for o in opens)
    return out


def render_text(result: TraceResult, width: int = 110) -> str:
    paths = result.paths
    sources = sorted({p.source.id for p in paths})
    head = f"{result.verdict.upper()}"
    if result.reason:
        head += f" ({result.reason})"
    head += f" — {len(paths)} path{'s' if len(paths) != 1 else ''}"
    if len(sources) == 1:
        head += f" from {sources[0]}"
    else:
        head += f" from {len(sources)} sources"
    lines = [head]
    if result.request:
        r = result.request
        port = f" port {r.get('port')}/{r.get('protocol') or 'TCP'}" if r.get("port") is not None else ""
        via = f" via {r.get('via')}" if r.get("via") else ""
        http = (f" [{r.get('method') or 'GET'}" + "".join(f"; {k}: {v}" for k, v in (r.get("headers") or {}).items())
                + "]") if r.get("method") or r.get("headers") else ""
        lines.append(f"  {r.get('from')} → {r.get('to')}{port}{via}{http}")
    fixes_shown: dict[str, int] = {}
    for i, p in enumerate(paths, 1):
        lines.append("")
        if p.verdict == DROPPED:
            end = f"DROPPED: {p.reason}"
        else:
            ep = p.endpoint.id if p.endpoint else "?"
            end = f"delivered → {ep}" + (f" port {p.endpoint_port}" if p.endpoint_port is not None else "")
        if p.http is not None:  # what the client gets from the Ingress controller or Gateway
            h = p.http
            end += (f"; HTTP {h['status']}" if h.get("status") is not None else "; TLS stream") + (
                f" → {h['location']}" if h.get("location") else f" from {h['backend']}" if h.get("backend") else "")
        src = f" from {p.source.id}" if len(sources) > 1 else ""
        lines.append(f"path {i}{src} ({_pct(p.probability)} of new connections): {end}")
        idw = min(44, max((len(h.id) for h in p.hops), default=10))
        for n, h in enumerate(p.hops, 1):
            prefix = f"  {n:>2}  {h.kind:<18} {h.id:<{idw}} {h.action:<14} "
            wrapped = textwrap.wrap(h.detail, width=max(50, width - len(prefix))) or [""]
            lines.append(prefix + wrapped[0])
            lines.extend(" " * len(prefix) + w for w in wrapped[1:])
        if p.verdict == DROPPED and p.hops:
            lines.append(f"      ✗ dropped: {p.hops[-1].detail}")
        if p.fix:
            lines.extend(_fix_lines(p.fix, fixes_shown, i))
    if result.excluded_endpoints:
        lines.append("")
        lines.append("endpoints left out:")
        lines.extend(f"  - {e.get('endpoint')} ({e.get('service')}): {e.get('reason')}: {e.get('detail')}"
                     for e in result.excluded_endpoints)
    if result.assumptions:
        lines.append("")
        lines.append("assumptions:")
        lines.extend(f"  - {a}" for a in result.assumptions)
    rules = cited_rules([h.detail for p in paths for h in p.hops] + list(result.assumptions))
    if rules:  # every rule id cited above, and where it is explained
        lines.append("")
        lines.append("rules:")
        lines.extend(f"  {r:<4} {rule_anchor(r)}" for r in rules)
    return "\n".join(lines)
