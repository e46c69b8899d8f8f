"""Intent checks: a YAML list of expected outcomes, each checked by a real trace.

Why: a user's CI imports the manifests it is about to deploy (`import_manifests --materialize`) and
asserts the connectivity it relies on — "frontend reaches cart on 7070", "nothing outside payments
reaches the ledger" — before the change reaches a cluster. Each expectation is one trace, so a
violation comes with the full story of why.

File format (YAML list; JSON works too):

    - name: frontend reaches cart          # optional, for the report
      from: workload:shop/frontend         # a trace SOURCE (docs/contract.md)
      to: svc:shop/cart                    # a trace DESTINATION
      port: 7070                           # optional when the service has one port
      protocol: TCP                        # optional (TCP)
      via: 203.0.113.10:30080              # optional
      expect: delivered                    # delivered | dropped
      reason: policy-ingress-denied        # optional: the drop reason that must be given

A result is a violation when its verdict is not `expect` (a `partial` result violates both: some
connections deliver and some drop), or when `reason` is given and the result's reason differs.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from topology.compile import load_model
from topology.importers.errors import ManifestError
from topology.importers.load import load_value
from tracer.engine.errors import BadRequest, TracerError, excerpt
from tracer.engine.fixes import trace_with_fixes
from tracer.engine.flow import make_flow
from tracer.engine.trace import trace

EXPECTS = ("delivered", "dropped")
KEYS = {"name", "from", "to", "port", "protocol", "via", "expect", "reason"}
# An intents file is a few hundred lines of YAML; 1 MB holds ~10,000 intents. Beyond that it is not one.
MAX_BYTES = 1024 * 1024
MAX_NAME = 200  # characters of an intent's `name` (it is only a label for the report)


@dataclass(frozen=True, slots=True)
class Intent:
    index: int  # 1-based position in the file
    name: str
    request: dict  # {from, to, port, protocol, via}
    expect: str
    reason: str | None

    def describe(self) -> str:
        req = self.request
        port = f":{req['port']}" if req.get("port") not in (None, "") else ""
        what = f"{req['from']} → {req['to']}{port}"
        return f"#{self.index} {self.name + ': ' if self.name else ''}{what} expect {self.expect}" + (
            f" ({self.reason})" if self.reason else "")

    def to_dict(self) -> dict:
        return {"index": self.index, "name": self.name, **self.request, "expect": self.expect,
                "reason": self.reason}


def parse_intents(text: str | bytes, filename: str = "intents") -> list[Intent]:
    """YAML (or JSON) text → intents; BadRequest naming the file, item and field on any problem."""
    try:  # the project's one loader: alias, depth, size and duplicate-key limits; bounded messages
        data = load_value(text, filename, max_bytes=MAX_BYTES)
    except ManifestError as exc:
        raise BadRequest(str(exc).replace("invalid YAML", "not valid YAML", 1)) from None
    if data is None:
        data = []
    if isinstance(data, dict) and isinstance(data.get("intents"), list):
        data = data["intents"]
    if not isinstance(data, list):
        raise BadRequest(f"{filename}: expected a YAML list of intents (from, to, port, expect), "
                         f"got {type(data).__name__}")
    return [parse_intent(item, i, filename) for i, item in enumerate(data, start=1)]


def parse_intent(item, index: int, filename: str = "intents") -> Intent:
    where = f"{filename} item {index}"
    if not isinstance(item, dict):
        raise BadRequest(f"{where}: expected a mapping with from, to, expect; got {type(item).__name__}")
    unknown = sorted(set(map(str, item)) - KEYS)
    if unknown:
        shown = ", ".join(key if len(key) <= 40 else excerpt(key, 40) for key in unknown[:5]) + (
            " …" if len(unknown) > 5 else "")
        raise BadRequest(f"{where}: unknown field(s) {shown} (allowed: {', '.join(sorted(KEYS))})")
    for key in ("from", "to", "expect"):
        if not item.get(key):
            raise BadRequest(f"{where}: field '{key}' is required")
    expect = str(item["expect"]).strip().lower()
    if expect not in EXPECTS:
        raise BadRequest(f"{where}: field 'expect': {excerpt(item['expect'])} is not one of {', '.join(EXPECTS)}")
    reason = item.get("reason")
    if reason is not None and (not isinstance(reason, str) or len(reason) > 63):
        raise BadRequest(f"{where}: field 'reason' must be a reason code such as policy-ingress-denied")
    if reason and expect == "delivered":
        raise BadRequest(f"{where}: field 'reason' only makes sense with expect: dropped")
    try:
        flow = make_flow(item["from"], item["to"], item.get("port"), item.get("protocol"), item.get("via"))
    except BadRequest as exc:
        raise BadRequest(f"{where}: {exc}") from None
    request = {"from": flow.source, "to": flow.destination, "port": flow.port, "protocol": flow.protocol,
               "via": flow.via}
    name = item.get("name")
    if name is not None and (not isinstance(name, str | int | float) or len(str(name)) > MAX_NAME):
        raise BadRequest(f"{where}: field 'name' must be a text of at most {MAX_NAME} characters")
    return Intent(index, str(name or ""), request, expect, reason or None)


def evaluate(intent: Intent, result: dict) -> str | None:
    """Why `result` violates `intent`, or None when it holds."""
    verdict = result.get("verdict")
    if verdict != intent.expect:
        why = f"expected {intent.expect}, got {verdict}"
        if result.get("reason"):
            why += f" ({result['reason']})"
        return why
    if intent.reason and result.get("reason") != intent.reason:
        return f"expected reason {intent.reason}, got {result.get('reason')}"
    return None


def check(model, intents: list[Intent], progress=None) -> dict:
    """Trace every intent on `model`. Returns {checked, passed, violations: [...], results: [...]}.

    A request the engine refuses (e.g. a pod that is not in this snapshot) is a violation too, with
    the engine's message: an intent about something that does not exist cannot hold.
    """
    violations, results = [], []
    for n, intent in enumerate(intents, start=1):
        req = intent.request
        try:
            flow = make_flow(req["from"], req["to"], req.get("port"), req.get("protocol"), req.get("via"))
            result = trace(model, flow).to_dict()
            problem = evaluate(intent, result)
            if problem and result.get("verdict") != "delivered" and intent.expect != "dropped":
                result = trace_with_fixes(model, flow).to_dict()  # a violated intent says what would fix it
        except TracerError as exc:
            result, problem = {"verdict": "error", "reason": None, "error": str(exc)}, f"cannot trace: {exc}"
        entry = {"intent": intent.to_dict(), "ok": problem is None, "verdict": result.get("verdict"),
                 "reason": result.get("reason")}
        results.append(entry)
        if problem:
            violations.append({**entry, "problem": problem, "trace": result})
        if progress:
            progress(n, len(intents))
    return {"checked": len(intents), "passed": len(intents) - len(violations), "violations": violations,
            "results": results}


def parse_intents_input(raw) -> list[Intent]:
    """An API body's `intents`: a list of objects, or the YAML text of an intents file."""
    if isinstance(raw, str):
        return parse_intents(raw, "intents")
    if isinstance(raw, list):
        return [parse_intent(item, i, "intents") for i, item in enumerate(raw, start=1)]
    raise BadRequest("intents: give a list of {from, to, port, expect} objects or the YAML text of an intents file")


def check_snapshot(snapshot, intents: list[Intent]) -> dict:
    """`check` on a stored snapshot (its compiled model, cached per process)."""
    return check(load_model(snapshot.pk), intents)


def to_json(report: dict) -> str:
    return json.dumps(report, indent=2, sort_keys=True)
