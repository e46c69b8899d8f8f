// Object panels for Gateway API objects (issue 14 item 5): a Gateway (its listeners — port, protocol, hostname,
// which routes may attach — the routes attached to each, and every route that names it but was refused, with the
// condition and reason a controller would write) and a route (HTTPRoute / GRPCRoute / TLSRoute and the
// controllers' own objects: its parents' conditions, then each rule's matches, filters and backends with their
// share of requests). The facts come from GET /api/snapshots/ID/objects/{gateway,route}/… (topology/gateway_panels.py);
// `panel` is the ObjectPanel, whose link() opens any named object's own panel.
import { el } from "./ui.js";

function head(cols) {
  return el("thead", {}, el("tr", {}, cols.map((h) => el("th", { scope: "col" }, h))));
}

const yes = (ok, word) => el("span", { class: ok ? "cond-ok" : "cond-bad" }, el("span", { "aria-hidden": "true" }, ok ? "✔ " : "✖ "), word);

/** "Accepted", "not Accepted (NotAllowedByListeners)": a condition and its reason, said once. */
function condition(type, ok, reason) {
  if (ok) return reason && reason !== type ? `${type} (${reason})` : type;
  return `not ${type}${reason ? ` (${reason})` : ""}`;
}

/** The parents' conditions of routes: Accepted / ResolvedRefs with their reasons and the message, one item each
 * (a list, not a table: route names and messages are long, the panel is narrow). */
function statusList(panel, rows, first) {
  if (!rows.length) return el("p", { class: "muted" }, "None.");
  return el("ul", { class: "route-status" }, rows.map((s) => el("li", { class: s.accepted ? "" : "deny-row" },
    first === "route" ? panel.link(s.ref, s.route) : (s.parent_ref ? panel.link(s.parent_ref, s.parent) : s.parent),
    s.sectionName ? ` (listener ${s.sectionName})` : "", ": ",
    yes(s.accepted, condition("Accepted", s.accepted, s.reason)), " · ", yes(s.resolved_refs, condition("ResolvedRefs", s.resolved_refs, s.refs_reason)),
    s.message ? el("div", { class: s.accepted && s.resolved_refs ? "muted" : "cond-bad" }, s.message) : null)));
}

export function gatewayParts(panel, kind, data) {
  return kind === "gateway" ? gatewayBody(panel, data) : routeBody(panel, data);
}

function gatewayBody(panel, data) {
  const parts = [el("h3", {}, "Listeners")];
  parts.push(el("table", { class: "kv gateway-listeners" }, head(["Listener", "Port / protocol", "Hostname", "Routes allowed from"]),
    el("tbody", {}, (data.listeners || []).map((x) => el("tr", { class: x.problems.length ? "deny-row" : "" },
      el("td", {}, x.name, x.owner && !x.owner.startsWith("Gateway ") ? el("div", { class: "muted" }, x.owner) : null,
        x.problems.length ? el("div", { class: "cond-bad" }, `✖ ${x.problems.join("; ")}`) : null),
      el("td", { class: "nowrap" }, `${x.port} ${x.protocol}${x.tls_mode ? ` (TLS ${x.tls_mode})` : ""}`),
      el("td", {}, x.hostname),
      el("td", {}, x.allowed_routes, x.allowed_kinds.length ? el("div", { class: "muted" }, x.allowed_kinds.join(", ")) : null))))));
  for (const x of data.listeners || []) {
    parts.push(el("h4", {}, `Routes attached to listener ${x.name}`),
      x.routes.length ? el("ul", { class: "obj-list attached-routes" }, x.routes.map((r) => el("li", {}, panel.link(r.ref, r.route),
        r.hostnames.length ? el("span", { class: "muted" }, ` — ${r.hostnames.join(", ")}`) : null))) : el("p", { class: "muted" }, "None."));
  }
  parts.push(el("h3", {}, "Routes naming this Gateway, with their status"), statusList(panel, data.statuses || [], "route"));
  return parts;
}

function routeBody(panel, data) {
  const parts = [el("h3", {}, "Parents and conditions"), statusList(panel, data.statuses || [], "parent"), el("h3", {}, "Rules")];
  const rules = data.rules || [];
  if (!rules.length) parts.push(el("p", { class: "muted" }, "No rules."));
  else {
    parts.push(el("table", { class: "kv route-rules" }, head(["Rule", "Matches, then filters", "Backends"]),
      el("tbody", {}, rules.map((r) => el("tr", { dataset: { rule: r.rule } },
        el("td", { class: "nowrap" }, `#${r.rule}${r.name ? ` ${r.name}` : ""}`),
        el("td", {}, el("ul", { class: "obj-list" }, r.matches.map((m) => el("li", {}, m))),
          r.filters.length ? el("div", { class: "rule-filters" }, el("strong", {}, "then: "), r.filters.join("; ")) : null),
        el("td", {}, r.backends.length ? el("ul", { class: "obj-list" }, r.backends.map((b) => el("li", { class: b.ok ? "" : "cond-bad" },
          b.ref ? panel.link(b.ref, `${b.backend.replace(/^Service /, "")}${b.port ? `:${b.port}` : ""}`) : `${b.backend}${b.port ? `:${b.port}` : ""}`,
          b.weight !== null && b.weight !== undefined && r.backends.length > 1
            ? ` — weight ${b.weight}${b.share !== null && b.share !== undefined ? ` (${Math.round(b.share * 1000) / 10}% of requests)` : ""}` : "",
          b.ok ? "" : ` ✖ ${b.why}`))) : el("span", { class: "muted" }, r.filters.some((f) => f.startsWith("RequestRedirect")) ? "none: redirects" : "none: answers 500")))))));
  }
  if (data.kind === "HTTPRoute") {
    parts.push(el("p", { class: "muted" }, "A request takes the matching rule that is most specific: the most specific hostname, then an Exact path, then the longest path prefix, then a method, then the most header matches, then the most query-parameter matches; on a tie the oldest route, then namespace/name, then the first rule (K3). Trace a URL to see which rule wins and why the others lose."));
  }
  return parts;
}
