// A trace through a Gateway (or an Ingress with HTTP routing) in the trace view (issue 14 item 5): what the
// client gets (the path's `http` object: status, backend, redirect location, the request as the backend sees it
// after rewrites) and, on the route hop, which rule won and why each other rule lost — as a table, not a
// sentence. The engine writes the route hop's detail as
//   "listener …; HTTPRoute ns/r rule 3 wins with PathPrefix /api …; others: HTTPRoute ns/r rule 1: <why>; …"
// (tracer/engine/gateway_trace.py); this module splits it into the winner and one row per loser, and falls back
// to the sentence when a detail does not have that shape.
import { el } from "./ui.js";

// The engine's route hop refs → panel refs: route objects open the route panel, listeners their Gateway's panel.
const ROUTE_REF_KINDS = new Set(["httproute", "grpcroute", "tlsroute", "tcproute", "udproute", "ingressroute", "httpproxy", "mapping", "virtualservice"]);

/** A hop's typed ref {kind, namespace, name} → `route:KIND/NS/NAME` or `gateway:NS/NAME`, else null. */
export function gatewayHopRef(ref) {
  if (!ref || !ref.name) return null;
  if (ROUTE_REF_KINDS.has(ref.kind)) return `route:${ref.kind}/${ref.namespace ? `${ref.namespace}/` : ""}${ref.name}`;
  if (ref.kind === "listener") return `gateway:${ref.namespace}/${ref.name.split("/")[0]}`;
  return null;
}

// Where one route's candidate starts in a list of losers: "HTTPRoute ns/name rule 2: …" (any route kind).
const CANDIDATE = /;\s+(?=(?:HTTPRoute|GRPCRoute|TLSRoute|TCPRoute|IngressRoute|HTTPProxy|Mapping|VirtualService|Ingress)\s)/;

/** The route hop's detail → {winner, losers: [{who, why}]} or null when it has no "others:" part. */
export function parseRouteDecision(detail) {
  const text = String(detail || "");
  const at = text.indexOf("; others: ");
  const head = at >= 0 ? text.slice(0, at) : text;
  let winner = head.split(/;\s+(?=[A-Za-z]+ \S+ rule \d+ wins)/).pop();
  // "no rule matches: <every miss>: the Gateway answers 404" — the misses are the table below: keep the outcome
  const none = /^no rule matches\b.*:\s+(the [^:;]*)$/.exec(winner);
  if (none) winner = `No rule matches: ${none[1]}`;
  if (at < 0) return /\bwins\b/.test(winner) ? { winner, losers: [], won: true } : null;
  const losers = text.slice(at + "; others: ".length).split(CANDIDATE).map((item) => {
    const m = /^(.*? rule \d+(?: \([^)]*\))?)(?::\s*|\s+)(.*)$/.exec(item) || /^(\S+ \S+?):\s+(.*)$/.exec(item);
    return m ? { who: m[1], why: m[2] } : { who: "", why: item };
  });
  return { winner, losers, won: /\bwins\b/.test(winner) };
}

/** The route hop's body: who won (and on what), then a table of the other rules and what each lost on. */
export function routeDecision(hop, withRuleLinks) {
  const d = parseRouteDecision(hop.detail);
  if (!d) return null;
  return el("div", { class: "route-decision" },
    el("p", { class: d.won ? "rule-won" : "rule-none" }, el("strong", {}, d.won ? "✔ Won: " : "✖ "), withRuleLinks(d.winner)),
    d.losers.length ? el("table", { class: "kv rules-lost", "aria-label": "Rules that lost, and why" },
      el("thead", {}, el("tr", {}, el("th", { scope: "col" }, d.won ? "Other rule" : "Rule"), el("th", { scope: "col" }, d.won ? "Why it lost" : "Why it does not match"))),
      el("tbody", {}, d.losers.map((l) => el("tr", {}, el("td", {}, l.who), el("td", {}, withRuleLinks(l.why)))))) : null);
}

/** What the client gets on this path: status, backend or redirect, and the request as the backend sees it. */
export function httpSummary(path) {
  const h = path && path.http;
  if (!h) return null;
  const rows = [["HTTP status", `${h.status ?? "— (TLS passthrough)"}${h.grpc_status ? ` (gRPC ${h.grpc_status})` : ""}`]];
  if (h.route) rows.push(["Route", `${h.route}${h.rule ? `, rule ${h.rule}` : ""}`]);
  if (h.location) rows.push(["Redirected to", h.location]);
  if (h.backend) rows.push(["Backend", h.backend]);
  const br = h.backend_request;
  if (br) {
    rows.push(["Backend sees", `${br.host || ""}${br.path || ""}`]);
    const headers = Object.entries(br.headers || {});
    if (headers.length) rows.push(["Backend request headers", headers.map(([k, v]) => `${k}: ${v}`).join("; ")]);
  }
  return el("section", { class: "http-summary", id: "http-summary", "aria-label": "What the client gets" },
    el("h3", {}, "HTTP"),
    el("table", { class: "kv" }, el("tbody", {}, rows.map(([k, v]) => el("tr", {}, el("th", { scope: "row" }, k), el("td", {}, String(v)))))));
}
