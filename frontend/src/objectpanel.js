// The side panel for every object kind: service (endpoints, and why each is or is not used), node,
// Ingress (its rules), NetworkPolicy (a table of what it allows), namespace, workload, pod, and a map
// edge (who may reach whom, on which ports, allowed by which policy rule). Opened from the map, its
// list view, and every hop of a trace. Every object named in a panel is a link to its own panel.
import { api } from "./api.js";
import { el, clear, $ } from "./ui.js";
import { openPodPanel } from "./podpanel.js";
import { gatewayParts } from "./gatewaypanel.js";

const PANEL_KINDS = { gateway: "gateway", svc: "svc", service: "svc", node: "node", ingress: "ingress", netpol: "netpol", "network-policy": "netpol", namespace: "namespace", ns: "namespace", workload: "workload", route: "route",
  pvc: "pvc", persistentvolumeclaim: "pvc", pv: "pv", persistentvolume: "pv", storageclass: "storageclass" };

/** "svc:shop/cart" → ["svc", "shop/cart"] when a panel exists for it, else null. */
export function panelRef(ref) {
  const m = /^([a-z-]+):(.+)$/.exec(String(ref || ""));
  if (!m) return null;
  if (m[1] === "pod") return ["pod", m[2]];
  const kind = PANEL_KINDS[m[1]];
  return kind ? [kind, m[2]] : null;
}

function table(rows, headers) {
  const body = rows.filter((r) => r[1] !== "" && r[1] !== null && r[1] !== undefined);
  if (!body.length) return el("p", { class: "muted" }, "None.");
  return el("table", { class: "kv" },
    headers ? el("thead", {}, el("tr", {}, headers.map((h) => el("th", { scope: "col" }, h)))) : null,
    el("tbody", {}, body.map((r) => el("tr", {}, r.map((c, i) => (i === 0 && !headers ? el("th", { scope: "row" }, c) : el("td", {}, c)))))));
}

export class ObjectPanel {
  constructor(snapshotId, hooks = {}) {
    this.snapshotId = snapshotId;
    this.hooks = hooks; // onTraceFrom, onTraceTo, onOpen(ref)
    this.panel = $("#pod-panel");
    this.body = $("#pod-panel-body");
    $("#pod-panel-close").addEventListener("click", () => this.close());
    this.panel.addEventListener("keydown", (e) => { if (e.key === "Escape") this.close(); });
  }

  close() {
    this.panel.hidden = true;
    if (this.hooks.onClose) this.hooks.onClose();
  }

  link(ref, text) {
    const target = panelRef(ref);
    if (!target) return el("code", {}, text || ref);
    return el("button", { type: "button", class: "link obj-link", onclick: () => this.open(ref) }, text || ref);
  }

  links(refs) {
    if (!refs || !refs.length) return el("p", { class: "muted" }, "None.");
    return el("ul", { class: "obj-list" }, refs.map((r) => el("li", {}, this.link(r))));
  }

  /** Open the panel of `ref` (pod:, svc:, node:, ingress:, netpol:, namespace:, workload:NS/KIND/NAME). */
  async open(ref) {
    const target = panelRef(ref);
    if (!target) return false;
    if (this.hooks.onOpen) this.hooks.onOpen(ref);
    const [kind, key] = target;
    if (kind === "pod") {
      const [ns, ...name] = key.split("/");
      await openPodPanel(this.snapshotId, ns, name.join("/"), this.hooks);
      return true;
    }
    clear(this.body).append(el("p", { class: "muted" }, `Loading ${ref}…`));
    this.panel.hidden = false;
    let data;
    try {
      data = await api.object(this.snapshotId, kind, key);
    } catch (err) {
      clear(this.body).append(el("p", { class: "notice notice-error", role: "alert" }, `${ref}: ${err.message}`));
      return false;
    }
    const title = data.namespace ? `${data.namespace}/${data.name}` : data.name;
    const parts = [el("h2", { id: "pod-panel-title" }, `${data.kind} ${title}`)];
    if (kind === "svc" && this.hooks.onTraceTo) {
      parts.push(el("p", { class: "actions" }, el("button", { type: "button", onclick: () => this.hooks.onTraceTo(`svc:${key}`) }, "Trace to this service")));
    }
    parts.push(table(data.facts || []));
    if (data.note) parts.push(el("p", { class: "notice" }, data.note));
    if (kind === "svc") {
      for (const p of data.ports || []) {
        parts.push(el("h3", {}, `Port ${p.name ? `${p.name} ` : ""}${p.port}/${p.protocol} → ${p.target_port ?? p.port}${p.node_port ? ` (NodePort ${p.node_port})` : ""}`));
        parts.push(p.endpoints.length
          ? el("table", { class: "kv endpoints" }, el("thead", {}, el("tr", {}, ["Endpoint", "Address", "Node", "Used?"].map((h) => el("th", { scope: "col" }, h)))),
            el("tbody", {}, p.endpoints.map((e) => el("tr", { class: e.used ? "ep-used" : "ep-unused" },
              el("td", {}, this.link(e.target, e.target.replace(/^pod:[^/]+\//, ""))), el("td", { class: "nowrap" }, e.address),
              el("td", { class: "nowrap" }, e.node ? this.link(`node:${e.node}`, e.node) : "—"),
              el("td", {}, el("span", { "aria-hidden": "true" }, e.used ? "✔ " : "✖ "), e.why)))))
          : el("p", { class: "muted" }, "No endpoints."));
        (p.notes || []).forEach((n) => parts.push(el("p", { class: "muted" }, n)));
      }
      parts.push(el("h3", {}, "Ingresses routing here"), this.links(data.routes));
    } else if (kind === "ingress") {
      parts.push(el("h3", {}, "Rules"), el("table", { class: "kv" },
        el("thead", {}, el("tr", {}, ["Host", "Path", "Backend"].map((h) => el("th", { scope: "col" }, h)))),
        el("tbody", {}, data.rules.map((r) => el("tr", {}, el("td", {}, r.host), el("td", {}, `${r.path} ${r.path_type ? `(${r.path_type})` : ""}`),
          el("td", {}, this.link(r.backend), r.port ? `:${r.port}` : ""))))));
    } else if (kind === "gateway" || kind === "route") {
      parts.push(...gatewayParts(this, kind, data));
    } else if (kind === "netpol") {
      parts.push(el("h3", {}, "What it allows"), el("table", { class: "kv policy-rules" },
        el("thead", {}, el("tr", {}, ["Direction", "Rule", "From / to", "Ports"].map((h) => el("th", { scope: "col" }, h)))),
        el("tbody", {}, data.rules.map((r) => el("tr", { class: r.allows ? "" : "deny-row" }, el("td", {}, r.direction),
          el("td", {}, r.rule ? `#${r.rule}` : "—"), el("td", {}, r.peers), el("td", {}, r.ports || "—"))))));
      parts.push(el("h3", {}, "Pods it selects"), this.links(data.selected));
    } else if (kind === "node") {
      parts.push(el("h3", {}, "Pods on this node"), this.links(data.pods));
      if (data.more) parts.push(el("p", { class: "muted" }, `… and ${data.more} more.`));
    } else if (kind === "namespace") {
      parts.push(el("h3", {}, "NetworkPolicies"), this.links(data.policies));
    } else if (kind === "pvc") {
      parts.push(el("h3", {}, "Bound volume"), data.volume ? el("p", {}, this.link(data.volume)) : el("p", { class: "muted" }, "None: the claim is not bound."));
      parts.push(el("h3", {}, "Mounted by"), this.links(data.mounted_by));
      if (data.note) parts.push(el("p", { class: "muted" }, data.note));
    } else if (kind === "pv") {
      parts.push(el("h3", {}, "Claimed by"), data.claim ? el("p", {}, this.link(data.claim)) : el("p", { class: "muted" }, "No claim."));
    } else if (kind === "storageclass") {
      parts.push(el("h3", {}, "Claims of this class"), this.links(data.claims));
    } else if (kind === "workload") {
      if ((data.claims || []).length) {
        parts.push(el("h3", {}, "Volume claims (per replica)"), el("ul", { class: "obj-list" }, data.claims.map((c) =>
          el("li", {}, `#${c.ordinal} `, this.link(`pvc:${c.claim}`, c.claim), ` ${c.exists ? c.phase || "" : "missing"}`))));
      }
      parts.push(el("h3", {}, "Services selecting it"), this.links(data.services));
      parts.push(el("h3", {}, "NetworkPolicies selecting it"), this.links(data.policies));
      parts.push(el("h3", {}, "Pods"), this.links(data.pods));
    }
    clear(this.body).append(...parts);
    $("#pod-panel-close").focus();
    return true;
  }

  /** A map edge: who may reach whom, on which ports, because of which policy rules. */
  showEdge(d, describe) {
    clear(this.body);
    this.panel.hidden = false;
    const words = { allow: "Allowed by NetworkPolicy", entry: "Reachable from outside the cluster", route: "Ingress / Gateway route", endpoint: "Service endpoints", attach: "Route attached to a Gateway listener" };
    const policies = (d.policies || []).map((p) => {
      const name = p.split(" ")[0];
      return el("li", {}, this.link(`netpol:${name}`, name), ` ${p.slice(name.length)}`);
    });
    this.body.append(el("h2", { id: "pod-panel-title" }, words[d.kind] || d.kind),
      table([["From", describe(d.source)], ["To", describe(d.target)], ["Ports", (d.ports || []).join(", ") || "—"], ["Connections drawn as this edge", String(d.count || 1)]]),
      d.kind === "allow" ? el("h3", {}, "Policy rules that allow it") : null,
      d.kind === "allow" ? el("ul", {}, policies) : null,
      d.kind === "allow" ? el("p", { class: "muted" }, "A connection needs both: an egress rule at the source (when the source is isolated for egress) and an ingress rule at the destination (when it is isolated for ingress).") : null);
    $("#pod-panel-close").focus();
  }
}
