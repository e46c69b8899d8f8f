// The topology map: server-computed layered positions (external → load balancers / ingress
// controllers → nodes → kube-proxy → services → pods), aggregated namespace → workload → pod with
// expansion on demand, filter by namespace, search. Cytoscape only draws; it never lays out.
import { makeCy, kindStyle } from "./cystyle.js";
import { api, items } from "./api.js";
import { el, clear, $, notice, debounce } from "./ui.js";

/** Accept the API's graph in either Cytoscape JSON ({elements}) or flat ({nodes, edges}) form. */
export function toElements(data) {
  const raw = data.elements || data;
  const nodes = Array.isArray(raw) ? raw.filter((e) => e.group !== "edges" && !(e.data && e.data.source)) : raw.nodes || [];
  const edges = Array.isArray(raw) ? raw.filter((e) => e.group === "edges" || (e.data && e.data.source)) : raw.edges || [];
  const out = [];
  for (const n of nodes) {
    const d = n.data ? { ...n.data } : { ...n };
    const position = n.position || (d.x !== undefined ? { x: d.x, y: d.y } : undefined);
    const kind = d.kind || d.type || "pod";
    const count = d.count ?? d.size;
    const aggregate = Boolean(d.expand || d.aggregate);
    const glyph = kindStyle(kind).glyph;
    const name = d.label || d.name || d.id;
    out.push({
      group: "nodes",
      data: { ...d, id: String(d.id), kind, label: `${glyph} ${name}${aggregate && count ? ` (${count})` : ""}`, parent: d.parent ? String(d.parent) : undefined, aggregate },
      position,
      classes: aggregate ? "aggregate" : "",
    });
  }
  for (const e of edges) {
    const d = e.data ? { ...e.data } : { ...e };
    out.push({ group: "edges", data: { ...d, id: String(d.id || `${d.source}>${d.target}`), source: String(d.source), target: String(d.target), label: d.label || "" }, classes: "topo" });
  }
  return out;
}

export class TopologyMap {
  constructor(container, snapshotId, { onPod, onSelect } = {}) {
    this.container = container;
    this.snapshotId = snapshotId;
    this.expanded = new Set();
    this.filters = {};
    this.onPod = onPod;
    this.onSelect = onSelect;
    this.cy = null;
  }

  async load() {
    const params = { ...this.filters, expand: [...this.expanded].join(",") };
    const t0 = performance.now();
    const data = await api.topology(this.snapshotId, params);
    const t1 = performance.now();
    const elements = toElements(data);
    const knownIds = new Set(elements.filter((e) => e.group === "nodes").map((e) => e.data.id));
    const safe = elements.filter((e) => e.group === "nodes" || (knownIds.has(e.data.source) && knownIds.has(e.data.target)));
    safe.forEach((e) => { if (e.data.parent && !knownIds.has(e.data.parent)) delete e.data.parent; });
    if (!this.cy) {
      this.cy = makeCy(this.container, safe, { pixelRatio: 1 });
      this.cy.on("tap", "node", (evt) => this.activate(evt.target));
    } else {
      // Update in place: elements that stay keep their rendering state; only the difference is drawn.
      const cy = this.cy;
      const wanted = new Set(safe.map((e) => e.data.id));
      cy.batch(() => {
        cy.elements().filter((e) => !wanted.has(e.id())).remove();
        const fresh = [];
        for (const e of safe) {
          const existing = cy.getElementById(e.data.id);
          if (existing.length && existing.isNode() === (e.group === "nodes")) {
            existing.data(e.data);
            if (e.position) existing.position(e.position);
            existing.classes(e.classes || "");
          } else fresh.push(e);
        }
        cy.add(fresh);
      });
      cy.fit(undefined, 30);
    }
    // Small maps keep every label; big ones skip labels too small to read (the costliest part to draw).
    const big = safe.length > 400 ? 7 : 0;
    this.cy.style().selector("node").style({ "min-zoomed-font-size": big, "font-size": 16 })
      .selector("edge").style("min-zoomed-font-size", big).update();
    const t2 = performance.now();
    this.timing = { fetchMs: Math.round(t1 - t0), drawMs: Math.round(t2 - t1), elements: safe.length };
    this.container.dataset.fetchMs = this.timing.fetchMs;
    this.container.dataset.drawMs = this.timing.drawMs;
    this.container.dataset.elements = safe.length;
    this.container.dataset.ready = "1";
    this.meta = data;
    if (this.onLoaded) this.onLoaded(data);
    return data;
  }

  /** Tap/Enter on a node: expand an aggregate, open a pod's panel, else just select it. */
  async activate(node) {
    const d = node.data();
    if (d.aggregate) {
      this.expanded.add(d.expand || d.id);
      await this.load().catch((err) => notice(`Could not expand ${d.label}: ${err.message}`));
    } else if (d.kind === "pod" && this.onPod) {
      // element ids and refs are "pod:NS/NAME"
      this.onPod(d);
    } else if (this.onSelect) {
      this.onSelect(d);
    }
  }

  collapseAll() {
    this.expanded.clear();
    return this.load();
  }

  /** Mark nodes whose id or label contains the query; returns them (for the accessible result list). */
  highlight(query) {
    if (!this.cy) return [];
    this.cy.nodes().removeClass("match");
    if (!query) return [];
    const needle = query.toLowerCase();
    const found = this.cy.nodes().filter((n) => `${n.data("id")} ${n.data("label")}`.toLowerCase().includes(needle));
    found.addClass("match");
    if (found.length) this.cy.animate({ fit: { eles: found, padding: 80 } }, { duration: 300 });
    return found.toArray();
  }
}

/** Namespace filter options come from the map itself (the API reports the namespaces it knows). */
export function namespacesOf(data) {
  if (Array.isArray(data.namespaces)) return data.namespaces.map((n) => (typeof n === "string" ? n : n.name));
  const ns = new Set();
  for (const e of toElements(data)) if (e.group === "nodes" && e.data.namespace) ns.add(e.data.namespace);
  return [...ns].sort();
}

export function initMapControls(map) {
  const nsSelect = $("#ns-filter");
  const search = $("#map-search");
  const results = $("#map-results");
  const status = $("#map-status");
  const describe = (data) => {
    const t = map.timing;
    const total = data.total ? ` (${data.total.pods} pods, ${data.total.services} services)` : "";
    status.textContent = `${t.elements} elements drawn${total}; fetched in ${t.fetchMs} ms, drawn in ${t.drawMs} ms. ${data.message || ""}`;
  };
  const showResults = (nodes) => {
    clear(results);
    nodes.slice(0, 30).forEach((n) => {
      const d = n.data();
      results.append(el("li", {}, el("button", { type: "button", class: "link", onclick: () => { map.cy.animate({ center: { eles: n }, zoom: 1.2 }); map.activate(n); } },
        `${kindStyle(d.kind).glyph} ${d.kind} ${d.label.replace(/^\S+\s/, "")}${d.aggregate ? " — expand" : ""}`)));
    });
    if (nodes.length > 30) results.append(el("li", { class: "muted" }, `… ${nodes.length - 30} more`));
  };
  nsSelect.addEventListener("change", async () => {
    map.filters.namespace = nsSelect.value;
    map.expanded.clear();
    describe(await map.load());
  });
  let searching = false;
  search.addEventListener("input", debounce(async () => {
    const qv = search.value.trim();
    if (!qv && searching) {
      // Search cleared: back to the aggregated map.
      searching = false;
      delete map.filters.name;
      map.expanded.delete("all");
      describe(await map.load());
    }
    const found = map.highlight(qv);
    if (qv && !found.length && qv.length >= 2) {
      // Not drawn (inside a collapsed group, or filtered out): ask the server for just the matching
      // pods/workloads/services, expanded, so they can be reached and opened.
      searching = true;
      map.filters.name = qv;
      map.expanded.add("all");
      describe(await map.load());
      showResults(map.highlight(qv));
    } else showResults(found);
  }, 250));
  $("#collapse-all").addEventListener("click", async () => describe(await map.collapseAll()));
  map.onLoaded = describe;
  return { describe, fillNamespaces: (data) => {
    const current = nsSelect.value;
    if (current) return;
    clear(nsSelect).append(el("option", { value: "" }, "all namespaces"));
    namespacesOf(data).forEach((ns) => nsSelect.append(el("option", { value: ns }, ns)));
    nsSelect.value = current;
  } };
}

export { items };
