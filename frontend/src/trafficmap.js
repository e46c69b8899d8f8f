// The traffic map of the cluster page: who may reach whom. Namespaces are boxes holding workloads,
// services and Ingresses; edges are what the cluster allows (outside → Ingress / exposed service →
// service → workload, and every NetworkPolicy allow rule with its ports); badges say which pods are
// isolated. The server aggregates (namespace groups → namespaces → workloads → pods) and computes
// every edge; the browser lays out with cytoscape-fcose and keeps what was already placed in place.
import cytoscape from "cytoscape";
import fcose from "cytoscape-fcose";
import { api } from "./api.js";

cytoscape.use(fcose);

const LABEL_FONT = 26; // model units; the on-screen size is this times the zoom

export const MAP_KINDS = {
  "namespace-group": { color: "#eeeeee", shape: "round-rectangle", word: "namespaces" },
  namespace: { color: "#eeeeee", shape: "round-rectangle", word: "namespace" },
  workload: { color: "#8FD1BB", shape: "round-rectangle", word: "workload" },
  pod: { color: "#009E73", shape: "round-rectangle", word: "pod" },
  service: { color: "#56B4E9", shape: "ellipse", word: "service" },
  ingress: { color: "#F0E442", shape: "tag", word: "Ingress" },
  gateway: { color: "#E69F00", shape: "cut-rectangle", word: "Gateway" },
  route: { color: "#F0E442", shape: "rhomboid", word: "route" },
  external: { color: "#bbbbbb", shape: "round-rectangle", word: "outside the cluster" },
  ipblock: { color: "#bbbbbb", shape: "barrel", word: "IP block" },
  // optional layers (Storage, Control plane toggles)
  claim: { color: "#CC79A7", shape: "barrel", word: "volume claim (storage layer)" },
  volume: { color: "#e8c4da", shape: "barrel", word: "persistent volume (storage layer)" },
  "cp-node": { color: "#e3ddf0", shape: "round-rectangle", word: "node (control-plane layer)" },
  component: { color: "#9b8ac4", shape: "hexagon", word: "control-plane component" },
  apiserver: { color: "#6a51a3", shape: "hexagon", word: "API server" },
};

export const EDGE_KINDS = {
  reach: { color: "#0072B2", word: "matrix: namespace → namespace (✔ all allowed, ◐ some, ✖ none)", style: "dotted" },
  allow: { color: "#007a5a", word: "allowed by NetworkPolicy (ports)", style: "solid" },
  entry: { color: "#7a7a7a", word: "reachable from outside", style: "dashed" },
  route: { color: "#a07800", word: "Ingress / Gateway route", style: "solid" },
  attach: { color: "#b86e00", word: "route attached to a Gateway listener", style: "solid" },
  endpoint: { color: "#3a87c0", word: "service → its endpoints", style: "solid" },
  mount: { color: "#CC79A7", word: "workload mounts the claim (rw/ro)", style: "solid" },
  bound: { color: "#CC79A7", word: "claim bound to a volume", style: "dashed" },
  "cp-flow": { color: "#6a51a3", word: "control-plane flow (port)", style: "solid" },
};

export const LAYERS = { storage: "Storage", "control-plane": "Control plane" };

const STYLE = [
  {
    selector: "node",
    style: {
      label: "data(caption)", "font-size": LABEL_FONT, "text-wrap": "wrap", "text-max-width": 300,
      "text-overflow-wrap": "whitespace", "text-valign": "bottom", "text-margin-y": 5, color: "#111",
      "text-background-color": "#fff", "text-background-opacity": 0.85, "text-background-padding": 2,
      "background-color": "#888", width: 48, height: 48, "border-width": 1, "border-color": "#333",
      "min-zoomed-font-size": 6,
    },
  },
  ...Object.entries(MAP_KINDS).map(([kind, s]) => ({ selector: `node[kind = "${kind}"]`, style: { "background-color": s.color, shape: s.shape } })),
  { selector: 'node[kind = "pod"]', style: { width: 32, height: 32 } },
  { selector: 'node[kind = "namespace"], node[kind = "namespace-group"]', style: { width: 150, height: 90, "font-size": 24, "font-weight": "bold", "text-valign": "center", "text-margin-y": 0, "border-width": 3, "border-style": "double", "border-color": "#555" } },
  {
    selector: ":parent",
    style: { "text-valign": "top", "text-halign": "center", "text-margin-y": -6, "font-size": 28, "font-weight": "bold", "background-opacity": 0.35, "background-color": "#f2f2f2", "border-width": 2, "border-style": "solid", "border-color": "#777", padding: 24, shape: "round-rectangle" },
  },
  { selector: 'node[layer = "control-plane"][kind = "namespace"]', style: { "background-color": "#e3ddf0" } },
  { selector: 'node[kind = "cp-node"]:parent', style: { "background-color": "#e3ddf0", "background-opacity": 0.6 } },
  { selector: "node[?shared]", style: { "border-color": "#CC79A7", "border-width": 5, "border-style": "double" } },
  // Isolation: ingress isolated = thick vermillion border; open to all = green dashed; egress isolated = a ring.
  { selector: "node.iso-in", style: { "border-color": "#D55E00", "border-width": 4, "border-style": "solid" } },
  { selector: "node.iso-in-some", style: { "border-color": "#D55E00", "border-width": 3, "border-style": "dashed" } },
  { selector: "node.open", style: { "border-color": "#009E73", "border-width": 3, "border-style": "dashed" } },
  { selector: "node.iso-out", style: { "outline-width": 3, "outline-color": "#CC79A7", "outline-offset": 2 } },
  {
    selector: "edge",
    style: { width: 3, "curve-style": "bezier", "target-arrow-shape": "triangle", "arrow-scale": 1.4, label: "data(label)", "font-size": 20, "text-rotation": "autorotate", "text-background-color": "#fff", "text-background-opacity": 0.9, "text-background-padding": 2, "min-zoomed-font-size": 8, color: "#222" },
  },
  ...Object.entries(EDGE_KINDS).map(([kind, s]) => ({ selector: `edge[kind = "${kind}"]`, style: { "line-color": s.color, "target-arrow-color": s.color, "line-style": s.style } })),
  { selector: 'edge[kind = "allow"]', style: { width: 4 } },
  // Matrix reachability between namespaces (from a finished matrix job): allowed / partial / denied.
  { selector: 'edge[kind = "reach"]', style: { width: 3, "line-style": "dotted", "curve-style": "unbundled-bezier", "control-point-distances": 40, "font-size": 18 } },
  { selector: 'edge[kind = "reach"][verdict = "allowed"]', style: { "line-color": "#0072B2", "target-arrow-color": "#0072B2" } },
  { selector: 'edge[kind = "reach"][verdict = "partial"]', style: { "line-color": "#E69F00", "target-arrow-color": "#E69F00" } },
  { selector: 'edge[kind = "reach"][verdict = "denied"]', style: { "line-color": "#D55E00", "target-arrow-color": "#D55E00", "line-style": "dashed", "target-arrow-shape": "tee" } },
  { selector: 'edge[kind = "endpoint"]', style: { label: "" } },
  { selector: ".match", style: { "underlay-color": "#F0E442", "underlay-opacity": 0.9, "underlay-padding": 10 } },
  { selector: "node:selected", style: { "underlay-color": "#0072B2", "underlay-opacity": 0.35, "underlay-padding": 8 } },
  { selector: "edge:selected", style: { width: 5 } },
  { selector: ".dim", style: { opacity: 0.2 } },
];

/** The words of a node for lists and screen readers: "workload cart (Deployment · 2 pods, open to all)". */
export function describeNode(d) {
  const kind = (MAP_KINDS[d.kind] || { word: d.kind }).word;
  const extra = d.kind === "workload" ? [d.workload_kind] : [];
  if (d.kind === "workload" || (d.kind.startsWith("namespace") && !d.open)) extra.push(`${d.count} pod${d.count === 1 ? "" : "s"}`);
  if (d.kind === "service" && d.type) extra.push(d.type);
  if (d.kind === "ingress" && d.label !== d.name) extra.push(d.label);
  if (d.kind === "route" && d.route_kind) extra.push(d.route_kind);
  if (d.kind === "claim") extra.push(...[d.phase, d.access_modes].filter(Boolean));
  if (d.kind === "component" && d.ports) extra.push(`ports ${d.ports}`);
  if (d.badge) extra.push(d.badge);
  const name = d.kind === "ingress" ? d.name : d.label;
  return `${d.kind === "external" ? "" : `${kind} `}${name}${extra.length ? ` (${extra.join(", ")})` : ""}`;
}

export class TrafficMap {
  constructor(container, { onSelect, onChange } = {}) {
    this.container = container;
    this.snapshotId = null;
    this.expand = null; // null ⇒ the server's default view; else a Set of tokens
    this.namespace = "";
    this.layers = new Set(); // optional layers drawn too: storage, control-plane
    this.onSelect = onSelect;
    this.onChange = onChange;
    this.cy = cytoscape({ container, style: STYLE, minZoom: 0.05, maxZoom: 3, wheelSensitivity: 0.3, pixelRatio: 1 });
    this.cy.on("tap", "node", (evt) => this.activate(evt.target));
    this.cy.on("tap", "edge", (evt) => this.onSelect && this.onSelect(evt.target.data(), evt.target));
    this.cy.on("dbltap", "node", (evt) => {
      const d = evt.target.data();
      if (d.collapse) this.toggle(d.collapse, false);
      else if (d.expand) this.toggle(d.expand, true, d.id);
    });
  }

  /** Fetch and draw; nodes already on the map keep their position, new ones start at their parent's. */
  async load({ fit = false } = {}) {
    const params = { namespace: this.namespace, layers: [...this.layers].sort().join(",") };
    if (this.expand !== null) params.expand = [...this.expand].join(",");
    const t0 = performance.now();
    this.container.dataset.ready = "0";
    const data = await api.map(this.snapshotId, params);
    const t1 = performance.now();
    this.expand = new Set(data.expanded);
    const cy = this.cy;
    const nodes = data.elements.nodes.map((n) => ({ group: "nodes", data: n.data, classes: n.data.badges || "" }));
    const ids = new Set(nodes.map((n) => n.data.id));
    const edges = data.elements.edges.filter((e) => ids.has(e.data.source) && ids.has(e.data.target))
      .map((e) => ({ group: "edges", data: e.data }));
    const before = new Map(cy.nodes().map((n) => [n.id(), { ...n.position() }]));
    const beforeBox = new Map(cy.nodes().orphans().map((n) => [n.id(), n.boundingBox()]));
    const fresh = [];
    cy.batch(() => {
      const edgeIds = new Set(edges.map((e) => e.data.id));
      cy.elements().filter((e) => !(e.isNode() ? ids.has(e.id()) : edgeIds.has(e.id()))).remove();
      for (const n of nodes) {
        const existing = cy.getElementById(n.data.id);
        if (existing.length && (existing.data("parent") || null) === (n.data.parent || null)) {
          existing.data(n.data);
          existing.classes(n.classes);
        } else {
          if (existing.length) existing.remove();
          fresh.push(n);
        }
      }
      // parents first, so children can reference them
      fresh.sort((a, b) => (a.data.parent ? 1 : 0) - (b.data.parent ? 1 : 0));
      // Deterministic start: new children in a small grid around their box's old place (or, the first
      // time, every top-level box on a grid), so the same view always gets the same picture.
      const parentOf = new Map(nodes.map((n) => [n.data.id, n.data.parent || ""]));
      const grid = new Map();
      const slot = new Map();
      const baseOf = (id) => {
        for (let cur = id; cur; cur = parentOf.get(cur)) {
          if (before.has(cur)) return before.get(cur);
          if (!parentOf.get(cur)) {
            if (!grid.has(cur)) grid.set(cur, { x: (grid.size % 5) * 900, y: Math.floor(grid.size / 5) * 700 });
            return grid.get(cur);
          }
        }
        return { x: 0, y: 0 };
      };
      for (const n of fresh) {
        const key = n.data.parent || n.data.id;
        const i = slot.get(key) || 0;
        slot.set(key, i + 1);
        const base = baseOf(n.data.id);
        cy.add({ ...n, position: { x: base.x + (i % 4) * 170, y: base.y + Math.floor(i / 4) * 120 } });
      }
      cy.add(edges.filter((e) => !cy.getElementById(e.data.id).length));
    });
    this.applyReach();
    if (!this.openInPlace(fresh, before, beforeBox)) {
      await this.layout(before.size > 0 && fresh.length < cy.nodes().length, fit || before.size === 0);
    }
    const t2 = performance.now();
    this.timing = { fetchMs: Math.round(t1 - t0), drawMs: Math.round(t2 - t1), elements: cy.elements().length };
    // the on-screen size of a workload's label, for the layout checks (labels must stay readable)
    this.container.dataset.labelPx = (LABEL_FONT * cy.zoom()).toFixed(1);
    Object.assign(this.container.dataset, { fetchMs: this.timing.fetchMs, drawMs: this.timing.drawMs, elements: cy.elements().length, nodes: cy.nodes().length, ready: "1" });
    this.meta = data;
    if (this.onChange) this.onChange(data);
    return data;
  }

  /**
   * An expansion inside what is already drawn: the opened box's new children are put on a grid where the
   * box was, and everything right of or below it moves over by exactly the room the box took — nothing
   * else moves, and no force layout runs (cheap at any size). Returns false when the change is not such
   * an expansion (first view, filter, collapse), for the full fcose layout.
   */
  openInPlace(fresh, before, beforeBox) {
    const cy = this.cy;
    if (!before.size || !fresh.length) return false;
    const top = (id) => {
      let n = cy.getElementById(id);
      while (n.parent().length) n = n.parent();
      return n;
    };
    const byParent = new Map();
    for (const f of fresh) {
      const parent = f.data.parent;
      const root = top(f.data.id);
      if (!parent || !before.has(parent) || !beforeBox.has(root.id())) return false;
      if (!byParent.has(parent)) byParent.set(parent, []);
      byParent.get(parent).push(f.data.id);
    }
    for (const [parent, ids] of byParent) {
      const root = top(parent);
      const old = beforeBox.get(root.id());
      const at = before.get(parent);
      const kids = cy.collection(ids.map((id) => cy.getElementById(id)));
      const cols = Math.max(1, Math.ceil(Math.sqrt(kids.length * 1.6)));
      // from the old box's top-left corner, so the box only grows right and down (and room is made there)
      const origin = root.id() === parent ? { x: old.x1 + 130, y: old.y1 + 70 } : at;
      kids.forEach((k, i) => k.position({ x: origin.x + (i % cols) * 240, y: origin.y + Math.floor(i / cols) * 130 }));
      const now = root.boundingBox();
      const dx = Math.max(0, now.x2 - old.x2);
      const dy = Math.max(0, now.y2 - old.y2);
      if (!dx && !dy) continue;
      cy.nodes().orphans().forEach((other) => {
        if (other.same(root) || !beforeBox.has(other.id())) return;
        const b = beforeBox.get(other.id());
        const shift = { x: b.x1 >= old.x2 - 1 ? dx : 0, y: b.y1 >= old.y2 - 1 ? dy : 0 };
        if (shift.x || shift.y) other.union(other.descendants()).filter((n) => !n.isParent()).shift(shift);
      });
    }
    return true;
  }

  /** fcose: a fresh layout the first time; after an expansion, the previous positions are the start. */
  layout(incremental, fit) {
    const cy = this.cy;
    if (!cy.nodes().length) return Promise.resolve();
    const many = cy.nodes().length > 1500;
    const layout = cy.layout({
      name: "fcose", quality: many ? "draft" : "default", randomize: !incremental, animate: false, fit,
      padding: 20, nodeDimensionsIncludeLabels: true, packComponents: true, nodeRepulsion: () => 450,
      idealEdgeLength: () => 45, edgeElasticity: () => 0.3, nestingFactor: 0.1, gravity: 0.6,
      gravityCompound: 4, gravityRangeCompound: 0.6, tile: true, numIter: incremental ? 250 : 2500,
      tilingPaddingVertical: 8, tilingPaddingHorizontal: 8, componentSpacing: 30,
    });
    const done = layout.promiseOn("layoutstop").then(() => {
      // A small map is never fitted so far out that its labels fall under 12 px: the middle stays
      // readable and the rest is a pan away (Fit shows everything).
      if (fit && cy.nodes().length <= 80 && cy.zoom() * LABEL_FONT < 12) {
        cy.zoom({ level: 12.2 / LABEL_FONT, position: cy.elements().boundingBox() && {
          x: (cy.elements().boundingBox().x1 + cy.elements().boundingBox().x2) / 2,
          y: (cy.elements().boundingBox().y1 + cy.elements().boundingBox().y2) / 2 } });
      }
    });
    // fcose draws random numbers; a seeded generator while it runs makes the same view give the same
    // picture on every reload (the URL's zoom and pan then point at the same place)
    const random = Math.random;
    let seed = 20261206;
    Math.random = () => {
      seed = (seed * 16807) % 2147483647;
      return (seed - 1) / 2147483646;
    };
    try {
      layout.run();
    } finally {
      Math.random = random;
    }
    return done;
  }

  /** Tap: a collapsed namespace (group) opens; anything else is selected and its panel opens (a
   * workload opens into its pods on double-click or from the list view's "expand"). */
  async activate(node) {
    const d = node.data();
    if (d.expand && d.kind !== "workload") return this.toggle(d.expand, true, d.id);
    if (this.onSelect) this.onSelect(d, node);
    return null;
  }

  async toggle(token, open, focusId) {
    if (this.expand === null) this.expand = new Set();
    if (open) this.expand.add(token);
    else {
      this.expand.delete(token);
      // closing a namespace group closes its namespaces too
      if (token.startsWith("nsgroup:")) for (const t of [...this.expand]) if (t.startsWith("ns:")) this.expand.delete(t);
    }
    const data = await this.load();
    const focus = focusId && this.cy.getElementById(focusId);
    if (focus && focus.length) this.cy.animate({ fit: { eles: focus.union(focus.descendants()), padding: 60 } }, { duration: 250 });
    return data;
  }

  /** Namespace → namespace reachability from a matrix job's overview (null hides it). Drawn between the
   * namespace elements on the map (boxes or collapsed namespaces); groups and pods get none. */
  setReach(overview, fetchAmong = null) {
    this.reach = overview;
    this.fetchAmong = fetchAmong;  // (namespace names) → the overview's pairs among them (grouped overviews)
    this.reachAmong = null;
    this.reachAskedFor = null;
    this.applyReach();
  }

  /** The pairs to draw: the overview's own, or — when it is grouped (many namespaces) — the pairs among the
   * namespaces drawn now, asked for again whenever that set changes (bounded to 200 names by the API). */
  reachPairs() {
    if (!this.reach.grouped) return this.reach.pairs || [];
    const shown = this.cy.nodes().filter((n) => n.id().startsWith("ns:")).map((n) => n.id().slice(3)).sort().slice(0, 200);
    const key = shown.join(",");
    if (this.fetchAmong && shown.length && key !== this.reachAskedFor) {
      this.reachAskedFor = key;
      const reach = this.reach;
      this.fetchAmong(shown).then((ov) => {
        if (this.reach !== reach || this.reachAskedFor !== key) return;  // a newer question is on its way
        this.reachAmong = ov;
        this.applyReach();
        if (this.onReachChange) this.onReachChange();  // e.g. the list view re-reads the edges
      }).catch(() => {});
    }
    return this.reachAmong ? this.reachAmong.pairs || [] : [];
  }

  applyReach() {
    const cy = this.cy;
    cy.edges('[kind = "reach"]').remove();
    this.container.dataset.reach = "0";
    if (!this.reach) return;
    const add = [];
    for (const p of this.reachPairs()) {
      if (p.source_namespace === p.destination_namespace) continue;
      const a = `ns:${p.source_namespace}`;
      const b = `ns:${p.destination_namespace}`;
      if (!cy.getElementById(a).length || !cy.getElementById(b).length) continue;
      const v = p.verdicts || {};
      const ok = v.delivered || 0;
      const verdict = ok === p.cells ? "allowed" : ok === 0 && !v.partial ? "denied" : "partial";
      add.push({ group: "edges", data: { id: `reach:${a}->${b}`, source: a, target: b, kind: "reach", verdict,
        label: `${{ allowed: "✔", partial: "◐", denied: "✖" }[verdict]} ${ok}/${p.cells}`, count: p.cells, ports: [], policies: [] } });
      if (add.length >= 2000) break;
    }
    cy.add(add);
    this.container.dataset.reach = String(add.length);
  }

  /** Mark drawn nodes whose name contains the query; returns them. */
  highlight(query) {
    const cy = this.cy;
    cy.elements().removeClass("match dim");
    if (!query) return [];
    const needle = query.toLowerCase();
    const found = cy.nodes().filter((n) => `${n.id()} ${n.data("label")}`.toLowerCase().includes(needle));
    if (found.length) {
      found.addClass("match");
      cy.elements().not(found).not(found.ancestors()).not(found.connectedEdges()).addClass("dim");
      cy.animate({ fit: { eles: found, padding: 80 } }, { duration: 250 });
    }
    return found.toArray();
  }

  select(id) {
    const n = this.cy.getElementById(id);
    this.cy.elements(":selected").unselect();
    if (n.length) {
      n.select();
      return n;
    }
    return null;
  }

  viewport() {
    const p = this.cy.pan();
    return { z: this.cy.zoom().toFixed(3), x: Math.round(p.x), y: Math.round(p.y) };
  }
}
